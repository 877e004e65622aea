// The event stream of a streaming call, against real runs on a real
// database: a client that reads gets every event in order, a slow client
// that keeps reading is served, and a client that stops reading cannot hold
// a run's transaction and lock open for longer than the stall timeout.
#include "server/event_stream.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/grpc.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/token_file.h"
#include "tests/support/in_process_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kTenants = 100;
constexpr int kModules = 100;
// Every meta and every setting: 20 item messages, far more than the queue
// and the client's flow-control window hold.
constexpr int kItems = 2 * kTenants * kModules;

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kModules; ++i) {
      modules_.MakeDir(absl::StrFormat("module_with_a_long_name_%03d", i));
    }
  }

  // Serves the test database with `stream` options; a run fails after
  // `lock_timeout` (at once by default: ABORTED) if its lock is taken.
  void StartServer(server::StreamOptions stream,
                   absl::Duration lock_timeout = absl::ZeroDuration(),
                   const server::Authenticator* authenticator = nullptr) {
    core::EngineOptions options;
    options.modules_dir = modules_.str();
    options.lock_timeout = lock_timeout;
    server_ = std::make_unique<InProcessServer>(db_.conninfo(), options, stream,
                                                authenticator);
    db_.Exec(
        absl::StrCat("INSERT INTO tenants (slug) SELECT format('tenant-%s', i) "
                     "FROM generate_series(1, ",
                     kTenants, ") AS i"));
  }

  // A stub whose channel keeps HTTP/2's initial flow-control window (no
  // bandwidth probing), so that a client that stops reading soon stops the
  // server's writes too.
  std::unique_ptr<v1::SyncAdmin::Stub> SmallWindowStub() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    return v1::SyncAdmin::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                  grpc::InsecureChannelCredentials(), args));
  }

  std::string Outcome(const std::string& run_id) {
    return db_.Scalar(absl::StrCat("SELECT outcome FROM sync_runs WHERE id = '",
                                   run_id, "'"));
  }

  // Waits up to 10 s until exactly `n` journaled runs match `where`.
  bool WaitForRuns(const std::string& where, int n) {
    return WaitUntil(
        [&] {
          return db_.Scalar(absl::StrCat(
                     "SELECT count(*) FROM sync_runs WHERE ", where)) ==
                 absl::StrCat(n);
        },
        absl::Seconds(10));
  }

  std::string AdvisoryLocks() {
    return db_.Scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
        "database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())");
  }

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<InProcessServer> server_;
};

TEST_F(EventStreamTest, ReadingClientGetsEveryEventInOrder) {
  StartServer({/*max_queued_messages=*/2, absl::Seconds(30)});

  grpc::ClientContext context;
  auto reader = server_->stub().SyncAll(&context, v1::SyncAllRequest());
  v1::SyncEvent event;
  uint64_t expected_sequence = 1;
  int items = 0;
  std::vector<v1::SyncEvent::EventCase> kinds;
  while (reader->Read(&event)) {
    EXPECT_EQ(event.sequence(), expected_sequence++);
    if (kinds.empty() || kinds.back() != event.event_case()) {
      kinds.push_back(event.event_case());
    }
    items += event.items().items_size();
    if (event.has_run_finished()) {
      EXPECT_EQ(event.run_finished().outcome(), v1::OUTCOME_COMMITTED);
    }
  }
  ASSERT_TRUE(reader->Finish().ok());

  EXPECT_EQ(items, kItems);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.front(), v1::SyncEvent::kRunStarted);
  EXPECT_EQ(kinds.back(), v1::SyncEvent::kRunFinished);
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_settings"),
            absl::StrCat(kTenants * kModules));
}

