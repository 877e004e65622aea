// Fault tests: real `syncd` processes and a real PostgreSQL, broken on
// purpose in the middle of a run (the database killed, the client gone, the
// server stopped or killed, two servers racing), to prove that nothing a run
// did survives unless it committed, that the journal tells what happened, and
// that no two runs interleave.
//
// "Mid-run" is made deterministic with a gate: a test transaction holds a
// row lock on one meta of the last tenant, which the run's last
// seed-settings statement needs (its foreign key check), so the run streams
// its metas and, when it works in several chunks, its first settings, then
// cannot finish, let alone commit, until the gate opens. Faults are injected
// once the test has received the batch it waits for.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "syncadmin/v1/sync_admin.grpc.pb.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using Stub = v1::SyncAdmin::Stub;
using EventReader = grpc::ClientReader<v1::SyncEvent>;
using Clock = std::chrono::steady_clock;

// Every call gets a deadline, so that a hung server fails the test instead
// of hanging it.
constexpr auto kCallTimeout = std::chrono::seconds(120);

std::unique_ptr<Stub> NewStub(const std::string& address) {
  return v1::SyncAdmin::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(
                          static_cast<absl::StatusCode>(status.error_code())),
                      ": ", status.error_message());
}

// Polls `done` every 20 ms for up to `timeout_s` seconds.
bool WaitUntil(const std::function<bool()>& done, double timeout_s) {
  const auto deadline =
      Clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The single value of a one-row, one-column query on `conninfo`.
std::string ScalarAt(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  const pqxx::result rows = tx.exec(sql);
  if (rows.size() != 1 || rows[0].size() != 1) return "<not one value>";
  return rows[0][0].is_null() ? "<null>" : rows[0][0].c_str();
}

void ExecAt(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

// Starts one streaming rpc on a context the caller owns.
using Starter =
    std::function<std::unique_ptr<EventReader>(Stub&, grpc::ClientContext*)>;

Starter SyncAll(bool dry_run = false) {
  return [dry_run](Stub& stub, grpc::ClientContext* context) {
    v1::SyncAllRequest request;
    request.mutable_options()->set_dry_run(dry_run);
    return stub.SyncAll(context, request);
  };
}

Starter SeedTenant(const std::string& tenant, bool dry_run = false) {
  return [tenant, dry_run](Stub& stub, grpc::ClientContext* context) {
    v1::SeedTenantRequest request;
    request.set_tenant(tenant);
    request.mutable_options()->set_dry_run(dry_run);
    return stub.SeedTenant(context, request);
  };
}

Starter RemoveTenant(const std::string& tenant, bool dry_run = false) {
  return [tenant, dry_run](Stub& stub, grpc::ClientContext* context) {
    v1::RemoveTenantRequest request;
    request.set_tenant(tenant);
    request.mutable_options()->set_dry_run(dry_run);
    return stub.RemoveTenant(context, request);
  };
}

Starter Restore(const std::string& run_id, bool dry_run = false) {
  return [run_id, dry_run](Stub& stub, grpc::ClientContext* context) {
    v1::RestoreRequest request;
    request.set_run_id(run_id);
    request.mutable_options()->set_dry_run(dry_run);
    return stub.Restore(context, request);
  };
}

// One streaming run as its client sees it: the events read so far and, once
// finished, the final status.
class RunCall {
 public:
  RunCall(Stub& stub, const Starter& start) {
    SetDeadline(&context_);
    reader_ = start(stub, &context_);
  }

  // Reads events until a batch of items of `kind` (any kind if unset) has
  // arrived. Returns false if the stream ended first.
  bool ReadUntilItems(std::optional<v1::Kind> kind = std::nullopt) {
    v1::SyncEvent event;
    while (reader_->Read(&event)) {
      events_.push_back(event);
      if (event.has_items() && event.items().items_size() > 0 &&
          (!kind || event.items().items(0).kind() == *kind)) {
        return true;
      }
    }
    return false;
  }

  // Reads the rest of the stream and returns the call's status.
  grpc::Status Finish() {
    v1::SyncEvent event;
    while (reader_->Read(&event)) events_.push_back(event);
    return reader_->Finish();
  }

  // Cancels the call, as a client that gives up does.
  void Cancel() { context_.TryCancel(); }

  std::string run_id() const {
    return events_.empty() ? "" : events_.front().run_id();
  }

  // The last event, if the run reported its end.
  std::optional<v1::RunFinished> finished() const {
    if (events_.empty() || !events_.back().has_run_finished()) {
      return std::nullopt;
    }
    return events_.back().run_finished();
  }

  // Count of `action` x `kind` in the final event; 0 if none.
  uint64_t Count(v1::Action action, v1::Kind kind) const {
    if (auto f = finished()) {
      for (const v1::ActionCount& c : f->counts()) {
        if (c.action() == action && c.kind() == kind) return c.count();
      }
    }
    return 0;
  }

  const std::vector<v1::SyncEvent>& events() const { return events_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<EventReader> reader_;
  std::vector<v1::SyncEvent> events_;
};

// Runs a whole call and returns it with its status.
struct Completed {
  std::unique_ptr<RunCall> call;
  grpc::Status status;
};

Completed RunToEnd(Stub& stub, const Starter& start) {
  Completed done{std::make_unique<RunCall>(stub, start), {}};
  done.status = done.call->Finish();
  return done;
}

grpc::Status CreateTenant(Stub& stub, const std::string& slug) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::CreateTenantRequest request;
  request.set_slug(slug);
  v1::CreateTenantResponse response;
  return stub.CreateTenant(&context, request, &response);
}

// The journal's view of a run through `GetRun`, which also settles runs
// whose server went away.
v1::Run GetRun(Stub& stub, const std::string& run_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::GetRunResponse response;
  const grpc::Status status = stub.GetRun(&context, request, &response);
  EXPECT_TRUE(status.ok()) << Describe(status);
  return response.run();
}

// Module directories m0001, m0002, ... under `root`.
void MakeModules(const TempDir& root, int count) {
  for (int i = 1; i <= count; ++i) {
    root.MakeDir(absl::StrFormat("m%04d", i));
  }
}

std::string TenantName(int i) { return absl::StrFormat("t%04d", i); }
std::string ModuleName(int i) { return absl::StrFormat("m%04d", i); }

// Registers active tenants t0001 .. t<count> with one statement.
void AddTenants(const std::string& conninfo, int count) {
  ExecAt(conninfo,
         absl::StrCat("INSERT INTO tenants (slug) SELECT 't' || "
                      "lpad(g::text, 4, '0') FROM generate_series(1, ",
                      count, ") g"));
}

// Rows that run `run_id` created, plus the rows it archived.
std::string RowsOfRun(const std::string& conninfo, const std::string& run_id) {
  return ScalarAt(
      conninfo,
      absl::StrCat("SELECT (SELECT count(*) FROM module_meta "
                   "WHERE created_by_run = '",
                   run_id,
                   "') + (SELECT count(*) FROM module_settings "
                   "WHERE created_by_run = '",
                   run_id,
                   "') + (SELECT count(*) FROM sync_archive WHERE run_id = '",
                   run_id, "')"));
}

std::string OutcomeAt(const std::string& conninfo, const std::string& run_id) {
  return ScalarAt(
      conninfo,
      absl::StrCat("SELECT outcome FROM sync_runs WHERE id = '", run_id, "'"));
}

// Whether a database session other than run `run_id`'s holds an advisory
// lock for a run.
bool LockHeldByAnotherRun(const std::string& conninfo,
                          const std::string& run_id) {
  return ScalarAt(conninfo,
                  absl::StrCat("SELECT count(*) FROM pg_locks l "
                               "JOIN pg_stat_activity a ON a.pid = l.pid "
                               "WHERE l.locktype = 'advisory' AND l.granted "
                               "AND a.application_name LIKE 'syncd run %' "
                               "AND a.application_name <> 'syncd run ",
                               run_id, "'")) != "0";
}

// Holds up a run before its last seed-settings statement (see the top of
// the file). Creates the meta `tenant`/`module` (without a setting, so that
// the run will insert one) and locks it until released or destroyed.
class Gate {
 public:
  Gate(const std::string& conninfo, const std::string& tenant,
       const std::string& module) {
    ExecAt(conninfo, absl::StrCat("INSERT INTO module_meta (tenant, name) "
                                  "VALUES ('",
                                  tenant, "', '", module, "')"));
    conn_ = std::make_unique<pqxx::connection>(conninfo);
    tx_ = std::make_unique<pqxx::work>(*conn_);
    tx_->exec(absl::StrCat("SELECT 1 FROM module_meta WHERE tenant = '", tenant,
                           "' AND name = '", module, "' FOR UPDATE"));
  }
  ~Gate() { Release(); }

  // Rolls back, which releases the lock. Safe on a dead connection.
  void Release() {
    tx_.reset();
    conn_.reset();
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
};

// A private database and modules root on the shared test cluster.
class FaultTest : public ::testing::Test {
 protected:
  // `modules` module directories and `tenants` tenants, with a syncd
  // serving them (which creates the schema), and a gate on the last
  // tenant's last module. Each chunk of a run handles 10,000 rows, so
  // 40 x 500 gives every phase two chunks.
  void SetUpWorkload(int tenants = 40, int modules = 500) {
    MakeModules(modules_, modules);
    syncd_ = std::make_unique<SyncdProcess>(db_.conninfo(), modules_.str());
    stub_ = NewStub(syncd_->address());
    AddTenants(db_.conninfo(), tenants);
    gate_ = std::make_unique<Gate>(db_.conninfo(), TenantName(tenants),
                                   ModuleName(modules));
  }

  std::string Outcome(const std::string& run_id) {
    return OutcomeAt(db_.conninfo(), run_id);
  }

  // Whether run `run_id` is inside a statement, waiting for a lock (the
  // gate's).
  bool RunWaitsOnALock(const std::string& run_id) {
    return db_.Scalar(absl::StrCat("SELECT count(*) FROM pg_stat_activity "
                                   "WHERE application_name = 'syncd run ",
                                   run_id, "' AND wait_event_type = 'Lock'")) ==
           "1";
  }

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<SyncdProcess> syncd_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<Gate> gate_;
};

// ------------------------------------------------ the database goes away

TEST(PostgresRestartTest, ImmediateStopMidSyncAllLeavesNothingAndSyncdServes) {
  PgCluster cluster;
  TempDir modules;
  MakeModules(modules, 500);
  SyncdProcess syncd(cluster.conninfo(), modules.str());
  auto stub = NewStub(syncd.address());
  AddTenants(cluster.conninfo(), 200);  // 200 x 500: 100,000 settings.
  Gate gate(cluster.conninfo(), TenantName(200), ModuleName(500));

  RunCall doomed(*stub, SyncAll());
  ASSERT_TRUE(doomed.ReadUntilItems(v1::KIND_SETTING))
      << "the run ended before streaming a setting";
  const std::string run_id = doomed.run_id();
  cluster.Stop("immediate");
  const grpc::Status status = doomed.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);
  ASSERT_TRUE(doomed.finished());
  EXPECT_EQ(doomed.finished()->outcome(), v1::OUTCOME_FAILED);

  cluster.Start();
  gate.Release();

  // Nothing of the run survived the crash; the journal entry did, and says
  // the run failed.
  EXPECT_EQ(RowsOfRun(cluster.conninfo(), run_id), "0");
  EXPECT_EQ(ScalarAt(cluster.conninfo(), "SELECT count(*) FROM module_meta"),
            "1");  // The gate's.
  EXPECT_EQ(
      ScalarAt(cluster.conninfo(), "SELECT count(*) FROM module_settings"),
      "0");
  EXPECT_EQ(GetRun(*stub, run_id).outcome(), v1::OUTCOME_FAILED);

  // The same syncd, untouched, serves the next run, which does it all.
  Completed next = RunToEnd(*stub, SyncAll());
  ASSERT_TRUE(next.status.ok()) << Describe(next.status) << syncd.Log();
  EXPECT_EQ(next.call->Count(v1::ACTION_CREATED, v1::KIND_META), 99999u);
  EXPECT_EQ(next.call->Count(v1::ACTION_CREATED, v1::KIND_SETTING), 100000u);
  EXPECT_EQ(GetRun(*stub, next.call->run_id()).outcome(),
            v1::OUTCOME_COMMITTED);
  EXPECT_EQ(
      ScalarAt(cluster.conninfo(), "SELECT count(*) FROM module_settings"),
      "100000");
}

// A run whose own database session is killed (by an administrator, or a
// connection that breaks) fails cleanly: nothing of it stays, the journal
// says failed, its lock is gone and the next run works.
TEST_F(FaultTest, KilledDatabaseSessionFailsTheRunAndFreesItsLock) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload());
  const std::string before = db_.DataChecksum();
  RunCall call(*stub_, SyncAll());
  ASSERT_TRUE(call.ReadUntilItems());
  ASSERT_EQ(
      db_.Scalar(absl::StrCat("SELECT pg_terminate_backend(backend_pid, 10000) "
                              "FROM sync_runs WHERE id = '",
                              call.run_id(), "'")),
      "t");

  const grpc::Status status = call.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);
  EXPECT_EQ(Outcome(call.run_id()), "failed");
  EXPECT_EQ(RowsOfRun(db_.conninfo(), call.run_id()), "0");
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_FALSE(LockHeldByAnotherRun(db_.conninfo(), /*run_id=*/""))
      << "some run session still holds a lock";

  gate_->Release();
  const Completed next = RunToEnd(*stub_, SyncAll());
  EXPECT_TRUE(next.status.ok()) << Describe(next.status);
}

