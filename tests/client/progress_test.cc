#include "client/progress.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::SyncEvent Phase(const std::string& name, uint64_t total) {
  v1::SyncEvent e;
  e.mutable_phase_started()->set_name(name);
  e.mutable_phase_started()->set_total(total);
  return e;
}

v1::SyncEvent Items(int n, v1::Action action) {
  v1::SyncEvent e;
  for (int i = 0; i < n; ++i) {
    v1::Item* item = e.mutable_items()->add_items();
    item->set_action(action);
    item->set_kind(v1::KIND_META);
  }
  return e;
}

class ProgressBarTest : public ::testing::Test {
 protected:
  std::chrono::steady_clock::time_point now_{};
  FILE* sink_ = std::tmpfile();
  ProgressBar bar_{sink_, 120, [this] { return now_; }};

  ~ProgressBarTest() override { std::fclose(sink_); }

  std::string Written() {
    std::fflush(sink_);
    std::rewind(sink_);
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, sink_)) > 0) {
      text.append(buffer, n);
    }
    return text;
  }
};

TEST_F(ProgressBarTest, ShowsPhaseFillCountsAndRate) {
  bar_.Update(Phase("seed-settings", 3000));
  now_ += std::chrono::seconds(2);
  bar_.Update(Items(1500, v1::ACTION_CREATED));

  EXPECT_EQ(bar_.Render(),
            "seed-settings [##########----------]  1,500/3,000  created 1,500"
            "  750/s  0:02");
}

TEST_F(ProgressBarTest, WithoutATotalCountsItemsAndRatesInThousands) {
  bar_.Update(Phase("check", 0));
  now_ += std::chrono::milliseconds(500);
  bar_.Update(Items(2400, v1::ACTION_WOULD_CREATE));
  bar_.Update(Items(3, v1::ACTION_SKIPPED));

  EXPECT_EQ(bar_.Render(),
            "check  2,403 items  skipped 3  would_create 2,400  4.8k/s  0:00");
}

TEST_F(ProgressBarTest, DrawsInPlaceAndClearsBeforeOtherOutput) {
  bar_.Update(Phase("seed-metas", 10));
  EXPECT_EQ(Written(),
            "\r\x1b[Kseed-metas [--------------------]  0/10  0/s  0:00");

  bar_.Clear();
  EXPECT_THAT(Written(), testing::EndsWith("0:00\r\x1b[K"));
}

TEST_F(ProgressBarTest, RedrawsAtMostTenTimesASecond) {
  bar_.Update(Phase("seed-metas", 100000));
  const size_t after_phase = Written().size();
  now_ += std::chrono::milliseconds(10);
  bar_.Update(Items(1, v1::ACTION_CREATED));
  EXPECT_EQ(Written().size(), after_phase) << "redrawn after 10 ms";
  now_ += std::chrono::milliseconds(100);
  bar_.Update(Items(1, v1::ACTION_CREATED));
  EXPECT_THAT(Written().substr(after_phase), HasSubstr("2/100,000"));
}

TEST_F(ProgressBarTest, NeverWiderThanTheTerminal) {
  FILE* sink = std::tmpfile();
  ProgressBar narrow(sink, 30, [this] { return now_; });
  narrow.Update(Phase("seed-settings", 3000));
  EXPECT_EQ(narrow.Render().size(), 29u);
  EXPECT_THAT(narrow.Render(), StartsWith("seed-settings [---"));
  std::fclose(sink);
}

TEST_F(ProgressBarTest, TickKeepsTheClockRunningWhileNoEventArrives) {
  bar_.Update(Phase("wait-for-lock", 0));
  const size_t after_phase = Written().size();
  now_ += std::chrono::milliseconds(500);
  bar_.Tick();
  EXPECT_EQ(Written().size(), after_phase) << "redrawn after 500 ms";
  now_ += std::chrono::seconds(6);
  bar_.Tick();
  EXPECT_THAT(Written().substr(after_phase),
              testing::EndsWith("wait-for-lock  0 items  0/s  0:06"));
}

TEST_F(ProgressBarTest, TickDrawsNothingOnceTheRunHasFinished) {
  bar_.Update(Phase("seed-metas", 10));
  v1::SyncEvent finished;
  finished.mutable_run_finished()->set_outcome(v1::OUTCOME_COMMITTED);
  bar_.Update(finished);
  const std::string before = Written();
  now_ += std::chrono::seconds(5);
  bar_.Tick();
  EXPECT_EQ(Written(), before);
}

TEST_F(ProgressBarTest, RunFinishedErasesTheBar) {
  bar_.Update(Phase("seed-metas", 10));
  v1::SyncEvent finished;
  finished.mutable_run_finished()->set_outcome(v1::OUTCOME_COMMITTED);
  bar_.Update(finished);
  EXPECT_THAT(Written(), testing::EndsWith("\r\x1b[K"));
}

}  // namespace
}  // namespace syncadmin::client
