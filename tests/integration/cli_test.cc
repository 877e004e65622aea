// End-to-end tests of the real `syncctl` binary against a real `syncd`
// process and a private PostgreSQL database: what the operator sees (item
// lines, summaries, exit codes) and what ends up in the tables.
#include <signal.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDrift = 3;

// An address where nothing listens: connecting fails at once.
constexpr char kDeadAddress[] = "127.0.0.1:1";

// Both streams of a command, for failure messages.
std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\n--- stdout ---\n", r.out,
                      "--- stderr ---\n", r.err);
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The item lines of `out`, each reduced to "action kind target" (the
// message after the target is dropped), in printed order.
std::vector<std::string> Items(const std::string& out) {
  static const std::regex kItem(
      "^  (created|exists|deleted|skipped|failed|would_create|would_delete)"
      " +(tenant|meta|setting) +(\\S+)(  .*)?$");
  std::vector<std::string> items;
  for (const std::string& line : Lines(out)) {
    std::smatch m;
    if (std::regex_match(line, m, kItem)) {
      items.push_back(
          absl::StrCat(m[1].str(), " ", m[2].str(), " ", m[3].str()));
    }
  }
  return items;
}

// The item lines of `out` whose action is `action`, as "kind target".
std::vector<std::string> ItemsWith(const std::string& out,
                                   const std::string& action) {
  std::vector<std::string> found;
  for (const std::string& item : Items(out)) {
    const std::string prefix = action + " ";
    if (item.rfind(prefix, 0) == 0) found.push_back(item.substr(prefix.size()));
  }
  return found;
}

// "kind tenant/module" for every tenant × module.
std::vector<std::string> Expected(const std::string& kind,
                                  const std::vector<std::string>& tenants,
                                  const std::vector<std::string>& modules) {
  std::vector<std::string> out;
  for (const std::string& t : tenants) {
    for (const std::string& m : modules) {
      out.push_back(absl::StrCat(kind, " ", t, "/", m));
    }
  }
  return out;
}

std::vector<std::string> Concat(std::vector<std::string> a,
                                const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The run id from the "run <id>: <op> started" line; empty if none.
std::string RunIdOf(const std::string& out) {
  static const std::regex kStarted(
      "^run ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}): ");
  for (const std::string& line : Lines(out)) {
    std::smatch m;
    if (std::regex_search(line, m, kStarted)) return m[1].str();
  }
  return "";
}

// The "run <id> <outcome> in <duration>" line of `out`; empty if none.
std::string SummaryLine(const std::string& out, const std::string& run_id) {
  for (const std::string& line : Lines(out)) {
    if (line.rfind(absl::StrCat("run ", run_id, " "), 0) == 0) return line;
  }
  return "";
}

bool MatchesFully(const std::string& text, const std::string& pattern) {
  return std::regex_match(text, std::regex(pattern));
}

// The rows of `tenants list` (header skipped), split on whitespace.
std::vector<std::vector<std::string>> TenantRows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> lines = Lines(out);
  for (size_t i = 1; i < lines.size(); ++i) {
    rows.push_back(absl::StrSplit(lines[i], ' ', absl::SkipEmpty()));
  }
  return rows;
}

// Polls `done` every few milliseconds for up to `timeout_s` seconds.
bool WaitUntil(const std::function<bool()>& done, double timeout_s = 10) {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Holds an ACCESS EXCLUSIVE lock on a table in an open transaction until
// released, so that a run that reads the table blocks inside a statement.
class TableLock {
 public:
  TableLock(const std::string& conninfo, const std::string& table)
      : conn_(std::make_unique<pqxx::connection>(conninfo)),
        tx_(std::make_unique<pqxx::work>(*conn_)) {
    tx_->exec(absl::StrCat("LOCK TABLE ", table, " IN ACCESS EXCLUSIVE MODE"));
  }
  ~TableLock() { Release(); }

  void Release() {
    tx_.reset();  // Rolls back, which releases the lock.
    conn_.reset();
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
};

// A modules root with four modules (one disabled by its manifest), plus a
// shared directory and a plain file that are not modules, served by a real
// syncd on a private database.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    modules_.WriteFile("blog/module.json",
                       R"({"label": {"en": "Blog", "tr": "Blog"},
                           "icon": "pen", "order": 2})");
    modules_.WriteFile("about/module.json", R"({"label": "About us"})");
    modules_.WriteFile("faq/module.json",
                       R"({"roles": ["admin", "editor"], "order": 5})");
    modules_.WriteFile("newsletter/module.json", R"({"enabled": false})");
    modules_.WriteFile("_shared/util.ts", "export const x = 1;\n");
    modules_.WriteFile("index.ts", "export * from './blog';\n");
    syncd_ = std::make_unique<SyncdProcess>(db_.conninfo(), modules_.str());
  }

  CommandResult Ctl(const std::vector<std::string>& args) {
    return RunSyncctl(syncd_->address(), args);
  }

  // Registers `slug` (active unless `active` is false) and checks it worked.
  void AddTenant(const std::string& slug, bool active = true) {
    std::vector<std::string> args = {"tenants", "add", slug};
    if (!active) args.push_back("--inactive");
    const CommandResult r = Ctl(args);
    ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  }

  // Two active tenants and an inactive one, synced once.
  void SetUpSyncedTenants() {
    AddTenant("acme");
    AddTenant("globex");
    AddTenant("initech", /*active=*/false);
    const CommandResult r = Ctl({"all", "--yes"});
    ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  }

  std::string Count(const std::string& table, const std::string& where) {
    return db_.Scalar(
        absl::StrCat("SELECT count(*) FROM ", table, " WHERE ", where));
  }

  // A fingerprint of one tenant's registry row, metas and settings.
  std::string TenantFingerprint(const std::string& slug) {
    return db_.Scalar(absl::StrCat(
        "SELECT coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM ("
        "SELECT to_jsonb(t)::text AS r FROM tenants t WHERE slug = '",
        slug,
        "' UNION ALL SELECT to_jsonb(m)::text FROM module_meta m "
        "WHERE tenant = '",
        slug,
        "' UNION ALL SELECT to_jsonb(s)::text FROM module_settings s "
        "WHERE tenant = '",
        slug, "') x"));
  }

  // Starts `syncctl all --yes` plus `extra_args` against `address` in the
  // background and waits until its run is blocked inside a statement (by a
  // `TableLock` on `tenants`); sets `*run_id` to that run's id.
  std::unique_ptr<BackgroundCommand> StartBlockedAll(
      const std::string& address, std::string* run_id,
      const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> argv = {BinaryPath("syncctl"), "--addr", address,
                                     "all", "--yes"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto command = std::make_unique<BackgroundCommand>(argv);
    const std::string blocked =
        "SELECT coalesce(max(substr(application_name, 11)), '') "
        "FROM pg_stat_activity WHERE application_name LIKE 'syncd run %' "
        "AND wait_event_type = 'Lock' AND datname = current_database()";
    WaitUntil([&] {
      *run_id = db_.Scalar(blocked);
      return !run_id->empty();
    });
    return command;
  }

  std::string OutcomeOf(const std::string& run_id) {
    return db_.Scalar(absl::StrCat("SELECT outcome FROM sync_runs WHERE id = '",
                                   run_id, "'"));
  }

  const std::vector<std::string> kModules = {"about", "blog", "faq",
                                             "newsletter"};
  const std::vector<std::string> kEnabledModules = {"about", "blog", "faq"};

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<SyncdProcess> syncd_;
};

