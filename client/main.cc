// syncctl: command-line client of the SyncAdmin gRPC service.
//
// Exit codes (also in `syncctl --help` and the README): 0 success; 1 the
// server reported a failure (or could not be reached); 2 usage error;
// 3 `health --check` found drift; 4 refused: a command that deletes was not
// confirmed; 130 interrupted.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/confirm.h"
#include "client/connection.h"
#include "client/json_output.h"
#include "client/output.h"
#include "client/progress.h"
#include "google/protobuf/stubs/common.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "syncadmin/v1/sync_admin.grpc.pb.h"

namespace syncadmin::client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDrift = 3;
constexpr int kExitRefused = 4;
constexpr int kExitInterrupted = 130;

constexpr char kServiceName[] = "syncadmin.v1.SyncAdmin";

using Stub = v1::SyncAdmin::Stub;
using EventReader = grpc::ClientReader<v1::SyncEvent>;

struct GlobalFlags {
  std::string addr = "127.0.0.1:50051";
  double timeout_s = 0;
  std::string output = "text";
  bool no_progress = false;
  ConnectionFlags connection_flags;
  Connection connection;  // Resolved from `connection_flags` after parsing.

  bool json() const { return output == "json"; }
};

struct RunFlags {
  bool dry_run = false;
  bool force = false;
  bool unchanged = false;
  bool yes = false;
};

std::unique_ptr<Stub> Connect(const GlobalFlags& flags) {
  return v1::SyncAdmin::NewStub(flags.connection.NewChannel(flags.addr));
}

void SetDeadline(const GlobalFlags& flags, grpc::ClientContext* context) {
  if (flags.timeout_s > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(
                              static_cast<int64_t>(flags.timeout_s * 1000)));
  }
}

// Whether syncd itself answered the call `context` made (see the service's
// comment in the proto), rather than the call failing on its way there.
bool AnsweredBySyncd(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find("syncadmin-served-by");
  return it != trailers.end() && it->second == "syncd";
}

// Prints the failed call's status, with a hint where one helps, and returns
// the failure exit code.
int ReportError(const grpc::Status& status, const GlobalFlags& flags,
                bool answered_by_syncd) {
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      !answered_by_syncd) {
    message = absl::StrCat(message, " (is syncd running at ", flags.addr, "?)");
  }
  message += flags.connection.Hint(status, answered_by_syncd);
  const std::string code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  std::fprintf(stderr, "syncctl: %s: %s\n", code.c_str(), message.c_str());
  if (flags.json()) {
    WriteJsonLine(stdout, ErrorJson(code, status.error_message()));
    std::fflush(stdout);
  }
  return kExitFailure;
}

