// PostgreSQL adapter: the only part of SyncAdmin that talks to libpqxx.
//
// Every libpqxx exception is caught here and mapped to an `absl::Status`
// (SQLSTATE kept in the message):
//   broken connection            -> kUnavailable
//   serialization failure,
//   deadlock                     -> kAborted (retry the whole run)
//   unique violation             -> kAlreadyExists
//   other integrity violations   -> kFailedPrecondition
//   data exception               -> kInvalidArgument
//   query cancelled (57014)      -> kCancelled
//   commit outcome unknown       -> kUnknown
//   anything else                -> kInternal
//
// A `Store` is thread-safe: it holds only the connection string and opens a
// connection per call (or per run), so no session state is ever shared or
// left behind. All calls block on the database.
#ifndef SYNCADMIN_CORE_STORE_H_
#define SYNCADMIN_CORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/types.h"

namespace syncadmin::core {

class RunSession;

// What a run serialises against. Global runs exclude every other run;
// tenant runs exclude global runs and runs of the same tenant only.
enum class LockScope { kNone, kGlobal, kTenant };

// Parameters of a run as the journal records them.
struct RunParams {
  Operation operation = Operation::kSyncAll;
  std::string params_json = "{}";
  std::string requested_by;
  bool dry_run = false;
};

// One page of a listing. `next_page_token` is empty on the last page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;
};

class Store {
 public:
  // Checks that `conninfo` (a libpq connection string; empty means libpq's
  // PG* environment) reaches a server. Returns kUnavailable if not.
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::string conninfo);

  // Applies pending migrations, each in its own transaction with its history
  // row. Concurrent callers (several servers starting together) are
  // serialised by an advisory lock. Returns kFailedPrecondition if an applied
  // migration's checksum differs from the built-in one, or if the database
  // holds migrations newer than this build knows.
  absl::Status Migrate();

  // Returns OK if the database answers a trivial query.
  absl::Status Ping();

  // Registers a tenant. kAlreadyExists if the slug is taken. A `dry_run`
  // does the same, then rolls back, and returns the tenant as it would have
  // been stored.
  absl::StatusOr<Tenant> CreateTenant(const Tenant& tenant,
                                      bool dry_run = false);

  // Tenants with slugs after `page_token` (empty: from the start), at most
  // `limit`, each with its meta and setting counts.
  absl::StatusOr<Page<Tenant>> ListTenants(absl::string_view page_token,
                                           int limit);

  // Sets a tenant's active flag. kNotFound if there is no such tenant.
  // Serialised with runs of that tenant through the tenant lock, waiting
  // until `lock_deadline` (then kAborted). A `dry_run` does the same, then
  // rolls back, and returns the tenant as it would have been stored.
  absl::StatusOr<Tenant> SetTenantActive(absl::string_view slug, bool active,
                                         absl::Time lock_deadline,
                                         bool dry_run = false);

  // One journaled run; kNotFound if there is none.
  absl::StatusOr<RunRecord> GetRun(absl::string_view run_id);

  // Journaled runs, newest first, after the run `page_token` (a run id;
  // kInvalidArgument if no run has it).
  absl::StatusOr<Page<RunRecord>> ListRuns(absl::string_view page_token,
                                           int limit);

  // Opens a dedicated connection for one run and writes its journal entry
  // (outcome "running") outside any transaction, so that the entry survives
  // whatever the run's own transaction does. Also marks runs whose server
  // went away as failed. On PostgreSQL 14 and later the run's session checks
  // every second, even inside a statement, that this process is still
  // there, so that the session of a killed server ends, and frees its
  // locks, within about a second.
  absl::StatusOr<std::unique_ptr<RunSession>> StartRun(const RunParams& params);

 private:
  explicit Store(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  std::string conninfo_;
};

// Candidate and created counts of one phase step.
struct StepResult {
  std::vector<Item> items;  // Rows created, deleted or found.
  uint64_t candidates = 0;  // Rows the step considered.
};

// Per-tenant numbers the deletion guard looks at.
struct OrphanShare {
  std::string tenant;
  uint64_t metas = 0;
  uint64_t orphan_metas = 0;
};

// An inactive tenant that still has rows.
struct InactiveTenantRows {
  std::string tenant;
  uint64_t metas = 0;
  uint64_t settings = 0;
};

// The connection and transaction of one run. Not thread-safe, except
// `CancelQuery`, which may be called from any thread while another thread
// runs a statement.
//
// Destroying a session rolls back an open transaction, records the run as
// failed if `Finish` was not called, and closes the connection, which also
// releases its advisory locks.
class RunSession {
 public:
  virtual ~RunSession() = default;

  // Id of the run (a lower-case UUID).
  virtual const std::string& run_id() const = 0;