// ------------------------------------------------ the client goes away

TEST_F(FaultTest, ClientCancelMidStreamLeavesNoRowOfTheRun) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload());
  const std::string before = db_.DataChecksum();

  RunCall call(*stub_, SyncAll());
  ASSERT_TRUE(call.ReadUntilItems()) << "the run ended before any item";
  call.Cancel();
  const grpc::Status status = call.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED)
      << Describe(status);

  // The server notices, rolls back, then journals the outcome.
  const std::string run_id = call.run_id();
  EXPECT_TRUE(WaitUntil([&] { return Outcome(run_id) != "running"; }, 10))
      << "the run is still running 10 s after its client cancelled";
  EXPECT_EQ(Outcome(run_id), "cancelled");
  EXPECT_EQ(RowsOfRun(db_.conninfo(), run_id), "0");
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(FaultTest, PassedDeadlineRollsTheRunBack) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload());
  const std::string before = db_.DataChecksum();

  // The gate holds the run past its deadline, wherever it is.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  std::unique_ptr<EventReader> reader = SyncAll()(*stub_, &context);
  v1::SyncEvent event;
  while (reader->Read(&event)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << Describe(status);
  const std::string run_id = db_.Scalar("SELECT id FROM sync_runs");
  ASSERT_THAT(run_id, ::testing::MatchesRegex("[0-9a-f-]{36}"))
      << "the run never started";

  EXPECT_TRUE(WaitUntil([&] { return Outcome(run_id) != "running"; }, 10));
  EXPECT_EQ(Outcome(run_id), "cancelled");
  EXPECT_EQ(RowsOfRun(db_.conninfo(), run_id), "0");
  EXPECT_EQ(db_.DataChecksum(), before);
}

