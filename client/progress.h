// A one-line progress display for a run, drawn on a terminal beneath the
// item lines:
//
//   seed-settings [########------------]  1,204/3,000  created 1,204  2.4k/s
//   0:03
//
// syncctl shows it only when stdout and stderr are both terminals, in text
// output, with TERM not "dumb" (clig.dev: no animation when not
// interactive). The item lines stay on stdout; the bar is drawn on stderr
// and erased before anything else is written, so what remains on screen
// (and in any scrollback) is the same text a pipe would receive.
//
// The fill compares the items streamed in the current phase with the
// phase's candidates. Items already in place are not streamed unless
// `--unchanged` is given, so a phase that finds most rows in place ends
// short of full; the counts and rate are exact.
// TODO(ux): Fill by candidates handled once the server reports them per
// batch, so that a run that changes little still shows its progress.
#ifndef SYNCADMIN_CLIENT_PROGRESS_H_
#define SYNCADMIN_CLIENT_PROGRESS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "syncadmin/v1/sync_admin.pb.h"

namespace syncadmin::client {

class ProgressBar {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Draws on `out` (a terminal) lines at most `width` columns wide.
  ProgressBar(
      FILE* out, int width,
      Clock clock = [] { return std::chrono::steady_clock::now(); });

  // Takes the event into the counts and redraws: at once when a phase
  // starts, otherwise at most ten times a second.
  void Update(const v1::SyncEvent& event);

  // Redraws the bar if the last drawing is a second old, so that its clock
  // keeps running while no event arrives (a run waiting for its lock, or
  // inside a long statement). Does nothing once the run has finished.
  void Tick();

  // Erases the bar, if drawn, so that the caller can write other output.
  void Clear();

  // The text of the bar as it would be drawn now, without control codes.
  std::string Render() const;

 private:
  void Draw();

  FILE* out_;
  int width_;
  Clock clock_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
  bool finished_ = false;
  std::string phase_;
  uint64_t phase_total_ = 0;
  uint64_t phase_items_ = 0;
  uint64_t items_ = 0;
  std::map<int, uint64_t> by_action_;
};

// Calls `bar.Tick()` four times a second from a thread of its own, under
// `mu`, until destroyed. Whoever else draws on the bar or writes to the
// terminal holds `mu` too.
class ProgressTicker {
 public:
  ProgressTicker(ProgressBar* bar, std::mutex* mu);
  ~ProgressTicker();
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;

 private:
  std::mutex* mu_;
  std::condition_variable stop_;
  bool stopping_ = false;  // Guarded by `*mu_`.
  std::thread thread_;
};

// Width of the terminal on `fd`, or 80 when it cannot be read.
int TerminalWidth(int fd);

// Whether to draw progress: stdout and stderr are terminals and TERM is not
// "dumb".
bool ProgressWanted();

}  // namespace syncadmin::client

#endif  // SYNCADMIN_CLIENT_PROGRESS_H_
