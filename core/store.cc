#include "core/store.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/migrations.h"
#include "core/status_macros.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"

namespace syncadmin::core {
namespace {

using Json = nlohmann::json;

// Advisory lock keys (two-int form). The first int tells SyncAdmin's locks
// apart from any other application's on the same database.
constexpr int kGlobalLockClass = 0x53594E43;   // "SYNC"
constexpr int kTenantLockClass = 0x53594E54;   // "SYNT"
constexpr int kMigrateLockClass = 0x53594E4D;  // "SYNM"

// How often the backend of a run checks that syncd is still connected.
constexpr absl::string_view kClientCheckInterval = "1s";

// Timestamps leave the database as RFC 3339 text in UTC.
constexpr absl::string_view kTimeFormat =
    R"('YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')";

std::string Rfc3339(absl::string_view column) {
  return absl::StrCat("to_char(", column, " AT TIME ZONE 'UTC', ",
                      kTimeFormat, ")");
}

// Maps the exception being handled to a status. Must be called from inside a
// catch block.
absl::Status CurrentExceptionToStatus(absl::string_view context) {
  auto with = [&](absl::StatusCode code, absl::string_view detail) {
    return absl::Status(code, absl::StrCat(context, ": ", detail));
  };
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return with(absl::StatusCode::kUnknown,
                absl::StrCat("commit outcome unknown: ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    return with(absl::StatusCode::kUnavailable,
                absl::StrCat("database connection lost: ", e.what()));
  } catch (const pqxx::transaction_rollback& e) {
    return with(absl::StatusCode::kAborted,
                absl::StrCat("transaction aborted by a concurrent one "
                             "(retry the run): ",
                             e.what()));
  } catch (const pqxx::unique_violation& e) {
    return with(absl::StatusCode::kAlreadyExists, e.what());
  } catch (const pqxx::integrity_constraint_violation& e) {
    return with(absl::StatusCode::kFailedPrecondition,
                absl::StrCat("[", e.sqlstate(), "] ", e.what()));
  } catch (const pqxx::data_exception& e) {
    return with(absl::StatusCode::kInvalidArgument,
                absl::StrCat("[", e.sqlstate(), "] ", e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    if (state == "57014") {
      return with(absl::StatusCode::kCancelled, "statement cancelled");
    }
    // Class 08 (connection exception) and 57P01..57P03 (the server is
    // shutting down or starting) are transient.
    if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0) {
      return with(absl::StatusCode::kUnavailable,
                  absl::StrCat("[", state, "] ", e.what()));
    }
    return with(absl::StatusCode::kInternal,
                absl::StrCat("[", state, "] ", e.what()));
  } catch (const std::exception& e) {
    return with(absl::StatusCode::kInternal, e.what());
  }
}

// Runs `fn` and turns any exception into a status naming `context`.
template <typename Fn>
auto Guarded(absl::string_view context, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    return CurrentExceptionToStatus(context);
  }
}

std::unique_ptr<pqxx::connection> Connect(const std::string& conninfo) {
  auto conn = std::make_unique<pqxx::connection>(conninfo);
  // libpqxx 6 silently reconnects after a lost connection, which would drop
  // our advisory locks without telling us; fail instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  return conn;
}

// Makes the backend of a run check, while a statement runs, that syncd is
// still connected. Without it, the backend of a syncd killed during a long
// statement, or one waiting on a row lock, runs on until the statement ends,
// and keeps the run's advisory locks until then. Needs PostgreSQL 14 or later
// on a platform that supports it; elsewhere runs go on without the check.
void CheckClientDuringStatements(pqxx::connection& conn) {
  try {
    pqxx::nontransaction tx(conn);
    tx.exec_params(
        "SELECT set_config(name, $1, false) FROM pg_settings "
        "WHERE name = 'client_connection_check_interval'",
        std::string(kClientCheckInterval));
  } catch (const pqxx::sql_error&) {
    // Not supported here: the lock then lives as long as the statement.
  }
  // TODO(hardening): The check only sees connections the kernel knows are
  // closed. If syncd's whole host vanishes, the session, and its locks,
  // last until TCP keepalive gives up (two hours by default); setting
  // tcp_keepalives_idle/interval/count here would bound that too.
}

// A PostgreSQL array literal of `values`, every element quoted.
std::string ToPgArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::map<std::string, std::string> JsonToStringMap(absl::string_view text) {
  std::map<std::string, std::string> out;
  Json doc = Json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
  }
  return out;
}

std::string StringMapToJson(const std::map<std::string, std::string>& map) {
  Json doc = Json::object();
  for (const auto& [key, value] : map) doc[key] = value;
  return doc.dump();
}

std::string ModulesToJson(const std::vector<ModuleDefaults>& modules) {
  Json doc = Json::array();
  for (const auto& m : modules) {
    doc.push_back({{"name", m.name},
                   {"label", m.label},
                   {"icon", m.icon},
                   {"roles", m.roles},
                   {"enabled", m.enabled},
                   {"order", m.order},
                   {"version", m.version},
                   {"stats_key", m.stats_key}});
  }
  return doc.dump();
}

std::vector<Item> ToItems(const pqxx::result& rows, Action action, Kind kind,
                          absl::string_view message = {}) {
  std::vector<Item> items;
  items.reserve(rows.size());
  for (const auto& row : rows) {
    items.push_back(Item{action, kind, row[0].c_str(),
                         kind == Kind::kTenant ? "" : row[1].c_str(),
                         std::string(message)});
  }
  return items;
}

const std::string kTenantColumns = absl::StrCat(
    "t.slug, t.name::text, t.is_active, ", Rfc3339("t.created_at"), ", ",
    Rfc3339("t.updated_at"),
    ", (SELECT count(*) FROM module_meta m WHERE m.tenant = t.slug),"
    " (SELECT count(*) FROM module_settings s WHERE s.tenant = t.slug)");

Tenant TenantFromRow(const pqxx::row& row) {
  Tenant t;
  t.slug = row[0].c_str();
  t.name = JsonToStringMap(row[1].c_str());
  t.active = row[2].as<bool>();
  t.created_at = row[3].c_str();
  t.updated_at = row[4].c_str();
  t.meta_count = row[5].as<uint64_t>();
  t.setting_count = row[6].as<uint64_t>();
  return t;
}

const std::string kRunColumns = absl::StrCat(
    "r.id::text, r.op, r.params::text, r.requested_by, r.dry_run, ",
    Rfc3339("r.started_at"), ", coalesce(", Rfc3339("r.finished_at"),
    ", ''), r.outcome, r.counts::text, r.error");

RunRecord RunFromRow(const pqxx::row& row) {
  RunRecord r;
  r.id = row[0].c_str();
  r.operation = ParseOperationName(row[1].c_str()).value_or(Operation::kSyncAll);
  r.params_json = row[2].c_str();
  r.requested_by = row[3].c_str();
  r.dry_run = row[4].as<bool>();
  r.started_at = row[5].c_str();
  r.finished_at = row[6].c_str();
  r.outcome = ParseOutcomeName(row[7].c_str()).value_or(Outcome::kFailed);
  r.counts = Counts::FromJson(row[8].c_str());
  r.error = row[9].c_str();
  return r;
}

// Marks journaled runs whose backend session no longer exists as failed: the
// server running them died, or lost its database connection, before it could
// record an outcome. Nothing such a run did was committed, since a run
// records "committed" inside its own transaction (`PgRunSession::Commit`).
// The backend start time guards against a reused process id; it reads as
// NULL for another role's session without pg_read_all_stats, and such a
// session counts as alive. SKIP LOCKED keeps concurrent reconcilers (every
// run start does this) from waiting on, or deadlocking with, each other.
void ReconcileAbandonedRuns(pqxx::transaction_base& tx) {
  tx.exec(R"sql(
    UPDATE sync_runs r
       SET outcome = 'failed', finished_at = clock_timestamp(),
           error = 'its database session ended before it recorded an '
                   'outcome (its server stopped, or lost the database); '
                   'nothing it did was committed'
     WHERE r.id IN (
             SELECT x.id FROM sync_runs x
              WHERE x.outcome = 'running'
                AND NOT EXISTS (
                      SELECT 1 FROM pg_stat_activity a
                       WHERE a.pid = x.backend_pid
                         AND (a.backend_start IS NULL
                              OR a.backend_start = x.backend_started))
                FOR UPDATE SKIP LOCKED))sql");
}

// Describes who holds a lock that conflicts with `scope`/`tenant`, for the
// ABORTED message.
std::string DescribeLockHolder(pqxx::transaction_base& tx, LockScope scope,
                               absl::string_view tenant) {
  const pqxx::result rows = tx.exec_params(
      absl::StrCat(R"sql(
      SELECT coalesce(r.id::text, ''), coalesce(r.op, ''),
             coalesce()sql",
                   Rfc3339("r.started_at"), R"sql(, ''), l.pid
        FROM pg_locks l
        LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        LEFT JOIN sync_runs r
               ON r.backend_pid = l.pid AND r.outcome = 'running'
              AND (a.backend_start IS NULL
                   OR r.backend_started = a.backend_start)
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
         AND l.pid <> pg_backend_pid()
         AND l.database = (SELECT oid FROM pg_database
                            WHERE datname = current_database())
         AND ((l.classid = $1::int::oid AND l.objid = 0
               AND (l.mode = 'ExclusiveLock' OR $3))
           OR (l.classid = $2::int::oid AND l.objid = hashtext($4)::oid))
       ORDER BY r.started_at NULLS LAST
       LIMIT 1)sql"),
      kGlobalLockClass, kTenantLockClass, scope == LockScope::kGlobal,
      std::string(tenant));
  if (rows.empty()) return "another run (which has just finished)";
  const auto& row = rows[0];
  if (absl::string_view(row[0].c_str()).empty()) {
    return absl::StrCat("another session (server process ",
                        row[3].as<int>(), ")");
  }
  return absl::StrCat("run ", row[0].c_str(), " (", row[1].c_str(),
                      ", running since ", row[2].c_str(), ")");
}

// Tries once to take the locks of `scope`. Session-level locks: they outlive
// transactions and vanish with the connection if the server dies.
bool TryLockOnce(pqxx::transaction_base& tx, LockScope scope,
                 absl::string_view tenant) {
  if (scope == LockScope::kGlobal) {
    return tx.exec_params1("SELECT pg_try_advisory_lock($1, 0)",
                           kGlobalLockClass)[0]
        .as<bool>();
  }
  if (!tx.exec_params1("SELECT pg_try_advisory_lock_shared($1, 0)",
                       kGlobalLockClass)[0]
           .as<bool>()) {
    return false;
  }
  if (tx.exec_params1("SELECT pg_try_advisory_lock($1, hashtext($2))",
                      kTenantLockClass, std::string(tenant))[0]
          .as<bool>()) {
    return true;
  }
  // Do not sit on the shared global lock while waiting: it would starve a
  // global run that waits for the exclusive one.
  tx.exec_params("SELECT pg_advisory_unlock_shared($1, 0)", kGlobalLockClass);
  return false;
}

absl::Status PollForLock(pqxx::connection& conn, LockScope scope,
                         absl::string_view tenant, absl::Time deadline,
                         const std::function<bool()>& cancelled) {
  if (scope == LockScope::kNone) return absl::OkStatus();
  absl::Duration backoff = absl::Milliseconds(20);
  while (true) {
    {
      // Each attempt is its own short statement outside any transaction, so
      // a waiting run holds no snapshot open.
      pqxx::nontransaction tx(conn);
      if (TryLockOnce(tx, scope, tenant)) return absl::OkStatus();
      if (absl::Now() >= deadline) {
        std::string what = scope == LockScope::kGlobal
                               ? std::string("the global sync lock")
                               : absl::StrCat("the lock of tenant ", tenant);
        return absl::AbortedError(absl::StrCat(
            "timed out waiting for ", what, ", held by ",
            DescribeLockHolder(tx, scope, tenant), "; try again later"));
      }
    }
    if (cancelled && cancelled()) {
      return absl::CancelledError("cancelled while waiting for a lock");
    }
    absl::SleepFor(std::min(backoff, std::max(absl::ZeroDuration(),
                                              deadline - absl::Now())));
    backoff = std::min(backoff * 2, absl::Milliseconds(500));
  }
}

// Records a run's outcome outside its transaction. Only a run still
// journaled as running changes: an outcome, once written, is final (a
// committed run keeps saying so even if a later step reports the commit as
// failed or in doubt). A commit records itself, unconditionally, inside the
// transaction it commits.
constexpr char kRecordOutcomeSql[] = R"sql(
  UPDATE sync_runs
     SET outcome = $2, finished_at = clock_timestamp(),
         counts = $3::jsonb, error = $4
   WHERE id = $1::uuid AND outcome = 'running')sql";

