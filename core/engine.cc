#include "core/engine.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/scanner.h"
#include "core/status_macros.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"
#include "core/logging.h"
#include "spdlog/spdlog.h"

namespace syncadmin::core {
namespace {

// Splits `tenants` into consecutive chunks so that one statement handles
// about `rows_per_statement` rows when each tenant has `rows_per_tenant`.
std::vector<std::vector<std::string>> ChunkTenants(
    const std::vector<std::string>& tenants, uint64_t rows_per_tenant,
    size_t rows_per_statement) {
  const size_t per_chunk = std::max<size_t>(
      1, rows_per_statement / std::max<uint64_t>(1, rows_per_tenant));
  std::vector<std::vector<std::string>> chunks;
  for (size_t i = 0; i < tenants.size(); i += per_chunk) {
    const size_t end = std::min(tenants.size(), i + per_chunk);
    chunks.emplace_back(tenants.begin() + i, tenants.begin() + end);
  }
  return chunks;
}

std::vector<std::string> NamesOf(const std::vector<ModuleDefaults>& modules) {
  std::vector<std::string> names;
  names.reserve(modules.size());
  for (const auto& m : modules) names.push_back(m.name);
  return names;
}

std::string ParamsJson(const RunRequest& request) {
  nlohmann::json params = nlohmann::json::object();
  if (!request.tenant.empty()) params["tenant"] = request.tenant;
  if (!request.module.empty()) params["module"] = request.module;
  if (!request.source_run_id.empty()) {
    params["source_run_id"] = request.source_run_id;
  }
  if (request.include_unchanged) params["include_unchanged"] = true;
  if (request.force) params["force"] = true;
  if (request.check_only) params["check_only"] = true;
  return params.dump();
}

bool NeedsModulesRoot(Operation op) {
  switch (op) {
    case Operation::kSeedMeta:
    case Operation::kHealthCheck:
    case Operation::kSeedTenant:
    case Operation::kSeedModule:
    case Operation::kSyncAll:
      return true;
    case Operation::kSeedSettings:
    case Operation::kRemoveTenant:
    case Operation::kRestore:
      return false;
  }
  return false;
}

// Cancels the statement in progress while `should_stop` says so, so that a
// run blocked inside the database (on a lock another client holds, say)
// still ends promptly on a client cancel, a deadline or a server shutdown.
// Between statements the run checks for itself.
class CancelWatcher {
 public:
  CancelWatcher(RunSession& session, std::function<bool()> should_stop)
      : thread_([this, &session, should_stop = std::move(should_stop)] {
          absl::MutexLock lock(&mu_);
          while (!done_) {
            const bool stop = should_stop();
            if (stop) session.CancelQuery();
            // After a cancel, wait longer: a new statement may have started
            // in between and needs cancelling too.
            mu_.AwaitWithTimeout(absl::Condition(&done_),
                                 stop ? absl::Milliseconds(250)
                                      : absl::Milliseconds(50));
          }
        }) {}

  ~CancelWatcher() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

 private:
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Everything one run knows while it works: its request, session and sink,
// the counts so far, and whether its start was announced.
class Run {
 public:
  Run(const EngineOptions& options, const RunRequest& request,
      RunSession& session, EventSink& sink)
      : options_(options),
        request_(request),
        session_(session),
        sink_(sink),
        started_at_(absl::Now()) {}

  absl::Status Execute();

  // Why the run must stop now (the sink's reason or the deadline), or OK.
  absl::Status CheckCancelled() const;

  // Rolls back or commits as the request says and as `status` allows,
  // journals the outcome and tells the sink. Returns the run's result.
  absl::Status Finish(absl::Status status);

 private:
  absl::Status SeedMeta();
  absl::Status SeedSettings();
  absl::Status HealthCheck();
  absl::Status SeedTenant();
  absl::Status SeedModule();
  absl::Status RemoveTenant();
  absl::Status SyncAll();
  absl::Status Restore();