// ------------------------------------------------ the server goes away

TEST_F(FaultTest, SigtermMidRunRollsBackAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload());
  const std::string before = db_.DataChecksum();

  RunCall call(*stub_, SyncAll());
  ASSERT_TRUE(call.ReadUntilItems()) << "the run ended before any item";
  grpc::Status status;
  std::thread reader([&] { status = call.Finish(); });
  const int exit_code = syncd_->Stop(SIGTERM, /*timeout_s=*/30);
  reader.join();

  EXPECT_EQ(exit_code, 0) << syncd_->Log();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED)
      << Describe(status);
  ASSERT_TRUE(call.finished()) << "the client was not told how the run ended";
  EXPECT_EQ(call.finished()->outcome(), v1::OUTCOME_CANCELLED);
  EXPECT_EQ(Outcome(call.run_id()), "cancelled");
  EXPECT_EQ(RowsOfRun(db_.conninfo(), call.run_id()), "0");
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(FaultTest, SigkilledSyncdLeavesNoLockBehind) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload());

  // The run holds the global lock (it has streamed items) and waits at
  // the gate, inside a statement, when its server dies: the hard case, as
  // its database session has no reason to look at the client until the
  // statement ends.
  RunCall doomed(*stub_, SyncAll());
  ASSERT_TRUE(doomed.ReadUntilItems(v1::KIND_SETTING));
  const std::string doomed_run = doomed.run_id();
  ASSERT_TRUE(WaitUntil([&] { return RunWaitsOnALock(doomed_run); }, 30))
      << "the run never reached the gate";
  EXPECT_EQ(syncd_->Stop(SIGKILL), 128 + SIGKILL);
  EXPECT_FALSE(doomed.Finish().ok());

  // A new server with a long lock timeout runs the same operation. It must
  // get the lock as soon as the dead server's session is gone: within a
  // few seconds, never by waiting out a timeout.
  SyncdProcess next_syncd(db_.conninfo(), modules_.str(),
                          {"--lock-timeout", "60"});
  auto next_stub = NewStub(next_syncd.address());
  const auto start = Clock::now();
  RunCall next(*next_stub, SyncAll());
  EXPECT_TRUE(WaitUntil(
      [&] { return LockHeldByAnotherRun(db_.conninfo(), doomed_run); }, 10))
      << "the new run did not get the lock within 10 s of the old server's "
         "death";
  const double waited_s =
      std::chrono::duration<double>(Clock::now() - start).count();
  gate_->Release();

  const grpc::Status status = next.Finish();
  EXPECT_TRUE(status.ok()) << Describe(status) << next_syncd.Log();
  EXPECT_EQ(next.Count(v1::ACTION_CREATED, v1::KIND_SETTING), 20000u);
  EXPECT_LT(waited_s, 10);
  EXPECT_EQ(RowsOfRun(db_.conninfo(), doomed_run), "0");
  EXPECT_EQ(GetRun(*next_stub, doomed_run).outcome(), v1::OUTCOME_FAILED);
  EXPECT_EQ(GetRun(*next_stub, next.run_id()).outcome(), v1::OUTCOME_COMMITTED);
}