class PgRunSession final : public RunSession {
 public:
  PgRunSession(std::string conninfo, std::unique_ptr<pqxx::connection> conn,
               std::string run_id)
      : conninfo_(std::move(conninfo)),
        conn_(std::move(conn)),
        run_id_(std::move(run_id)) {}

  ~PgRunSession() override {
    if (tx_) (void)Rollback();
    if (!finished_) {
      (void)Finish(Outcome::kFailed, Counts(),
                   "the run ended without recording an outcome");
    }
  }

  const std::string& run_id() const override { return run_id_; }

  absl::Status AcquireLock(LockScope scope, absl::string_view tenant,
                           absl::Time deadline,
                           const std::function<bool()>& cancelled) override {
    return Guarded("waiting for the run's lock", [&] {
      return PollForLock(*conn_, scope, tenant, deadline, cancelled);
    });
  }

  absl::Status Begin() override {
    return Guarded("starting the run's transaction", [&] {
      tx_ = std::make_unique<pqxx::work>(*conn_);
      prefers_hash_joins_ = false;
      return absl::OkStatus();
    });
  }

  absl::Status Commit(const Counts& counts) override {
    if (!tx_) return absl::FailedPreconditionError("no open transaction");
    absl::Status status = Guarded("committing the run", [&] {
      // The journal says committed exactly when the run's rows are: a lost
      // connection or a crash right after the commit cannot leave a
      // committed run journaled as failed, and an in-doubt commit can be
      // settled by reading the journal.
      tx_->exec_params(R"sql(
        UPDATE sync_runs
           SET outcome = 'committed', finished_at = clock_timestamp(),
               counts = $2::jsonb, error = ''
         WHERE id = $1::uuid)sql",
                       run_id_, counts.ToJson());
      tx_->commit();
      return absl::OkStatus();
    });
    tx_.reset();
    return status;
  }

  absl::Status Rollback() override {
    if (!tx_) return absl::OkStatus();
    absl::Status status = Guarded("rolling back the run", [&] {
      tx_->abort();
      return absl::OkStatus();
    });
    tx_.reset();
    return status;
  }

  absl::Status Finish(Outcome outcome, const Counts& counts,
                      absl::string_view error) override {
    finished_ = true;
    auto write = [&](pqxx::connection& conn) {
      pqxx::nontransaction tx(conn);
      tx.exec_params(kRecordOutcomeSql, run_id_,
                     std::string(OutcomeName(outcome)), counts.ToJson(),
                     std::string(error));
      return absl::OkStatus();
    };
    absl::Status status = Guarded("recording the run's outcome", [&] {
      return write(*conn_);
    });
    if (status.ok()) return status;
    // The run's own connection may be gone (that may be why it failed).
    return Guarded("recording the run's outcome on a new connection", [&] {
      auto fresh = Connect(conninfo_);
      return write(*fresh);
    });
  }

  void CancelQuery() override {
    try {
      conn_->cancel_query();
    } catch (const std::exception&) {
      // Nothing to cancel, or the connection is gone: either way the
      // statement is no longer running.
    }
  }

  absl::StatusOr<std::vector<std::string>> ActiveTenants() override {
    return InTx("listing active tenants", [&](pqxx::work& tx) {
      std::vector<std::string> slugs;
      for (const auto& row :
           tx.exec("SELECT slug FROM tenants WHERE is_active ORDER BY slug")) {
        slugs.emplace_back(row[0].c_str());
      }
      return absl::StatusOr<std::vector<std::string>>(std::move(slugs));
    });
  }

  absl::StatusOr<std::optional<Tenant>> FindTenant(
      absl::string_view slug) override {
    return InTx("looking up the tenant", [&](pqxx::work& tx) {
      const pqxx::result rows = tx.exec_params(
          absl::StrCat("SELECT ", kTenantColumns,
                       " FROM tenants t WHERE t.slug = $1"),
          std::string(slug));
      std::optional<Tenant> tenant;
      if (!rows.empty()) tenant = TenantFromRow(rows[0]);
      return absl::StatusOr<std::optional<Tenant>>(std::move(tenant));
    });
  }

  absl::StatusOr<uint64_t> CountEnabledMetas(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module) override {
    return InTx("counting enabled metas", [&](pqxx::work& tx) {
      const auto row = tx.exec_params1(
          "SELECT count(*) FROM module_meta WHERE tenant = ANY($1::text[]) "
          "AND enabled AND ($2 = '' OR name = $2)",
          ToPgArray(tenants), std::string(module.value_or("")));
      return absl::StatusOr<uint64_t>(row[0].as<uint64_t>());
    });
  }

  absl::StatusOr<std::vector<OrphanShare>> TenantsOverOrphanShare(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules, double max_share) override {
    return InTx("measuring orphan metas", [&](pqxx::work& tx) {
      const pqxx::result rows = tx.exec_params(R"sql(
        SELECT tenant, count(*),
               count(*) FILTER (WHERE name <> ALL($2::text[]))
          FROM module_meta
         WHERE tenant = ANY($1::text[])
         GROUP BY tenant
        HAVING count(*) FILTER (WHERE name <> ALL($2::text[]))
               > $3::float8 * count(*)
         ORDER BY tenant)sql",
                                               ToPgArray(tenants),
                                               ToPgArray(modules), max_share);
      std::vector<OrphanShare> out;
      for (const auto& row : rows) {
        out.push_back(OrphanShare{row[0].c_str(), row[1].as<uint64_t>(),
                                  row[2].as<uint64_t>()});
      }
      return absl::StatusOr<std::vector<OrphanShare>>(std::move(out));
    });
  }

  absl::StatusOr<std::vector<Item>> InsertMetas(
      const std::vector<std::string>& tenants,
      const std::vector<ModuleDefaults>& modules) override {
    return InTx("inserting metas", [&](pqxx::work& tx) {
      PreferHashJoins(tx);
      // The anti-join skips existing rows cheaply; ON CONFLICT still covers
      // a row inserted concurrently by something other than SyncAdmin.
      //
      // The existing rows come from a MATERIALIZED CTE over the chunk's
      // tenants, read once through the primary key. Against the table
      // itself, the planner chose, while the table looked empty (a first
      // sync), a nested loop that re-scans the growing table once per
      // candidate row (quadratic: seconds for one chunk), and later a hash
      // anti-join over every tenant's rows for each chunk (quadratic in
      // the number of chunks).
      //
      // A module's history entry is the same for every tenant: it is built
      // once per module (the MATERIALIZED CTE), not once per row, which
      // takes a sixth off the cost of inserting metas.
      const pqxx::result rows = tx.exec_params(
          R"sql(
        WITH existing AS MATERIALIZED (
          SELECT tenant, name FROM module_meta WHERE tenant = ANY($1::text[])),
        modules AS MATERIALIZED (
          SELECT d.*,
                 jsonb_build_array(jsonb_build_object(
                   'version', d.version, 'by', $3::text,
                   'date', )sql" + Rfc3339("now()") + R"sql(,
                   'note', 'created by sync')) AS history
            FROM jsonb_to_recordset($2::jsonb) AS d(
                   name text, label jsonb, icon text, roles text[],
                   enabled boolean, "order" integer, version text,
                   stats_key text))
        INSERT INTO module_meta (tenant, name, label, icon, roles, enabled,
                                 version, "order", stats_key, history,
                                 created_by_run)
        SELECT t.slug, m.name, m.label, m.icon, m.roles, m.enabled,
               m.version, m."order", m.stats_key, m.history, $4::uuid
          FROM unnest($1::text[]) AS t(slug)
         CROSS JOIN modules m
         WHERE NOT EXISTS (SELECT 1 FROM existing e
                            WHERE e.tenant = t.slug AND e.name = m.name)
            ON CONFLICT (tenant, name) DO NOTHING
        RETURNING tenant, name)sql",
          ToPgArray(tenants), ModulesToJson(modules), requested_by_,
          run_id_);
      return absl::StatusOr<std::vector<Item>>(
          ToItems(rows, Action::kCreated, Kind::kMeta));
    });
  }

  absl::StatusOr<std::vector<Item>> InsertSettings(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module,
      const std::vector<std::string>& seo_locales) override {
    Json seo = Json::object();
    for (const auto& locale : seo_locales) seo[locale] = "";
    return InTx("inserting settings", [&](pqxx::work& tx) {
      PreferHashJoins(tx);
      // Existing settings as in `InsertMetas`: read once, before inserting.
      const pqxx::result rows = tx.exec_params(R"sql(
        WITH existing AS MATERIALIZED (
          SELECT tenant, module FROM module_settings
           WHERE tenant = ANY($1::text[]))
        INSERT INTO module_settings (tenant, module, enabled,
                                     visible_in_sidebar, use_analytics,
                                     show_in_dashboard, roles, "order",
                                     seo_title, seo_description, seo_summary,
                                     seo_og_image, created_by_run)
        SELECT m.tenant, m.name, m.enabled, true, false, true,
               CASE WHEN cardinality(m.roles) = 0 THEN ARRAY['admin']
                    ELSE m.roles END,
               m."order", $3::jsonb, $3::jsonb, $3::jsonb, '', $4::uuid
          FROM module_meta m
         WHERE m.tenant = ANY($1::text[]) AND m.enabled
           AND ($2 = '' OR m.name = $2)
           AND NOT EXISTS (SELECT 1 FROM existing s
                            WHERE s.tenant = m.tenant AND s.module = m.name)
            ON CONFLICT (tenant, module) DO NOTHING
        RETURNING tenant, module)sql",
                                               ToPgArray(tenants),
                                               std::string(module.value_or("")),
                                               seo.dump(), run_id_);
      return absl::StatusOr<std::vector<Item>>(
          ToItems(rows, Action::kCreated, Kind::kSetting));
    });
  }

  // TODO(scale): Archived rows are kept forever. Once the archive holds
  // many large removals, add a retention period (and a way to purge the
  // archive of old runs) so it does not outgrow the live tables.
  absl::StatusOr<std::vector<Item>> DeleteOrphans(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) override {
    if (modules.empty()) {
      // "<> ALL('{}')" is true for every row: refuse rather than wipe.
      return absl::FailedPreconditionError(
          "refusing to delete orphans against an empty module list");
    }
    return InTx("deleting orphan metas and settings", [&](pqxx::work& tx) {
      const std::string t = ToPgArray(tenants);
      const std::string m = ToPgArray(modules);
      std::vector<Item> items = ToItems(
          tx.exec_params(R"sql(
            WITH d AS (
              DELETE FROM module_settings s
               WHERE s.tenant = ANY($1::text[]) AND s.module <> ALL($2::text[])
              RETURNING s.*),
            a AS (
              INSERT INTO sync_archive (run_id, tenant, "table", "row")
              SELECT $3::uuid, d.tenant, 'module_settings', to_jsonb(d)
                FROM d)
            SELECT tenant, module FROM d)sql",
                         t, m, run_id_),
          Action::kDeleted, Kind::kSetting, "orphan: module directory is gone");
      std::vector<Item> metas = ToItems(
          tx.exec_params(R"sql(
            WITH d AS (
              DELETE FROM module_meta x
               WHERE x.tenant = ANY($1::text[]) AND x.name <> ALL($2::text[])
              RETURNING x.*),
            a AS (
              INSERT INTO sync_archive (run_id, tenant, "table", "row")
              SELECT $3::uuid, d.tenant, 'module_meta', to_jsonb(d) FROM d)
            SELECT tenant, name FROM d)sql",
                         t, m, run_id_),
          Action::kDeleted, Kind::kMeta, "orphan: module directory is gone");
      items.insert(items.end(), std::make_move_iterator(metas.begin()),
                   std::make_move_iterator(metas.end()));
      return absl::StatusOr<std::vector<Item>>(std::move(items));
    });
  }

  absl::StatusOr<std::vector<Item>> DeleteTenant(
      absl::string_view tenant) override {
    return InTx("deleting the tenant's rows", [&](pqxx::work& tx) {
      const std::string slug(tenant);
      std::vector<Item> items = ToItems(
          tx.exec_params(R"sql(
            WITH d AS (DELETE FROM module_settings WHERE tenant = $1
                       RETURNING *),
            a AS (INSERT INTO sync_archive (run_id, tenant, "table", "row")
                  SELECT $2::uuid, d.tenant, 'module_settings', to_jsonb(d)
                    FROM d)
            SELECT tenant, module FROM d ORDER BY module)sql",
                         slug, run_id_),
          Action::kDeleted, Kind::kSetting);
      std::vector<Item> metas = ToItems(
          tx.exec_params(R"sql(
            WITH d AS (DELETE FROM module_meta WHERE tenant = $1 RETURNING *),
            a AS (INSERT INTO sync_archive (run_id, tenant, "table", "row")
                  SELECT $2::uuid, d.tenant, 'module_meta', to_jsonb(d)
                    FROM d)
            SELECT tenant, name FROM d ORDER BY name)sql",
                         slug, run_id_),
          Action::kDeleted, Kind::kMeta);
      std::vector<Item> registry = ToItems(
          tx.exec_params(R"sql(
            WITH d AS (DELETE FROM tenants WHERE slug = $1 RETURNING *),
            a AS (INSERT INTO sync_archive (run_id, tenant, "table", "row")
                  SELECT $2::uuid, d.slug, 'tenants', to_jsonb(d) FROM d)
            SELECT slug FROM d)sql",
                         slug, run_id_),
          Action::kDeleted, Kind::kTenant);
      for (auto* part : {&metas, &registry}) {
        items.insert(items.end(), std::make_move_iterator(part->begin()),
                     std::make_move_iterator(part->end()));
      }
      return absl::StatusOr<std::vector<Item>>(std::move(items));
    });
  }

  absl::StatusOr<std::vector<Item>> RestoreArchived(
      absl::string_view source_run_id) override {
    return InTx("restoring archived rows", [&](pqxx::work& tx) {
      const std::string source(source_run_id);
      std::vector<Item> items;
      // Parents first, so that children find them. A row is restored with
      // every column as it was archived.
      RestoreTable(tx, source, "tenants", "slug", "NULL::text",
                   "true", "", Kind::kTenant, &items);
      RestoreTable(tx, source, "module_meta", "tenant", "name",
                   "EXISTS (SELECT 1 FROM tenants p WHERE p.slug = src.tenant)",
                   "its tenant is not registered", Kind::kMeta, &items);
      RestoreTable(tx, source, "module_settings", "tenant", "module",
                   "EXISTS (SELECT 1 FROM module_meta p WHERE p.tenant = "
                   "src.tenant AND p.name = src.module)",
                   "its meta does not exist", Kind::kSetting, &items);
      return absl::StatusOr<std::vector<Item>>(std::move(items));
    });
  }

  absl::StatusOr<std::vector<Item>> ListUnchangedMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) override {
    return InTx("listing unchanged metas", [&](pqxx::work& tx) {
      return absl::StatusOr<std::vector<Item>>(ToItems(
          tx.exec_params(R"sql(
            SELECT tenant, name FROM module_meta
             WHERE tenant = ANY($1::text[]) AND name = ANY($2::text[])
               AND created_by_run IS DISTINCT FROM $3::uuid
             ORDER BY tenant, name)sql",
                         ToPgArray(tenants), ToPgArray(modules), run_id_),
          Action::kExists, Kind::kMeta));
    });
  }

  absl::StatusOr<std::vector<Item>> ListUnchangedSettings(
      const std::vector<std::string>& tenants,
      std::optional<absl::string_view> module) override {
    return InTx("listing unchanged settings", [&](pqxx::work& tx) {
      return absl::StatusOr<std::vector<Item>>(ToItems(
          tx.exec_params(R"sql(
            SELECT s.tenant, s.module
              FROM module_settings s
              JOIN module_meta m ON m.tenant = s.tenant AND m.name = s.module
             WHERE s.tenant = ANY($1::text[]) AND m.enabled
               AND ($2 = '' OR s.module = $2)
               AND s.created_by_run IS DISTINCT FROM $3::uuid
             ORDER BY s.tenant, s.module)sql",
                         ToPgArray(tenants), std::string(module.value_or("")),
                         run_id_),
          Action::kExists, Kind::kSetting));
    });
  }

  absl::StatusOr<std::vector<Item>> ListMissingSettings(
      const std::vector<std::string>& tenants) override {
    return InTx("listing missing settings", [&](pqxx::work& tx) {
      return absl::StatusOr<std::vector<Item>>(ToItems(
          tx.exec_params(R"sql(
            SELECT m.tenant, m.name FROM module_meta m
             WHERE m.tenant = ANY($1::text[]) AND m.enabled
               AND NOT EXISTS (SELECT 1 FROM module_settings s
                                WHERE s.tenant = m.tenant
                                  AND s.module = m.name)
             ORDER BY m.tenant, m.name)sql",
                         ToPgArray(tenants)),
          Action::kWouldCreate, Kind::kSetting, "missing setting"));
    });
  }

  absl::StatusOr<std::vector<Item>> ListOrphanMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) override {
    return InTx("listing orphan metas", [&](pqxx::work& tx) {
      return absl::StatusOr<std::vector<Item>>(ToItems(
          tx.exec_params(R"sql(
            SELECT tenant, name FROM module_meta
             WHERE tenant = ANY($1::text[]) AND name <> ALL($2::text[])
             ORDER BY tenant, name)sql",
                         ToPgArray(tenants), ToPgArray(modules)),
          Action::kSkipped, Kind::kMeta,
          "orphan: module directory is gone (SyncAll deletes it)"));
    });
  }

  absl::StatusOr<std::vector<Item>> ListDisabledMetas(
      const std::vector<std::string>& tenants,
      const std::vector<std::string>& modules) override {
    return InTx("listing disabled metas", [&](pqxx::work& tx) {
      return absl::StatusOr<std::vector<Item>>(ToItems(
          tx.exec_params(R"sql(
            SELECT tenant, name FROM module_meta
             WHERE tenant = ANY($1::text[]) AND NOT enabled
               AND name = ANY($2::text[])
             ORDER BY tenant, name)sql",
                         ToPgArray(tenants), ToPgArray(modules)),
          Action::kSkipped, Kind::kMeta,
          "module disabled for this tenant: no setting expected"));
    });
  }

  absl::StatusOr<std::vector<InactiveTenantRows>> ListInactiveTenantsWithRows()
      override {
    return InTx("listing inactive tenants", [&](pqxx::work& tx) {
      std::vector<InactiveTenantRows> out;
      for (const auto& row : tx.exec(R"sql(
            SELECT t.slug,
                   (SELECT count(*) FROM module_meta m WHERE m.tenant = t.slug),
                   (SELECT count(*) FROM module_settings s
                     WHERE s.tenant = t.slug)
              FROM tenants t
             WHERE NOT t.is_active
               AND EXISTS (SELECT 1 FROM module_meta m WHERE m.tenant = t.slug)
             ORDER BY t.slug)sql")) {
        out.push_back(InactiveTenantRows{row[0].c_str(), row[1].as<uint64_t>(),
                                         row[2].as<uint64_t>()});
      }
      return absl::StatusOr<std::vector<InactiveTenantRows>>(std::move(out));
    });
  }

  absl::StatusOr<std::optional<RunRecord>> FindRun(
      absl::string_view run_id) override {
    return InTx("looking up the run", [&](pqxx::work& tx) {
      const pqxx::result rows = tx.exec_params(
          absl::StrCat("SELECT ", kRunColumns,
                       " FROM sync_runs r WHERE r.id = $1::uuid"),
          std::string(run_id));
      std::optional<RunRecord> run;
      if (!rows.empty()) run = RunFromRow(rows[0]);
      return absl::StatusOr<std::optional<RunRecord>>(std::move(run));
    });
  }

  void set_requested_by(std::string who) { requested_by_ = std::move(who); }

 private:
  // Runs `fn` inside the run's open transaction.
  template <typename Fn>
  auto InTx(absl::string_view context, Fn&& fn) -> decltype(fn(
      std::declval<pqxx::work&>())) {
    if (!tx_) {
      return absl::FailedPreconditionError(
          absl::StrCat(context, ": the run's transaction is not open"));
    }
    return Guarded(context, [&] { return fn(*tx_); });
  }

  // Turns merge joins off for the rest of the run's transaction. For the
  // anti-joins of `InsertMetas` and `InsertSettings` (about 10,000 rows on
  // each side) the planner prefers a merge join, whose two sorts compare
  // text under the database's collation; a hash join does the same work in
  // about half the time. The run's other statements lose nothing by it.
  void PreferHashJoins(pqxx::work& tx) {
    if (prefers_hash_joins_) return;
    tx.exec("SET LOCAL enable_mergejoin = off");
    prefers_hash_joins_ = true;
  }

  // Re-inserts the archived rows of one table and appends an item per row:
  // created when restored, skipped (with the reason) otherwise.
  void RestoreTable(pqxx::work& tx, const std::string& source,
                    absl::string_view table, absl::string_view tenant_column,
                    absl::string_view module_column,
                    absl::string_view parent_exists,
                    absl::string_view parent_missing, Kind kind,
                    std::vector<Item>* items) {
    const std::string module_expr =
        kind == Kind::kTenant ? "NULL::text" : absl::StrCat("src.", module_column);
    const pqxx::result rows = tx.exec_params(absl::StrCat(
        "WITH src AS (SELECT (jsonb_populate_record(NULL::", table,
        ", a.\"row\")).* FROM sync_archive a WHERE a.run_id = $1::uuid AND "
        "a.\"table\" = '", table, "'), ",
        "ok AS (SELECT * FROM src WHERE ", parent_exists, "), ",
        "ins AS (INSERT INTO ", table, " SELECT * FROM ok ON CONFLICT DO "
        "NOTHING RETURNING ", tenant_column,
        kind == Kind::kTenant ? "" : absl::StrCat(", ", module_column), ") ",
        "SELECT src.", tenant_column, ", coalesce(", module_expr, ", ''), ",
        "EXISTS (SELECT 1 FROM ins WHERE ins.", tenant_column, " = src.",
        tenant_column,
        kind == Kind::kTenant
            ? ""
            : absl::StrCat(" AND ins.", module_column, " = src.", module_column),
        "), ", parent_exists, " FROM src ORDER BY 1, 2"),
        source);
    for (const auto& row : rows) {
      Item item{Action::kCreated, kind, row[0].c_str(),
                kind == Kind::kTenant ? "" : row[1].c_str(), "restored"};
      if (!row[2].as<bool>()) {
        item.action = Action::kSkipped;
        item.message = row[3].as<bool>()
                           ? "exists again: left as it is"
                           : std::string(parent_missing);
      }
      items->push_back(std::move(item));
    }
  }

  std::string conninfo_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::string run_id_;
  std::string requested_by_;
  bool finished_ = false;
  bool prefers_hash_joins_ = false;  // Within the open transaction.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(std::string conninfo) {
  return Guarded("connecting to the database",
                 [&]() -> absl::StatusOr<std::unique_ptr<Store>> {
                   auto conn = Connect(conninfo);
                   return std::unique_ptr<Store>(new Store(std::move(conninfo)));
                 });
}