// ---------------------------------------------------------------- tenants

TEST_F(CliTest, TenantsAddRegistersNamesAndTheActiveFlag) {
  CommandResult r = Ctl({"tenants", "add", "acme", "--name", "Acme Corp",
                         "--name", "tr=Akme A.S."});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "tenant acme registered (active)\n");

  r = Ctl({"tenants", "add", "initech", "--inactive"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "tenant initech registered (inactive)\n");

  EXPECT_EQ(db_.Scalar("SELECT name->>'en' || '|' || (name->>'tr') || '|' "
                       "|| is_active FROM tenants WHERE slug = 'acme'"),
            "Acme Corp|Akme A.S.|true");
  // Without --name the slug is the English name.
  EXPECT_EQ(db_.Scalar("SELECT name::text || '|' || is_active FROM tenants "
                       "WHERE slug = 'initech'"),
            R"({"en": "initech"}|false)");
}

TEST_F(CliTest, TenantsListShowsColumnsAndCounts) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  ASSERT_EQ(Ctl({"tenants", "add", "zeta", "--name", "Zeta", "--name",
                 "de=Zeta GmbH"})
                .exit_code,
            kExitOk);

  const CommandResult r = Ctl({"tenants", "list"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(5)) << r.out;
  EXPECT_THAT(
      absl::StrSplit(lines[0], ' ', absl::SkipEmpty()),
      ElementsAre("SLUG", "ACTIVE", "METAS", "SETTINGS", "CREATED", "NAME"));

  const auto rows = TenantRows(r.out);
  // slug, active, metas, settings, created, names...: sorted by slug.
  ASSERT_THAT(rows[0], SizeIs(6)) << lines[1];
  EXPECT_THAT(std::vector<std::string>(rows[0].begin(), rows[0].begin() + 4),
              ElementsAre("acme", "yes", "4", "3"));
  EXPECT_TRUE(
      MatchesFully(rows[0][4], R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))
      << rows[0][4];
  EXPECT_EQ(rows[0][5], "en=acme");
  EXPECT_THAT(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 4),
              ElementsAre("globex", "yes", "4", "3"));
  // The inactive tenant was not synced.
  EXPECT_THAT(std::vector<std::string>(rows[2].begin(), rows[2].begin() + 4),
              ElementsAre("initech", "no", "0", "0"));
  EXPECT_THAT(std::vector<std::string>(rows[3].begin(), rows[3].begin() + 4),
              ElementsAre("zeta", "yes", "0", "0"));
  EXPECT_THAT(lines[4], HasSubstr("de=Zeta GmbH en=Zeta"));
}