  // Shared phases.
  absl::Status ScanModules(bool refuse_empty);
  absl::Status LoadActiveTenants();
  absl::Status SeedMetasPhase(const std::vector<std::string>& tenants,
                              const std::vector<ModuleDefaults>& modules);
  absl::Status SeedSettingsPhase(const std::vector<std::string>& tenants,
                                 std::optional<absl::string_view> module);
  absl::Status DeleteOrphansPhase();
  absl::Status CheckOrphanGuard(uint64_t* orphan_total);

  void AnnounceStart();
  void Phase(absl::string_view name, uint64_t total);
  // Counts `items`, turns created/deleted into would-create/would-delete in
  // a dry run, and hands them to the sink.
  void Emit(std::vector<Item> items);

  const EngineOptions& options_;
  const RunRequest& request_;
  RunSession& session_;
  EventSink& sink_;
  absl::Time started_at_;
  bool announced_ = false;

  std::vector<ModuleDefaults> modules_;
  std::vector<std::string> tenants_;
  uint32_t module_count_ = 0;
  uint32_t tenant_count_ = 0;
  Counts counts_;
  std::optional<HealthSummary> health_;
};

absl::Status Run::CheckCancelled() const {
  if (std::optional<std::string> reason = sink_.CancelReason()) {
    return absl::CancelledError(absl::StrCat("run cancelled: ", *reason));
  }
  if (absl::Now() >= request_.deadline) {
    return absl::DeadlineExceededError("run cancelled: the deadline passed");
  }
  return absl::OkStatus();
}

void Run::AnnounceStart() {
  if (announced_) return;
  announced_ = true;
  sink_.OnRunStarted(RunStartedEvent{session_.run_id(), request_.operation,
                                     request_.dry_run, request_.requested_by,
                                     module_count_, tenant_count_});
}

void Run::Phase(absl::string_view name, uint64_t total) {
  AnnounceStart();
  sink_.OnPhaseStarted(name, total);
}

void Run::Emit(std::vector<Item> items) {
  if (items.empty()) return;
  AnnounceStart();
  const bool log_items = spdlog::should_log(spdlog::level::debug);
  for (Item& item : items) {
    if (request_.dry_run) {
      if (item.action == Action::kCreated) item.action = Action::kWouldCreate;
      if (item.action == Action::kDeleted) item.action = Action::kWouldDelete;
    }
    counts_.Add(item.action, item.kind);
    if (log_items) {
      log::Debug("item", {{"run", session_.run_id()},
                          {"op", OperationName(request_.operation)},
                          {"action", ActionName(item.action)},
                          {"kind", KindName(item.kind)},
                          {"tenant", item.tenant},
                          {"module", item.module}});
    }
  }
  sink_.OnItems(items);
}

absl::Status Run::ScanModules(bool refuse_empty) {
  SYNCADMIN_ASSIGN_OR_RETURN(
      modules_, ScanModulesRoot(options_.modules_dir, options_.locales));
  if (refuse_empty && modules_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "modules root ", QuoteForMessage(options_.modules_dir, 512),
        " has no module directories; refusing a run that deletes by "
        "absence, since it would delete every meta"));
  }
  module_count_ = static_cast<uint32_t>(modules_.size());
  return absl::OkStatus();
}

absl::Status Run::LoadActiveTenants() {
  SYNCADMIN_ASSIGN_OR_RETURN(tenants_, session_.ActiveTenants());
  tenant_count_ = static_cast<uint32_t>(tenants_.size());
  return absl::OkStatus();
}

absl::Status Run::SeedMetasPhase(const std::vector<std::string>& tenants,
                                 const std::vector<ModuleDefaults>& modules) {
  Phase("seed-metas", uint64_t{tenants.size()} * modules.size());
  const std::vector<std::string> names = NamesOf(modules);
  for (const auto& chunk :
       ChunkTenants(tenants, modules.size(), options_.rows_per_statement)) {
    SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
    SYNCADMIN_ASSIGN_OR_RETURN(auto items, session_.InsertMetas(chunk, modules));
    const uint64_t candidates = uint64_t{chunk.size()} * modules.size();
    const uint64_t created = std::min<uint64_t>(items.size(), candidates);
    Emit(std::move(items));
    if (request_.include_unchanged) {
      SYNCADMIN_ASSIGN_OR_RETURN(auto unchanged,
                                 session_.ListUnchangedMetas(chunk, names));
      Emit(std::move(unchanged));
    } else {
      counts_.Add(Action::kExists, Kind::kMeta, candidates - created);
    }
  }
  return absl::OkStatus();
}

absl::Status Run::SeedSettingsPhase(const std::vector<std::string>& tenants,
                                    std::optional<absl::string_view> module) {
  // TODO(perf): This count reads every meta of `tenants` once more, only to
  // announce the phase's total and size its chunks: about 5% of a warm
  // SyncAll. SyncAll's orphan guard reads the same rows and could return it.
  SYNCADMIN_ASSIGN_OR_RETURN(const uint64_t total,
                             session_.CountEnabledMetas(tenants, module));
  Phase("seed-settings", total);
  const uint64_t per_tenant =
      tenants.empty() ? 1 : (total + tenants.size() - 1) / tenants.size();
  uint64_t created = 0;
  for (const auto& chunk :
       ChunkTenants(tenants, per_tenant, options_.rows_per_statement)) {
    SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
    SYNCADMIN_ASSIGN_OR_RETURN(
        auto items, session_.InsertSettings(chunk, module, options_.locales));
    created += items.size();  // Before the items are moved away.
    Emit(std::move(items));
    if (request_.include_unchanged) {
      SYNCADMIN_ASSIGN_OR_RETURN(auto unchanged,
                                 session_.ListUnchangedSettings(chunk, module));
      Emit(std::move(unchanged));
    }
  }
  if (!request_.include_unchanged) {
    counts_.Add(Action::kExists, Kind::kSetting,
                total - std::min(total, created));
  }
  if (health_) health_->missing_settings += created;
  return absl::OkStatus();
}

absl::Status Run::CheckOrphanGuard(uint64_t* orphan_total) {
  const std::vector<std::string> names = NamesOf(modules_);
  // A share of 1 or more can never be exceeded; ask for every tenant with
  // orphans (share > 0) so that the phase total is known too.
  SYNCADMIN_ASSIGN_OR_RETURN(
      auto shares, session_.TenantsOverOrphanShare(tenants_, names, 0.0));
  std::vector<std::string> over;
  for (const OrphanShare& s : shares) {
    *orphan_total += s.orphan_metas;
    if (static_cast<double>(s.orphan_metas) >
        options_.max_delete_share * static_cast<double>(s.metas)) {
      over.push_back(absl::StrCat(s.tenant, " (", s.orphan_metas, " of ",
                                  s.metas, " metas)"));
    }
  }
  if (over.empty() || request_.force) return absl::OkStatus();
  const size_t shown = std::min<size_t>(over.size(), 5);
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to delete more than ", options_.max_delete_share * 100,
      "% of a tenant's metas without force: ",
      absl::StrJoin(over.begin(), over.begin() + shown, ", "),
      over.size() > shown ? absl::StrCat(" and ", over.size() - shown,
                                         " more tenants")
                          : "",
      ". Check that the modules root ",
      QuoteForMessage(options_.modules_dir, 512),
      " is the right one, then run again with force (--force)"));
}

