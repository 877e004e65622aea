// syncd: the SyncAdmin gRPC server.
//
//   syncd [--listen ADDR] [--db CONNINFO] [--modules-dir DIR] ...   serve
//   syncd migrate [--db CONNINFO]                                    migrate
//   syncd token add NAME ROLE --tokens-file FILE                     token
//
// Every flag can also come from the environment (SYNCD_LISTEN, SYNCD_DB, ...);
// a flag wins over its variable. An empty --db uses libpq's PG* variables.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/engine.h"
#include "core/logging.h"
#include "core/store.h"
#include "core/validation.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "server/db_health.h"
#include "server/security.h"
#include "server/service.h"
#include "spdlog/spdlog.h"

namespace syncadmin::server {
namespace {

constexpr char kServiceName[] = "syncadmin.v1.SyncAdmin";

// Each streaming call holds a server thread for the length of its run.
constexpr int kMaxServerThreads = 64;

struct Config {
  std::string listen = "127.0.0.1:50051";
  std::string db;
  std::string modules_dir = "./src/modules";
  std::string locales = "tr,en,de,pl,fr,es";
  double lock_timeout_s = 30;
  double max_delete_share = 0.5;
  double shutdown_grace_s = 5;
  double stream_stall_timeout_s = 30;
  int max_runs_per_caller = 8;
  std::string port_file;
  std::string log_level = "info";
  std::string log_format = "text";
  double db_check_interval_s = 5;
  double db_check_timeout_s = 5;
  SecurityFlags security;
};

absl::StatusOr<std::vector<std::string>> ParseLocales(const std::string& raw) {
  std::vector<std::string> locales;
  for (absl::string_view part : absl::StrSplit(raw, ',')) {
    if (absl::Status s = core::ValidateLocale(part, "locale in --locales");
        !s.ok()) {
      return s;
    }
    if (std::find(locales.begin(), locales.end(), part) != locales.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--locales lists ", core::QuoteForMessage(part), " twice"));
    }
    locales.emplace_back(part);
  }
  return locales;
}

// Accepts HOST:PORT (HOST may be a bracketed IPv6 address; PORT 0 picks a
// free port) or unix:PATH. gRPC itself would read "127.0.0.1" as port 443
// and wrap "99999" around to another port.
absl::Status ValidateListenAddress(const std::string& listen) {
  auto invalid = [&listen](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", core::QuoteForMessage(listen), " is invalid: ", why));
  };
  if (absl::StartsWith(listen, "unix:")) {
    return listen.size() > 5 ? absl::OkStatus()
                             : invalid("unix: needs a socket path");
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid("it must be HOST:PORT or unix:PATH");
  }
  const std::string port = listen.substr(colon + 1);
  int value = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), ::isdigit) ||
      !absl::SimpleAtoi(port, &value) || value > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  return absl::OkStatus();
}

absl::StatusOr<core::EngineOptions> EngineOptionsFrom(const Config& config) {
  core::EngineOptions options;
  options.modules_dir = config.modules_dir;
  auto locales = ParseLocales(config.locales);
  if (!locales.ok()) return locales.status();
  options.locales = *std::move(locales);
  if (!(config.max_delete_share > 0 && config.max_delete_share <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-delete-share ", config.max_delete_share,
                     " is invalid: it must be greater than 0 and at most 1"));
  }
  options.max_delete_share = config.max_delete_share;
  if (!(config.lock_timeout_s >= 0 && config.lock_timeout_s <= 3600)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--lock-timeout ", config.lock_timeout_s,
                     " is invalid: it must be between 0 and 3600 seconds"));
  }
  if (!(config.shutdown_grace_s >= 0 && config.shutdown_grace_s <= 3600)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shutdown-grace ", config.shutdown_grace_s,
                     " is invalid: it must be between 0 and 3600 seconds"));
  }
  if (absl::Status s = ValidateListenAddress(config.listen); !s.ok()) {
    return s;
  }
  options.lock_timeout = absl::Seconds(config.lock_timeout_s);
  return options;
}