absl::Status Store::Ping() {
  return Guarded("checking the database", [&] {
    auto conn = Connect(conninfo_);
    pqxx::nontransaction tx(*conn);
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::Status Store::Migrate() {
  return Guarded("migrating the schema", [&]() -> absl::Status {
    auto conn = Connect(conninfo_);
    {
      pqxx::nontransaction tx(*conn);
      // Blocks while another server migrates; bounded so that a stuck peer
      // makes startup fail visibly instead of hanging.
      tx.exec("SET lock_timeout = '60s'");
      tx.exec_params("SELECT pg_advisory_lock($1, 0)", kMigrateLockClass);
      tx.exec(R"sql(
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version     integer PRIMARY KEY,
          name        text NOT NULL,
          checksum    text NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now()))sql");
    }
    std::map<int, std::string> applied;
    {
      pqxx::nontransaction tx(*conn);
      for (const auto& row :
           tx.exec("SELECT version, checksum FROM schema_migrations")) {
        applied[row[0].as<int>()] = row[1].c_str();
      }
    }
    const auto& all = AllMigrations();
    if (!applied.empty() && applied.rbegin()->first > all.back().version) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database schema is at version ", applied.rbegin()->first,
          ", newer than this build knows (", all.back().version,
          "): upgrade syncd"));
    }
    for (const Migration& m : all) {
      pqxx::work tx(*conn);
      const std::string checksum =
          tx.exec_params1(
                "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')",
                std::string(m.sql))[0]
              .c_str();
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != checksum) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", m.version, " (", m.name,
              ") was changed after it was applied: the database has "
              "checksum ",
              it->second, ", this build has ", checksum));
        }
        continue;
      }
      tx.exec(std::string(m.sql));
      tx.exec_params(
          "INSERT INTO schema_migrations (version, name, checksum) "
          "VALUES ($1, $2, $3)",
          m.version, std::string(m.name), checksum);
      tx.commit();
    }
    pqxx::nontransaction tx(*conn);
    tx.exec_params("SELECT pg_advisory_unlock($1, 0)", kMigrateLockClass);
    return absl::OkStatus();
  });
}

