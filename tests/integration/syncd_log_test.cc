// syncd's JSON log: one object per line, and the fields an operator
// filters on (time, level, run id, op; per item: action, kind, tenant,
// module).
#include <signal.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::nlohmann::json;
using ::testing::SizeIs;

// Every line of a JSON log, parsed; a line that is not a JSON object with
// `time` (UTC, milliseconds), `level` and `msg` fails the test.
std::vector<json> LogLines(const std::string& log) {
  std::vector<json> lines;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    if (parsed.is_discarded()) continue;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") &&
                parsed.contains("msg"))
        << line;
    EXPECT_TRUE(std::regex_match(
        parsed.value("time", ""),
        std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    lines.push_back(std::move(parsed));
  }
  return lines;
}

TEST(SyncdLogTest, JsonLinesCarryRunOpAndItemFields) {
  TestDatabase db;
  TempDir modules;
  modules.MakeDir("blog");
  modules.MakeDir("faq");
  SyncdProcess syncd(db.conninfo(), modules.str(),
                     {"--log-format", "json", "--log-level", "debug"});
  ASSERT_EQ(RunSyncctl(syncd.address(), {"tenants", "add", "acme"}).exit_code,
            0);
  ASSERT_EQ(RunSyncctl(syncd.address(), {"all", "--yes"}).exit_code, 0);
  const std::string run_id = db.Scalar("SELECT id FROM sync_runs");
  ASSERT_EQ(syncd.Stop(SIGTERM), 0);

  const std::vector<json> lines = LogLines(syncd.Log());

  std::set<std::string> run_messages;
  std::vector<json> items;
  for (const json& line : lines) {
    if (!line.contains("run")) continue;
    EXPECT_EQ(line["run"], run_id) << line;
    EXPECT_EQ(line["op"], "sync_all") << line;
    run_messages.insert(line["msg"].get<std::string>());
    if (line["msg"] == "item") items.push_back(line);
  }
  EXPECT_EQ(run_messages,
            (std::set<std::string>{"run started", "item", "run finished"}));
  ASSERT_THAT(items, SizeIs(4));  // 2 metas, 2 settings.
  for (const json& item : items) {
    EXPECT_EQ(item["level"], "debug");
    EXPECT_EQ(item["action"], "created");
    EXPECT_EQ(item["tenant"], "acme");
    EXPECT_TRUE(item["kind"] == "meta" || item["kind"] == "setting") << item;
    EXPECT_TRUE(item["module"] == "blog" || item["module"] == "faq") << item;
  }
}

// A run that fails is logged as such with the same fields, so that a filter
// on `op` finds the failures too; a call refused before any run began has
// no run id to give.
TEST(SyncdLogTest, FailedCallsCarryOpAndTheRunIdIfAny) {
  TestDatabase db;
  TempDir modules;
  modules.MakeDir("blog");
  SyncdProcess syncd(db.conninfo(), modules.str(), {"--log-format", "json"});
  ASSERT_EQ(RunSyncctl(syncd.address(), {"tenant", "nosuch"}).exit_code, 1);
  ASSERT_EQ(RunSyncctl(syncd.address(), {"module", "Bad Name"}).exit_code, 1);
  const std::string run_id = db.Scalar("SELECT id FROM sync_runs");
  ASSERT_EQ(syncd.Stop(SIGTERM), 0);

  std::vector<json> failures;
  for (const json& line : LogLines(syncd.Log())) {
    if (line["msg"] == "rpc failed") failures.push_back(line);
  }
  ASSERT_THAT(failures, SizeIs(2));
  EXPECT_EQ(failures[0]["rpc"], "SeedTenant");
  EXPECT_EQ(failures[0]["op"], "seed_tenant");
  EXPECT_EQ(failures[0]["run"], run_id);
  EXPECT_EQ(failures[0]["code"], "NOT_FOUND");
  EXPECT_EQ(failures[1]["rpc"], "SeedModule");
  EXPECT_EQ(failures[1]["op"], "seed_module");
  EXPECT_EQ(failures[1]["run"], "-");
  EXPECT_EQ(failures[1]["code"], "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace syncadmin::testing
