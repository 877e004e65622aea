#include "client/json_output.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::client {
namespace {

using ::testing::SizeIs;

// What `print` wrote, line by line.
template <typename Fn>
std::vector<std::string> Printed(Fn print) {
  FILE* out = std::tmpfile();
  print(out);
  std::fflush(out);
  std::rewind(out);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, out)) > 0) {
    text.append(buffer, n);
  }
  std::fclose(out);
  EXPECT_TRUE(text.empty() || text.back() == '\n') << text;
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(JsonEventPrinterTest, OneLinePerItemWithTheBatchSequence) {
  v1::SyncEvent batch;
  batch.set_run_id("r1");
  batch.set_sequence(7);
  for (const char* module : {"blog", "faq"}) {
    v1::Item* item = batch.mutable_items()->add_items();
    item->set_action(v1::ACTION_WOULD_DELETE);
    item->set_kind(v1::KIND_SETTING);
    item->set_tenant("acme");
    item->set_module(module);
  }
  const auto lines =
      Printed([&](FILE* out) { JsonEventPrinter(out).Print(batch); });
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0],
            R"({"event":"item","run_id":"r1","sequence":7,)"
            R"("action":"would_delete","kind":"setting","tenant":"acme",)"
            R"("module":"blog","message":""})");
  EXPECT_EQ(Json::parse(lines[1])["module"], "faq");
}

TEST(JsonEventPrinterTest, ServerTextCannotBreakALine) {
  v1::SyncEvent batch;
  v1::Item* item = batch.mutable_items()->add_items();
  item->set_tenant("acme");
  // A newline, an escape sequence and bytes that are not UTF-8.
  item->set_message("line\nbreak \x1b[2J \xff\xfe end");
  const auto lines =
      Printed([&](FILE* out) { JsonEventPrinter(out).Print(batch); });
  ASSERT_THAT(lines, SizeIs(1));
  const Json parsed = Json::parse(lines[0]);
  EXPECT_EQ(parsed["message"],
            "line\nbreak \x1b[2J \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(parsed["action"], "unspecified");
}

TEST(JsonEventPrinterTest, RunFinishedCarriesCountsAndHealth) {
  v1::SyncEvent event;
  event.set_run_id("r1");
  event.set_sequence(3);
  v1::RunFinished* finished = event.mutable_run_finished();
  finished->set_outcome(v1::OUTCOME_ROLLED_BACK);
  finished->set_duration_ms(12);
  v1::ActionCount* count = finished->add_counts();
  count->set_action(v1::ACTION_WOULD_CREATE);
  count->set_kind(v1::KIND_SETTING);
  count->set_count(4);
  finished->mutable_health()->set_missing_settings(4);
  finished->mutable_health()->set_drift(true);

  const auto lines =
      Printed([&](FILE* out) { JsonEventPrinter(out).Print(event); });
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(Json::parse(lines[0]),
            Json::parse(R"({"event":"run_finished","run_id":"r1","sequence":3,
                "outcome":"rolled_back","duration_ms":12,
                "counts":[{"action":"would_create","kind":"setting","count":4}],
                "error":"",
                "health":{"missing_settings":4,"orphan_metas":0,
                          "disabled_metas":0,"inactive_tenants_with_rows":0,
                          "drift":true}})"));
}

TEST(JsonOutputTest, RunParametersStayAnObjectOrFallBackToText) {
  v1::Run run;
  run.set_params_json(R"({"tenant":"acme"})");
  EXPECT_EQ(RunJson(run)["params"], Json::parse(R"({"tenant":"acme"})"));
  run.set_params_json("not json");
  EXPECT_EQ(RunJson(run)["params"], "not json");
}

TEST(JsonOutputTest, TenantNamesAreSortedByLocale) {
  v1::Tenant tenant;
  tenant.set_slug("acme");
  (*tenant.mutable_name())["tr"] = "Akme";
  (*tenant.mutable_name())["de"] = "Acme GmbH";
  (*tenant.mutable_name())["en"] = "Acme";
  EXPECT_EQ(TenantJson(tenant)["name"].dump(),
            R"({"de":"Acme GmbH","en":"Acme","tr":"Akme"})");
}

}  // namespace
}  // namespace syncadmin::client
