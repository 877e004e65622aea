// Where a run's events go while it works.
#ifndef SYNCADMIN_CORE_EVENT_SINK_H_
#define SYNCADMIN_CORE_EVENT_SINK_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/types/span.h"
#include "core/types.h"

namespace syncadmin::core {

// First event of a run. Sent when the run's first phase starts (which may be
// "wait-for-lock"), or at the end if it fails before any phase.
struct RunStartedEvent {
  std::string run_id;
  Operation operation;
  bool dry_run = false;
  std::string requested_by;
  uint32_t module_count = 0;
  uint32_t tenant_count = 0;
};

// Last event of a run.
struct RunFinishedEvent {
  std::string run_id;
  Outcome outcome = Outcome::kFailed;
  Counts counts;
  int64_t duration_ms = 0;
  std::string error;
  std::optional<HealthSummary> health;
};

// Receives a run's events in order, from the thread that runs it. An
// implementation may block (for example on a slow client); the run waits.
class EventSink {
 public:
  virtual ~EventSink() = default;

  virtual void OnRunStarted(const RunStartedEvent& event) = 0;
  virtual void OnPhaseStarted(absl::string_view name, uint64_t total) = 0;
  // `items` is only valid during the call.
  virtual void OnItems(absl::Span<const Item> items) = 0;
  virtual void OnRunFinished(const RunFinishedEvent& event) = 0;

  // Why the run must stop now (the client went away, its deadline passed,
  // the server is shutting down), or `std::nullopt` to go on. Polled by the
  // run between statements; may be called from any thread.
  virtual std::optional<std::string> CancelReason() const = 0;
};

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_EVENT_SINK_H_
