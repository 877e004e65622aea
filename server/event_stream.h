// The event stream of one streaming call: a run's events, turned into
// `SyncEvent` messages, go through a bounded queue to a writer thread that
// sends them to the client.
//
// The queue lets the run go on with its next statement while the client
// receives the previous one, and it bounds how long a client that stops
// reading can hold the run's transaction open: when the queue stays full for
// `StreamOptions::stall_timeout`, the call is cancelled and the run rolls
// back, with the reason in its journal entry.
#ifndef SYNCADMIN_SERVER_EVENT_STREAM_H_
#define SYNCADMIN_SERVER_EVENT_STREAM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/event_sink.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/sync_stream.h"
#include "syncadmin/v1/sync_admin.pb.h"

namespace syncadmin::server {

struct StreamOptions {
  // Messages a run may have waiting for the client before it waits itself.
  // A message carries at most `kItemsPerMessage` items (a few hundred KiB
  // in memory), so this bounds a stream's buffer to a few MiB.
  size_t max_queued_messages = 32;

  // Longest a run waits, with the queue full, for the client to take a
  // message. Past it the call is cancelled and the run rolls back. Any
  // message the client takes starts the wait anew, so a slow client that
  // keeps reading is served; one that stopped is not.
  absl::Duration stall_timeout = absl::Seconds(30);

  // Most streaming calls one caller (one token holder, or every anonymous
  // caller together) may have in progress, waiting for a lock included.
  // Each holds a server thread, so without a bound one caller, even a
  // viewer with dry runs, could take them all and lock everyone else out.
  int max_runs_per_caller = 8;
};

// Items per stream message: large enough to stream a million items at
// database speed, small enough to keep each message far below any size limit
// (an item is well under 300 bytes, so a message stays under 300 KiB).
inline constexpr size_t kItemsPerMessage = 1000;

// Appends one `ActionCount` per non-zero entry of `counts` to `out`.
void CountsToProto(const core::Counts& counts,
                   google::protobuf::RepeatedPtrField<v1::ActionCount>* out);

// Streams a run's events to one gRPC client through a writer thread.
//
// The `core::EventSink` calls come from the run's thread, which blocks only
// while the queue is full (at most `stall_timeout` at a time). `CancelReason`
// may be called from any thread. `Close` must be called, from the run's
// thread, after the run finished and before `writer` goes away.
class GrpcEventSink final : public core::EventSink {
 public:
  // `context`, `writer` and `shutting_down` must outlive the sink.
  GrpcEventSink(grpc::ServerContext* context,
                grpc::ServerWriter<v1::SyncEvent>* writer,
                const std::atomic<bool>* shutting_down,
                StreamOptions options = {});
  // Calls `Close`.
  ~GrpcEventSink() override;

  GrpcEventSink(const GrpcEventSink&) = delete;
  GrpcEventSink& operator=(const GrpcEventSink&) = delete;

  void OnRunStarted(const core::RunStartedEvent& event) override;
  void OnPhaseStarted(absl::string_view name, uint64_t total) override;
  void OnItems(absl::Span<const core::Item> items) override;
  void OnRunFinished(const core::RunFinishedEvent& event) override;
  std::optional<std::string> CancelReason() const override;

  // Waits until every queued message is sent, or the client stalls for
  // `stall_timeout` (the call is then cancelled), and stops the writer
  // thread. Idempotent.
  void Close();

  // Id of the run, once it started; empty before.
  const std::string& run_id() const { return run_id_; }

 private:
  v1::SyncEvent NewEvent();

  // Queues `event` for the writer, waiting while the queue is full. Returns
  // false, dropping the event, once the stream is broken or stalled.
  bool Enqueue(v1::SyncEvent event);

  // Cancels the call because the client took nothing for `stall_timeout`.
  void Stall();

  void WriteLoop();

  grpc::ServerContext* context_;
  grpc::ServerWriter<v1::SyncEvent>* writer_;
  const std::atomic<bool>* shutting_down_;
  const StreamOptions options_;

  // Touched by the run's thread only.
  std::string run_id_;
  uint64_t sequence_ = 0;
  bool closed_ = false;

  std::atomic<bool> write_failed_{false};
  std::atomic<bool> stalled_{false};

  absl::Mutex mu_;
  std::deque<v1::SyncEvent> queue_ ABSL_GUARDED_BY(mu_);
  // Messages taken off the queue so far: progress, for `Close`.
  uint64_t taken_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_done_ ABSL_GUARDED_BY(mu_) = false;

  std::thread writer_thread_;
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_EVENT_STREAM_H_
