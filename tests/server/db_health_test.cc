#include "server/db_health.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A database whose answers the test sets, and the statuses published.
struct Fake {
  absl::Status next = absl::OkStatus();
  std::vector<bool> published;
  int pings = 0;
};

DbHealthMonitor MonitorOf(Fake& fake, absl::Duration interval) {
  return DbHealthMonitor(
      [&fake] {
        ++fake.pings;
        return fake.next;
      },
      [&fake](bool serving) { fake.published.push_back(serving); }, interval);
}

TEST(DbHealthMonitorTest, PublishesEachTransitionOnce) {
  Fake fake;
  DbHealthMonitor monitor = MonitorOf(fake, absl::Seconds(1));

  monitor.CheckOnce();  // Still serving: nothing to publish.
  EXPECT_THAT(fake.published, IsEmpty());

  fake.next = absl::UnavailableError("connection refused");
  monitor.CheckOnce();
  monitor.CheckOnce();
  monitor.CheckOnce();
  EXPECT_THAT(fake.published, ElementsAre(false));

  fake.next = absl::OkStatus();
  monitor.CheckOnce();
  monitor.CheckOnce();
  EXPECT_THAT(fake.published, ElementsAre(false, true));
  EXPECT_EQ(fake.pings, 6);
}

TEST(DbHealthMonitorTest, ThreadPingsUntilStopped) {
  absl::Mutex mu;
  int pings = 0;
  DbHealthMonitor monitor(
      [&] {
        absl::MutexLock lock(&mu);
        ++pings;
        return absl::UnavailableError("down");
      },
      [](bool) {}, absl::Milliseconds(5));
  monitor.Start();
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(
        mu.AwaitWithTimeout(absl::Condition(
                                +[](int* n) { return *n >= 3; }, &pings),
                            absl::Seconds(10)));
  }
  monitor.Stop();
  int after_stop;
  {
    absl::MutexLock lock(&mu);
    after_stop = pings;
  }
  absl::SleepFor(absl::Milliseconds(50));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(pings, after_stop) << "pinged after Stop";
}

}  // namespace
}  // namespace syncadmin::server