absl::StatusOr<Tenant> Store::CreateTenant(const Tenant& tenant,
                                           bool dry_run) {
  return Guarded(absl::StrCat("creating tenant ", tenant.slug),
                 [&]() -> absl::StatusOr<Tenant> {
                   auto conn = Connect(conninfo_);
                   pqxx::work tx(*conn);
                   tx.exec_params(
                       "INSERT INTO tenants (slug, name, is_active) "
                       "VALUES ($1, $2::jsonb, $3)",
                       tenant.slug, StringMapToJson(tenant.name),
                       tenant.active);
                   const auto row = tx.exec_params1(
                       absl::StrCat("SELECT ", kTenantColumns,
                                    " FROM tenants t WHERE t.slug = $1"),
                       tenant.slug);
                   Tenant stored = TenantFromRow(row);
                   if (dry_run) {
                     tx.abort();
                   } else {
                     tx.commit();
                   }
                   return stored;
                 });
}

absl::StatusOr<Page<Tenant>> Store::ListTenants(absl::string_view page_token,
                                                int limit) {
  return Guarded("listing tenants", [&]() -> absl::StatusOr<Page<Tenant>> {
    auto conn = Connect(conninfo_);
    pqxx::read_transaction tx(*conn);
    // One row more than asked tells whether there is a next page.
    const pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", kTenantColumns,
                     " FROM tenants t WHERE t.slug > $1 ORDER BY t.slug "
                     "LIMIT $2"),
        std::string(page_token), limit + 1);
    Page<Tenant> page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_page_token = page.items.back().slug;
        break;
      }
      page.items.push_back(TenantFromRow(row));
    }
    return page;
  });
}