// ------------------------------------------------ runs that wait for a lock

TEST_F(FaultTest, LockTimeoutNamesTheHolderAndNeverStealsTheLock) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload(/*tenants=*/2, /*modules=*/10));
  SyncdProcess impatient(db_.conninfo(), modules_.str(),
                         {"--lock-timeout", "1"});
  auto impatient_stub = NewStub(impatient.address());
  RunCall holder(*stub_, SyncAll());
  ASSERT_TRUE(holder.ReadUntilItems());
  const std::string started_at = GetRun(*stub_, holder.run_id()).started_at();

  // A global run and a tenant run both wait for the holder's global lock.
  for (const Starter& start : {SyncAll(), SeedTenant(TenantName(1))}) {
    Completed waiter = RunToEnd(*impatient_stub, start);
    EXPECT_EQ(waiter.status.error_code(), grpc::StatusCode::ABORTED)
        << Describe(waiter.status);
    EXPECT_THAT(
        waiter.status.error_message(),
        HasSubstr(absl::StrCat("run ", holder.run_id(),
                               " (sync_all, running since ", started_at, ")")));
  }

  // The holder, never disturbed, finishes its work once it can.
  gate_->Release();
  const grpc::Status status = holder.Finish();
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(holder.Count(v1::ACTION_CREATED, v1::KIND_SETTING), 20u);
}

TEST_F(FaultTest, DeadlinePassingWhileWaitingForTheLockIsDeadlineExceeded) {
  ASSERT_NO_FATAL_FAILURE(SetUpWorkload(/*tenants=*/2, /*modules=*/10));
  RunCall holder(*stub_, SyncAll());
  ASSERT_TRUE(holder.ReadUntilItems());

  // The lock timeout (30 s by default) is far away; the deadline is not.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(1));
  std::unique_ptr<EventReader> reader = SyncAll()(*stub_, &context);
  v1::SyncEvent event;
  while (reader->Read(&event)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << Describe(status);
  const std::string waiter = db_.Scalar(absl::StrCat(
      "SELECT id FROM sync_runs WHERE id <> '", holder.run_id(), "'"));
  EXPECT_TRUE(WaitUntil([&] { return Outcome(waiter) != "running"; }, 10));
  EXPECT_EQ(Outcome(waiter), "cancelled");

  gate_->Release();
  EXPECT_TRUE(holder.Finish().ok());
}

// ------------------------------------------------ two servers, two clients

// What one client saw from one call.
struct Seen {
  std::string what;  // e.g. "RemoveTenant c3"
  grpc::Status status;
};

// Whether a failed call is one the concurrency test expects, and why:
//   NOT_FOUND       SeedTenant or RemoveTenant of a tenant the other client
//                   has just removed;
//   ALREADY_EXISTS  CreateTenant of a tenant that is registered;
//   ABORTED         a lock wait that timed out, naming the holder (runs are
//                   short and the timeout long, so it is unlikely, but it is
//                   the documented answer to contention).
// Anything else, notably a transaction aborted by PostgreSQL (deadlock
// 40P01, serialization failure 40001), is a defect.
bool IsExpectedFailure(const grpc::Status& status) {
  const std::string& message = status.error_message();
  for (const char* raw : {"deadlock", "40P01", "40001", "serializ"}) {
    if (absl::StrContains(message, raw)) return false;
  }
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
      return true;
    case grpc::StatusCode::ABORTED:
      return absl::StrContains(message, "timed out waiting for") &&
             absl::StrContains(message, "held by");
    default:
      return false;
  }
}

