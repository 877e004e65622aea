// End-to-end tests of what syncctl offers people and scripts beyond the
// operations themselves: JSON lines, the progress bar on a terminal, the
// confirmation before deletes, the environment, help, and every documented
// exit code. A pseudo-terminal stands in for the operator's terminal.
#include <signal.h>

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/processes.h"
#include "tests/support/pty_command.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::ContainerEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// The exit codes `syncctl --help` documents.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDrift = 3;
constexpr int kExitRefused = 4;
constexpr int kExitInterrupted = 130;

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\n--- stdout ---\n", r.out,
                      "--- stderr ---\n", r.err);
}

// Every line of `out` parsed as JSON; a line that does not parse fails the
// test.
std::vector<json> JsonLines(const std::string& out) {
  std::vector<json> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    lines.push_back(std::move(parsed));
  }
  return lines;
}

// The keys of a JSON object, sorted.
std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

class CliUxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* module : {"about", "blog", "faq"}) {
      modules_.MakeDir(module);
    }
    syncd_ = std::make_unique<SyncdProcess>(db_.conninfo(), modules_.str());
  }

  CommandResult Ctl(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
    return RunSyncctl(syncd_->address(), args, env);
  }

  // syncctl at a terminal.
  std::unique_ptr<PtyCommand> AtTerminal(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinaryPath("syncctl"), "--addr",
                                     syncd_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<PtyCommand>(argv);
  }

  void AddTenants(const std::vector<std::string>& slugs) {
    for (const std::string& slug : slugs) {
      const CommandResult r = Ctl({"tenants", "add", slug});
      ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
    }
  }

  void SyncAll() {
    const CommandResult r = Ctl({"all", "--yes"});
    ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  }

  std::string Count(const std::string& table) {
    return db_.Scalar(absl::StrCat("SELECT count(*) FROM ", table));
  }

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<SyncdProcess> syncd_;
};

// ------------------------------------------------------------ JSON lines

TEST_F(CliUxTest, JsonOutputIsOneObjectPerEventAndPerItem) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme", "globex"}));

  const CommandResult r = Ctl({"all", "--yes", "--output", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.err, "");
  const std::vector<json> lines = JsonLines(r.out);
  ASSERT_THAT(lines, SizeIs(1 + 3 + 12 + 1)) << r.out;

  const json& started = lines.front();
  EXPECT_EQ(Keys(started),
            (std::set<std::string>{"event", "run_id", "sequence", "operation",
                                   "dry_run", "requested_by", "module_count",
                                   "tenant_count"}));
  EXPECT_EQ(started["event"], "run_started");
  EXPECT_EQ(started["operation"], "sync_all");
  EXPECT_EQ(started["dry_run"], false);
  EXPECT_EQ(started["module_count"], 3);
  EXPECT_EQ(started["tenant_count"], 2);
  const std::string run_id = started["run_id"];
  ASSERT_THAT(run_id, SizeIs(36));

  std::vector<std::string> phases, items;
  uint64_t last_sequence = 0;
  for (const json& line : lines) {
    EXPECT_EQ(line["run_id"], run_id) << line;
    // Sequences never go back; items of one batch share theirs.
    EXPECT_GE(line["sequence"].get<uint64_t>(), last_sequence) << line;
    last_sequence = line["sequence"];
    if (line["event"] == "phase_started") {
      EXPECT_EQ(Keys(line),
                (std::set<std::string>{"event", "run_id", "sequence", "phase",
                                       "total"}));
      phases.push_back(line["phase"]);
    } else if (line["event"] == "item") {
      EXPECT_EQ(Keys(line),
                (std::set<std::string>{"event", "run_id", "sequence", "action",
                                       "kind", "tenant", "module", "message"}));
      EXPECT_EQ(line["message"], "");
      items.push_back(absl::StrCat(line["action"].get<std::string>(), " ",
                                   line["kind"].get<std::string>(), " ",
                                   line["tenant"].get<std::string>(), "/",
                                   line["module"].get<std::string>()));
    }
  }
  EXPECT_THAT(phases,
              ElementsAre("delete-orphans", "seed-metas", "seed-settings"));
  EXPECT_THAT(items, SizeIs(12));
  EXPECT_THAT(items, ::testing::Contains("created meta acme/blog"));
  EXPECT_THAT(items, ::testing::Contains("created setting globex/faq"));

  const json& finished = lines.back();
  EXPECT_EQ(finished["event"], "run_finished");
  EXPECT_EQ(finished["outcome"], "committed");
  EXPECT_EQ(finished["error"], "");
  EXPECT_TRUE(finished["duration_ms"].is_number_unsigned());
  EXPECT_EQ(finished["counts"],
            json::parse(R"([{"action":"created","kind":"meta","count":6},
                            {"action":"created","kind":"setting","count":6}])"));
}