absl::StatusOr<Tenant> Store::SetTenantActive(absl::string_view slug,
                                              bool active,
                                              absl::Time lock_deadline,
                                              bool dry_run) {
  return Guarded(
      absl::StrCat("changing tenant ", slug),
      [&]() -> absl::StatusOr<Tenant> {
        auto conn = Connect(conninfo_);
        SYNCADMIN_RETURN_IF_ERROR(
            PollForLock(*conn, LockScope::kTenant, slug, lock_deadline, {}));
        pqxx::work tx(*conn);
        const pqxx::result rows = tx.exec_params(
            "UPDATE tenants SET is_active = $2, "
            "updated_at = CASE WHEN is_active = $2 THEN updated_at "
            "ELSE now() END WHERE slug = $1 RETURNING slug",
            std::string(slug), active);
        if (rows.empty()) {
          return absl::NotFoundError(
              absl::StrCat("tenant ", QuoteForMessage(slug), " not found"));
        }
        const auto row = tx.exec_params1(
            absl::StrCat("SELECT ", kTenantColumns,
                         " FROM tenants t WHERE t.slug = $1"),
            std::string(slug));
        Tenant stored = TenantFromRow(row);
        if (dry_run) {
          tx.abort();
        } else {
          tx.commit();
        }
        return stored;
      });
}