// Blocks SIGINT and SIGTERM in this thread and every thread it starts later,
// so that only the waiting thread of `Serve` receives them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Migrate(const Config& config) {
  auto store = core::Store::Open(config.db);
  if (!store.ok()) {
    log::Error("database unreachable", {{"error", store.status().message()}});
    return 1;
  }
  if (absl::Status s = (*store)->Migrate(); !s.ok()) {
    log::Error("migration failed", {{"error", s.message()}});
    return 1;
  }
  log::Info("schema migrated");
  return 0;
}

int Serve(const Config& config, const sigset_t& signals) {
  auto options = EngineOptionsFrom(config);
  if (!options.ok()) {
    log::Error("invalid configuration",
               {{"error", options.status().message()}});
    return 2;
  }
  auto security = SetUpSecurity(config.security, config.listen);
  if (!security.ok()) {
    log::Error("refusing to start", {{"error", security.status().message()}});
    return 2;
  }
  auto store = core::Store::Open(config.db);
  if (!store.ok()) {
    log::Error("database unreachable", {{"error", store.status().message()}});
    return 1;
  }
  if (absl::Status s = (*store)->Migrate(); !s.ok()) {
    log::Error("migration failed", {{"error", s.message()}});
    return 1;
  }
  if (!(config.stream_stall_timeout_s > 0 &&
        config.stream_stall_timeout_s <= 3600)) {
    log::Error("invalid configuration",
               {{"error",
                 "--stream-stall-timeout must be greater than 0 and at most "
                 "3600 seconds"}});
    return 2;
  }
  if (!(config.max_runs_per_caller >= 1 &&
        config.max_runs_per_caller <= kMaxServerThreads)) {
    log::Error("invalid configuration",
               {{"error", absl::StrCat("--max-runs-per-caller must be between "
                                       "1 and ",
                                       kMaxServerThreads)}});
    return 2;
  }
  StreamOptions stream_options;
  stream_options.stall_timeout = absl::Seconds(config.stream_stall_timeout_s);
  stream_options.max_runs_per_caller = config.max_runs_per_caller;
  core::Engine engine(*options, store->get());
  std::atomic<bool> shutting_down{false};
  SyncAdminService service(&engine, store->get(), &shutting_down,
                           stream_options, security->authenticator.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, security->credentials, &port);
  // gRPC sets SO_REUSEPORT by default: a second syncd started on a busy port
  // would then silently share its traffic, perhaps with another modules root.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  ApplyLimits(builder);
  grpc::ResourceQuota quota("syncd");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    log::Error("cannot listen", {{"address", config.listen}});
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  // Each ping opens a connection of its own (the store keeps none open),
  // on a thread that may outlive this function: it owns its copy of the
  // connection string.
  DbHealthMonitor db_health(
      [db = config.db] { return core::Store::Open(db).status(); },
      [health](bool serving) {
        health->SetServingStatus(serving);
        health->SetServingStatus(kServiceName, serving);
      },
      absl::Seconds(config.db_check_interval_s),
      absl::Seconds(config.db_check_timeout_s));
  db_health.Start();

  std::string host = config.listen.substr(0, config.listen.rfind(':'));
  log::Info("syncd serving",
            {{"address", absl::StrCat(host, ":", port)},
             {"modules_dir", config.modules_dir},
             {"locales", config.locales},
             {"lock_timeout_s", config.lock_timeout_s},
             {"max_delete_share", config.max_delete_share},
             {"stream_stall_timeout_s", config.stream_stall_timeout_s},
             {"max_runs_per_caller", config.max_runs_per_caller},
             {"tls", !security->tls         ? "off"
                     : security->mutual_tls ? "mutual"
                                            : "on"},
             {"auth", security->authenticator->enabled() ? "tokens" : "off"}});
  if (!config.port_file.empty()) {
    std::ofstream out(config.port_file);
    out << port << "\n";
    out.close();
    if (!out) {
      log::Error("cannot write the port file",
                 {{"port_file", config.port_file}});
      server->Shutdown();
      return 1;
    }
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log::Info("shutting down", {{"signal", strsignal(signal_number)},
                              {"grace_s", config.shutdown_grace_s}});
  // Runs in progress see the flag at their next check and roll back; the
  // grace period lets them report that to their clients.
  shutting_down.store(true);
  db_health.Stop();  // Else a ping could report SERVING again.
  health->SetServingStatus(false);
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(
                       static_cast<int64_t>(config.shutdown_grace_s * 1000)));
  server->Wait();
  log::Info("syncd stopped");
  return 0;
}

}  // namespace
}  // namespace syncadmin::server