  // Polls for the run's advisory locks, outside any transaction, until
  // `deadline`. Between attempts calls `cancelled`, and stops with kCancelled
  // when it returns true. Returns kAborted naming the run that holds a
  // conflicting lock, and since when, if the deadline passes.
  virtual absl::Status AcquireLock(LockScope scope, absl::string_view tenant,
                                   absl::Time deadline,
                                   const std::function<bool()>& cancelled) = 0;

  // Opens the run's transaction.
  virtual absl::Status Begin() = 0;

  // Records the run as committed with `counts` in the journal, inside the
  // run's transaction, and commits it: the journal says committed exactly
  // when the run's rows are committed. kUnknown if the commit's outcome is
  // unknown (the connection broke during it).
  virtual absl::Status Commit(const Counts& counts) = 0;

  // Rolls back the run's transaction.
  virtual absl::Status Rollback() = 0;

  // Records the run's outcome in the journal, outside its transaction. Falls
  // back to a fresh connection if the run's own connection is broken. Only
  // the first recorded outcome counts: after `Commit` succeeded, or after
  // the journal marked the run as abandoned, this changes nothing.
  virtual absl::Status Finish(Outcome outcome, const Counts& counts,
                              absl::string_view error) = 0;

  // Asks the server to cancel the statement in progress, if any.
  virtual void CancelQuery() = 0;

  // --- Reads inside the run's transaction. ---

  // Slugs of the active tenants, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ActiveTenants() = 0;

  // The tenant, or `std::nullopt` if it is not registered.
  virtual absl::StatusOr<std::optional<Tenant>> FindTenant(
      absl::string_view slug) = 0;

  // Number of enabled metas of `tenants`, of one module if `module` is set.
  virtual absl::StatusOr<uint64_t> CountEnabledMetas(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module) = 0;

  // Tenants among `tenants` whose orphan metas (name not in `modules`) are
  // more than `max_share` of their metas.
  virtual absl::StatusOr<std::vector<OrphanShare>> TenantsOverOrphanShare(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules, double max_share) = 0;

  // --- Writes inside the run's transaction. Each handles one chunk of
  // tenants with a constant number of statements. ---

  // Inserts the missing metas of `tenants` x `modules` with the modules'
  // defaults; returns the created ones.
  virtual absl::StatusOr<std::vector<Item>> InsertMetas(
      const std::vector<std::string>& tenants,
      const std::vector<ModuleDefaults>& modules) = 0;

  // Inserts the missing settings of the enabled metas of `tenants` (only of
  // `module` if set) with the documented defaults; `seo_locales` are the keys
  // of the SEO text objects. Returns the created ones.
  virtual absl::StatusOr<std::vector<Item>> InsertSettings(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module,
      const std::vector<std::string>& seo_locales) = 0;

  // Archives, then deletes, the settings and metas of `tenants` whose module
  // is not in `modules`. Returns the deleted rows, settings first.
  virtual absl::StatusOr<std::vector<Item>> DeleteOrphans(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) = 0;

  // Archives, then deletes, every setting and meta of `tenant` and its
  // registry row. Returns the deleted rows, settings first, tenant last.
  virtual absl::StatusOr<std::vector<Item>> DeleteTenant(
      absl::string_view tenant) = 0;

  // Re-inserts what run `source_run_id` archived: tenants, then metas, then
  // settings. Rows that exist again, or whose parent row is missing, are
  // returned as skipped with the reason.
  virtual absl::StatusOr<std::vector<Item>> RestoreArchived(
      absl::string_view source_run_id) = 0;

  // --- Listings for reports and for `include_unchanged`. ---

  // Metas of `tenants` x `modules` that this run did not create.
  virtual absl::StatusOr<std::vector<Item>> ListUnchangedMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) = 0;

  // Settings of enabled metas of `tenants` (of `module` if set) that this
  // run did not create.
  virtual absl::StatusOr<std::vector<Item>> ListUnchangedSettings(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module) = 0;

  // Enabled metas of `tenants` that have no setting.
  virtual absl::StatusOr<std::vector<Item>> ListMissingSettings(
      const std::vector<std::string>& tenants) = 0;

  // Metas of `tenants` whose module is not in `modules`.
  virtual absl::StatusOr<std::vector<Item>> ListOrphanMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) = 0;

  // Disabled metas of `tenants` whose module is in `modules` (an orphan is
  // reported as an orphan only).
  virtual absl::StatusOr<std::vector<Item>> ListDisabledMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) = 0;

  // Inactive tenants that still have metas or settings.
  virtual absl::StatusOr<std::vector<InactiveTenantRows>>
  ListInactiveTenantsWithRows() = 0;

  // Whether run `run_id` is journaled, and whether it archived anything.
  virtual absl::StatusOr<std::optional<RunRecord>> FindRun(
      absl::string_view run_id) = 0;
};

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_STORE_H_