// Metas and settings with every column that a run decides, as text, for
// comparing two databases (run ids and timestamps differ by nature).
std::string Normalized(const std::string& conninfo) {
  return ScalarAt(conninfo, R"sql(
    SELECT string_agg(r, E'\n' ORDER BY r) FROM (
      SELECT concat_ws(' ', 'tenant', slug, name::text, is_active) AS r
        FROM tenants
      UNION ALL
      SELECT concat_ws(' ', 'meta', tenant, name, label::text, icon,
                       roles::text, enabled, language, version, "order",
                       stats_key,
                       (SELECT jsonb_agg(h - 'date')::text
                          FROM jsonb_array_elements(history) h))
        FROM module_meta
      UNION ALL
      SELECT concat_ws(' ', 'setting', tenant, module, enabled,
                       visible_in_sidebar, use_analytics, show_in_dashboard,
                       roles::text, "order", seo_title::text,
                       seo_description::text, seo_summary::text, seo_og_image)
        FROM module_settings) x)sql");
}

TEST(ConcurrencyTest, TwoServersAndTwoClientsEndAsOneCleanRun) {
  constexpr int kModules = 40;
  constexpr int kRounds = 15;
  const std::vector<std::string> tenants = {"c1", "c2", "c3", "c4", "c5", "c6"};
  TempDir modules;
  MakeModules(modules, kModules);
  modules.WriteFile(absl::StrCat(ModuleName(kModules), "/module.json"),
                    R"({"enabled": false})");
  TestDatabase db;
  const std::vector<std::string> lock_args = {"--lock-timeout", "20"};
  SyncdProcess server_a(db.conninfo(), modules.str(), lock_args);
  SyncdProcess server_b(db.conninfo(), modules.str(), lock_args);
  {
    auto stub = NewStub(server_a.address());
    for (const std::string& t : tenants) {
      ASSERT_TRUE(CreateTenant(*stub, t).ok());
    }
  }

  // Each client loops over the operations in its own (seeded) order,
  // picking tenants at random; both run at once against different servers.
  std::vector<Seen> seen[2];
  auto client = [&](int index, const std::string& address) {
    auto stub = NewStub(address);
    std::mt19937 random(1000 + index);
    auto any_tenant = [&] {
      return tenants[std::uniform_int_distribution<size_t>(
          0, tenants.size() - 1)(random)];
    };
    std::vector<int> ops = {0, 1, 2, 3};
    for (int round = 0; round < kRounds; ++round) {
      std::shuffle(ops.begin(), ops.end(), random);
      for (int op : ops) {
        const std::string t = any_tenant();
        switch (op) {
          case 0:
            seen[index].push_back(
                {"SyncAll", RunToEnd(*stub, SyncAll()).status});
            break;
          case 1:
            seen[index].push_back(
                {"SeedTenant " + t, RunToEnd(*stub, SeedTenant(t)).status});
            break;
          case 2:
            seen[index].push_back(
                {"RemoveTenant " + t, RunToEnd(*stub, RemoveTenant(t)).status});
            break;
          case 3:
            seen[index].push_back(
                {"CreateTenant " + t, CreateTenant(*stub, t)});
            break;
        }
      }
    }
  };
  std::thread first(client, 0, server_a.address());
  std::thread second(client, 1, server_b.address());
  first.join();
  second.join();

  std::map<std::string, int> succeeded;
  for (const auto& calls : seen) {
    ASSERT_THAT(calls, SizeIs(kRounds * 4));
    for (const Seen& s : calls) {
      EXPECT_TRUE(s.status.ok() || IsExpectedFailure(s.status))
          << s.what << " -> " << Describe(s.status);
      if (s.status.ok()) ++succeeded[s.what.substr(0, s.what.find(' '))];
    }
  }
  // Every kind of run really ran, or the test proved little.
  for (const char* op : {"SyncAll", "SeedTenant", "RemoveTenant"}) {
    EXPECT_GT(succeeded[op], 0) << op;
  }

  // No run is left open, every row comes from a committed run, and each
  // tenant has either nothing or everything (39 enabled modules of 40).
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM sync_runs "
                      "WHERE outcome = 'running'"),
            "0");
  EXPECT_EQ(db.Scalar(R"sql(
      SELECT (SELECT count(*) FROM module_meta m
               WHERE NOT EXISTS (SELECT 1 FROM sync_runs r
                                  WHERE r.id = m.created_by_run
                                    AND r.outcome = 'committed'))
           + (SELECT count(*) FROM module_settings s
               WHERE NOT EXISTS (SELECT 1 FROM sync_runs r
                                  WHERE r.id = s.created_by_run
                                    AND r.outcome = 'committed')))sql"),
            "0");
  EXPECT_EQ(db.Scalar(R"sql(
      SELECT coalesce(string_agg(slug, ','), '') FROM (
        SELECT t.slug,
               (SELECT count(*) FROM module_meta m
                 WHERE m.tenant = t.slug) AS metas,
               (SELECT count(*) FROM module_settings s
                 WHERE s.tenant = t.slug) AS settings
          FROM tenants t) x
       WHERE NOT ((metas = 0 AND settings = 0)
                  OR (metas = 40 AND settings = 39)))sql"),
            "")
      << "tenants with half-written rows";

  // Once every tenant is back, one more run gives exactly what one run on
  // a fresh database gives.
  auto stub = NewStub(server_a.address());
  for (const std::string& t : tenants) {
    const grpc::Status s = CreateTenant(*stub, t);
    ASSERT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::ALREADY_EXISTS)
        << Describe(s);
  }
  const Completed last = RunToEnd(*stub, SyncAll());
  ASSERT_TRUE(last.status.ok()) << Describe(last.status);

  TestDatabase clean;
  SyncdProcess clean_server(clean.conninfo(), modules.str());
  auto clean_stub = NewStub(clean_server.address());
  for (const std::string& t : tenants) {
    ASSERT_TRUE(CreateTenant(*clean_stub, t).ok());
  }
  ASSERT_TRUE(RunToEnd(*clean_stub, SyncAll()).status.ok());
  EXPECT_EQ(Normalized(db.conninfo()), Normalized(clean.conninfo()));
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM module_settings"),
            absl::StrCat(tenants.size() * (kModules - 1)));
}

