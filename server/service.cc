#include "server/service.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/logging.h"
#include "core/validation.h"

namespace syncadmin::server {
namespace {

// Tenant display names a request may carry.
constexpr int kMaxNameLocales = 16;

constexpr int kDefaultTenantPage = 1000;
constexpr int kMaxTenantPage = 10000;
constexpr int kDefaultRunPage = 50;
constexpr int kMaxRunPage = 1000;
// A listing's response ends early, with a token for the rest, once its items
// pass this size: half of gRPC's default 4 MiB receive limit, which every
// client has unless it raises it, so that any page fits whatever its names.
constexpr size_t kMaxPageBytes = size_t{2} << 20;

// Locale of a tenant's default name (its slug) when the request gives none,
// if configured; otherwise the first configured locale.
constexpr char kDefaultNameLocale[] = "en";

// How long a tenant change waits for a run of that tenant to finish.
constexpr absl::Duration kTenantLockWait = absl::Seconds(30);

static_assert(static_cast<int>(core::Action::kWouldDelete) ==
              v1::ACTION_WOULD_DELETE);
static_assert(static_cast<int>(core::Kind::kSetting) == v1::KIND_SETTING);
static_assert(static_cast<int>(core::Outcome::kRunning) == v1::OUTCOME_RUNNING);
static_assert(static_cast<int>(core::Operation::kRestore) ==
              v1::OPERATION_RESTORE);

absl::Time DeadlineOf(const grpc::ServerContext* context) {
  const auto deadline = context->deadline();
  // gRPC reports "no deadline" as a time point centuries away.
  if (deadline >=
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

void ToProto(const core::Tenant& tenant, v1::Tenant* out) {
  out->set_slug(tenant.slug);
  for (const auto& [locale, text] : tenant.name) {
    (*out->mutable_name())[locale] = text;
  }
  out->set_active(tenant.active);
  out->set_created_at(tenant.created_at);
  out->set_updated_at(tenant.updated_at);
  out->set_meta_count(tenant.meta_count);
  out->set_setting_count(tenant.setting_count);
}

void ToProto(const core::RunRecord& run, v1::Run* out) {
  out->set_id(run.id);
  out->set_operation(static_cast<v1::Operation>(run.operation));
  out->set_params_json(run.params_json);
  out->set_requested_by(run.requested_by);
  out->set_dry_run(run.dry_run);
  out->set_started_at(run.started_at);
  out->set_finished_at(run.finished_at);
  out->set_outcome(static_cast<v1::Outcome>(run.outcome));
  CountsToProto(run.counts, out->mutable_counts());
  out->set_error(run.error);
}

core::RunRequest BaseRequest(core::Operation op,
                             const v1::RunOptions& options) {
  core::RunRequest request;
  request.operation = op;
  request.dry_run = options.dry_run();
  request.include_unchanged = options.include_unchanged();
  request.force = options.force();
  return request;
}

// Returns `page_size` or its default, capped at `max`.
int PageSize(uint32_t page_size, int fallback, int max) {
  if (page_size == 0) return fallback;
  return static_cast<int>(std::min<uint32_t>(page_size, max));
}

absl::Status ValidateTenantName(
    const google::protobuf::Map<std::string, std::string>& name,
    const std::vector<std::string>& locales) {
  if (name.size() > kMaxNameLocales) {
    return absl::InvalidArgumentError(
        absl::StrCat("name has ", name.size(), " locales: at most ",
                     kMaxNameLocales, " are allowed"));
  }
  for (const auto& [locale, text] : name) {
    if (absl::Status s = core::ValidateLocale(locale, "name locale"); !s.ok()) {
      return s;
    }
    if (std::find(locales.begin(), locales.end(), locale) == locales.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("name locale ", core::QuoteForMessage(locale),
                       " is not among the configured locales (",
                       absl::StrJoin(locales, ", "), ")"));
    }
    if (absl::Status s =
            core::ValidateDisplayText(text, absl::StrCat("name.", locale));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// The authenticator of a service built without one: authentication off.
const Authenticator& NoAuthentication() {
  static const Authenticator* const kOff = new Authenticator();
  return *kOff;
}

// The `run` field of a log line about a streamed call: the run's id, or
// "-" when the call failed before a run began (bad input, say).
std::string RunIdField(const GrpcEventSink& sink) {
  return sink.run_id().empty() ? "-" : sink.run_id();
}

// Marks a call as answered by syncd (see the service's comment in the
// proto), before any early return.
void MarkServed(grpc::ServerContext* context) {
  context->AddTrailingMetadata("syncadmin-served-by", "syncd");
}

// Converts the items of `page` into `out` until they pass kMaxPageBytes,
// and returns the response's next page token: `key` of the last item
// converted if some were left out, else the page's own.
template <typename Item, typename Proto, typename KeyFn>
std::string FillPage(const core::Page<Item>& page,
                     google::protobuf::RepeatedPtrField<Proto>* out,
                     KeyFn key) {
  size_t bytes = 0;
  for (size_t i = 0; i < page.items.size(); ++i) {
    Proto* added = out->Add();
    ToProto(page.items[i], added);
    bytes += added->ByteSizeLong();
    if (bytes >= kMaxPageBytes && i + 1 < page.items.size()) {
      return key(page.items[i]);
    }
  }
  return page.next_page_token;
}

// Short names for the roles of the unary handlers.
constexpr Role kViewer = Role::kViewer;
constexpr Role kAdmin = Role::kAdmin;

}  // namespace

Role RequiredRole(const core::RunRequest& request) {
  if (request.dry_run) return Role::kViewer;
  switch (request.operation) {
    case core::Operation::kHealthCheck:
      return request.check_only ? Role::kViewer : Role::kOperator;
    case core::Operation::kSeedMeta:
    case core::Operation::kSeedSettings:
    case core::Operation::kSeedTenant:
    case core::Operation::kSeedModule:
      return Role::kOperator;
    case core::Operation::kRemoveTenant:
    case core::Operation::kSyncAll:
    case core::Operation::kRestore:
      return Role::kAdmin;
  }
  return Role::kAdmin;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

SyncAdminService::SyncAdminService(core::Engine* engine, core::Store* store,
                                   const std::atomic<bool>* shutting_down,
                                   StreamOptions stream_options,
                                   const Authenticator* authenticator)
    : engine_(engine),
      store_(store),
      shutting_down_(shutting_down),
      stream_options_(stream_options),
      authenticator_(authenticator != nullptr ? authenticator
                                              : &NoAuthentication()) {}

absl::StatusOr<Principal> SyncAdminService::Caller(
    absl::string_view rpc, const grpc::ServerContext& context,
    Role needed) const {
  std::vector<absl::string_view> authorization;
  const auto [begin, end] =
      context.client_metadata().equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    authorization.emplace_back(it->second.data(), it->second.size());
  }
  absl::StatusOr<Principal> caller =
      authenticator_->Authenticate(authorization);
  absl::Status status =
      caller.ok() ? Authorize(*caller, needed, rpc) : caller.status();
  if (!status.ok()) {
    log::Warn("rpc denied",
              {{"rpc", rpc},
               {"peer", context.peer()},
               {"by", caller.ok() ? caller->name : std::string("-")},
               {"code", absl::StatusCodeToString(status.code())},
               {"error", status.message()}});
    return status;
  }
  return caller;
}

class SyncAdminService::RunSlot {
 public:
  RunSlot(SyncAdminService* service, std::string caller)
      : service_(service), caller_(std::move(caller)) {
    absl::MutexLock lock(&service_->runs_mu_);
    const auto it = service_->runs_by_caller_.find(caller_);
    const int runs = it == service_->runs_by_caller_.end() ? 0 : it->second;
    taken_ = runs < service_->stream_options_.max_runs_per_caller;
    if (taken_) ++service_->runs_by_caller_[caller_];
  }
  ~RunSlot() {
    if (!taken_) return;
    absl::MutexLock lock(&service_->runs_mu_);
    if (--service_->runs_by_caller_[caller_] == 0) {
      service_->runs_by_caller_.erase(caller_);
    }
  }
  RunSlot(const RunSlot&) = delete;
  RunSlot& operator=(const RunSlot&) = delete;

  bool taken() const { return taken_; }

 private:
  SyncAdminService* service_;
  std::string caller_;
  bool taken_ = false;
};

grpc::Status SyncAdminService::Stream(
    absl::string_view rpc, grpc::ServerContext* context,
    core::RunRequest request, grpc::ServerWriter<v1::SyncEvent>* writer) {
  MarkServed(context);
  absl::StatusOr<Principal> caller =
      Caller(rpc, *context, RequiredRole(request));
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  request.requested_by = caller->name;
  // Logs a call that did not succeed with the fields an operator filters
  // on; `run` is "-" when no run began.
  const auto log_failure =
      [&](spdlog::level::level_enum level, absl::string_view message,
          std::string run, absl::string_view code, absl::string_view error) {
        log::Event(level, message,
                   {{"rpc", rpc},
                    {"run", run},
                    {"op", core::OperationName(request.operation)},
                    {"peer", context->peer()},
                    {"by", caller->name},
                    {"code", code},
                    {"error", error}});
      };
  const RunSlot slot(this, caller->name);
  if (!slot.taken()) {
    const absl::Status busy = absl::ResourceExhaustedError(absl::StrCat(
        "caller ", core::QuoteForMessage(caller->name), " already has ",
        stream_options_.max_runs_per_caller,
        " runs in progress (syncd --max-runs-per-caller); wait for one to "
        "end"));
    log_failure(spdlog::level::warn, "rpc refused", "-", "RESOURCE_EXHAUSTED",
                busy.message());
    return ToGrpcStatus(busy);
  }

  GrpcEventSink sink(context, writer, shutting_down_, stream_options_);
  absl::Status status;
  try {
    request.deadline = DeadlineOf(context);
    status = engine_->Run(request, sink);
    sink.Close();
  } catch (const std::exception& e) {
    // Only a bug gets here: the core reports failures as statuses.
    log_failure(spdlog::level::err, "rpc failed", RunIdField(sink), "INTERNAL",
                e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "internal error; see the server log");
  }
  if (!status.ok()) {
    const bool expected =
        absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
        absl::IsCancelled(status) || absl::IsFailedPrecondition(status);
    log_failure(expected ? spdlog::level::info : spdlog::level::err,
                "rpc failed", RunIdField(sink),
                absl::StatusCodeToString(status.code()), status.message());
  }
  return ToGrpcStatus(status);
}

template <typename Fn>
grpc::Status SyncAdminService::Unary(absl::string_view rpc,
                                     grpc::ServerContext* context, Role needed,
                                     Fn&& body) {
  MarkServed(context);
  absl::StatusOr<Principal> caller = Caller(rpc, *context, needed);
  if (!caller.ok()) return ToGrpcStatus(caller.status());

  absl::Status status;
  try {
    status = body(*caller);
  } catch (const std::exception& e) {
    log::Error("rpc failed", {{"rpc", rpc},
                              {"peer", context->peer()},
                              {"by", caller->name},
                              {"code", "INTERNAL"},
                              {"error", e.what()}});
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "internal error; see the server log");
  }
  if (!status.ok()) {
    log::Info("rpc failed", {{"rpc", rpc},
                             {"peer", context->peer()},
                             {"by", caller->name},
                             {"code", absl::StatusCodeToString(status.code())},
                             {"error", status.message()}});
  }
  return ToGrpcStatus(status);
}

grpc::Status SyncAdminService::SeedMeta(
    grpc::ServerContext* context, const v1::SeedMetaRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  return Stream("SeedMeta", context,
                BaseRequest(core::Operation::kSeedMeta, request->options()),
                writer);
}

grpc::Status SyncAdminService::SeedSettings(
    grpc::ServerContext* context, const v1::SeedSettingsRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  return Stream("SeedSettings", context,
                BaseRequest(core::Operation::kSeedSettings, request->options()),
                writer);
}

grpc::Status SyncAdminService::HealthCheck(
    grpc::ServerContext* context, const v1::HealthCheckRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  core::RunRequest run =
      BaseRequest(core::Operation::kHealthCheck, request->options());
  run.check_only = request->check_only();
  return Stream("HealthCheck", context, std::move(run), writer);
}

grpc::Status SyncAdminService::SeedTenant(
    grpc::ServerContext* context, const v1::SeedTenantRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  core::RunRequest run =
      BaseRequest(core::Operation::kSeedTenant, request->options());
  run.tenant = request->tenant();
  return Stream("SeedTenant", context, std::move(run), writer);
}

grpc::Status SyncAdminService::SeedModule(
    grpc::ServerContext* context, const v1::SeedModuleRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  core::RunRequest run =
      BaseRequest(core::Operation::kSeedModule, request->options());
  run.module = request->module();
  return Stream("SeedModule", context, std::move(run), writer);
}

grpc::Status SyncAdminService::RemoveTenant(
    grpc::ServerContext* context, const v1::RemoveTenantRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  core::RunRequest run =
      BaseRequest(core::Operation::kRemoveTenant, request->options());
  run.tenant = request->tenant();
  return Stream("RemoveTenant", context, std::move(run), writer);
}

grpc::Status SyncAdminService::SyncAll(
    grpc::ServerContext* context, const v1::SyncAllRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  return Stream("SyncAll", context,
                BaseRequest(core::Operation::kSyncAll, request->options()),
                writer);
}

grpc::Status SyncAdminService::Restore(
    grpc::ServerContext* context, const v1::RestoreRequest* request,
    grpc::ServerWriter<v1::SyncEvent>* writer) {
  core::RunRequest run =
      BaseRequest(core::Operation::kRestore, request->options());
  run.source_run_id = request->run_id();
  return Stream("Restore", context, std::move(run), writer);
}

grpc::Status SyncAdminService::CreateTenant(
    grpc::ServerContext* context, const v1::CreateTenantRequest* request,
    v1::CreateTenantResponse* response) {
  // A dry run changes nothing, so a viewer may ask for one.
  const Role needed = request->dry_run() ? kViewer : kAdmin;
  return Unary("CreateTenant", context, needed, [&](const Principal& by) {
    if (absl::Status s = core::ValidateTenantSlug(request->slug(), "slug");
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            ValidateTenantName(request->name(), engine_->options().locales);
        !s.ok()) {
      return s;
    }
    core::Tenant tenant;
    tenant.slug = request->slug();
    tenant.active = !request->inactive();
    for (const auto& [locale, text] : request->name()) {
      tenant.name[locale] = text;
    }
    if (tenant.name.empty()) {
      const auto& locales = engine_->options().locales;
      const bool has_default = std::find(locales.begin(), locales.end(),
                                         kDefaultNameLocale) != locales.end();
      tenant.name[has_default ? kDefaultNameLocale : locales.front()] =
          tenant.slug;
    }
    absl::StatusOr<core::Tenant> stored =
        store_->CreateTenant(tenant, request->dry_run());
    if (absl::IsAlreadyExists(stored.status())) {
      return absl::AlreadyExistsError(absl::StrCat(
          "tenant ", core::QuoteForMessage(tenant.slug), " already exists"));
    }
    if (!stored.ok()) return stored.status();
    log::Info(request->dry_run() ? "tenant creation dry run" : "tenant created",
              {{"tenant", stored->slug},
               {"active", stored->active},
               {"peer", context->peer()},
               {"by", by.name}});
    ToProto(*stored, response->mutable_tenant());
    return absl::OkStatus();
  });
}

grpc::Status SyncAdminService::ListTenants(
    grpc::ServerContext* context, const v1::ListTenantsRequest* request,
    v1::ListTenantsResponse* response) {
  return Unary("ListTenants", context, kViewer, [&](const Principal&) {
    if (!request->page_token().empty()) {
      if (absl::Status s =
              core::ValidateTenantSlug(request->page_token(), "page_token");
          !s.ok()) {
        return s;
      }
    }
    auto page = store_->ListTenants(
        request->page_token(),
        PageSize(request->page_size(), kDefaultTenantPage, kMaxTenantPage));
    if (!page.ok()) return page.status();
    response->set_next_page_token(
        FillPage(*page, response->mutable_tenants(),
                 [](const core::Tenant& t) { return t.slug; }));
    return absl::OkStatus();
  });
}

grpc::Status SyncAdminService::SetTenantActive(
    grpc::ServerContext* context, const v1::SetTenantActiveRequest* request,
    v1::SetTenantActiveResponse* response) {
  // A dry run changes nothing, so a viewer may ask for one.
  const Role needed = request->dry_run() ? kViewer : kAdmin;
  return Unary("SetTenantActive", context, needed, [&](const Principal& by) {
    if (absl::Status s = core::ValidateTenantSlug(request->slug(), "slug");
        !s.ok()) {
      return s;
    }
    const absl::Time deadline =
        std::min(DeadlineOf(context), absl::Now() + kTenantLockWait);
    auto stored = store_->SetTenantActive(request->slug(), request->active(),
                                          deadline, request->dry_run());
    if (!stored.ok()) return stored.status();
    log::Info(request->dry_run() ? "tenant change dry run" : "tenant changed",
              {{"tenant", stored->slug},
               {"active", stored->active},
               {"peer", context->peer()},
               {"by", by.name}});
    ToProto(*stored, response->mutable_tenant());
    return absl::OkStatus();
  });
}

grpc::Status SyncAdminService::ListRuns(grpc::ServerContext* context,
                                        const v1::ListRunsRequest* request,
                                        v1::ListRunsResponse* response) {
  return Unary("ListRuns", context, kViewer, [&](const Principal&) {
    if (!request->page_token().empty()) {
      if (absl::Status s =
              core::ValidateRunId(request->page_token(), "page_token");
          !s.ok()) {
        return s;
      }
    }
    auto page = store_->ListRuns(
        core::NormalizeRunId(request->page_token()),
        PageSize(request->page_size(), kDefaultRunPage, kMaxRunPage));
    if (!page.ok()) return page.status();
    response->set_next_page_token(
        FillPage(*page, response->mutable_runs(),
                 [](const core::RunRecord& run) { return run.id; }));
    return absl::OkStatus();
  });
}

grpc::Status SyncAdminService::GetRun(grpc::ServerContext* context,
                                      const v1::GetRunRequest* request,
                                      v1::GetRunResponse* response) {
  return Unary("GetRun", context, kViewer, [&](const Principal&) {
    if (absl::Status s = core::ValidateRunId(request->run_id(), "run_id");
        !s.ok()) {
      return s;
    }
    auto run = store_->GetRun(core::NormalizeRunId(request->run_id()));
    if (!run.ok()) return run.status();
    ToProto(*run, response->mutable_run());
    return absl::OkStatus();
  });
}

}  // namespace syncadmin::server