TEST_F(EventStreamTest, SlowClientThatKeepsReadingIsServed) {
  // Each pause is shorter than the stall timeout, all of them together are
  // longer: only a stall, not a slow stream, cancels the run.
  StartServer({/*max_queued_messages=*/1, absl::Seconds(1)});

  grpc::ClientContext context;
  auto reader = SmallWindowStub()->SyncAll(&context, v1::SyncAllRequest());
  v1::SyncEvent event;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  const absl::Time start = absl::Now();
  while (reader->Read(&event)) {
    if (event.has_run_finished()) outcome = event.run_finished().outcome();
    absl::SleepFor(absl::Milliseconds(100));
  }

  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(outcome, v1::OUTCOME_COMMITTED);
  EXPECT_GT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(EventStreamTest, ClientThatStopsReadingIsCancelledWithinTheBound) {
  const absl::Duration stall = absl::Seconds(1);
  StartServer({/*max_queued_messages=*/2, stall});

  grpc::ClientContext context;
  auto reader = SmallWindowStub()->SyncAll(&context, v1::SyncAllRequest());
  v1::SyncEvent first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(first.has_run_started());
  const std::string run_id = first.run_started().run_id();
  const absl::Time stopped = absl::Now();

  // The client reads nothing more. The run must end by itself: cancelled,
  // rolled back, its lock released.
  ASSERT_TRUE(WaitUntil([&] { return Outcome(run_id) != "running"; },
                        absl::Seconds(30)));
  const absl::Duration waited = absl::Now() - stopped;
  EXPECT_LT(waited, stall + absl::Seconds(5));
  EXPECT_EQ(Outcome(run_id), "cancelled");
  EXPECT_THAT(db_.Scalar(absl::StrCat(
                  "SELECT error FROM sync_runs WHERE id = '", run_id, "'")),
              HasSubstr("stopped reading"));
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_meta"), "0");
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_settings"), "0");
  EXPECT_TRUE(
      WaitUntil([&] { return AdvisoryLocks() == "0"; }, absl::Seconds(5)));
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The next run takes the lock at once and commits.
  grpc::ClientContext again;
  auto second = server_->stub().SyncAll(&again, v1::SyncAllRequest());
  v1::SyncEvent event;
  while (second->Read(&event)) {
  }
  EXPECT_TRUE(second->Finish().ok());
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_settings"),
            absl::StrCat(kTenants * kModules));
}

// A caller's streaming calls each hold a server thread, also while they
// wait for a lock: past its limit a caller is refused at once, and another
// caller is not affected.
TEST_F(EventStreamTest, OneCallerCannotTakeEveryRunSlot) {
  const server::Authenticator auth(server::TokenTable({
      {"vera", server::Role::kViewer, server::HashToken("v-token")},
      {"ada", server::Role::kAdmin, server::HashToken("a-token")},
  }));
  server::StreamOptions stream{/*max_queued_messages=*/2, absl::Seconds(30)};
  stream.max_runs_per_caller = 2;
  StartServer(stream, /*lock_timeout=*/absl::Seconds(30), &auth);
  auto stub = SmallWindowStub();
  v1::SyncAllRequest dry_run;
  dry_run.mutable_options()->set_dry_run(true);

  // Vera's first dry run holds the global lock (she stops reading it), her
  // second waits for that lock.
  grpc::ClientContext holding, waiting, refused;
  for (grpc::ClientContext* c : {&holding, &waiting, &refused}) {
    c->AddMetadata("authorization", "Bearer v-token");
  }
  auto holder = stub->SyncAll(&holding, dry_run);
  v1::SyncEvent first;
  ASSERT_TRUE(holder->Read(&first));
  auto waiter = stub->SyncAll(&waiting, dry_run);
  ASSERT_TRUE(WaitForRuns("outcome = 'running'", 2));

  // Her third is refused without waiting; nothing of it is journaled.
  auto third = stub->SyncAll(&refused, dry_run);
  v1::SyncEvent ignored;
  EXPECT_FALSE(third->Read(&ignored));
  const grpc::Status busy = third->Finish();
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(busy.error_message(), HasSubstr("\"vera\" already has 2 runs"));
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM sync_runs"), "2");

  // Ada still gets a slot: her tenant list answers, her run is admitted
  // (it waits for the lock like Vera's, so it is cancelled here).
  grpc::ClientContext listing;
  listing.AddMetadata("authorization", "Bearer a-token");
  v1::ListTenantsResponse tenants;
  EXPECT_TRUE(server_->stub()
                  .ListTenants(&listing, v1::ListTenantsRequest(), &tenants)
                  .ok());
  grpc::ClientContext admitted;
  admitted.AddMetadata("authorization", "Bearer a-token");
  auto ada = stub->SyncAll(&admitted, dry_run);
  ASSERT_TRUE(WaitForRuns("requested_by = 'ada'", 1));

  // Once Vera's calls end, her slots are hers again.
  for (grpc::ClientContext* c : {&holding, &waiting, &admitted}) {
    c->TryCancel();
  }
  holder->Finish();
  waiter->Finish();
  ada->Finish();
  ASSERT_TRUE(WaitForRuns("outcome = 'running'", 0));
  grpc::ClientContext again;
  again.AddMetadata("authorization", "Bearer v-token");
  auto last = server_->stub().SyncAll(&again, dry_run);
  while (last->Read(&ignored)) {
  }
  EXPECT_TRUE(last->Finish().ok());
}

}  // namespace
}  // namespace syncadmin::testing