// ------------------------------------------------ archive and restore

// Every row of one tenant (registry, metas, settings) as JSON, sorted.
std::string TenantRows(const TestDatabase& db, const std::string& slug) {
  return db.Scalar(absl::StrCat(
      "SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM ("
      "SELECT 'tenant ' || to_jsonb(t)::text AS r FROM tenants t "
      "WHERE slug = '",
      slug,
      "' UNION ALL SELECT 'meta ' || to_jsonb(m)::text FROM module_meta m "
      "WHERE tenant = '",
      slug,
      "' UNION ALL SELECT 'setting ' || to_jsonb(s)::text "
      "FROM module_settings s WHERE tenant = '",
      slug, "') x"));
}

TEST(RestoreTest, RemoveTenantThenRestorePutsBackEveryColumn) {
  TestDatabase db;
  TempDir modules;
  MakeModules(modules, 4);
  modules.WriteFile("m0004/module.json", R"({"enabled": false})");
  SyncdProcess syncd(db.conninfo(), modules.str());
  auto stub = NewStub(syncd.address());
  ASSERT_TRUE(CreateTenant(*stub, "acme").ok());
  ASSERT_TRUE(CreateTenant(*stub, "globex").ok());
  ASSERT_TRUE(RunToEnd(*stub, SyncAll()).status.ok());

  // Rows edited since they were seeded, with values no default has: a
  // restore must bring back these, not fresh defaults.
  db.Exec(R"sql(
    UPDATE tenants SET name = '{"en": "Acme", "tr": "Acme A.Ş."}',
                       is_active = false,
                       updated_at = '2021-03-04 05:06:07.891234+00'
     WHERE slug = 'acme';
    UPDATE module_meta SET label = '{"en": "Posts \"quoted\""}',
                           roles = '{admin,"with space"}', enabled = false,
                           "order" = 7, stats_key = NULL,
                           history = history || '[{"note": "edited"}]',
                           updated_at = '2022-01-01 00:00:00.000001+00'
     WHERE tenant = 'acme' AND name = 'm0001';
    UPDATE module_settings SET seo_title = '{"en": "Title", "de": ""}',
                               seo_og_image = 'https://x/y.png',
                               use_analytics = true, roles = '{}'
     WHERE tenant = 'acme' AND module = 'm0002';)sql");
  const std::string acme_before = TenantRows(db, "acme");
  const std::string globex_before = TenantRows(db, "globex");
  ASSERT_THAT(acme_before, HasSubstr("with space"));

  const Completed removed = RunToEnd(*stub, RemoveTenant("acme"));
  ASSERT_TRUE(removed.status.ok()) << Describe(removed.status);
  EXPECT_EQ(removed.call->Count(v1::ACTION_DELETED, v1::KIND_META), 4u);
  EXPECT_EQ(removed.call->Count(v1::ACTION_DELETED, v1::KIND_SETTING), 3u);
  EXPECT_EQ(TenantRows(db, "acme"), "");

  const Completed restored = RunToEnd(*stub, Restore(removed.call->run_id()));
  ASSERT_TRUE(restored.status.ok()) << Describe(restored.status);
  EXPECT_EQ(restored.call->Count(v1::ACTION_CREATED, v1::KIND_TENANT), 1u);
  EXPECT_EQ(restored.call->Count(v1::ACTION_CREATED, v1::KIND_META), 4u);
  EXPECT_EQ(restored.call->Count(v1::ACTION_CREATED, v1::KIND_SETTING), 3u);
  EXPECT_EQ(TenantRows(db, "acme"), acme_before);
  EXPECT_EQ(TenantRows(db, "globex"), globex_before);

  // A second restore finds everything in place and changes nothing.
  const std::string data_after_restore = db.DataChecksum();
  const Completed again = RunToEnd(*stub, Restore(removed.call->run_id()));
  ASSERT_TRUE(again.status.ok()) << Describe(again.status);
  EXPECT_EQ(again.call->Count(v1::ACTION_SKIPPED, v1::KIND_TENANT), 1u);
  EXPECT_EQ(again.call->Count(v1::ACTION_SKIPPED, v1::KIND_META), 4u);
  EXPECT_EQ(again.call->Count(v1::ACTION_SKIPPED, v1::KIND_SETTING), 3u);
  EXPECT_EQ(again.call->Count(v1::ACTION_CREATED, v1::KIND_META), 0u);
  EXPECT_EQ(db.DataChecksum(), data_after_restore);

  // Both restores are journaled runs of their own.
  for (const Completed* run : {&restored, &again}) {
    const v1::Run journaled = GetRun(*stub, run->call->run_id());
    EXPECT_EQ(journaled.operation(), v1::OPERATION_RESTORE);
    EXPECT_EQ(journaled.outcome(), v1::OUTCOME_COMMITTED);
    EXPECT_THAT(journaled.params_json(), HasSubstr(removed.call->run_id()));
  }
}

