#include "server/db_health.h"

#include <utility>

#include "core/logging.h"

namespace syncadmin::server {

DbHealthMonitor::DbHealthMonitor(std::function<absl::Status()> ping,
                                 std::function<void(bool serving)> set_serving,
                                 absl::Duration interval)
    : ping_(std::move(ping)),
      set_serving_(std::move(set_serving)),
      interval_(interval) {}

DbHealthMonitor::~DbHealthMonitor() { Stop(); }

void DbHealthMonitor::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) {
      // The ping blocks on the network; Stop must not wait for the lock
      // meanwhile.
      mu_.Unlock();
      CheckOnce();
      mu_.Lock();
    }
  });
}

void DbHealthMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void DbHealthMonitor::CheckOnce() {
  const absl::Status status = ping_();
  const bool serving = status.ok();
  if (serving == serving_) return;
  serving_ = serving;
  set_serving_(serving);
  if (serving) {
    log::Info("database reachable again; health SERVING");
  } else {
    log::Warn("database unreachable; health NOT_SERVING",
              {{"code", absl::StatusCodeToString(status.code())},
               {"error", status.message()}});
  }
}

}  // namespace syncadmin::server
