// syncctl: command-line client of the SyncAdmin gRPC service.
//
// Exit codes: 0 success; 1 the server reported a failure (or could not be
// reached); 2 usage error; 3 `health --check` found drift; 130 interrupted.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/output.h"
#include "grpcpp/grpcpp.h"
#include "syncadmin/v1/sync_admin.grpc.pb.h"

namespace syncadmin::client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDrift = 3;
constexpr int kExitInterrupted = 130;

using Stub = v1::SyncAdmin::Stub;
using EventReader = grpc::ClientReader<v1::SyncEvent>;

struct GlobalFlags {
  std::string addr = "127.0.0.1:50051";
  double timeout_s = 0;
};

struct RunFlags {
  bool dry_run = false;
  bool force = false;
  bool unchanged = false;
};

std::unique_ptr<Stub> Connect(const GlobalFlags& flags) {
  return v1::SyncAdmin::NewStub(
      grpc::CreateChannel(flags.addr, grpc::InsecureChannelCredentials()));
}

void SetDeadline(const GlobalFlags& flags, grpc::ClientContext* context) {
  if (flags.timeout_s > 0) {
    context->set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000)));
  }
}

int ReportError(const grpc::Status& status, const GlobalFlags& flags) {
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    message = absl::StrCat(message, " (is syncd running at ", flags.addr, "?)");
  }
  std::fprintf(stderr, "syncctl: %s: %s\n",
               absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
                   .c_str(),
               message.c_str());
  return kExitFailure;
}