TEST_F(CliUxTest, JsonOutputOfHealthCarriesItsSummary) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  db_.Exec("DELETE FROM module_settings WHERE module = 'faq'");

  const CommandResult r = Ctl({"-o", "json", "health", "--check"});
  EXPECT_EQ(r.exit_code, kExitDrift) << Describe(r);
  const std::vector<json> lines = JsonLines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["health"],
            json::parse(R"({"missing_settings":1,"orphan_metas":0,
                            "disabled_metas":0,
                            "inactive_tenants_with_rows":0,"drift":true})"));
}

TEST_F(CliUxTest, UnaryCommandsPrintOneJsonObject) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  ASSERT_NO_FATAL_FAILURE(SyncAll());

  CommandResult r = Ctl({"tenants", "list", "-o", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_THAT(lines, SizeIs(1)) << r.out;
  EXPECT_EQ(lines[0]["next_page_token"], "");
  ASSERT_THAT(lines[0]["tenants"], SizeIs(1));
  const json& tenant = lines[0]["tenants"][0];
  EXPECT_EQ(tenant["slug"], "acme");
  EXPECT_EQ(tenant["name"], json::parse(R"({"en":"acme"})"));
  EXPECT_EQ(tenant["active"], true);
  EXPECT_EQ(tenant["meta_count"], 3);
  EXPECT_EQ(tenant["setting_count"], 3);

  r = Ctl({"runs", "-o", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  lines = JsonLines(r.out);
  ASSERT_THAT(lines, SizeIs(1)) << r.out;
  ASSERT_THAT(lines[0]["runs"], SizeIs(1));
  const std::string run_id = lines[0]["runs"][0]["id"];

  r = Ctl({"run", run_id, "-o", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  lines = JsonLines(r.out);
  ASSERT_THAT(lines, SizeIs(1)) << r.out;
  const json& run = lines[0]["run"];
  EXPECT_EQ(run["id"], run_id);
  EXPECT_EQ(run["operation"], "sync_all");
  EXPECT_EQ(run["outcome"], "committed");
  EXPECT_TRUE(run["params"].is_object()) << run;
  EXPECT_THAT(run["counts"], SizeIs(2));

  r = Ctl({"tenants", "deactivate", "acme", "-o", "json"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  lines = JsonLines(r.out);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_EQ(lines[0]["tenant"]["active"], false);
}

TEST_F(CliUxTest, JsonOutputEndsAFailedCallWithAnErrorObject) {
  const CommandResult r = Ctl({"tenant", "ghost", "-o", "json"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  const std::vector<json> lines = JsonLines(r.out);
  ASSERT_FALSE(lines.empty()) << Describe(r);
  EXPECT_EQ(lines.back()["event"], "error");
  EXPECT_EQ(lines.back()["code"], "NOT_FOUND");
  EXPECT_THAT(lines.back()["message"].get<std::string>(), HasSubstr("ghost"));
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

TEST_F(CliUxTest, OutputFormatComesFromTheEnvironmentUnlessGiven) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  CommandResult r = Ctl({"tenants", "list"}, {{"SYNCCTL_OUTPUT", "json"}});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(JsonLines(r.out), SizeIs(1));

  r = Ctl({"tenants", "list", "-o", "text"}, {{"SYNCCTL_OUTPUT", "json"}});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, ::testing::StartsWith("SLUG "));

  r = Ctl({"tenants", "list"}, {{"SYNCCTL_OUTPUT", "yaml"}});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
}

// ------------------------------------------------------------ progress bar

TEST_F(CliUxTest, ProgressBarIsDrawnOnlyOnATerminal) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme", "globex"}));

  auto terminal = AtTerminal({"all", "--yes"});
  const CommandResult shown = terminal->Wait();
  ASSERT_EQ(shown.exit_code, kExitOk) << shown.out;
  // Drawn in place with "erase line", and erased before the summary.
  EXPECT_THAT(shown.out, HasSubstr("\r\x1b[Kseed-metas [###"));
  EXPECT_TRUE(std::regex_search(
      shown.out, std::regex(R"(\d+/6  created \d+  [0-9.]+[kM]?/s  0:0\d)")))
      << shown.out;
  EXPECT_THAT(shown.out, HasSubstr("\r\x1b[Krun "));
  EXPECT_THAT(shown.out, HasSubstr("\n  created      meta    acme/blog\r\n"));

  // Piped: the same lines, no animation, no control codes.
  const CommandResult piped = Ctl({"all", "--yes", "--unchanged"});
  ASSERT_EQ(piped.exit_code, kExitOk) << Describe(piped);
  EXPECT_THAT(piped.out, HasSubstr("exists       meta    acme/blog"));
  for (const std::string* text : {&piped.out, &piped.err}) {
    EXPECT_EQ(text->find('\r'), std::string::npos) << *text;
    EXPECT_EQ(text->find('\x1b'), std::string::npos) << *text;
  }

  // On a terminal but asked for JSON, or for no progress: no bar either.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"all", "--yes", "-o", "json"},
        std::vector<std::string>{"all", "--yes", "--no-progress"}}) {
    const CommandResult r = AtTerminal(args)->Wait();
    ASSERT_EQ(r.exit_code, kExitOk) << r.out;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  }
}

// ------------------------------------------------------------ confirmation

TEST_F(CliUxTest, DeletingWithoutATerminalNeedsYes) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  modules_.Remove("blog");
  const std::string before = db_.Checksum();

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"all"},
        std::vector<std::string>{"remove-tenant", "acme"}}) {
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, kExitRefused) << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("needs confirmation"),
                             HasSubstr("--yes"), HasSubstr("--dry-run")));
    EXPECT_EQ(r.out, "");
  }
  // With JSON output the refusal is also the last (and only) line.
  const CommandResult json_refused = Ctl({"all", "-o", "json"});
  EXPECT_EQ(json_refused.exit_code, kExitRefused) << Describe(json_refused);
  const std::vector<json> lines = JsonLines(json_refused.out);
  ASSERT_THAT(lines, SizeIs(1)) << Describe(json_refused);
  EXPECT_EQ(lines[0]["event"], "error");
  EXPECT_EQ(lines[0]["code"], "NOT_CONFIRMED");
  EXPECT_THAT(lines[0]["message"].get<std::string>(), HasSubstr("--yes"));

  // Refused before the server heard of it: not even a dry run.
  EXPECT_EQ(db_.Checksum(), before);

  // A dry run needs no confirmation; --yes deletes.
  EXPECT_EQ(Ctl({"remove-tenant", "acme", "--dry-run"}).exit_code, kExitOk);
  const CommandResult yes = Ctl({"remove-tenant", "acme", "--yes"});
  EXPECT_EQ(yes.exit_code, kExitOk) << Describe(yes);
  EXPECT_EQ(Count("tenants"), "0");
}