absl::Status Run::DeleteOrphansPhase() {
  uint64_t orphan_total = 0;
  SYNCADMIN_RETURN_IF_ERROR(CheckOrphanGuard(&orphan_total));
  Phase("delete-orphans", orphan_total);
  if (orphan_total == 0) return absl::OkStatus();
  const std::vector<std::string> names = NamesOf(modules_);
  for (const auto& chunk : ChunkTenants(tenants_, modules_.size(),
                                        options_.rows_per_statement)) {
    SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
    SYNCADMIN_ASSIGN_OR_RETURN(auto items, session_.DeleteOrphans(chunk, names));
    Emit(std::move(items));
  }
  return absl::OkStatus();
}

absl::Status Run::SeedMeta() {
  SYNCADMIN_RETURN_IF_ERROR(ScanModules(/*refuse_empty=*/false));
  SYNCADMIN_RETURN_IF_ERROR(LoadActiveTenants());
  return SeedMetasPhase(tenants_, modules_);
}

absl::Status Run::SeedSettings() {
  SYNCADMIN_RETURN_IF_ERROR(LoadActiveTenants());
  return SeedSettingsPhase(tenants_, std::nullopt);
}

absl::Status Run::HealthCheck() {
  health_.emplace();
  SYNCADMIN_RETURN_IF_ERROR(ScanModules(/*refuse_empty=*/false));
  SYNCADMIN_RETURN_IF_ERROR(LoadActiveTenants());
  Phase("check", 0);
  const std::vector<std::string> names = NamesOf(modules_);
  for (const auto& chunk : ChunkTenants(tenants_, modules_.size(),
                                        options_.rows_per_statement)) {
    SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
    SYNCADMIN_ASSIGN_OR_RETURN(auto orphans,
                               session_.ListOrphanMetas(chunk, names));
    health_->orphan_metas += orphans.size();
    Emit(std::move(orphans));
    SYNCADMIN_ASSIGN_OR_RETURN(auto disabled, session_.ListDisabledMetas(chunk, names));
    health_->disabled_metas += disabled.size();
    Emit(std::move(disabled));
    if (request_.check_only) {
      SYNCADMIN_ASSIGN_OR_RETURN(auto missing,
                                 session_.ListMissingSettings(chunk));
      health_->missing_settings += missing.size();
      Emit(std::move(missing));
    }
  }
  SYNCADMIN_ASSIGN_OR_RETURN(auto inactive,
                             session_.ListInactiveTenantsWithRows());
  health_->inactive_tenants_with_rows = inactive.size();
  std::vector<Item> items;
  for (const InactiveTenantRows& t : inactive) {
    items.push_back(Item{Action::kSkipped, Kind::kTenant, t.tenant, "",
                         absl::StrCat("inactive tenant still has ", t.metas,
                                      " metas and ", t.settings,
                                      " settings")});
  }
  Emit(std::move(items));
  if (request_.check_only) return absl::OkStatus();
  // Repair: insert the missing settings; never delete.
  return SeedSettingsPhase(tenants_, std::nullopt);
}

