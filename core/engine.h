// The sync engine: runs one operation against the store, streaming events.
#ifndef SYNCADMIN_CORE_ENGINE_H_
#define SYNCADMIN_CORE_ENGINE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/event_sink.h"
#include "core/store.h"
#include "core/types.h"

namespace syncadmin::core {

// Locales of labels and SEO texts unless configured otherwise.
const std::vector<std::string>& DefaultLocales();

struct EngineOptions {
  // Directory whose subdirectories are the modules.
  std::string modules_dir = "./src/modules";

  // Locales of new labels and of the SEO text objects of new settings.
  std::vector<std::string> locales = DefaultLocales();

  // A run that would delete more than this share of one tenant's metas is
  // refused unless forced.
  double max_delete_share = 0.5;

  // How long a run waits for its lock before failing with kAborted.
  absl::Duration lock_timeout = absl::Seconds(30);

  // Target number of rows one statement inserts or deletes. Work is split
  // into chunks of whole tenants of about this size, which bounds memory,
  // keeps events flowing and lets cancellation act between statements.
  size_t rows_per_statement = 10000;
};

// One request to run an operation. Strings are untrusted: `Engine::Run`
// validates them before anything else.
struct RunRequest {
  Operation operation = Operation::kSyncAll;
  std::string tenant;          // SeedTenant, RemoveTenant.
  std::string module;          // SeedModule.
  std::string source_run_id;   // Restore.
  bool dry_run = false;
  bool include_unchanged = false;
  bool force = false;
  bool check_only = false;     // HealthCheck.
  std::string requested_by = "anonymous";
  absl::Time deadline = absl::InfiniteFuture();
};

// Thread-safe: each call of `Run` works on its own connection.
class Engine {
 public:
  // `store` must outlive the engine.
  Engine(EngineOptions options, Store* store);

  // Runs `request`, handing its events to `sink` as they happen.
  //
  // Returns OK when the run committed, or when a dry run or a check rolled
  // back as planned. Otherwise returns the failure, and nothing the run did
  // is committed:
  //   kInvalidArgument    a request field breaks its grammar (no run starts)
  //   kNotFound           unknown tenant, module or source run
  //   kFailedPrecondition inactive tenant, unusable modules root, or a
  //                       deletion over the guard without `force`
  //   kAborted            the lock stayed taken until the lock timeout
  //   kCancelled          `sink` asked to stop
  //   kDeadlineExceeded   `request.deadline` passed
  //   kUnavailable        the database is unreachable
  // Once the run has started (a journal entry and `OnRunStarted`), the sink
  // always receives `OnRunFinished`, also on failure.
  absl::Status Run(const RunRequest& request, EventSink& sink);

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
  Store* store_;
};

// Checks the request's strings and combinations without touching anything.
absl::Status ValidateRunRequest(const RunRequest& request);

// The lock a request takes: all-tenant operations lock globally, single
// tenant ones per tenant, a health check that only reports takes none.
LockScope LockScopeFor(const RunRequest& request);

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_ENGINE_H_