absl::StatusOr<RunRecord> Store::GetRun(absl::string_view run_id) {
  return Guarded("reading the run", [&]() -> absl::StatusOr<RunRecord> {
    auto conn = Connect(conninfo_);
    pqxx::work tx(*conn);
    ReconcileAbandonedRuns(tx);
    const pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", kRunColumns,
                     " FROM sync_runs r WHERE r.id = $1::uuid"),
        std::string(run_id));
    tx.commit();
    if (rows.empty()) {
      return absl::NotFoundError(
          absl::StrCat("run ", QuoteForMessage(run_id), " not found"));
    }
    return RunFromRow(rows[0]);
  });
}

absl::StatusOr<Page<RunRecord>> Store::ListRuns(absl::string_view page_token,
                                                int limit) {
  return Guarded("listing runs", [&]() -> absl::StatusOr<Page<RunRecord>> {
    auto conn = Connect(conninfo_);
    pqxx::work tx(*conn);
    ReconcileAbandonedRuns(tx);
    if (!page_token.empty() &&
        tx.exec_params("SELECT 1 FROM sync_runs WHERE id = $1::uuid",
                       std::string(page_token))
            .empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("page_token ", QuoteForMessage(page_token),
                       " names no journaled run"));
    }
    const pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", kRunColumns, R"sql(
           FROM sync_runs r
          WHERE $1 = ''
             OR (r.started_at, r.id) < (SELECT p.started_at, p.id
                                          FROM sync_runs p
                                         WHERE p.id = nullif($1, '')::uuid)
          ORDER BY r.started_at DESC, r.id DESC
          LIMIT $2)sql"),
        std::string(page_token), limit + 1);
    tx.commit();
    Page<RunRecord> page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_page_token = page.items.back().id;
        break;
      }
      page.items.push_back(RunFromRow(row));
    }
    return page;
  });
}