absl::Status Run::SeedTenant() {
  SYNCADMIN_ASSIGN_OR_RETURN(auto tenant, session_.FindTenant(request_.tenant));
  if (!tenant) {
    return absl::NotFoundError(absl::StrCat(
        "tenant ", QuoteForMessage(request_.tenant), " not found"));
  }
  if (!tenant->active) {
    return absl::FailedPreconditionError(
        absl::StrCat("tenant ", QuoteForMessage(request_.tenant),
                     " is inactive: activate it first"));
  }
  SYNCADMIN_RETURN_IF_ERROR(ScanModules(/*refuse_empty=*/false));
  tenants_ = {tenant->slug};
  tenant_count_ = 1;
  SYNCADMIN_RETURN_IF_ERROR(SeedMetasPhase(tenants_, modules_));
  return SeedSettingsPhase(tenants_, std::nullopt);
}

absl::Status Run::SeedModule() {
  SYNCADMIN_RETURN_IF_ERROR(ScanModules(/*refuse_empty=*/false));
  auto it = std::find_if(modules_.begin(), modules_.end(),
                         [&](const ModuleDefaults& m) {
                           return m.name == request_.module;
                         });
  if (it == modules_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "module ", QuoteForMessage(request_.module),
        " has no directory under the modules root ",
        QuoteForMessage(options_.modules_dir, 512),
        " (names are matched exactly)"));
  }
  const std::vector<ModuleDefaults> one = {*it};
  module_count_ = 1;
  SYNCADMIN_RETURN_IF_ERROR(LoadActiveTenants());
  SYNCADMIN_RETURN_IF_ERROR(SeedMetasPhase(tenants_, one));
  return SeedSettingsPhase(tenants_, request_.module);
}

