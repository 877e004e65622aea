// Tests of the run journal as the PostgreSQL store keeps it, against the
// real database: what a run's session records, and how runs whose session
// died are settled.
#include "core/store.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace syncadmin::core {
namespace {

using ::syncadmin::testing::TestDatabase;

class RunJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(db_.conninfo());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->Migrate().ok());
  }

  std::unique_ptr<RunSession> Start() {
    auto session = store_->StartRun(
        RunParams{Operation::kSeedMeta, "{}", "tester", /*dry_run=*/false});
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }

  std::string Column(const std::string& column, const std::string& run_id) {
    return db_.Scalar(absl::StrCat(
        "SELECT ", column, " FROM sync_runs WHERE id = '", run_id, "'"));
  }

  // Ends the database session of run `run_id`, as a crash of its server or
  // of its connection would, and waits until it is gone.
  void KillSessionOf(const std::string& run_id) {
    ASSERT_EQ(db_.Scalar(absl::StrCat(
                  "SELECT pg_terminate_backend(backend_pid, 10000) "
                  "FROM sync_runs WHERE id = '",
                  run_id, "'")),
              "t");
  }

  TestDatabase db_;
  std::unique_ptr<Store> store_;
};

TEST_F(RunJournalTest, CommitRecordsCommittedAndALaterOutcomeChangesNothing) {
  auto session = Start();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Begin().ok());
  Counts counts;
  counts.Add(Action::kCreated, Kind::kMeta, 3);

  ASSERT_TRUE(session->Commit(counts).ok());
  EXPECT_EQ(Column("outcome", session->run_id()), "committed");
  EXPECT_EQ(Column("counts::text", session->run_id()),
            R"({"created": {"meta": 3}})");

  // For example after a commit whose outcome the client could not learn.
  EXPECT_TRUE(session->Finish(Outcome::kFailed, Counts(), "in doubt").ok());
  EXPECT_EQ(Column("outcome", session->run_id()), "committed");
  EXPECT_EQ(Column("error", session->run_id()), "");
}

TEST_F(RunJournalTest, FailedCommitRecordsNoCommit) {
  auto session = Start();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Begin().ok());
  ASSERT_NO_FATAL_FAILURE(KillSessionOf(session->run_id()));

  const absl::Status commit = session->Commit(Counts());
  EXPECT_FALSE(commit.ok());
  EXPECT_NE(Column("outcome", session->run_id()), "committed");

  // The session's own connection is gone; the outcome still gets recorded.
  EXPECT_TRUE(session->Finish(Outcome::kFailed, Counts(), "lost").ok());
  EXPECT_EQ(Column("outcome", session->run_id()), "failed");
  EXPECT_EQ(Column("error", session->run_id()), "lost");
}

TEST_F(RunJournalTest, RunWhoseSessionDiedIsSettledAsFailedLiveOnesAreNot) {
  auto dead = Start();
  auto alive = Start();
  ASSERT_NE(dead, nullptr);
  ASSERT_NE(alive, nullptr);
  ASSERT_NO_FATAL_FAILURE(KillSessionOf(dead->run_id()));

  // Reading the journal settles it.
  auto run = store_->GetRun(dead->run_id());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->outcome, Outcome::kFailed);
  EXPECT_FALSE(run->finished_at.empty());
  EXPECT_EQ(Column("outcome", alive->run_id()), "running");

  // So does the next run's start.
  auto also_dead = Start();
  ASSERT_NE(also_dead, nullptr);
  ASSERT_NO_FATAL_FAILURE(KillSessionOf(also_dead->run_id()));
  EXPECT_EQ(Column("outcome", also_dead->run_id()), "running");
  auto later = Start();
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(Column("outcome", also_dead->run_id()), "failed");
  EXPECT_EQ(Column("outcome", alive->run_id()), "running");
}

}  // namespace
}  // namespace syncadmin::core