// Ends a command that syncctl stops itself (not confirmed, interrupted):
// `message` on stderr and, with --output json, a last `error` object whose
// `code` says why (`NOT_CONFIRMED`, `CANCELLED`), so that a script reading
// the lines learns how every call ended. Returns `exit_code`.
int Stop(const GlobalFlags& flags, int exit_code, const std::string& code,
         const std::string& message) {
  std::fprintf(stderr, "syncctl: %s\n", message.c_str());
  if (flags.json()) {
    WriteJsonLine(stdout, ErrorJson(code, message));
    std::fflush(stdout);
  }
  return exit_code;
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
      // The destructor waits for the current tick to end, at the end of
      // every streamed call: keep it short (a 100 ms tick added 50 ms on
      // average to every command).
      const timespec tick{0, 10 * 1000 * 1000};
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

using StartFn = std::function<std::unique_ptr<EventReader>(
    Stub&, grpc::ClientContext*, bool dry_run)>;

// How one streamed call ended.
struct StreamResult {
  grpc::Status status;
  bool answered_by_syncd = false;
  bool interrupted = false;
  std::optional<v1::RunFinished> finished;
};

// Streams one call, handing every event to `on_event`; SIGINT or SIGTERM
// cancels the call. The interrupt signals must be blocked already.
StreamResult Stream(Stub& stub, const GlobalFlags& flags, const StartFn& start,
                    bool dry_run,
                    const std::function<void(const v1::SyncEvent&)>& on_event) {
  grpc::ClientContext context;
  SetDeadline(flags, &context);
  flags.connection.Authorize(&context);
  StreamResult result;
  InterruptGuard guard(&context);
  std::unique_ptr<EventReader> reader = start(stub, &context, dry_run);
  v1::SyncEvent event;
  while (reader->Read(&event)) {
    if (event.has_run_finished()) result.finished = event.run_finished();
    on_event(event);
  }
  result.status = reader->Finish();
  result.answered_by_syncd = AnsweredBySyncd(context);
  result.interrupted = guard.interrupted();
  return result;
}

// Makes one unary call with `call(context)`; SIGINT or SIGTERM cancels it,
// and sets `*interrupted`. The interrupt signals must be blocked already
// (`BlockInterruptSignals`, before the call's channel was made).
template <typename CallFn>
grpc::Status CallUnary(grpc::ClientContext* context, const CallFn& call,
                       bool* interrupted) {
  InterruptGuard guard(context);
  grpc::Status status = call(context);
  *interrupted = guard.interrupted();
  return status;
}

// What syncctl says when a unary call was interrupted: the request may have
// reached syncd and been carried out before the cancel.
constexpr char kUnaryInterrupted[] =
    "interrupted; the call was cancelled, but a change that had reached "
    "syncd may have been made: check before repeating it";

// True once SIGINT or SIGTERM is pending (they are blocked; see
// `BlockInterruptSignals`). Takes the signal.
bool InterruptPending() {
  const sigset_t signals = InterruptSignals();
  const timespec now{0, 0};
  return sigtimedwait(&signals, nullptr, &now) > 0;
}

// What a command that deletes needs before it runs.
struct Deletion {
  std::string command;  // "all", "remove-tenant"
  std::string tenant;   // For remove-tenant: typed back to confirm.
};

// Runs the dry run that shows what `deletion` would delete and asks the
// operator. Returns -1 to go ahead, else the exit code to stop with.
int Confirm(Stub& stub, const GlobalFlags& flags, const StartFn& start,
            const Deletion& deletion) {
  if (isatty(STDIN_FILENO) != 1) {
    return Stop(flags, kExitRefused, "NOT_CONFIRMED",
                absl::StrCat(deletion.command, " ",
                             deletion.tenant.empty() ? "may delete" : "deletes",
                             " rows and needs confirmation: run it at a "
                             "terminal, or pass --yes (see first what it "
                             "would delete with --dry-run)"));
  }
  DeletionPreview preview;
  const StreamResult dry =
      Stream(stub, flags, start, /*dry_run=*/true,
             [&](const v1::SyncEvent& e) { preview.Add(e); });
  if (dry.interrupted) {
    return Stop(flags, kExitInterrupted, "CANCELLED",
                "interrupted; nothing was changed");
  }
  if (!dry.status.ok()) {
    return ReportError(dry.status, flags, dry.answered_by_syncd);
  }
  if (preview.total() == 0 && deletion.tenant.empty()) return -1;

  std::string question = preview.Describe();
  std::string expected;
  if (!deletion.tenant.empty()) {
    expected = deletion.tenant;
    absl::StrAppend(&question, "Type the tenant's slug (", deletion.tenant,
                    ") to delete it: ");
  } else {
    absl::StrAppend(&question, "Delete them? [y/N] ");
  }
  switch (Ask(question, expected, /*also_yes=*/deletion.tenant.empty(),
              STDIN_FILENO, stderr, InterruptPending)) {
    case Answer::kConfirmed:
      return -1;
    case Answer::kInterrupted:
      return Stop(flags, kExitInterrupted, "CANCELLED",
                  "interrupted; nothing was changed");
    case Answer::kDeclined:
      break;
  }
  return Stop(flags, kExitRefused, "NOT_CONFIRMED",
              "not confirmed; nothing was changed");
}

// Runs one streaming operation: confirms it first if it deletes, prints
// every event (as text, with a progress bar on a terminal, or as JSON
// lines), then maps the outcome to an exit code.
int RunStream(const GlobalFlags& flags, const RunFlags& run_flags,
              const StartFn& start, std::optional<Deletion> deletion = {},
              bool fail_on_drift = false) {
  BlockInterruptSignals();
  auto stub = Connect(flags);
  if (deletion && !run_flags.dry_run && !run_flags.yes) {
    if (int code = Confirm(*stub, flags, start, *deletion); code >= 0) {
      return code;
    }
  }

  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  TextEventPrinter text(stdout);
  JsonEventPrinter json(stdout);
  std::optional<ProgressBar> bar;
  // Held while writing to the terminal, which the ticker draws on too.
  std::mutex terminal_mu;
  std::optional<ProgressTicker> ticker;
  if (!flags.json() && !flags.no_progress && ProgressWanted()) {
    bar.emplace(stderr, TerminalWidth(STDERR_FILENO));
    ticker.emplace(&*bar, &terminal_mu);
  }
  const auto print = [&](const v1::SyncEvent& event) {
    if (flags.json()) {
      json.Print(event);
      return;
    }
    std::lock_guard<std::mutex> lock(terminal_mu);
    if (bar) bar->Clear();
    text.Print(event);
    if (bar) {
      std::fflush(stdout);
      bar->Update(event);
    }
  };
  const StreamResult result =
      Stream(*stub, flags, start, run_flags.dry_run, print);
  ticker.reset();
  if (bar) bar->Clear();
  std::fflush(stdout);
  if (result.interrupted) {
    return Stop(flags, kExitInterrupted, "CANCELLED",
                "interrupted; the run was cancelled and rolled back");
  }
  if (!result.status.ok()) {
    return ReportError(result.status, flags, result.answered_by_syncd);
  }
  if (fail_on_drift && result.finished && result.finished->health().drift()) {
    return kExitDrift;
  }
  return kExitOk;
}

// Asks the standard gRPC health service whether SyncAdmin is serving (which
// syncd ties to its database answering). Exits 0 when SERVING, else 1.
int Ping(const GlobalFlags& flags) {
  BlockInterruptSignals();
  auto stub = grpc::health::v1::Health::NewStub(
      flags.connection.NewChannel(flags.addr));
  grpc::ClientContext context;
  // A probe must answer quickly even without --timeout.
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(
          (flags.timeout_s > 0 ? flags.timeout_s : 5) * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(kServiceName);
  grpc::health::v1::HealthCheckResponse response;
  bool interrupted = false;
  const grpc::Status status = CallUnary(
      &context,
      [&](grpc::ClientContext* c) {
        return stub->Check(c, request, &response);
      },
      &interrupted);
  if (interrupted) {
    return Stop(flags, kExitInterrupted, "CANCELLED", "interrupted");
  }
  // gRPC's own health service marks nothing: a failure is about reaching
  // syncd.
  if (!status.ok()) return ReportError(status, flags, false);
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  if (flags.json()) {
    WriteJsonLine(stdout, Json{{"service", kServiceName}, {"status", name}});
  } else {
    std::printf("%s %s\n", kServiceName, name.c_str());
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? kExitOk
             : kExitFailure;
}

v1::RunOptions OptionsOf(const RunFlags& flags) {
  v1::RunOptions options;
  options.set_dry_run(flags.dry_run);
  options.set_force(flags.force);
  options.set_include_unchanged(flags.unchanged);
  return options;
}

// The flags of every streaming operation. `deletes` adds --yes (and
// --force for `all`).
void AddRunFlags(CLI::App* command, RunFlags* flags, bool can_force,
                 bool deletes = false) {
  command->add_flag("--dry-run", flags->dry_run,
                    "Show what would change; write nothing");
  command->add_flag("--unchanged", flags->unchanged,
                    "Also list items that were already in place");
  if (can_force) {
    command->add_flag("--force", flags->force,
                      "Allow deleting more than the guard's share of a "
                      "tenant's metas");
  }
  if (deletes) {
    command->add_flag("-y,--yes", flags->yes,
                      "Delete without asking (needed without a terminal)");
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
// Returns an error message if two values name the same locale.
std::string AddNames(const std::vector<std::string>& names,
                     v1::CreateTenantRequest* request) {
  for (const std::string& name : names) {
    const size_t eq = name.find('=');
    // Only a prefix that is a locale ("tr", "pt-BR") names one; any other
    // "=" is part of the name.
    const bool has_locale = eq != std::string::npos &&
                            IsLocale(absl::string_view(name).substr(0, eq));
    const std::string locale = has_locale ? name.substr(0, eq) : "en";
    const std::string text = has_locale ? name.substr(eq + 1) : name;
    if (!request->mutable_name()->insert({locale, text}).second) {
      return absl::StrCat("--name gives locale ", locale,
                          " twice; give each locale once");
    }
  }
  return "";
}

// Strings travel as proto3 strings, which must be UTF-8: refuse others here,
// naming the argument, rather than have the server drop the whole request
// with an empty error.
std::string FirstNonUtf8(
    const std::vector<std::pair<std::string, const std::string*>>& args) {
  for (const auto& [name, value] : args) {
    if (!google::protobuf::internal::IsStructurallyValidUTF8(
            value->data(), static_cast<int>(value->size()))) {
      return absl::StrCat(name, " is not valid UTF-8");
    }
  }
  return "";
}

// --timeout: seconds from 0 (no deadline) to a year; rejects nan, inf and
// values whose milliseconds would overflow.
CLI::Validator SecondsValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double seconds = 0;
        if (!absl::SimpleAtod(value, &seconds) || !(seconds >= 0) ||
            seconds > 31536000) {
          return absl::StrCat(
              "must be a number of seconds from 0 (no "
              "deadline) to 31536000, got \"",
              value, "\"");
        }
        return "";
      },
      "SECONDS");
}

// --addr: HOST:PORT with a port from 1 to 65535, or a gRPC target URI such
// as unix:/run/syncd.sock or dns:///host:port.
CLI::Validator AddressValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const std::string invalid =
            absl::StrCat("\"", value,
                         "\" is not HOST:PORT (port 1 to 65535) or a gRPC "
                         "target such as unix:/path");
        for (absl::string_view scheme :
             {"unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:"}) {
          if (absl::StartsWith(value, scheme)) {
            return value.size() > scheme.size() ? "" : invalid;
          }
        }
        const size_t colon = value.rfind(':');
        int port = 0;
        if (colon == std::string::npos || colon == 0 ||
            colon + 1 >= value.size() || value.size() - colon - 1 > 5 ||
            !std::all_of(value.begin() + colon + 1, value.end(), ::isdigit) ||
            !absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 1 ||
            port > 65535) {
          return invalid;
        }
        return "";
      },
      "HOST:PORT");
}