absl::Status Run::RemoveTenant() {
  SYNCADMIN_ASSIGN_OR_RETURN(auto tenant, session_.FindTenant(request_.tenant));
  if (!tenant) {
    return absl::NotFoundError(absl::StrCat(
        "tenant ", QuoteForMessage(request_.tenant), " not found"));
  }
  tenant_count_ = 1;
  Phase("remove-tenant",
        tenant->meta_count + tenant->setting_count + 1);
  SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
  SYNCADMIN_ASSIGN_OR_RETURN(auto items, session_.DeleteTenant(tenant->slug));
  Emit(std::move(items));
  return absl::OkStatus();
}

absl::Status Run::SyncAll() {
  SYNCADMIN_RETURN_IF_ERROR(ScanModules(/*refuse_empty=*/true));
  SYNCADMIN_RETURN_IF_ERROR(LoadActiveTenants());
  SYNCADMIN_RETURN_IF_ERROR(DeleteOrphansPhase());
  SYNCADMIN_RETURN_IF_ERROR(SeedMetasPhase(tenants_, modules_));
  return SeedSettingsPhase(tenants_, std::nullopt);
}

absl::Status Run::Restore() {
  SYNCADMIN_ASSIGN_OR_RETURN(auto source,
                             session_.FindRun(request_.source_run_id));
  if (!source) {
    return absl::NotFoundError(absl::StrCat(
        "run ", QuoteForMessage(request_.source_run_id), " not found"));
  }
  Phase("restore", 0);
  SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
  SYNCADMIN_ASSIGN_OR_RETURN(auto items,
                             session_.RestoreArchived(source->id));
  Emit(std::move(items));
  return absl::OkStatus();
}

absl::Status Run::Execute() {
  // The session calls back between attempts, so the first call means the
  // lock is taken: tell the client the run is waiting, not hanging.
  bool waiting = false;
  absl::Status locked = session_.AcquireLock(
      LockScopeFor(request_), request_.tenant,
      std::min(absl::Now() + options_.lock_timeout, request_.deadline),
      [this, &waiting] {
        if (!waiting) {
          waiting = true;
          Phase("wait-for-lock", 0);
        }
        return !CheckCancelled().ok();
      });
  if (!locked.ok()) {
    // The wait is also bounded by the request's deadline: when that is what
    // ended it, say so rather than blame the lock holder.
    absl::Status stop = CheckCancelled();
    return stop.ok() ? locked : stop;
  }
  SYNCADMIN_RETURN_IF_ERROR(CheckCancelled());
  SYNCADMIN_RETURN_IF_ERROR(session_.Begin());
  switch (request_.operation) {
    case Operation::kSeedMeta:
      return SeedMeta();
    case Operation::kSeedSettings:
      return SeedSettings();
    case Operation::kHealthCheck:
      return HealthCheck();
    case Operation::kSeedTenant:
      return SeedTenant();
    case Operation::kSeedModule:
      return SeedModule();
    case Operation::kRemoveTenant:
      return RemoveTenant();
    case Operation::kSyncAll:
      return SyncAll();
    case Operation::kRestore:
      return Restore();
  }
  return absl::InvalidArgumentError("unknown operation");
}