// ------------------------------------------------ dry runs

// A fingerprint of every table (data, archive and journal) except the
// journal entry of run `except_run`: the one row a dry run is meant to
// write.
std::string ChecksumExceptRun(const TestDatabase& db,
                              const std::string& except_run) {
  return db.Scalar(absl::StrCat(
      "SELECT count(*) || ':' || coalesce(md5(string_agg(k || r, '|' "
      "ORDER BY k, r)), '') FROM ("
      "SELECT 't' AS k, to_jsonb(t)::text AS r FROM tenants t"
      " UNION ALL SELECT 'm', to_jsonb(m)::text FROM module_meta m"
      " UNION ALL SELECT 's', to_jsonb(s)::text FROM module_settings s"
      " UNION ALL SELECT 'a', to_jsonb(a)::text FROM sync_archive a"
      " UNION ALL SELECT 'r', to_jsonb(r)::text FROM sync_runs r"
      " WHERE r.id::text <> '",
      except_run, "') x"));
}

// What a stream says, with dry-run actions read as the real ones, so that
// a dry run and the real run can be compared.
std::vector<std::string> StreamOf(const RunCall& call) {
  auto real = [](v1::Action action) {
    if (action == v1::ACTION_WOULD_CREATE) return v1::ACTION_CREATED;
    if (action == v1::ACTION_WOULD_DELETE) return v1::ACTION_DELETED;
    return action;
  };
  std::vector<std::string> out;
  for (const v1::SyncEvent& e : call.events()) {
    if (e.has_phase_started()) {
      out.push_back(absl::StrCat("phase ", e.phase_started().name(), " ",
                                 e.phase_started().total()));
    }
    for (const v1::Item& item : e.items().items()) {
      out.push_back(absl::StrCat(v1::Action_Name(real(item.action())), " ",
                                 v1::Kind_Name(item.kind()), " ", item.tenant(),
                                 "/", item.module(), " ", item.message()));
    }
    if (e.has_run_finished()) {
      // Counts come ordered by action, and would-create sorts after exists
      // where created sorts before it.
      std::vector<std::string> counts;
      for (const v1::ActionCount& c : e.run_finished().counts()) {
        counts.push_back(absl::StrCat("count ",
                                      v1::Action_Name(real(c.action())), " ",
                                      v1::Kind_Name(c.kind()), " ", c.count()));
      }
      std::sort(counts.begin(), counts.end());
      out.insert(out.end(), counts.begin(), counts.end());
    }
  }
  return out;
}

TEST(DryRunTest, DryRunTenantChangesCheckEverythingAndStoreNothing) {
  TestDatabase db;
  TempDir modules;
  MakeModules(modules, 2);
  SyncdProcess syncd(db.conninfo(), modules.str());
  auto stub = NewStub(syncd.address());
  ASSERT_TRUE(CreateTenant(*stub, "acme").ok());
  const std::string before = db.Checksum();

  auto create = [&](const std::string& slug, v1::Tenant* out) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CreateTenantRequest request;
    request.set_slug(slug);
    request.set_inactive(true);
    request.set_dry_run(true);
    v1::CreateTenantResponse response;
    const grpc::Status status =
        stub->CreateTenant(&context, request, &response);
    *out = response.tenant();
    return status;
  };
  v1::Tenant tenant;
  grpc::Status status = create("globex", &tenant);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(tenant.slug(), "globex");
  EXPECT_FALSE(tenant.active());
  EXPECT_EQ(create("acme", &tenant).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  auto set_active = [&](const std::string& slug, v1::Tenant* out) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetTenantActiveRequest request;
    request.set_slug(slug);
    request.set_active(false);
    request.set_dry_run(true);
    v1::SetTenantActiveResponse response;
    const grpc::Status status =
        stub->SetTenantActive(&context, request, &response);
    *out = response.tenant();
    return status;
  };
  status = set_active("acme", &tenant);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_FALSE(tenant.active());
  EXPECT_EQ(set_active("initech", &tenant).error_code(),
            grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(db.Checksum(), before);
}

// Items of `call` whose action is one of `actions`.
uint64_t CountActions(const RunCall& call,
                      const std::vector<v1::Action>& actions) {
  uint64_t n = 0;
  for (const v1::SyncEvent& e : call.events()) {
    for (const v1::Item& item : e.items().items()) {
      n += std::count(actions.begin(), actions.end(), item.action());
    }
  }
  return n;
}

