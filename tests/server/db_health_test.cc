#include "server/db_health.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A database whose answers the test sets, and the statuses published.
struct Fake {
  absl::Mutex mu;
  absl::Status next ABSL_GUARDED_BY(mu) = absl::OkStatus();
  int pings ABSL_GUARDED_BY(mu) = 0;
  std::vector<bool> published;  // Only the caller of CheckOnce writes it.

  void Answer(absl::Status status) {
    absl::MutexLock lock(&mu);
    next = std::move(status);
  }
  int Pings() {
    absl::MutexLock lock(&mu);
    return pings;
  }
};

std::unique_ptr<DbHealthMonitor> MonitorOf(std::shared_ptr<Fake> fake,
                                           absl::Duration timeout) {
  return std::make_unique<DbHealthMonitor>(
      [fake] {
        absl::MutexLock lock(&fake->mu);
        ++fake->pings;
        return fake->next;
      },
      [fake](bool serving) { fake->published.push_back(serving); },
      absl::Seconds(1), timeout);
}

TEST(DbHealthMonitorTest, PublishesEachTransitionOnce) {
  auto fake = std::make_shared<Fake>();
  auto monitor = MonitorOf(fake, absl::Seconds(10));

  monitor->CheckOnce();  // Still serving: nothing to publish.
  EXPECT_THAT(fake->published, IsEmpty());

  fake->Answer(absl::UnavailableError("connection refused"));
  monitor->CheckOnce();
  monitor->CheckOnce();
  monitor->CheckOnce();
  EXPECT_THAT(fake->published, ElementsAre(false));

  fake->Answer(absl::OkStatus());
  monitor->CheckOnce();
  monitor->CheckOnce();
  EXPECT_THAT(fake->published, ElementsAre(false, true));
  EXPECT_EQ(fake->Pings(), 6);
}

TEST(DbHealthMonitorTest, APingThatHangsCountsAsAFailure) {
  auto release = std::make_shared<absl::Notification>();
  auto pings = std::make_shared<std::atomic<int>>(0);
  std::vector<bool> published;
  DbHealthMonitor monitor(
      [release, pings] {
        ++*pings;
        release->WaitForNotification();
        return absl::OkStatus();
      },
      [&published](bool serving) { published.push_back(serving); },
      absl::Seconds(1), absl::Milliseconds(50));

  monitor.CheckOnce();
  EXPECT_THAT(published, ElementsAre(false));
  // Still hanging: no second ping is piled on the first.
  monitor.CheckOnce();
  EXPECT_EQ(pings->load(), 1);
  EXPECT_THAT(published, ElementsAre(false));

  // The database answers again; the hung ping returns at some point, and
  // the next check after that pings afresh.
  release->Notify();
  for (int i = 0; i < 500 && published.size() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    monitor.CheckOnce();
  }
  EXPECT_EQ(pings->load(), 2);
  EXPECT_THAT(published, ElementsAre(false, true));
}

TEST(DbHealthMonitorTest, ThreadPingsUntilStopped) {
  auto fake = std::make_shared<Fake>();
  fake->Answer(absl::UnavailableError("down"));
  auto monitor = std::make_unique<DbHealthMonitor>(
      [fake] {
        absl::MutexLock lock(&fake->mu);
        ++fake->pings;
        return fake->next;
      },
      [](bool) {}, absl::Milliseconds(5), absl::Seconds(10));
  monitor->Start();
  {
    absl::MutexLock lock(&fake->mu);
    ASSERT_TRUE(fake->mu.AwaitWithTimeout(
        absl::Condition(+[](int* n) { return *n >= 3; }, &fake->pings),
        absl::Seconds(10)));
  }
  monitor->Stop();
  const int after_stop = fake->Pings();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(fake->Pings(), after_stop) << "pinged after Stop";
}

}  // namespace
}  // namespace syncadmin::server