// SIGINT and SIGTERM, which cancel a streaming run.
sigset_t InterruptSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// Blocks the interrupt signals in the calling thread and in every thread it
// starts afterwards. Must run before the first gRPC channel is created, or
// gRPC's own threads would receive the signals and the default action would
// kill the process without cancelling the run.
void BlockInterruptSignals() {
  const sigset_t signals = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// Cancels `context` when SIGINT or SIGTERM arrives, until destroyed. The
// signals must already be blocked (`BlockInterruptSignals`); they are taken
// here with sigtimedwait, so nothing runs in a signal handler.
class InterruptGuard {
 public:
  explicit InterruptGuard(grpc::ClientContext* context)
      : signals_(InterruptSignals()) {
    watcher_ = std::thread([this, context] {
      const timespec tick{0, 100 * 1000 * 1000};
      while (!done_.load()) {
        if (sigtimedwait(&signals_, nullptr, &tick) > 0) {
          interrupted_.store(true);
          context->TryCancel();
          return;
        }
      }
    });
  }
  ~InterruptGuard() {
    done_.store(true);
    watcher_.join();
  }
  bool interrupted() const { return interrupted_.load(); }

 private:
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::atomic<bool> interrupted_{false};
  std::thread watcher_;
};

// Runs one streaming operation: prints every event, then maps the outcome
// to an exit code.
int RunStream(
    const GlobalFlags& flags,
    const std::function<std::unique_ptr<EventReader>(Stub&,
                                                      grpc::ClientContext*)>&
        start,
    bool fail_on_drift = false) {
  BlockInterruptSignals();
  auto stub = Connect(flags);
  grpc::ClientContext context;
  SetDeadline(flags, &context);
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  TextEventPrinter printer(stdout);
  grpc::Status status;
  bool interrupted;
  {
    InterruptGuard guard(&context);
    std::unique_ptr<EventReader> reader = start(*stub, &context);
    v1::SyncEvent event;
    while (reader->Read(&event)) printer.Print(event);
    status = reader->Finish();
    interrupted = guard.interrupted();
  }
  std::fflush(stdout);
  if (interrupted) {
    std::fprintf(stderr,
                 "syncctl: interrupted; the run was cancelled and rolled "
                 "back\n");
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportError(status, flags);
  if (fail_on_drift && printer.finished() &&
      printer.run_finished().health().drift()) {
    return kExitDrift;
  }
  return kExitOk;
}

v1::RunOptions OptionsOf(const RunFlags& flags) {
  v1::RunOptions options;
  options.set_dry_run(flags.dry_run);
  options.set_force(flags.force);
  options.set_include_unchanged(flags.unchanged);
  return options;
}

void AddRunFlags(CLI::App* command, RunFlags* flags, bool can_force) {
  command->add_flag("--dry-run", flags->dry_run,
                    "Show what would change; write nothing");
  command->add_flag("--unchanged", flags->unchanged,
                    "Also list items that were already in place");
  if (can_force) {
    command->add_flag("--force", flags->force,
                      "Allow deleting more than the guard's share of a "
                      "tenant's metas");
  }
}

bool IsLocale(absl::string_view s) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (s.size() != 2 && s.size() != 5) return false;
  if (!lower(s[0]) || !lower(s[1])) return false;
  return s.size() == 2 || (s[2] == '-' && upper(s[3]) && upper(s[4]));
}

// Parses "--name TEXT" or "--name LOCALE=TEXT" values into a locale map.
void AddNames(const std::vector<std::string>& names,
              v1::CreateTenantRequest* request) {
  for (const std::string& name : names) {
    const size_t eq = name.find('=');
    // Only a prefix that is a locale ("tr", "pt-BR") names one; any other
    // "=" is part of the name.
    const bool has_locale =
        eq != std::string::npos && IsLocale(absl::string_view(name).substr(0, eq));
    if (has_locale) {
      (*request->mutable_name())[name.substr(0, eq)] = name.substr(eq + 1);
    } else {
      (*request->mutable_name())["en"] = name;
    }
  }
}

template <typename Request, typename Response, typename Call>
int Unary(const GlobalFlags& flags, const Request& request, Call call,
          const std::function<void(const Response&)>& print) {
  auto stub = Connect(flags);
  grpc::ClientContext context;
  SetDeadline(flags, &context);
  Response response;
  grpc::Status status = ((*stub).*call)(&context, request, &response);
  if (!status.ok()) return ReportError(status, flags);
  print(response);
  return kExitOk;
}

int Main(int argc, char** argv) {
  GlobalFlags global;
  CLI::App app{"syncctl: run SyncAdmin operations and watch them item by item",
               "syncctl"};
  app.set_version_flag("--version", "syncctl 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--addr", global.addr, "syncd address, HOST:PORT")
      ->envname("SYNCCTL_ADDR")
      ->capture_default_str();
  app.add_option("--timeout", global.timeout_s,
                 "Give up after this many seconds (0: never)")
      ->envname("SYNCCTL_TIMEOUT")
      ->check(CLI::NonNegativeNumber);

  RunFlags run_flags;
  std::string tenant, module, run_id, page_token;
  std::vector<std::string> names;
  bool check_only = false, inactive = false;
  uint32_t page_size = 0;

  auto* all = app.add_subcommand(
      "all", "Delete orphans, seed missing metas and settings (sync:all)");
  AddRunFlags(all, &run_flags, true);
  auto* meta = app.add_subcommand(
      "meta", "Seed missing metas for every active tenant (sync:meta)");
  AddRunFlags(meta, &run_flags, false);
  auto* settings = app.add_subcommand(
      "settings", "Seed missing settings of enabled metas (sync:settings)");
  AddRunFlags(settings, &run_flags, false);
  auto* health = app.add_subcommand(
      "health", "Report drift and repair missing settings (sync:health)");
  AddRunFlags(health, &run_flags, false);
  health->add_flag("--check", check_only,
                   "Only report; exit 3 if drift is found");
  auto* seed_tenant = app.add_subcommand(
      "tenant", "Seed every module for one tenant (sync:tenant)");
  seed_tenant->add_option("SLUG", tenant, "Tenant slug")->required();
  AddRunFlags(seed_tenant, &run_flags, false);
  auto* seed_module = app.add_subcommand(
      "module", "Seed one module for every active tenant (sync:module)");
  seed_module->add_option("NAME", module, "Module directory name")->required();
  AddRunFlags(seed_module, &run_flags, false);
  auto* remove = app.add_subcommand(
      "remove-tenant",
      "Delete a tenant's settings, metas and registry row, archived "
      "(sync:remove-tenant)");
  remove->add_option("SLUG", tenant, "Tenant slug")->required();
  AddRunFlags(remove, &run_flags, false);
  auto* restore = app.add_subcommand(
      "restore", "Put back what an earlier run deleted");
  restore->add_option("RUN_ID", run_id, "Id of the run to undo")->required();
  AddRunFlags(restore, &run_flags, false);

  auto* tenants = app.add_subcommand("tenants", "Manage the tenant registry");
  tenants->require_subcommand(1);
  auto* tenants_add = tenants->add_subcommand("add", "Register a tenant");
  tenants_add->add_option("SLUG", tenant, "Tenant slug")->required();
  tenants_add->add_option("--name", names,
                          "Display name, TEXT or LOCALE=TEXT (repeatable)");
  tenants_add->add_flag("--inactive", inactive, "Register it as inactive");
  auto* tenants_list = tenants->add_subcommand("list", "List tenants");
  tenants_list->add_option("--page-size", page_size, "Tenants per page");
  tenants_list->add_option("--page-token", page_token, "Page to show");
  auto* tenants_activate =
      tenants->add_subcommand("activate", "Activate a tenant");
  tenants_activate->add_option("SLUG", tenant, "Tenant slug")->required();
  auto* tenants_deactivate =
      tenants->add_subcommand("deactivate", "Deactivate a tenant");
  tenants_deactivate->add_option("SLUG", tenant, "Tenant slug")->required();

  auto* runs = app.add_subcommand("runs", "List journaled runs, newest first");
  runs->add_option("--page-size", page_size, "Runs per page");
  runs->add_option("--page-token", page_token, "Page to show");
  auto* run = app.add_subcommand("run", "Show one journaled run");
  run->add_option("RUN_ID", run_id, "Run id")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  const v1::RunOptions options = OptionsOf(run_flags);
  if (all->parsed()) {
    v1::SyncAllRequest request;
    *request.mutable_options() = options;
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.SyncAll(ctx, request);
    });
  }
  if (meta->parsed()) {
    v1::SeedMetaRequest request;
    *request.mutable_options() = options;
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.SeedMeta(ctx, request);
    });
  }
  if (settings->parsed()) {
    v1::SeedSettingsRequest request;
    *request.mutable_options() = options;
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.SeedSettings(ctx, request);
    });
  }
  if (health->parsed()) {
    v1::HealthCheckRequest request;
    *request.mutable_options() = options;
    request.set_check_only(check_only);
    return RunStream(
        global,
        [&](Stub& stub, grpc::ClientContext* ctx) {
          return stub.HealthCheck(ctx, request);
        },
        /*fail_on_drift=*/check_only);
  }
  if (seed_tenant->parsed()) {
    v1::SeedTenantRequest request;
    *request.mutable_options() = options;
    request.set_tenant(tenant);
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.SeedTenant(ctx, request);
    });
  }
  if (seed_module->parsed()) {
    v1::SeedModuleRequest request;
    *request.mutable_options() = options;
    request.set_module(module);
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.SeedModule(ctx, request);
    });
  }
  if (remove->parsed()) {
    v1::RemoveTenantRequest request;
    *request.mutable_options() = options;
    request.set_tenant(tenant);
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.RemoveTenant(ctx, request);
    });
  }
  if (restore->parsed()) {
    v1::RestoreRequest request;
    *request.mutable_options() = options;
    request.set_run_id(run_id);
    return RunStream(global, [&](Stub& stub, grpc::ClientContext* ctx) {
      return stub.Restore(ctx, request);
    });
  }
  if (tenants_add->parsed()) {
    v1::CreateTenantRequest request;
    request.set_slug(tenant);
    request.set_inactive(inactive);
    AddNames(names, &request);
    return Unary<v1::CreateTenantRequest, v1::CreateTenantResponse>(
        global, request, &Stub::CreateTenant,
        [](const v1::CreateTenantResponse& r) {
          std::printf("tenant %s registered (%s)\n", r.tenant().slug().c_str(),
                      r.tenant().active() ? "active" : "inactive");
        });
  }
  if (tenants_list->parsed()) {
    v1::ListTenantsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return Unary<v1::ListTenantsRequest, v1::ListTenantsResponse>(
        global, request, &Stub::ListTenants,
        [](const v1::ListTenantsResponse& r) { PrintTenants(stdout, r); });
  }
  if (tenants_activate->parsed() || tenants_deactivate->parsed()) {
    v1::SetTenantActiveRequest request;
    request.set_slug(tenant);
    request.set_active(tenants_activate->parsed());
    return Unary<v1::SetTenantActiveRequest, v1::SetTenantActiveResponse>(
        global, request, &Stub::SetTenantActive,
        [](const v1::SetTenantActiveResponse& r) {
          std::printf("tenant %s is %s\n", r.tenant().slug().c_str(),
                      r.tenant().active() ? "active" : "inactive");
        });
  }
  if (runs->parsed()) {
    v1::ListRunsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return Unary<v1::ListRunsRequest, v1::ListRunsResponse>(
        global, request, &Stub::ListRuns,
        [](const v1::ListRunsResponse& r) { PrintRuns(stdout, r); });
  }
  if (run->parsed()) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    return Unary<v1::GetRunRequest, v1::GetRunResponse>(
        global, request, &Stub::GetRun,
        [](const v1::GetRunResponse& r) { PrintRun(stdout, r.run()); });
  }
  std::fprintf(stderr, "syncctl: no command given (see --help)\n");
  return kExitUsage;
}

}  // namespace
}  // namespace syncadmin::client

int main(int argc, char** argv) { return syncadmin::client::Main(argc, argv); }
