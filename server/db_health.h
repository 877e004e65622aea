// Ties the gRPC health status to the database: a thread pings PostgreSQL
// every few seconds and reports NOT_SERVING while it does not answer,
// SERVING again once it does. Each transition is logged once.
//
// A ping that does not answer within its timeout counts as a failure: a
// server that is frozen, or a host that drops packets instead of refusing
// them, does not keep the status at SERVING. Such a ping is left to finish
// on its own thread, and no other is started until it has.
#ifndef SYNCADMIN_SERVER_DB_HEALTH_H_
#define SYNCADMIN_SERVER_DB_HEALTH_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace syncadmin::server {

class DbHealthMonitor {
 public:
  // `ping` returns OK when the database answers; it runs on a thread of its
  // own and may outlive the monitor, so it must own what it uses.
  // `set_serving` publishes the status (to the gRPC health service); it is
  // called from the monitor's thread, or from `CheckOnce`'s caller. The
  // status starts as SERVING: syncd starts only after it has reached the
  // database.
  DbHealthMonitor(std::function<absl::Status()> ping,
                  std::function<void(bool serving)> set_serving,
                  absl::Duration interval, absl::Duration timeout);
  // Stops the thread if it runs.
  ~DbHealthMonitor();
  DbHealthMonitor(const DbHealthMonitor&) = delete;
  DbHealthMonitor& operator=(const DbHealthMonitor&) = delete;

  // Starts pinging every `interval`, the first time after one interval.
  void Start();

  // Stops the thread and waits for it (not for a ping in flight); the
  // status is left as it was. After Stop, the caller owns the status (e.g.
  // sets NOT_SERVING on shutdown).
  void Stop();

  // Pings once, waiting up to the timeout, and publishes a change. Exposed
  // for tests; the thread that `Start` starts calls it.
  void CheckOnce();

 private:
  // The outcome of one ping, shared with the thread that runs it.
  struct Probe {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::Status result ABSL_GUARDED_BY(mu);
  };

  std::function<absl::Status()> ping_;
  std::function<void(bool)> set_serving_;
  absl::Duration interval_;
  absl::Duration timeout_;

  // Used by one thread at a time: the monitor's, or CheckOnce's caller.
  bool serving_ = true;
  std::shared_ptr<Probe> in_flight_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_DB_HEALTH_H_