TEST(DryRunTest, DryRunOfEachOperationChangesNothingAndMatchesTheRealRun) {
  TestDatabase db;
  TempDir modules;
  MakeModules(modules, 4);
  SyncdProcess syncd(db.conninfo(), modules.str());
  auto stub = NewStub(syncd.address());
  for (const char* t : {"acme", "globex", "initech"}) {
    ASSERT_TRUE(CreateTenant(*stub, t).ok());
  }

  // Each step first sets up something to do, then runs its operation dry
  // and for real. The dry run must change nothing but its own journal
  // entry, and stream what the real run then does.
  struct Step {
    std::string name;
    std::function<void()> prepare;
    std::function<Starter(bool dry_run)> op;
  };
  std::string removal_run;
  const std::vector<Step> steps = {
      {"SeedMeta", [] {},
       [](bool dry) -> Starter {
         return [dry](Stub& s, grpc::ClientContext* c) {
           v1::SeedMetaRequest r;
           r.mutable_options()->set_dry_run(dry);
           return s.SeedMeta(c, r);
         };
       }},
      {"SeedSettings", [] {},
       [](bool dry) -> Starter {
         return [dry](Stub& s, grpc::ClientContext* c) {
           v1::SeedSettingsRequest r;
           r.mutable_options()->set_dry_run(dry);
           return s.SeedSettings(c, r);
         };
       }},
      {"SeedModule", [&] { modules.MakeDir("extra"); },
       [](bool dry) -> Starter {
         return [dry](Stub& s, grpc::ClientContext* c) {
           v1::SeedModuleRequest r;
           r.set_module("extra");
           r.mutable_options()->set_dry_run(dry);
           return s.SeedModule(c, r);
         };
       }},
      {"SeedTenant", [&] { ASSERT_TRUE(CreateTenant(*stub, "hooli").ok()); },
       [](bool dry) { return SeedTenant("hooli", dry); }},
      {"HealthCheck",
       [&] { db.Exec("DELETE FROM module_settings WHERE module = 'm0001'"); },
       [](bool dry) -> Starter {
         return [dry](Stub& s, grpc::ClientContext* c) {
           v1::HealthCheckRequest r;
           r.mutable_options()->set_dry_run(dry);
           return s.HealthCheck(c, r);
         };
       }},
      {"SyncAll", [&] { modules.Remove("m0004"); },
       [](bool dry) { return SyncAll(dry); }},
      {"RemoveTenant", [] {},
       [](bool dry) { return RemoveTenant("globex", dry); }},
      {"Restore", [] {}, [&](bool dry) { return Restore(removal_run, dry); }},
  };

  for (const Step& step : steps) {
    SCOPED_TRACE(step.name);
    ASSERT_NO_FATAL_FAILURE(step.prepare());
    const std::string before = db.Checksum();

    const Completed dry = RunToEnd(*stub, step.op(true));
    ASSERT_TRUE(dry.status.ok()) << Describe(dry.status);
    ASSERT_TRUE(dry.call->finished());
    EXPECT_EQ(dry.call->finished()->outcome(), v1::OUTCOME_ROLLED_BACK);
    EXPECT_EQ(ChecksumExceptRun(db, dry.call->run_id()), before);
    EXPECT_EQ(CountActions(*dry.call, {v1::ACTION_CREATED, v1::ACTION_DELETED}),
              0u);
    const v1::Run journaled = GetRun(*stub, dry.call->run_id());
    EXPECT_TRUE(journaled.dry_run());
    EXPECT_EQ(journaled.outcome(), v1::OUTCOME_ROLLED_BACK);

    const Completed real = RunToEnd(*stub, step.op(false));
    ASSERT_TRUE(real.status.ok()) << Describe(real.status);
    EXPECT_EQ(real.call->finished()->outcome(), v1::OUTCOME_COMMITTED);
    EXPECT_EQ(StreamOf(*dry.call), StreamOf(*real.call));
    // Something was to be done, so the comparison means something.
    const uint64_t changes =
        real.call->Count(v1::ACTION_CREATED, v1::KIND_META) +
        real.call->Count(v1::ACTION_CREATED, v1::KIND_SETTING) +
        real.call->Count(v1::ACTION_CREATED, v1::KIND_TENANT) +
        real.call->Count(v1::ACTION_DELETED, v1::KIND_META) +
        real.call->Count(v1::ACTION_DELETED, v1::KIND_SETTING) +
        real.call->Count(v1::ACTION_DELETED, v1::KIND_TENANT);
    EXPECT_GT(changes, 0u);
    if (step.name == "RemoveTenant") removal_run = real.call->run_id();
  }

  // A health check that only reports writes nothing either, dry or not.
  for (bool dry : {true, false}) {
    db.Exec("DELETE FROM module_settings WHERE module = 'm0002'");
    const std::string before = db.Checksum();
    const Completed check =
        RunToEnd(*stub, [dry](Stub& s, grpc::ClientContext* c) {
          v1::HealthCheckRequest r;
          r.set_check_only(true);
          r.mutable_options()->set_dry_run(dry);
          return s.HealthCheck(c, r);
        });
    ASSERT_TRUE(check.status.ok()) << Describe(check.status);
    EXPECT_GT(check.call->Count(v1::ACTION_WOULD_CREATE, v1::KIND_SETTING), 0u);
    EXPECT_EQ(ChecksumExceptRun(db, check.call->run_id()), before);
  }
}

}  // namespace
}  // namespace syncadmin::testing