int main(int argc, char** argv) {
  using syncadmin::server::Config;
  // A client that disconnects mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  const sigset_t signals = syncadmin::server::BlockShutdownSignals();

  Config config;
  CLI::App app{
      "syncd: keeps module metas and per-tenant settings in step "
      "with the modules root, served over gRPC",
      "syncd"};
  app.set_version_flag("--version", "syncd 0.1.0");
  app.fallthrough();
  app.add_option("--listen", config.listen, "Address to listen on, HOST:PORT")
      ->envname("SYNCD_LISTEN")
      ->capture_default_str();
  app.add_option("--db", config.db,
                 "libpq connection string; empty uses the PG* environment")
      ->envname("SYNCD_DB");
  app.add_option("--modules-dir", config.modules_dir,
                 "Modules root: its subdirectories are the modules")
      ->envname("SYNCD_MODULES_DIR")
      ->capture_default_str();
  app.add_option("--locales", config.locales,
                 "Comma-separated locales of labels and SEO texts")
      ->envname("SYNCD_LOCALES")
      ->capture_default_str();
  app.add_option("--lock-timeout", config.lock_timeout_s,
                 "Seconds a run waits for its lock before failing (ABORTED)")
      ->envname("SYNCD_LOCK_TIMEOUT")
      ->capture_default_str();
  app.add_option("--max-delete-share", config.max_delete_share,
                 "Largest share of one tenant's metas a run may delete "
                 "without force")
      ->envname("SYNCD_MAX_DELETE_SHARE")
      ->capture_default_str();
  app.add_option("--shutdown-grace", config.shutdown_grace_s,
                 "Seconds calls get on SIGTERM/SIGINT to end: runs roll "
                 "back at once and report it; quick unary calls finish")
      ->envname("SYNCD_SHUTDOWN_GRACE")
      ->capture_default_str();
  app.add_option("--stream-stall-timeout", config.stream_stall_timeout_s,
                 "Seconds a run waits for a client that stopped reading its "
                 "events before it is cancelled and rolled back")
      ->envname("SYNCD_STREAM_STALL_TIMEOUT")
      ->capture_default_str();
  app.add_option("--max-runs-per-caller", config.max_runs_per_caller,
                 "Streaming calls one caller may have in progress at once "
                 "(all anonymous callers count as one)")
      ->envname("SYNCD_MAX_RUNS_PER_CALLER")
      ->capture_default_str();
  app.add_option("--port-file", config.port_file,
                 "Write the bound port to this file once serving (useful "
                 "with --listen HOST:0)");
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")
      ->envname("SYNCD_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", config.log_format,
                 "text, or json (one object per line)")
      ->envname("SYNCD_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--db-check-interval", config.db_check_interval_s,
                 "Seconds between database pings; the gRPC health status is "
                 "NOT_SERVING while the database does not answer")
      ->envname("SYNCD_DB_CHECK_INTERVAL")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--db-check-timeout", config.db_check_timeout_s,
                 "Seconds a database ping may take before it counts as "
                 "failed")
      ->envname("SYNCD_DB_CHECK_TIMEOUT")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  syncadmin::server::AddSecurityFlags(app, &config.security);
  CLI::App* migrate =
      app.add_subcommand("migrate", "Apply pending schema migrations and exit");
  const syncadmin::server::TokenCommand token(app, &config.security);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  syncadmin::log::Init(config.log_format == "json"
                           ? syncadmin::log::Format::kJson
                           : syncadmin::log::Format::kText,
                       spdlog::level::from_str(config.log_level));
  if (token.parsed()) return token.Run();
  try {
    if (migrate->parsed()) return syncadmin::server::Migrate(config);
    return syncadmin::server::Serve(config, signals);
  } catch (const std::exception& e) {
    syncadmin::log::Error("syncd failed", {{"error", e.what()}});
    return 1;
  }
}
