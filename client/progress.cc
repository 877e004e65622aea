#include "client/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/output.h"

namespace syncadmin::client {
namespace {

constexpr int kBarCells = 20;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr auto kRedrawIdleEvery = std::chrono::seconds(1);
constexpr auto kTickEvery = std::chrono::milliseconds(250);

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Items per second, short: "950/s", "2.4k/s", "1.2M/s".
std::string Rate(double per_second) {
  if (per_second < 1000) return absl::StrFormat("%.0f/s", per_second);
  if (per_second < 1e6) return absl::StrFormat("%.1fk/s", per_second / 1e3);
  return absl::StrFormat("%.1fM/s", per_second / 1e6);
}

std::string Elapsed(std::chrono::steady_clock::duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  }
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

ProgressBar::ProgressBar(FILE* out, int width, Clock clock)
    : out_(out),
      width_(std::max(20, width)),
      clock_(std::move(clock)),
      started_(clock_()),
      last_draw_(started_) {}

void ProgressBar::Update(const v1::SyncEvent& event) {
  bool now = false;
  switch (event.event_case()) {
    case v1::SyncEvent::kRunStarted:
      started_ = clock_();
      now = true;
      break;
    case v1::SyncEvent::kPhaseStarted:
      phase_ = event.phase_started().name();
      phase_total_ = event.phase_started().total();
      phase_items_ = 0;
      now = true;
      break;
    case v1::SyncEvent::kItems:
      for (const v1::Item& item : event.items().items()) {
        ++by_action_[item.action()];
      }
      phase_items_ += event.items().items_size();
      items_ += event.items().items_size();
      break;
    case v1::SyncEvent::kRunFinished:
      finished_ = true;
      Clear();
      return;
    case v1::SyncEvent::EVENT_NOT_SET:
      return;
  }
  if (now || !drawn_ || clock_() - last_draw_ >= kRedrawEvery) Draw();
}

std::string ProgressBar::Render() const {
  std::string line = phase_.empty() ? "starting" : phase_;
  if (phase_total_ > 0) {
    const uint64_t done = std::min(phase_items_, phase_total_);
    const int filled = static_cast<int>(done * kBarCells / phase_total_);
    absl::StrAppend(&line, " [", std::string(filled, '#'),
                    std::string(kBarCells - filled, '-'), "]  ",
                    Grouped(phase_items_), "/", Grouped(phase_total_));
  } else {
    absl::StrAppend(&line, "  ", Grouped(phase_items_), " items");
  }
  for (const auto& [action, n] : by_action_) {
    absl::StrAppend(&line, "  ", ActionName(static_cast<v1::Action>(action)),
                    " ", Grouped(n));
  }
  const auto elapsed = clock_() - started_;
  const double seconds =
      std::chrono::duration_cast<std::chrono::duration<double>>(elapsed)
          .count();
  absl::StrAppend(&line, "  ", Rate(seconds > 0 ? items_ / seconds : 0), "  ",
                  Elapsed(elapsed));
  if (static_cast<int>(line.size()) >= width_) line.resize(width_ - 1);
  return line;
}

void ProgressBar::Draw() {
  // Carriage return and "erase to end of line": redraws in place.
  absl::FPrintF(out_, "\r\x1b[K%s", Render());
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = clock_();
}

void ProgressBar::Tick() {
  if (finished_ || clock_() - last_draw_ < kRedrawIdleEvery) return;
  Draw();
}

void ProgressBar::Clear() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

ProgressTicker::ProgressTicker(ProgressBar* bar, std::mutex* mu)
    : mu_(mu), thread_([this, bar] {
        std::unique_lock<std::mutex> lock(*mu_);
        while (
            !stop_.wait_for(lock, kTickEvery, [this] { return stopping_; })) {
          bar->Tick();
        }
      }) {}

ProgressTicker::~ProgressTicker() {
  {
    std::lock_guard<std::mutex> lock(*mu_);
    stopping_ = true;
  }
  stop_.notify_one();
  thread_.join();
}

int TerminalWidth(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 80;
}

bool ProgressWanted() {
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1;
}

}  // namespace syncadmin::client