template <typename Request, typename Response, typename Call>
int Unary(const GlobalFlags& flags, const Request& request, Call call,
          const std::function<void(const Response&)>& print) {
  BlockInterruptSignals();
  auto stub = Connect(flags);
  grpc::ClientContext context;
  SetDeadline(flags, &context);
  flags.connection.Authorize(&context);
  Response response;
  bool interrupted = false;
  const grpc::Status status = CallUnary(
      &context,
      [&](grpc::ClientContext* c) {
        return ((*stub).*call)(c, request, &response);
      },
      &interrupted);
  if (interrupted) {
    return Stop(flags, kExitInterrupted, "CANCELLED", kUnaryInterrupted);
  }
  if (!status.ok()) return ReportError(status, flags, AnsweredBySyncd(context));
  print(response);
  return kExitOk;
}

constexpr char kTopFooter[] = R"(Examples:
  syncctl tenants add acme --name "Acme Corp"
  syncctl all --dry-run
  syncctl -o json all --yes | jq -c 'select(.event == "item")'

Output: --output text (default) prints one line per item, with a progress
bar on stderr when stdout and stderr are terminals; --output json prints one
JSON object per event (one per item) per line.

Environment: SYNCCTL_ADDR, SYNCCTL_TIMEOUT and SYNCCTL_OUTPUT stand for
--addr, --timeout and --output; a flag wins over its variable. SYNCCTL_TOKEN
(or SYNCCTL_TOKEN_FILE) holds the bearer token, SYNCCTL_TLS_CA,
SYNCCTL_TLS_CERT and SYNCCTL_TLS_KEY the TLS files.