absl::StatusOr<std::unique_ptr<RunSession>> Store::StartRun(
    const RunParams& params) {
  return Guarded(
      "starting the run",
      [&]() -> absl::StatusOr<std::unique_ptr<RunSession>> {
        auto conn = Connect(conninfo_);
        CheckClientDuringStatements(*conn);
        std::string run_id;
        {
          pqxx::work tx(*conn);
          ReconcileAbandonedRuns(tx);
          run_id = tx.exec_params1(R"sql(
            INSERT INTO sync_runs (id, op, params, requested_by, dry_run,
                                   backend_pid, backend_started)
            SELECT gen_random_uuid(), $1, $2::jsonb, $3, $4,
                   pg_backend_pid(), a.backend_start
              FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
            RETURNING id::text)sql",
                                   std::string(OperationName(params.operation)),
                                   params.params_json, params.requested_by,
                                   params.dry_run)[0]
                       .c_str();
          tx.exec_params("SELECT set_config('application_name', $1, false)",
                         absl::StrCat("syncd run ", run_id));
          tx.commit();
        }
        auto session = std::make_unique<PgRunSession>(conninfo_,
                                                      std::move(conn), run_id);
        session->set_requested_by(params.requested_by);
        return std::unique_ptr<RunSession>(std::move(session));
      });
}

}  // namespace syncadmin::core