TEST_F(CliTest, TenantsListPages) {
  for (const char* slug : {"a1", "b2", "c3"}) AddTenant(slug);

  CommandResult r = Ctl({"tenants", "list", "--page-size", "2"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  auto rows = TenantRows(r.out);
  ASSERT_THAT(rows, SizeIs(3)) << r.out;
  EXPECT_EQ(rows[0][0], "a1");
  EXPECT_EQ(rows[1][0], "b2");
  EXPECT_THAT(r.out, HasSubstr("\n(more: --page-token b2)\n"));

  r = Ctl({"tenants", "list", "--page-size", "2", "--page-token", "b2"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  rows = TenantRows(r.out);
  ASSERT_THAT(rows, SizeIs(1)) << r.out;
  EXPECT_EQ(rows[0][0], "c3");
  EXPECT_THAT(r.out, Not(HasSubstr("(more:")));
}

TEST_F(CliTest, TenantsActivateAndDeactivateFlipTheFlag) {
  AddTenant("initech", /*active=*/false);

  CommandResult r = Ctl({"tenants", "activate", "initech"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "tenant initech is active\n");
  EXPECT_EQ(db_.Scalar("SELECT is_active FROM tenants"), "t");

  r = Ctl({"tenants", "deactivate", "initech"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_EQ(r.out, "tenant initech is inactive\n");
  EXPECT_EQ(db_.Scalar("SELECT is_active FROM tenants"), "f");

  r = Ctl({"tenants", "activate", "ghost"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("NOT_FOUND"), HasSubstr("\"ghost\"")));
  EXPECT_EQ(Count("tenants", "true"), "1");
}

TEST_F(CliTest, TenantsDryRunsReportTheChangeAndStoreNothing) {
  ASSERT_NO_FATAL_FAILURE(AddTenant("acme"));
  const std::string before = db_.DataChecksum();

  CommandResult r = Ctl({"tenants", "add", "globex", "--dry-run"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("tenant globex would be registered (active)"));
  r = Ctl({"tenants", "deactivate", "acme", "--dry-run"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("tenant acme would be inactive"));
  r = Ctl({"tenants", "add", "acme", "--dry-run"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("ALREADY_EXISTS"));

  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(CliTest, TenantsAddRejectsADuplicateWithAlreadyExists) {
  AddTenant("acme");
  const std::string before = db_.DataChecksum();

  const CommandResult r = Ctl({"tenants", "add", "acme", "--inactive"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("ALREADY_EXISTS"), HasSubstr("acme")));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(CliTest, TenantsAddRejectsAnInvalidSlugNamingIt) {
  for (const std::string slug : {"Bad_Slug", "acme.com", "acme corp"}) {
    const CommandResult r = Ctl({"tenants", "add", slug});
    EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("INVALID_ARGUMENT"),
                             HasSubstr(absl::StrCat("\"", slug, "\""))))
        << slug;
  }
  EXPECT_EQ(Count("tenants", "true"), "0");
}

// -------------------------------------------------------------------- all

TEST_F(CliTest, AllPrintsEveryCreatedItemAndASummary) {
  AddTenant("acme");
  AddTenant("globex");
  AddTenant("initech", /*active=*/false);

  const CommandResult r = Ctl({"all", "--yes"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::string run_id = RunIdOf(r.out);
  ASSERT_FALSE(run_id.empty()) << r.out;

  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(
                         "run ", run_id,
                         ": sync_all started (4 modules, 2 tenants)\n")));
  EXPECT_THAT(r.out, HasSubstr("\n  created      meta    acme/blog\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  created      setting globex/faq\n"));
  EXPECT_THAT(
      Items(r.out),
      UnorderedElementsAreArray(Concat(
          Expected("created meta", {"acme", "globex"}, kModules),
          Expected("created setting", {"acme", "globex"}, kEnabledModules))));

  EXPECT_TRUE(
      MatchesFully(SummaryLine(r.out, run_id),
                   absl::StrCat("run ", run_id, R"( committed in \d+ ms)")))
      << r.out;
  EXPECT_THAT(r.out, HasSubstr("\n  created:     8 metas, 6 settings\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("exists:")));

  // Not modules: a directory starting with '_' and a plain file.
  EXPECT_THAT(r.out, Not(HasSubstr("_shared")));
  EXPECT_THAT(r.out, Not(HasSubstr("index")));
  EXPECT_EQ(Count("module_meta", "true"), "8");
  EXPECT_EQ(Count("module_settings", "true"), "6");
  EXPECT_EQ(Count("module_meta", "tenant = 'initech'"), "0");
  EXPECT_EQ(db_.Scalar("SELECT string_agg(DISTINCT name, ',' ORDER BY name) "
                       "FROM module_meta"),
            "about,blog,faq,newsletter");
  // The manifest's defaults reached the meta and its setting.
  EXPECT_EQ(db_.Scalar("SELECT icon || '|' || \"order\" || '|' || "
                       "(label->>'en') FROM module_meta "
                       "WHERE tenant = 'acme' AND name = 'blog'"),
            "pen|2|Blog");
  EXPECT_EQ(db_.Scalar("SELECT roles::text || '|' || \"order\" FROM "
                       "module_settings WHERE tenant = 'globex' "
                       "AND module = 'faq'"),
            "{admin,editor}|5");
  EXPECT_EQ(db_.Scalar("SELECT enabled FROM module_meta "
                       "WHERE tenant = 'acme' AND name = 'newsletter'"),
            "f");
}

TEST_F(CliTest, SecondAllCreatesNothingAndCountsWhatExists) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const std::string before = db_.DataChecksum();

  const CommandResult r = Ctl({"all", "--yes"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(Items(r.out), IsEmpty()) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("created")));
  EXPECT_THAT(r.out, HasSubstr("\n  exists:      8 metas, 6 settings\n"));
  const std::string run_id = RunIdOf(r.out);
  EXPECT_THAT(SummaryLine(r.out, run_id), HasSubstr(" committed in "));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(CliTest, UnchangedPrintsItemsThatExist) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());

  const CommandResult r = Ctl({"all", "--yes", "--unchanged"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  exists       meta    acme/blog\n"));
  EXPECT_THAT(
      Items(r.out),
      UnorderedElementsAreArray(Concat(
          Expected("exists meta", {"acme", "globex"}, kModules),
          Expected("exists setting", {"acme", "globex"}, kEnabledModules))));
  EXPECT_THAT(r.out, HasSubstr("\n  exists:      8 metas, 6 settings\n"));
}

TEST_F(CliTest, AllDryRunPrintsWouldCreateAndWritesNothing) {
  AddTenant("acme");
  AddTenant("globex");
  const std::string before = db_.DataChecksum();

  const CommandResult dry = Ctl({"all", "--dry-run"});
  ASSERT_EQ(dry.exit_code, kExitOk) << Describe(dry);
  const std::string run_id = RunIdOf(dry.out);
  EXPECT_THAT(dry.out, HasSubstr(": sync_all (dry run) started"));
  EXPECT_THAT(dry.out, HasSubstr("\n  would_create meta    acme/about\n"));
  EXPECT_THAT(Items(dry.out),
              UnorderedElementsAreArray(Concat(
                  Expected("would_create meta", {"acme", "globex"}, kModules),
                  Expected("would_create setting", {"acme", "globex"},
                           kEnabledModules))));
  EXPECT_TRUE(MatchesFully(
      SummaryLine(dry.out, run_id),
      absl::StrCat("run ", run_id,
                   R"( rolled back \(dry run: nothing was written\) in .*)")))
      << dry.out;
  EXPECT_THAT(dry.out, HasSubstr("\n  would_create: 8 metas, 6 settings\n"));
  EXPECT_EQ(db_.DataChecksum(), before);

  // The real run does exactly what the dry run announced.
  const CommandResult real = Ctl({"all", "--yes"});
  ASSERT_EQ(real.exit_code, kExitOk) << Describe(real);
  std::vector<std::string> announced = ItemsWith(dry.out, "would_create");
  EXPECT_THAT(ItemsWith(real.out, "created"),
              UnorderedElementsAreArray(announced));
}

TEST_F(CliTest, RemovedModuleDirectoryIsDeletedByAll) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  modules_.Remove("blog");

  const CommandResult r = Ctl({"all", "--yes"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  deleted      meta    acme/blog  "
                               "orphan: module directory is gone\n"));
  EXPECT_THAT(Items(r.out), UnorderedElementsAre("deleted setting acme/blog",
                                                 "deleted setting globex/blog",
                                                 "deleted meta acme/blog",
                                                 "deleted meta globex/blog"));
  EXPECT_THAT(r.out, HasSubstr("\n  deleted:     2 metas, 2 settings\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  exists:      6 metas, 4 settings\n"));

  EXPECT_EQ(Count("module_meta", "name = 'blog'"), "0");
  EXPECT_EQ(Count("module_settings", "module = 'blog'"), "0");
  EXPECT_EQ(Count("module_meta", "true"), "6");
  EXPECT_EQ(Count("module_settings", "true"), "4");
  EXPECT_EQ(Count("sync_archive", "true"), "4");
}

TEST_F(CliTest, AllRefusesToDeleteMostOfATenantsMetasWithoutForce) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  for (const char* module : {"blog", "faq", "newsletter"}) {
    modules_.Remove(module);
  }
  const std::string before = db_.DataChecksum();

  const CommandResult refused = Ctl({"all", "--yes"});
  EXPECT_EQ(refused.exit_code, kExitFailure) << Describe(refused);
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("FAILED_PRECONDITION"),
                    HasSubstr("acme (3 of 4 metas)"), HasSubstr("--force")));
  EXPECT_THAT(ItemsWith(refused.out, "deleted"), IsEmpty());
  EXPECT_EQ(db_.DataChecksum(), before);

  const CommandResult forced = Ctl({"all", "--yes", "--force"});
  ASSERT_EQ(forced.exit_code, kExitOk) << Describe(forced);
  EXPECT_THAT(forced.out, HasSubstr("\n  deleted:     6 metas, 4 settings\n"));
  EXPECT_EQ(db_.Scalar("SELECT string_agg(tenant || '/' || name, ',' "
                       "ORDER BY tenant, name) FROM module_meta"),
            "acme/about,globex/about");
}

TEST_F(CliTest, AllRefusesAnEmptyModulesRootEvenWithForce) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  for (const std::string& module : kModules) modules_.Remove(module);
  const std::string before = db_.DataChecksum();

  // Only "_shared" and "index.ts" are left: no module at all.
  const CommandResult r = Ctl({"all", "--yes", "--force"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("FAILED_PRECONDITION"),
                           HasSubstr("no module directories")));
  EXPECT_EQ(db_.DataChecksum(), before);
}

// ---------------------------------------------------- the other operations

TEST_F(CliTest, MetaSeedsOnlyMetas) {
  AddTenant("acme");

  const CommandResult r = Ctl({"meta"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(": seed_meta started (4 modules, 1 tenant)"));
  EXPECT_THAT(Items(r.out), UnorderedElementsAreArray(
                                Expected("created meta", {"acme"}, kModules)));
  EXPECT_THAT(r.out, HasSubstr("\n  created:     4 metas\n"));
  EXPECT_EQ(Count("module_meta", "true"), "4");
  EXPECT_EQ(Count("module_settings", "true"), "0");
}

TEST_F(CliTest, SettingsSeedsSettingsOfEnabledMetas) {
  AddTenant("acme");
  ASSERT_EQ(Ctl({"meta"}).exit_code, kExitOk);

  const CommandResult r = Ctl({"settings"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(Items(r.out), UnorderedElementsAreArray(Expected(
                                "created setting", {"acme"}, kEnabledModules)));
  EXPECT_THAT(r.out, HasSubstr("\n  created:     3 settings\n"));
  EXPECT_EQ(Count("module_settings", "module = 'newsletter'"), "0");

  const CommandResult again = Ctl({"settings"});
  ASSERT_EQ(again.exit_code, kExitOk) << Describe(again);
  EXPECT_THAT(Items(again.out), IsEmpty());
  EXPECT_THAT(again.out, HasSubstr("\n  exists:      3 settings\n"));
}

TEST_F(CliTest, HealthRepairsMissingSettings) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  db_.Exec(
      "DELETE FROM module_settings "
      "WHERE tenant = 'acme' AND module = 'blog'");

  const CommandResult r = Ctl({"health"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(ItemsWith(r.out, "created"), ElementsAre("setting acme/blog"));
  EXPECT_THAT(r.out, HasSubstr("\n  created:     1 setting\n"));
  // Disabled modules are reported, not repaired.
  EXPECT_THAT(
      ItemsWith(r.out, "skipped"),
      UnorderedElementsAre("meta acme/newsletter", "meta globex/newsletter"));
  EXPECT_EQ(Count("module_settings", "true"), "6");
}

TEST_F(CliTest, HealthCheckExitsZeroWithoutDrift) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());

  const CommandResult r = Ctl({"health", "--check"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("0 missing settings, 0 orphan metas, "
                               "2 disabled metas, 0 inactive tenants with "
                               "rows: no drift"));
  EXPECT_THAT(r.out, HasSubstr(" rolled back (report only: nothing was "
                               "written) in "));
}

TEST_F(CliTest, HealthCheckExitsThreeOnDriftAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  db_.Exec(
      "DELETE FROM module_settings "
      "WHERE tenant = 'acme' AND module = 'blog'");
  const std::string before = db_.DataChecksum();

  const CommandResult r = Ctl({"health", "--check"});
  EXPECT_EQ(r.exit_code, kExitDrift) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  would_create setting acme/blog  "
                               "missing setting\n"));
  EXPECT_THAT(r.out, HasSubstr("1 missing settings, 0 orphan metas, "
                               "2 disabled metas, 0 inactive tenants with "
                               "rows: drift found"));
  EXPECT_THAT(ItemsWith(r.out, "created"), IsEmpty());
  EXPECT_EQ(db_.DataChecksum(), before);

  // A repair clears the drift.
  ASSERT_EQ(Ctl({"health"}).exit_code, kExitOk);
  const CommandResult after = Ctl({"health", "--check"});
  EXPECT_EQ(after.exit_code, kExitOk) << Describe(after);
}

TEST_F(CliTest, HealthCheckReportsOrphansWithoutDeletingThem) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  modules_.Remove("faq");
  const std::string before = db_.DataChecksum();

  const CommandResult r = Ctl({"health", "--check"});
  EXPECT_EQ(r.exit_code, kExitDrift) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  skipped      meta    acme/faq  orphan: "));
  EXPECT_THAT(r.out, HasSubstr("2 orphan metas"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(CliTest, HealthCheckReportsAnInactiveTenantWithRows) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  ASSERT_EQ(Ctl({"tenants", "deactivate", "globex"}).exit_code, kExitOk);

  const CommandResult r = Ctl({"health", "--check"});
  EXPECT_EQ(r.exit_code, kExitDrift) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  skipped      tenant  globex  inactive "
                               "tenant still has 4 metas and 3 settings\n"));
  EXPECT_THAT(r.out, HasSubstr("1 inactive tenants with rows: drift found"));
}

TEST_F(CliTest, TenantSeedsOneTenantOnly) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  AddTenant("hooli");
  const std::string acme = TenantFingerprint("acme");

  const CommandResult r = Ctl({"tenant", "hooli"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(": seed_tenant started (4 modules, 1 tenant)"));
  EXPECT_THAT(Items(r.out),
              UnorderedElementsAreArray(Concat(
                  Expected("created meta", {"hooli"}, kModules),
                  Expected("created setting", {"hooli"}, kEnabledModules))));
  EXPECT_EQ(TenantFingerprint("acme"), acme);
  EXPECT_EQ(Count("module_meta", "true"), "12");
}

TEST_F(CliTest, TenantFailsForAnUnknownOrInactiveTenant) {
  AddTenant("initech", /*active=*/false);

  CommandResult r = Ctl({"tenant", "ghost"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("NOT_FOUND"), HasSubstr("\"ghost\"")));

  r = Ctl({"tenant", "initech"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(
      r.err, AllOf(HasSubstr("FAILED_PRECONDITION"), HasSubstr("\"initech\"")));
  EXPECT_EQ(Count("module_meta", "true"), "0");
}

TEST_F(CliTest, ModuleSeedsOneModuleForEveryActiveTenant) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  modules_.WriteFile("events/module.json", R"({"icon": "calendar"})");

  const CommandResult r = Ctl({"module", "events"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr(": seed_module started (1 module, 2 tenants)"));
  EXPECT_THAT(Items(r.out),
              UnorderedElementsAre("created meta acme/events",
                                   "created meta globex/events",
                                   "created setting acme/events",
                                   "created setting globex/events"));
  EXPECT_EQ(Count("module_meta", "name = 'events' AND icon = 'calendar'"), "2");
  EXPECT_EQ(Count("module_meta", "tenant = 'initech'"), "0");
}

TEST_F(CliTest, ModuleFailsForAnUnknownModule) {
  AddTenant("acme");

  // Names are matched exactly: "Blog" is not "blog".
  for (const std::string name : {"ghost", "Blog"}) {
    const CommandResult r = Ctl({"module", name});
    EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("NOT_FOUND"),
                             HasSubstr(absl::StrCat("\"", name, "\""))));
  }
  // Not a module name at all.
  const CommandResult r = Ctl({"module", "_shared"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_EQ(Count("module_meta", "true"), "0");
}

// ------------------------------------------------ remove-tenant, restore

TEST_F(CliTest, RemoveTenantDeletesOnlyThatTenant) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const std::string globex = TenantFingerprint("globex");
  const std::string initech = TenantFingerprint("initech");

  const CommandResult r = Ctl({"remove-tenant", "acme", "--yes"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  deleted      tenant  acme\n"));
  EXPECT_THAT(Items(r.out),
              UnorderedElementsAreArray(Concat(
                  Concat(Expected("deleted setting", {"acme"}, kEnabledModules),
                         Expected("deleted meta", {"acme"}, kModules)),
                  {"deleted tenant acme"})));
  EXPECT_THAT(r.out,
              HasSubstr("\n  deleted:     1 tenant, 4 metas, 3 settings\n"));

  EXPECT_EQ(Count("tenants", "slug = 'acme'"), "0");
  EXPECT_EQ(Count("module_meta", "tenant = 'acme'"), "0");
  EXPECT_EQ(Count("module_settings", "tenant = 'acme'"), "0");
  EXPECT_EQ(TenantFingerprint("globex"), globex);
  EXPECT_EQ(TenantFingerprint("initech"), initech);
}

TEST_F(CliTest, RemoveTenantDryRunWouldDeleteAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const std::string before = db_.DataChecksum();

  const CommandResult r = Ctl({"remove-tenant", "acme", "--dry-run"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  would_delete tenant  acme\n"));
  EXPECT_THAT(ItemsWith(r.out, "would_delete"), SizeIs(8)) << r.out;
  EXPECT_THAT(ItemsWith(r.out, "deleted"), IsEmpty());
  EXPECT_THAT(r.out, HasSubstr(" rolled back (dry run: nothing was written)"));
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(Count("sync_archive", "true"), "0");
}

TEST_F(CliTest, RemoveTenantFailsForAnUnknownTenant) {
  const CommandResult r = Ctl({"remove-tenant", "ghost", "--yes"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("NOT_FOUND"), HasSubstr("\"ghost\"")));
}

TEST_F(CliTest, RestoreBringsTheRemovedTenantBack) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const std::string before = db_.DataChecksum();
  const CommandResult removed = Ctl({"remove-tenant", "acme", "--yes"});
  ASSERT_EQ(removed.exit_code, kExitOk) << Describe(removed);
  const std::string remove_id = RunIdOf(removed.out);
  ASSERT_FALSE(remove_id.empty()) << removed.out;

  const CommandResult r = Ctl({"restore", remove_id});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("\n  created      tenant  acme  restored\n"));
  EXPECT_THAT(Items(r.out),
              UnorderedElementsAreArray(Concat(
                  Concat(Expected("created setting", {"acme"}, kEnabledModules),
                         Expected("created meta", {"acme"}, kModules)),
                  {"created tenant acme"})));
  // Every row is back exactly as it was.
  EXPECT_EQ(db_.DataChecksum(), before);

  // Restoring twice puts nothing back twice.
  const CommandResult again = Ctl({"restore", remove_id});
  ASSERT_EQ(again.exit_code, kExitOk) << Describe(again);
  EXPECT_THAT(ItemsWith(again.out, "created"), IsEmpty());
  EXPECT_THAT(ItemsWith(again.out, "skipped"), SizeIs(8));
  EXPECT_THAT(again.out, HasSubstr("exists again: left as it is"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(CliTest, RestoreFailsForAnUnknownRun) {
  const CommandResult r =
      Ctl({"restore", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
}

// ------------------------------------------------------------- run journal

TEST_F(CliTest, RunsListsTheJournaledRunsNewestFirst) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const CommandResult dry = Ctl({"remove-tenant", "globex", "--dry-run"});
  const CommandResult removed = Ctl({"remove-tenant", "acme", "--yes"});
  ASSERT_EQ(removed.exit_code, kExitOk) << Describe(removed);
  const std::string dry_id = RunIdOf(dry.out);
  const std::string remove_id = RunIdOf(removed.out);

  const CommandResult r = Ctl({"runs"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4)) << r.out;
  EXPECT_THAT(
      absl::StrSplit(lines[0], ' ', absl::SkipEmpty()),
      ElementsAre("ID", "OPERATION", "OUTCOME", "DRY", "STARTED", "CHANGES"));
  EXPECT_THAT(
      lines[1],
      AllOf(HasSubstr(remove_id), HasSubstr("remove_tenant"),
            HasSubstr("committed"), HasSubstr("deleted 4 meta"),
            HasSubstr("deleted 3 setting"), HasSubstr("deleted 1 tenant")));
  EXPECT_THAT(lines[2], AllOf(HasSubstr(dry_id), HasSubstr("remove_tenant"),
                              HasSubstr("rolled_back"), HasSubstr(" yes "),
                              HasSubstr("would_delete 4 meta")));
  EXPECT_THAT(lines[3], AllOf(HasSubstr("sync_all"), HasSubstr("committed"),
                              HasSubstr(" no "), HasSubstr("created 8 meta"),
                              HasSubstr("created 6 setting")));
}

TEST_F(CliTest, RunShowsOneJournaledRun) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  const CommandResult removed = Ctl({"remove-tenant", "acme", "--yes"});
  const std::string remove_id = RunIdOf(removed.out);
  ASSERT_FALSE(remove_id.empty()) << Describe(removed);

  const CommandResult r = Ctl({"run", remove_id});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat("id:            ", remove_id, "\n")));
  EXPECT_THAT(r.out, HasSubstr("operation:     remove_tenant\n"));
  EXPECT_THAT(r.out, HasSubstr(R"(parameters:    {"tenant": "acme"})"));
  EXPECT_THAT(r.out, HasSubstr("dry run:       no\n"));
  EXPECT_THAT(r.out, HasSubstr("outcome:       committed\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  deleted      meta     4\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  deleted      setting  3\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("finished:      -")));

  // Run ids are accepted in upper case too.
  std::string upper = remove_id;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  const CommandResult shouted = Ctl({"run", upper});
  EXPECT_EQ(shouted.exit_code, kExitOk) << Describe(shouted);
  EXPECT_THAT(shouted.out, HasSubstr(remove_id));
}

TEST_F(CliTest, RunsPages) {
  AddTenant("acme");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const CommandResult r = Ctl({"meta"});
    ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
    ids.push_back(RunIdOf(r.out));
  }

  CommandResult r = Ctl({"runs", "--page-size", "2"});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(4)) << r.out;
  EXPECT_THAT(lines[1], HasSubstr(ids[2]));
  EXPECT_THAT(lines[2], HasSubstr(ids[1]));
  EXPECT_EQ(lines[3], absl::StrCat("(more: --page-token ", ids[1], ")"));

  r = Ctl({"runs", "--page-size", "2", "--page-token", ids[1]});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  lines = Lines(r.out);
  ASSERT_THAT(lines, SizeIs(2)) << r.out;
  EXPECT_THAT(lines[1], AllOf(HasSubstr(ids[0]), HasSubstr("created 4 meta")));
}

TEST_F(CliTest, RunFailsForAnUnknownOrMalformedId) {
  CommandResult r = Ctl({"run", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));

  r = Ctl({"run", "not-a-run-id"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("INVALID_ARGUMENT"),
                           HasSubstr("\"not-a-run-id\"")));
}

// ------------------------------------------------- usage and connectivity

TEST_F(CliTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> usage_errors = {
      {},                         // No subcommand.
      {"frobnicate"},             // Unknown subcommand.
      {"tenant"},                 // Missing SLUG.
      {"remove-tenant"},          // Missing SLUG.
      {"tenants", "add"},         // Missing SLUG.
      {"tenants"},                // Missing sub-subcommand.
      {"all", "--no-such-flag"},  // Unknown flag.
      {"tenant", "ac\xFFme"},     // Not UTF-8: proto3 strings must be.
      {"tenants", "add", "acme", "--name", "en=A", "--name", "B"},  // en twice.
      {"--timeout", "nan", "all"},
      {"--timeout", "1e17", "all"},
      {"--addr", "", "all"},
      {"--addr", "127.0.0.1", "all"},
      {"--addr", "127.0.0.1:99999", "all"},
  };
  for (const auto& args : usage_errors) {
    const CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, kExitUsage)
        << "syncctl " << absl::StrJoin(args, " ") << "\n"
        << Describe(r);
  }
  EXPECT_EQ(Count("sync_runs", "true"), "0");
}

TEST_F(CliTest, HelpExitsZero) {
  const CommandResult top = Ctl({"--help"});
  EXPECT_EQ(top.exit_code, kExitOk) << Describe(top);
  for (const char* command :
       {"all", "meta", "settings", "health", "tenant", "module",
        "remove-tenant", "restore", "tenants", "runs", "run"}) {
    EXPECT_THAT(top.out, HasSubstr(absl::StrCat("\n  ", command, " ")));
  }

  const CommandResult all = Ctl({"all", "--help"});
  EXPECT_EQ(all.exit_code, kExitOk) << Describe(all);
  EXPECT_THAT(all.out, AllOf(HasSubstr("--dry-run"), HasSubstr("--force"),
                             HasSubstr("--unchanged")));
  EXPECT_EQ(Count("sync_runs", "true"), "0");
}

TEST_F(CliTest, UnreachableServerFailsWithUnavailable) {
  const std::vector<std::vector<std::string>> commands = {{"all", "--yes"},
                                                          {"tenants", "list"}};
  for (const auto& args : commands) {
    const CommandResult r = RunSyncctl(kDeadAddress, args);
    EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
    EXPECT_THAT(r.err,
                AllOf(HasSubstr("UNAVAILABLE"), HasSubstr(kDeadAddress)));
  }
}

TEST_F(CliTest, AddressComesFromTheEnvironmentUnlessGiven) {
  AddTenant("acme");
  const std::string syncctl = BinaryPath("syncctl");

  CommandResult r = RunCommand({syncctl, "tenants", "list"},
                               {{"SYNCCTL_ADDR", syncd_->address()}});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("acme"));

  r = RunCommand({syncctl, "tenants", "list"},
                 {{"SYNCCTL_ADDR", kDeadAddress}});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr(kDeadAddress));

  // A flag wins over the variable.
  r = RunCommand({syncctl, "--addr", syncd_->address(), "tenants", "list"},
                 {{"SYNCCTL_ADDR", kDeadAddress}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
}

// ------------------------------------------------ locks and cancellation

TEST_F(CliTest, LockedOutRunFailsWithAbortedNamingTheHolder) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  SyncdProcess impatient(db_.conninfo(), modules_.str(),
                         {"--lock-timeout", "1"});
  TableLock lock(db_.conninfo(), "tenants");
  std::string holder;
  auto first = StartBlockedAll(syncd_->address(), &holder);
  ASSERT_FALSE(holder.empty()) << "the first run never blocked";

  const CommandResult r = RunSyncctl(impatient.address(), {"all", "--yes"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err,
              AllOf(HasSubstr("ABORTED"),
                    HasSubstr(absl::StrCat("run ", holder, " (sync_all"))));

  // The holder finishes normally once it can.
  lock.Release();
  const CommandResult done = first->Wait(30);
  EXPECT_EQ(done.exit_code, kExitOk) << Describe(done);
  EXPECT_EQ(OutcomeOf(holder), "committed");
}

TEST_F(CliTest, InterruptCancelsAWaitingRunAndExits130) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  TableLock lock(db_.conninfo(), "tenants");
  std::string holder;
  auto first = StartBlockedAll(syncd_->address(), &holder);
  ASSERT_FALSE(holder.empty()) << "the first run never blocked";

  // The second run waits for the global lock that the first one holds.
  BackgroundCommand second(
      {BinaryPath("syncctl"), "--addr", syncd_->address(), "all", "--yes"});
  const std::string waiting_sql = absl::StrCat(
      "SELECT coalesce(max(id::text), '') FROM sync_runs "
      "WHERE outcome = 'running' AND id <> '",
      holder, "'");
  std::string waiting;
  ASSERT_TRUE(WaitUntil([&] {
    waiting = db_.Scalar(waiting_sql);
    return !waiting.empty();
  }));

  second.Signal(SIGINT);
  const CommandResult r = second.Wait(10);
  EXPECT_EQ(r.signal, 0) << "syncctl was killed by SIGINT instead of "
                            "cancelling the run\n"
                         << Describe(r);
  EXPECT_EQ(r.exit_code, 130) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("interrupted; the run was cancelled"));
  EXPECT_TRUE(WaitUntil([&] { return OutcomeOf(waiting) == "cancelled"; }))
      << "outcome " << OutcomeOf(waiting);

  lock.Release();
  EXPECT_EQ(first->Wait(30).exit_code, kExitOk);
}

TEST_F(CliTest, InterruptCancelsARunBlockedInAStatement) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  TableLock lock(db_.conninfo(), "tenants");
  std::string run_id;
  auto blocked = StartBlockedAll(syncd_->address(), &run_id);
  ASSERT_FALSE(run_id.empty()) << "the run never blocked";

  blocked->Signal(SIGINT);
  const CommandResult r = blocked->Wait(10);
  EXPECT_EQ(r.exit_code, 130) << Describe(r);

  // The server must stop the run (and free the global lock) now, not
  // whenever the statement it waits in happens to return.
  EXPECT_TRUE(WaitUntil([&] { return OutcomeOf(run_id) == "cancelled"; },
                        /*timeout_s=*/10))
      << "outcome " << OutcomeOf(run_id) << " while the table lock is held";
  lock.Release();
}

TEST_F(CliTest, InterruptWithJsonOutputEndsWithACancelledErrorObject) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  TableLock lock(db_.conninfo(), "tenants");
  std::string run_id;
  auto blocked = StartBlockedAll(syncd_->address(), &run_id, {"-o", "json"});
  ASSERT_FALSE(run_id.empty()) << "the run never blocked";

  blocked->Signal(SIGINT);
  const CommandResult r = blocked->Wait(10);
  lock.Release();
  EXPECT_EQ(r.exit_code, 130) << Describe(r);
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, Not(IsEmpty())) << Describe(r);
  const nlohmann::json last = nlohmann::json::parse(lines.back());
  EXPECT_EQ(last["event"], "error") << last;
  EXPECT_EQ(last["code"], "CANCELLED") << last;
  EXPECT_THAT(last["message"].get<std::string>(), HasSubstr("rolled back"));
}

// A unary call interrupted while syncd works on it (here blocked behind a
// table lock) ends like a run: exit 130 and, in JSON, a CANCELLED object.
TEST_F(CliTest, InterruptOfAUnaryCallExits130) {
  ASSERT_NO_FATAL_FAILURE(SetUpSyncedTenants());
  TableLock lock(db_.conninfo(), "tenants");
  BackgroundCommand listing({BinaryPath("syncctl"), "--addr", syncd_->address(),
                             "-o", "json", "tenants", "list"});
  ASSERT_TRUE(WaitUntil([&] {
    return db_.Scalar(
               "SELECT count(*) FROM pg_stat_activity "
               "WHERE wait_event_type = 'Lock' "
               "AND datname = current_database()") != "0";
  })) << "the listing never blocked";

  listing.Signal(SIGTERM);
  const CommandResult r = listing.Wait(10);
  lock.Release();
  EXPECT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 130) << Describe(r);
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(1)) << Describe(r);
  const nlohmann::json error = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(error["event"], "error") << error;
  EXPECT_EQ(error["code"], "CANCELLED") << error;
  EXPECT_THAT(r.err, HasSubstr("interrupted"));
}

// A database that refuses syncd is syncd's UNAVAILABLE: the message must
// not send the operator looking for syncd or its TLS settings, as it does
// when syncd itself cannot be reached.
TEST_F(CliTest, DatabaseOutageIsNotBlamedOnReachingSyncd) {
  pqxx::connection admin(ConninfoForDatabase("postgres"));
  const auto allow = [&](bool yes) {
    pqxx::nontransaction(admin).exec(
        absl::StrCat("ALTER DATABASE ", admin.quote_name(db_.name()),
                     " ALLOW_CONNECTIONS ", yes ? "true" : "false"));
  };
  allow(false);
  const CommandResult outage = Ctl({"tenants", "list"});
  const CommandResult run = Ctl({"meta"});
  allow(true);

  for (const CommandResult* r : {&outage, &run}) {
    EXPECT_EQ(r->exit_code, kExitFailure) << Describe(*r);
    EXPECT_THAT(r->err, HasSubstr("UNAVAILABLE")) << Describe(*r);
    EXPECT_THAT(r->err, HasSubstr("not currently accepting connections"));
    EXPECT_THAT(r->err, Not(HasSubstr("is syncd running"))) << r->err;
    EXPECT_THAT(r->err, Not(HasSubstr("--tls"))) << r->err;
  }

  const CommandResult unreachable =
      RunSyncctl("127.0.0.1:1", {"tenants", "list", "--timeout", "5"});
  EXPECT_EQ(unreachable.exit_code, kExitFailure) << Describe(unreachable);
  EXPECT_THAT(unreachable.err, HasSubstr("is syncd running at 127.0.0.1:1"));
}

// ---------------------------------------------------------- syncd itself

class SyncdTest : public ::testing::Test {
 protected:
  void SetUp() override { modules_.MakeDir("blog"); }

  TestDatabase db_;
  TempDir modules_;
};

TEST_F(SyncdTest, StopsCleanlyOnSigterm) {
  SyncdProcess syncd(db_.conninfo(), modules_.str());
  ASSERT_EQ(RunSyncctl(syncd.address(), {"tenants", "list"}).exit_code,
            kExitOk);

  EXPECT_EQ(syncd.Stop(SIGTERM), 0) << syncd.Log();
  const std::string log = syncd.Log();
  EXPECT_THAT(log, HasSubstr("syncd serving address=127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr("shutting down"));
  EXPECT_THAT(log, HasSubstr("syncd stopped"));

  const CommandResult r = RunSyncctl(syncd.address(), {"tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(SyncdTest, SigtermStopsSyncdWhileARunIsBlockedInAStatement) {
  SyncdProcess syncd(db_.conninfo(), modules_.str(), {"--shutdown-grace", "1"});
  ASSERT_EQ(RunSyncctl(syncd.address(), {"tenants", "add", "acme"}).exit_code,
            kExitOk);
  TableLock lock(db_.conninfo(), "tenants");
  BackgroundCommand client(
      {BinaryPath("syncctl"), "--addr", syncd.address(), "all", "--yes"});
  ASSERT_TRUE(WaitUntil([&] {
    return db_.Scalar(
               "SELECT count(*) FROM pg_stat_activity "
               "WHERE application_name LIKE 'syncd run %' "
               "AND wait_event_type = 'Lock' "
               "AND datname = current_database()") == "1";
  }));

  // A one-second grace period, then the run must be abandoned: syncd
  // exits even though the statement is still waiting for the lock.
  EXPECT_EQ(syncd.Stop(SIGTERM, /*timeout_s=*/10), 0)
      << "syncd did not stop within 10 s of SIGTERM\n"
      << syncd.Log();
  EXPECT_THAT(syncd.Log(), HasSubstr("syncd stopped"));
  const CommandResult r = client.Wait(10);
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  lock.Release();
}

TEST_F(SyncdTest, MissingModulesRootStartsButAllFails) {
  const std::string missing = (modules_.path() / "no-such-dir").string();
  SyncdProcess syncd(db_.conninfo(), missing);
  ASSERT_EQ(RunSyncctl(syncd.address(), {"tenants", "add", "acme"}).exit_code,
            kExitOk);
  const std::string before = db_.DataChecksum();

  const CommandResult r = RunSyncctl(syncd.address(), {"all", "--yes"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err,
              AllOf(HasSubstr("FAILED_PRECONDITION"), HasSubstr("no-such-dir"),
                    HasSubstr("does not exist")));
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(db_.Scalar("SELECT outcome FROM sync_runs"), "failed");
}

TEST_F(SyncdTest, BadLocalesFailAtStartup) {
  const CommandResult r = RunCommand(
      {BinaryPath("syncd"), "--listen", "127.0.0.1:0", "--db", db_.conninfo(),
       "--modules-dir", modules_.str(), "--locales", "xx,XX"},
      {}, /*timeout_s=*/30);
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.exit_code, -1) << "syncd kept running\n" << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("invalid configuration"),
                           HasSubstr("--locales"), HasSubstr("XX")));
}

TEST_F(SyncdTest, ListenAddressWithoutAValidPortFailsAtStartup) {
  for (const char* listen : {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x"}) {
    const CommandResult r =
        RunCommand({BinaryPath("syncd"), "--listen", listen, "--db",
                    db_.conninfo(), "--modules-dir", modules_.str()},
                   {}, /*timeout_s=*/30);
    EXPECT_EQ(r.exit_code, 2) << listen << "\n" << Describe(r);
    EXPECT_THAT(r.err, HasSubstr("--listen")) << listen;
  }
}

// gRPC would otherwise set SO_REUSEPORT, and a second server (perhaps with
// another modules root) would silently take half of the first one's calls.
TEST_F(SyncdTest, SecondServerOnABusyPortFailsToStart) {
  SyncdProcess first(db_.conninfo(), modules_.str());
  const CommandResult r =
      RunCommand({BinaryPath("syncd"), "--listen", first.address(), "--db",
                  db_.conninfo(), "--modules-dir", modules_.str()},
                 {}, /*timeout_s=*/30);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("cannot listen"));
}

TEST_F(SyncdTest, UnwritablePortFileFailsAtStartup) {
  const CommandResult r =
      RunCommand({BinaryPath("syncd"), "--listen", "127.0.0.1:0", "--port-file",
                  "/nonexistent/dir/port", "--db", db_.conninfo(),
                  "--modules-dir", modules_.str()},
                 {}, /*timeout_s=*/30);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("cannot write the port file"));
}

TEST_F(SyncdTest, MigrateCreatesTheTablesAndExits) {
  const std::vector<std::string> migrate = {BinaryPath("syncd"), "migrate",
                                            "--db", db_.conninfo()};
  CommandResult r = RunCommand(migrate, {}, /*timeout_s=*/60);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("schema migrated"));
  for (const char* table : {"tenants", "module_meta", "module_settings",
                            "sync_runs", "sync_archive", "schema_migrations"}) {
    EXPECT_EQ(db_.Scalar(absl::StrCat("SELECT to_regclass('public.", table,
                                      "') IS NOT NULL")),
              "t")
        << table;
  }

  // Migrating again is a no-op.
  r = RunCommand(migrate, {}, /*timeout_s=*/60);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM schema_migrations"), "1");
}

}  // namespace
}  // namespace syncadmin::testing
