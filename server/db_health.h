// Ties the gRPC health status to the database: a thread pings PostgreSQL
// every few seconds and reports NOT_SERVING while it does not answer,
// SERVING again once it does. Each transition is logged once.
#ifndef SYNCADMIN_SERVER_DB_HEALTH_H_
#define SYNCADMIN_SERVER_DB_HEALTH_H_

#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace syncadmin::server {

class DbHealthMonitor {
 public:
  // `ping` returns OK when the database answers; `set_serving` publishes the
  // status (to the gRPC health service). Both are called from the monitor's
  // thread only. The status starts as SERVING: syncd starts only after it
  // has reached the database.
  // TODO(hardening): A ping that hangs (a host that drops packets) holds the
  // status until libpq gives up; add connect_timeout to the ping's
  // connection once the store can take per-call connection options.
  DbHealthMonitor(std::function<absl::Status()> ping,
                  std::function<void(bool serving)> set_serving,
                  absl::Duration interval);
  // Stops the thread if it runs.
  ~DbHealthMonitor();
  DbHealthMonitor(const DbHealthMonitor&) = delete;
  DbHealthMonitor& operator=(const DbHealthMonitor&) = delete;

  // Starts pinging every `interval`, the first time after one interval.
  void Start();

  // Stops the thread and waits for it; the status is left as it was. After
  // Stop, the caller owns the status (e.g. sets NOT_SERVING on shutdown).
  void Stop();

  // Pings once and publishes a change. Exposed for tests; `Start` calls it.
  void CheckOnce();

 private:
  std::function<absl::Status()> ping_;
  std::function<void(bool)> set_serving_;
  absl::Duration interval_;
  bool serving_ = true;  // Only the monitor's thread (or CheckOnce) uses it.

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_DB_HEALTH_H_