TEST_F(CliUxTest, RemoveTenantAtATerminalShowsWhatGoesAndWantsTheSlug) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme", "globex"}));
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  const std::string before = db_.DataChecksum();

  // A wrong answer changes nothing.
  auto declined = AtTerminal({"remove-tenant", "acme"});
  ASSERT_TRUE(declined->WaitFor("to delete it: ")) << declined->output();
  EXPECT_THAT(declined->output(),
              AllOf(HasSubstr("This run deletes 1 tenant, 3 metas, 3 settings"),
                    HasSubstr("tenant  acme"), HasSubstr("meta    acme/blog"),
                    HasSubstr("Type the tenant's slug (acme)")));
  declined->Type("yes\n");
  const CommandResult no = declined->Wait();
  EXPECT_EQ(no.exit_code, kExitRefused) << no.out;
  EXPECT_THAT(no.out, HasSubstr("not confirmed; nothing was changed"));
  EXPECT_EQ(db_.DataChecksum(), before);

  // The slug deletes the tenant, and only it.
  auto confirmed = AtTerminal({"remove-tenant", "acme"});
  ASSERT_TRUE(confirmed->WaitFor("to delete it: ")) << confirmed->output();
  confirmed->Type("acme\n");
  const CommandResult yes = confirmed->Wait();
  EXPECT_EQ(yes.exit_code, kExitOk) << yes.out;
  EXPECT_THAT(yes.out, HasSubstr("deleted      tenant  acme"));
  EXPECT_EQ(db_.Scalar("SELECT string_agg(slug, ',') FROM tenants"), "globex");
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_meta "
                       "WHERE tenant = 'globex'"),
            "3");
}

