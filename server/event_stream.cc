#include "server/event_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"

namespace syncadmin::server {

void CountsToProto(const core::Counts& counts,
                   google::protobuf::RepeatedPtrField<v1::ActionCount>* out) {
  for (const auto& [key, n] : counts.entries()) {
    v1::ActionCount* c = out->Add();
    c->set_action(static_cast<v1::Action>(key.first));
    c->set_kind(static_cast<v1::Kind>(key.second));
    c->set_count(n);
  }
}

GrpcEventSink::GrpcEventSink(grpc::ServerContext* context,
                             grpc::ServerWriter<v1::SyncEvent>* writer,
                             const std::atomic<bool>* shutting_down,
                             StreamOptions options)
    : context_(context),
      writer_(writer),
      shutting_down_(shutting_down),
      options_(options),
      writer_thread_([this] { WriteLoop(); }) {}

GrpcEventSink::~GrpcEventSink() { Close(); }

void GrpcEventSink::OnRunStarted(const core::RunStartedEvent& event) {
  run_id_ = event.run_id;
  v1::SyncEvent out = NewEvent();
  v1::RunStarted* started = out.mutable_run_started();
  started->set_run_id(event.run_id);
  started->set_operation(static_cast<v1::Operation>(event.operation));
  started->set_dry_run(event.dry_run);
  started->set_requested_by(event.requested_by);
  started->set_module_count(event.module_count);
  started->set_tenant_count(event.tenant_count);
  Enqueue(std::move(out));
}

void GrpcEventSink::OnPhaseStarted(absl::string_view name, uint64_t total) {
  v1::SyncEvent out = NewEvent();
  out.mutable_phase_started()->set_name(std::string(name));
  out.mutable_phase_started()->set_total(total);
  Enqueue(std::move(out));
}

void GrpcEventSink::OnItems(absl::Span<const core::Item> items) {
  for (size_t i = 0; i < items.size(); i += kItemsPerMessage) {
    v1::SyncEvent out = NewEvent();
    auto* batch = out.mutable_items()->mutable_items();
    const size_t end = std::min(items.size(), i + kItemsPerMessage);
    batch->Reserve(static_cast<int>(end - i));
    for (size_t k = i; k < end; ++k) {
      v1::Item* item = batch->Add();
      item->set_action(static_cast<v1::Action>(items[k].action));
      item->set_kind(static_cast<v1::Kind>(items[k].kind));
      item->set_tenant(items[k].tenant);
      item->set_module(items[k].module);
      item->set_message(items[k].message);
    }
    if (!Enqueue(std::move(out))) return;
  }
}

void GrpcEventSink::OnRunFinished(const core::RunFinishedEvent& event) {
  v1::SyncEvent out = NewEvent();
  v1::RunFinished* finished = out.mutable_run_finished();
  finished->set_outcome(static_cast<v1::Outcome>(event.outcome));
  CountsToProto(event.counts, finished->mutable_counts());
  finished->set_duration_ms(static_cast<uint64_t>(event.duration_ms));
  finished->set_error(event.error);
  if (event.health) {
    v1::HealthSummary* health = finished->mutable_health();
    health->set_missing_settings(event.health->missing_settings);
    health->set_orphan_metas(event.health->orphan_metas);
    health->set_disabled_metas(event.health->disabled_metas);
    health->set_inactive_tenants_with_rows(
        event.health->inactive_tenants_with_rows);
    health->set_drift(event.health->drift());
  }
  Enqueue(std::move(out));
}

std::optional<std::string> GrpcEventSink::CancelReason() const {
  if (shutting_down_->load()) return "the server is shutting down";
  if (stalled_.load()) {
    return absl::StrCat("the client stopped reading the stream for ",
                        absl::FormatDuration(options_.stall_timeout));
  }
  if (write_failed_.load()) return "the client stopped reading the stream";
  if (context_->IsCancelled()) {
    return "the client cancelled the call or its deadline passed";
  }
  return std::nullopt;
}

void GrpcEventSink::Close() {
  if (closed_) return;
  closed_ = true;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  // Drain the queue with the same patience as `Enqueue`: a client that
  // takes nothing for the stall timeout gets its call cancelled, which makes
  // the pending write fail and the writer stop.
  while (true) {
    bool timed_out;
    {
      absl::MutexLock lock(&mu_);
      if (writer_done_) break;
      const uint64_t taken = taken_;
      auto progress = [this, taken]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return writer_done_ || taken_ != taken;
      };
      timed_out = !mu_.AwaitWithTimeout(absl::Condition(&progress),
                                        options_.stall_timeout);
    }
    if (timed_out) Stall();
  }
  writer_thread_.join();
}

v1::SyncEvent GrpcEventSink::NewEvent() {
  v1::SyncEvent event;
  event.set_run_id(run_id_);
  event.set_sequence(++sequence_);
  return event;
}

bool GrpcEventSink::Enqueue(v1::SyncEvent event) {
  if (stalled_.load() || write_failed_.load()) return false;
  {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return writer_done_ || queue_.size() < options_.max_queued_messages;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&room), options_.stall_timeout)) {
      if (writer_done_) return false;
      queue_.push_back(std::move(event));
      return true;
    }
  }
  Stall();
  return false;
}

void GrpcEventSink::Stall() {
  if (stalled_.exchange(true)) return;
  log::Warn(
      "client stalled the stream",
      {{"run", run_id_.empty() ? "-" : run_id_},
       {"peer", context_->peer()},
       {"stall_timeout_s", absl::ToDoubleSeconds(options_.stall_timeout)}});
  // Makes the pending write fail, so that the writer thread stops, and
  // tells the run (through `CancelReason`) to roll back.
  context_->TryCancel();
}

void GrpcEventSink::WriteLoop() {
  while (true) {
    v1::SyncEvent event;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || closing_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) break;
      event = std::move(queue_.front());
      queue_.pop_front();
      ++taken_;
    }
    if (!writer_->Write(event)) {
      write_failed_.store(true);
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  // Nothing more will be sent: free what is left and release any waiter.
  queue_.clear();
  writer_done_ = true;
}

}  // namespace syncadmin::server
