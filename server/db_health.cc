#include "server/db_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"

namespace syncadmin::server {

DbHealthMonitor::DbHealthMonitor(std::function<absl::Status()> ping,
                                 std::function<void(bool serving)> set_serving,
                                 absl::Duration interval,
                                 absl::Duration timeout)
    : ping_(std::move(ping)),
      set_serving_(std::move(set_serving)),
      interval_(interval),
      timeout_(timeout) {}

DbHealthMonitor::~DbHealthMonitor() { Stop(); }

void DbHealthMonitor::Start() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) {
      // The ping may take up to the timeout; Stop must not wait for the
      // lock meanwhile.
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
  absl::Status status;
  bool still_running = false;
  if (in_flight_ != nullptr) {
    absl::MutexLock lock(&in_flight_->mu);
    still_running = !in_flight_->done;
  }
  if (still_running) {
    // The last ping has not come back: the database still does not answer.
    status = absl::DeadlineExceededError(absl::StrCat(
        "a database ping has not answered for more than ",
        absl::FormatDuration(timeout_)));
  } else {
    auto probe = std::make_shared<Probe>();
    in_flight_ = probe;
    std::thread([probe, ping = ping_] {
      absl::Status result = ping();
      absl::MutexLock lock(&probe->mu);
      probe->result = std::move(result);
      probe->done = true;
    }).detach();
    absl::MutexLock lock(&probe->mu);
    if (probe->mu.AwaitWithTimeout(absl::Condition(&probe->done), timeout_)) {
      status = probe->result;
    } else {
      status = absl::DeadlineExceededError(
          absl::StrCat("the database did not answer a ping within ",
                       absl::FormatDuration(timeout_)));
    }
  }

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