TEST_F(CliUxTest, AllAtATerminalAsksOnlyWhenItWouldDelete) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));

  // Nothing to delete: no question.
  const CommandResult seeded = AtTerminal({"all"})->Wait();
  EXPECT_EQ(seeded.exit_code, kExitOk) << seeded.out;
  EXPECT_THAT(seeded.out, Not(HasSubstr("[y/N]")));
  EXPECT_EQ(Count("module_meta"), "3");

  modules_.Remove("blog");
  auto declined = AtTerminal({"all"});
  ASSERT_TRUE(declined->WaitFor("Delete them? [y/N] ")) << declined->output();
  EXPECT_THAT(declined->output(),
              AllOf(HasSubstr("This run deletes 1 meta, 1 setting:"),
                    HasSubstr("meta    acme/blog")));
  declined->Type("\n");
  EXPECT_EQ(declined->Wait().exit_code, kExitRefused);
  EXPECT_EQ(Count("module_meta"), "3");

  auto confirmed = AtTerminal({"all"});
  ASSERT_TRUE(confirmed->WaitFor("[y/N] ")) << confirmed->output();
  confirmed->Type("y\n");
  const CommandResult yes = confirmed->Wait();
  EXPECT_EQ(yes.exit_code, kExitOk) << yes.out;
  EXPECT_THAT(yes.out, HasSubstr("deleted      meta    acme/blog"));
  EXPECT_EQ(Count("module_meta"), "2");
}

TEST_F(CliUxTest, CtrlCAtThePromptChangesNothingAndExits130) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  ASSERT_NO_FATAL_FAILURE(SyncAll());
  const std::string before = db_.DataChecksum();

  auto terminal = AtTerminal({"remove-tenant", "acme"});
  ASSERT_TRUE(terminal->WaitFor("to delete it: ")) << terminal->output();
  terminal->Type("\x03");  // Ctrl-C: the terminal sends SIGINT.
  const CommandResult r = terminal->Wait(10);
  EXPECT_EQ(r.signal, 0) << r.out;
  EXPECT_EQ(r.exit_code, kExitInterrupted) << r.out;
  EXPECT_THAT(r.out, HasSubstr("interrupted; nothing was changed"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

// ---------------------------------------------------- help and exit codes

TEST_F(CliUxTest, EverySubcommandHelpHasAnExample) {
  const std::vector<std::vector<std::string>> commands = {
      {"all"},
      {"meta"},
      {"settings"},
      {"health"},
      {"tenant"},
      {"module"},
      {"remove-tenant"},
      {"restore"},
      {"tenants"},
      {"tenants", "add"},
      {"tenants", "list"},
      {"tenants", "activate"},
      {"tenants", "deactivate"},
      {"runs"},
      {"run"},
      {"ping"}};
  for (std::vector<std::string> args : commands) {
    args.push_back("--help");
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
    EXPECT_THAT(r.out, HasSubstr("\nExample:\n  syncctl " + args[0]))
        << args[0];
  }

  const CommandResult top = Ctl({"--help"});
  EXPECT_THAT(
      top.out,
      AllOf(HasSubstr("SYNCCTL_ADDR"), HasSubstr("SYNCCTL_OUTPUT"),
            HasSubstr("Exit codes:"), HasSubstr("\n  3    health"),
            HasSubstr("\n  4    refused"), HasSubstr("\n  130  interrupted")));
}

TEST_F(CliUxTest, EveryDocumentedExitCodeIsReached) {
  ASSERT_NO_FATAL_FAILURE(AddTenants({"acme"}));
  std::map<int, CommandResult> reached;

  reached[kExitOk] = Ctl({"all", "--yes"});
  reached[kExitFailure] = Ctl({"tenant", "ghost"});
  reached[kExitUsage] = Ctl({"all", "--no-such-flag"});
  db_.Exec("DELETE FROM module_settings WHERE module = 'faq'");
  reached[kExitDrift] = Ctl({"health", "--check"});
  reached[kExitRefused] = Ctl({"remove-tenant", "acme"});
  auto terminal = AtTerminal({"remove-tenant", "acme"});
  EXPECT_TRUE(terminal->WaitFor("to delete it: ")) << terminal->output();
  terminal->Type("\x03");
  reached[kExitInterrupted] = terminal->Wait(10);

  for (const auto& [code, result] : reached) {
    EXPECT_EQ(result.exit_code, code) << Describe(result);
  }
  EXPECT_THAT(reached[kExitDrift].out, HasSubstr("drift found"));
}

TEST_F(CliUxTest, PingReportsServing) {
  CommandResult r = Ctl({"ping"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "syncadmin.v1.SyncAdmin SERVING\n");

  r = Ctl({"ping", "-o", "json"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(json::parse(r.out),
            json::parse(R"({"service":"syncadmin.v1.SyncAdmin",
                            "status":"SERVING"})"));

  r = RunSyncctl("127.0.0.1:1", {"ping", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace syncadmin::testing