Exit codes:
  0    success
  1    failure: the server reported an error or could not be reached
  2    usage error
  3    health --check found drift
  4    refused: a command that deletes was not confirmed (see --yes)
  130  interrupted (Ctrl-C): the run was cancelled and rolled back)";

// Adds "Example:" lines to a subcommand's --help.
void Example(CLI::App* command, const std::string& lines) {
  command->footer("Example:\n" + lines);
}

int Main(int argc, char** argv) {
  GlobalFlags global;
  CLI::App app{"syncctl: run SyncAdmin operations and watch them item by item",
               "syncctl"};
  app.set_version_flag("--version", "syncctl 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(kTopFooter);
  app.add_option("--addr", global.addr, "syncd address, HOST:PORT")
      ->envname("SYNCCTL_ADDR")
      ->check(AddressValidator())
      ->capture_default_str();
  app.add_option("--timeout", global.timeout_s,
                 "Give up after this many seconds (0: never)")
      ->envname("SYNCCTL_TIMEOUT")
      ->check(SecondsValidator());
  app.add_option("-o,--output", global.output,
                 "text, or json: one object per line")
      ->envname("SYNCCTL_OUTPUT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--no-progress", global.no_progress,
               "Never draw a progress bar, even on a terminal");
  AddConnectionFlags(app, &global.connection_flags);

  RunFlags run_flags;
  std::string tenant, module, run_id, page_token;
  std::vector<std::string> names;
  bool check_only = false, inactive = false, tenant_dry_run = false;
  uint32_t page_size = 0;

  auto* all = app.add_subcommand(
      "all", "Delete orphans, seed missing metas and settings (sync:all)");
  AddRunFlags(all, &run_flags, /*can_force=*/true, /*deletes=*/true);
  Example(all,
          "  syncctl all --dry-run    # what would change, nothing written\n"
          "  syncctl all              # asks before deleting orphans\n"
          "  syncctl all --yes        # in scripts: no question asked");
  auto* meta = app.add_subcommand(
      "meta", "Seed missing metas for every active tenant (sync:meta)");
  AddRunFlags(meta, &run_flags, false);
  Example(meta, "  syncctl meta --dry-run");
  auto* settings = app.add_subcommand(
      "settings", "Seed missing settings of enabled metas (sync:settings)");
  AddRunFlags(settings, &run_flags, false);
  Example(settings, "  syncctl settings");
  auto* health = app.add_subcommand(
      "health", "Report drift and repair missing settings (sync:health)");
  AddRunFlags(health, &run_flags, false);
  health->add_flag("--check", check_only,
                   "Only report; exit 3 if drift is found");
  Example(health, "  syncctl health --check || echo \"drift: exit $?\"");
  auto* seed_tenant = app.add_subcommand(
      "tenant", "Seed every module for one tenant (sync:tenant)");
  seed_tenant->add_option("SLUG", tenant, "Tenant slug")->required();
  AddRunFlags(seed_tenant, &run_flags, false);
  Example(seed_tenant, "  syncctl tenant acme");
  auto* seed_module = app.add_subcommand(
      "module", "Seed one module for every active tenant (sync:module)");
  seed_module->add_option("NAME", module, "Module directory name")->required();
  AddRunFlags(seed_module, &run_flags, false);
  Example(seed_module, "  syncctl module blog");
  auto* remove = app.add_subcommand(
      "remove-tenant",
      "Delete a tenant's settings, metas and registry row, archived "
      "(sync:remove-tenant)");
  remove->add_option("SLUG", tenant, "Tenant slug")->required();
  AddRunFlags(remove, &run_flags, false, /*deletes=*/true);
  Example(remove,
          "  syncctl remove-tenant acme          # shows what goes, asks for "
          "the slug\n"
          "  syncctl remove-tenant acme --yes    # in scripts");
  auto* restore =
      app.add_subcommand("restore", "Put back what an earlier run deleted");
  restore->add_option("RUN_ID", run_id, "Id of the run to undo")->required();
  AddRunFlags(restore, &run_flags, false);
  Example(restore, "  syncctl restore 8a67d4bc-0f1e-4c2b-9a51-3d2f0c6b7e10");

  auto* tenants = app.add_subcommand("tenants", "Manage the tenant registry");
  tenants->require_subcommand(1);
  Example(tenants,
          "  syncctl tenants add acme --name \"Acme Corp\"\n"
          "  syncctl tenants list -o json | jq -r '.tenants[].slug'");
  auto* tenants_add = tenants->add_subcommand("add", "Register a tenant");
  tenants_add->add_option("SLUG", tenant, "Tenant slug")->required();
  tenants_add->add_option("--name", names,
                          "Display name, TEXT or LOCALE=TEXT (repeatable)");
  tenants_add->add_flag("--inactive", inactive, "Register it as inactive");
  tenants_add->add_flag("--dry-run", tenant_dry_run,
                        "Check the registration; store nothing");
  Example(tenants_add,
          "  syncctl tenants add acme --name \"Acme Corp\" --name tr=\"Acme "
          "A.S.\"");
  auto* tenants_list = tenants->add_subcommand("list", "List tenants");
  tenants_list->add_option("--page-size", page_size, "Tenants per page");
  tenants_list->add_option("--page-token", page_token, "Page to show");
  Example(tenants_list, "  syncctl tenants list --page-size 50");
  auto* tenants_activate =
      tenants->add_subcommand("activate", "Activate a tenant");
  tenants_activate->add_option("SLUG", tenant, "Tenant slug")->required();
  tenants_activate->add_flag("--dry-run", tenant_dry_run,
                             "Check the change; store nothing");
  Example(tenants_activate, "  syncctl tenants activate acme");
  auto* tenants_deactivate =
      tenants->add_subcommand("deactivate", "Deactivate a tenant");
  tenants_deactivate->add_option("SLUG", tenant, "Tenant slug")->required();
  tenants_deactivate->add_flag("--dry-run", tenant_dry_run,
                               "Check the change; store nothing");
  Example(tenants_deactivate, "  syncctl tenants deactivate acme");

  auto* runs = app.add_subcommand("runs", "List journaled runs, newest first");
  runs->add_option("--page-size", page_size, "Runs per page");
  runs->add_option("--page-token", page_token, "Page to show");
  Example(runs, "  syncctl runs --page-size 10");
  auto* run = app.add_subcommand("run", "Show one journaled run");
  run->add_option("RUN_ID", run_id, "Run id")->required();
  Example(run, "  syncctl run 8a67d4bc-0f1e-4c2b-9a51-3d2f0c6b7e10 -o json");
  auto* ping = app.add_subcommand(
      "ping",
      "Check that syncd serves and reaches its database (gRPC health); exit "
      "0 if SERVING, else 1");
  Example(ping, "  syncctl ping --timeout 3");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  std::vector<std::pair<std::string, const std::string*>> text_args = {
      {"SLUG", &tenant},
      {"NAME", &module},
      {"RUN_ID", &run_id},
      {"--page-token", &page_token}};
  for (const std::string& name : names) text_args.push_back({"--name", &name});
  if (std::string error = FirstNonUtf8(text_args); !error.empty()) {
    std::fprintf(stderr, "syncctl: %s\n", error.c_str());
    return kExitUsage;
  }
  if (auto connection = Connection::FromFlags(global.connection_flags);
      connection.ok()) {
    global.connection = *std::move(connection);
  } else {
    std::fprintf(stderr, "syncctl: %s\n",
                 std::string(connection.status().message()).c_str());
    return kExitUsage;
  }

  // Each operation sends its request with the options given, or with
  // dry_run set for the preview before a deletion.
  const auto options = [&](bool dry_run) {
    v1::RunOptions o = OptionsOf(run_flags);
    o.set_dry_run(dry_run);
    if (dry_run && !run_flags.dry_run) o.set_include_unchanged(false);
    return o;
  };
  if (all->parsed()) {
    return RunStream(
        global, run_flags,
        [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
          v1::SyncAllRequest request;
          *request.mutable_options() = options(dry_run);
          return stub.SyncAll(ctx, request);
        },
        Deletion{"all", ""});
  }
  if (meta->parsed()) {
    return RunStream(global, run_flags,
                     [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
                       v1::SeedMetaRequest request;
                       *request.mutable_options() = options(dry_run);
                       return stub.SeedMeta(ctx, request);
                     });
  }
  if (settings->parsed()) {
    return RunStream(global, run_flags,
                     [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
                       v1::SeedSettingsRequest request;
                       *request.mutable_options() = options(dry_run);
                       return stub.SeedSettings(ctx, request);
                     });
  }
  if (health->parsed()) {
    return RunStream(
        global, run_flags,
        [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
          v1::HealthCheckRequest request;
          *request.mutable_options() = options(dry_run);
          request.set_check_only(check_only);
          return stub.HealthCheck(ctx, request);
        },
        std::nullopt, /*fail_on_drift=*/check_only);
  }
  if (seed_tenant->parsed()) {
    return RunStream(global, run_flags,
                     [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
                       v1::SeedTenantRequest request;
                       *request.mutable_options() = options(dry_run);
                       request.set_tenant(tenant);
                       return stub.SeedTenant(ctx, request);
                     });
  }
  if (seed_module->parsed()) {
    return RunStream(global, run_flags,
                     [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
                       v1::SeedModuleRequest request;
                       *request.mutable_options() = options(dry_run);
                       request.set_module(module);
                       return stub.SeedModule(ctx, request);
                     });
  }
  if (remove->parsed()) {
    return RunStream(
        global, run_flags,
        [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
          v1::RemoveTenantRequest request;
          *request.mutable_options() = options(dry_run);
          request.set_tenant(tenant);
          return stub.RemoveTenant(ctx, request);
        },
        Deletion{"remove-tenant", tenant});
  }
  if (restore->parsed()) {
    return RunStream(global, run_flags,
                     [&](Stub& stub, grpc::ClientContext* ctx, bool dry_run) {
                       v1::RestoreRequest request;
                       *request.mutable_options() = options(dry_run);
                       request.set_run_id(run_id);
                       return stub.Restore(ctx, request);
                     });
  }
  if (ping->parsed()) return Ping(global);
  const bool json = global.json();
  if (tenants_add->parsed()) {
    v1::CreateTenantRequest request;
    request.set_slug(tenant);
    request.set_inactive(inactive);
    request.set_dry_run(tenant_dry_run);
    if (std::string error = AddNames(names, &request); !error.empty()) {
      std::fprintf(stderr, "syncctl: %s\n", error.c_str());
      return kExitUsage;
    }
    return Unary<v1::CreateTenantRequest, v1::CreateTenantResponse>(
        global, request, &Stub::CreateTenant,
        [json, tenant_dry_run](const v1::CreateTenantResponse& r) {
          if (json) {
            Json out{{"tenant", TenantJson(r.tenant())}};
            if (tenant_dry_run) out["dry_run"] = true;
            WriteJsonLine(stdout, out);
            return;
          }
          std::printf("tenant %s %s (%s)\n", r.tenant().slug().c_str(),
                      tenant_dry_run ? "would be registered" : "registered",
                      r.tenant().active() ? "active" : "inactive");
        });
  }
  if (tenants_list->parsed()) {
    v1::ListTenantsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return Unary<v1::ListTenantsRequest, v1::ListTenantsResponse>(
        global, request, &Stub::ListTenants,
        [json](const v1::ListTenantsResponse& r) {
          if (json) {
            WriteJsonLine(stdout, TenantsJson(r));
          } else {
            PrintTenants(stdout, r);
          }
        });
  }
  if (tenants_activate->parsed() || tenants_deactivate->parsed()) {
    v1::SetTenantActiveRequest request;
    request.set_slug(tenant);
    request.set_active(tenants_activate->parsed());
    request.set_dry_run(tenant_dry_run);
    return Unary<v1::SetTenantActiveRequest, v1::SetTenantActiveResponse>(
        global, request, &Stub::SetTenantActive,
        [json, tenant_dry_run](const v1::SetTenantActiveResponse& r) {
          if (json) {
            Json out{{"tenant", TenantJson(r.tenant())}};
            if (tenant_dry_run) out["dry_run"] = true;
            WriteJsonLine(stdout, out);
            return;
          }
          std::printf("tenant %s %s %s\n", r.tenant().slug().c_str(),
                      tenant_dry_run ? "would be" : "is",
                      r.tenant().active() ? "active" : "inactive");
        });
  }
  if (runs->parsed()) {
    v1::ListRunsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return Unary<v1::ListRunsRequest, v1::ListRunsResponse>(
        global, request, &Stub::ListRuns,
        [json](const v1::ListRunsResponse& r) {
          if (json) {
            WriteJsonLine(stdout, RunsJson(r));
          } else {
            PrintRuns(stdout, r);
          }
        });
  }
  if (run->parsed()) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    return Unary<v1::GetRunRequest, v1::GetRunResponse>(
        global, request, &Stub::GetRun, [json](const v1::GetRunResponse& r) {
          if (json) {
            WriteJsonLine(stdout, Json{{"run", RunJson(r.run())}});
          } else {
            PrintRun(stdout, r.run());
          }
        });
  }
  std::fprintf(stderr, "syncctl: no command given (see --help)\n");
  return kExitUsage;
}

}  // namespace
}  // namespace syncadmin::client

int main(int argc, char** argv) { return syncadmin::client::Main(argc, argv); }