absl::Status Run::Finish(absl::Status status) {
  if (absl::IsCancelled(status)) {
    // A statement cancelled by the watcher reports only "cancelled"; name
    // the actual reason (client, deadline or shutdown) instead.
    if (absl::Status why = CheckCancelled(); !why.ok()) status = why;
  }
  if (status.ok() && !request_.dry_run && !request_.check_only) {
    // A client that cancelled after the last statement still gets a
    // rollback rather than a commit it no longer waits for.
    status = CheckCancelled();
  }
  Outcome outcome;
  if (status.ok() && !request_.dry_run && !request_.check_only) {
    status = session_.Commit(counts_);
    outcome = status.ok() ? Outcome::kCommitted : Outcome::kFailed;
  } else {
    // A failed rollback needs no handling: closing the connection, which
    // the session does next, rolls back too.
    (void)session_.Rollback();
    if (status.ok()) {
      outcome = Outcome::kRolledBack;
    } else if (absl::IsCancelled(status) || absl::IsDeadlineExceeded(status)) {
      outcome = Outcome::kCancelled;
    } else {
      outcome = Outcome::kFailed;
    }
  }
  if (!status.ok() && status.code() == absl::StatusCode::kUnknown) {
    // Commit outcome unknown. The journal cannot be misled: it recorded
    // "committed" inside the transaction, so recording "failed" below
    // changes nothing if the commit did happen.
    outcome = Outcome::kFailed;
  }

  const std::string error(status.message());
  if (absl::Status journaled = session_.Finish(outcome, counts_, error);
      !journaled.ok()) {
    log::Error("run journal not updated",
               {{"run", session_.run_id()},
                {"code", absl::StatusCodeToString(journaled.code())},
                {"error", journaled.message()}});
  }
  AnnounceStart();
  const int64_t duration_ms = absl::ToInt64Milliseconds(absl::Now() - started_at_);
  sink_.OnRunFinished(RunFinishedEvent{session_.run_id(), outcome, counts_,
                                       duration_ms, error, health_});
  std::vector<log::Field> fields = {
      {"run", session_.run_id()},
      {"op", OperationName(request_.operation)},
      {"outcome", OutcomeName(outcome)},
      {"created", counts_.Total(Action::kCreated) +
                      counts_.Total(Action::kWouldCreate)},
      {"deleted", counts_.Total(Action::kDeleted) +
                      counts_.Total(Action::kWouldDelete)},
      {"elapsed_ms", duration_ms}};
  if (!error.empty()) fields.emplace_back("error", error);
  log::Event(status.ok() ? spdlog::level::info : spdlog::level::warn,
             "run finished", fields);
  return status;
}

}  // namespace

const std::vector<std::string>& DefaultLocales() {
  static const std::vector<std::string> kLocales = {"tr", "en", "de",
                                                    "pl", "fr", "es"};
  return kLocales;
}

absl::Status ValidateRunRequest(const RunRequest& request) {
  switch (request.operation) {
    case Operation::kSeedTenant:
    case Operation::kRemoveTenant:
      return ValidateTenantSlug(request.tenant, "tenant");
    case Operation::kSeedModule:
      return ValidateModuleName(request.module, "module");
    case Operation::kRestore:
      return ValidateRunId(request.source_run_id, "run_id");
    case Operation::kSeedMeta:
    case Operation::kSeedSettings:
    case Operation::kHealthCheck:
    case Operation::kSyncAll:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown operation");
}

LockScope LockScopeFor(const RunRequest& request) {
  switch (request.operation) {
    case Operation::kSeedTenant:
    case Operation::kRemoveTenant:
      return LockScope::kTenant;
    case Operation::kHealthCheck:
      return request.check_only ? LockScope::kNone : LockScope::kGlobal;
    default:
      return LockScope::kGlobal;
  }
}

Engine::Engine(EngineOptions options, Store* store)
    : options_(std::move(options)), store_(store) {}

absl::Status Engine::Run(const RunRequest& raw_request, EventSink& sink) {
  RunRequest request = raw_request;
  SYNCADMIN_RETURN_IF_ERROR(ValidateRunRequest(request));
  if (request.operation == Operation::kRestore) {
    request.source_run_id = NormalizeRunId(request.source_run_id);
  }
  if (NeedsModulesRoot(request.operation) && options_.modules_dir.empty()) {
    return absl::FailedPreconditionError("no modules root is configured");
  }

  SYNCADMIN_ASSIGN_OR_RETURN(
      auto session,
      store_->StartRun(RunParams{request.operation, ParamsJson(request),
                                 request.requested_by, request.dry_run}));
  log::Info("run started", {{"run", session->run_id()},
                            {"op", OperationName(request.operation)},
                            {"dry_run", request.dry_run},
                            {"requested_by", request.requested_by},
                            {"params", ParamsJson(request)}});
  class Run run(options_, request, *session, sink);
  absl::Status status;
  {
    CancelWatcher watcher(*session,
                          [&run] { return !run.CheckCancelled().ok(); });
    status = run.Execute();
  }
  return run.Finish(status);
}

}  // namespace syncadmin::core
