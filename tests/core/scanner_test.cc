#include "core/scanner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/manifest.h"
#include "core/validation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace syncadmin::core {
namespace {

namespace fs = std::filesystem;

using ::syncadmin::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::vector<std::string> kLocales = {"tr", "en", "de", "pl", "fr", "es"};

std::vector<std::string> Names(const std::vector<ModuleDefaults>& modules) {
  std::vector<std::string> names;
  for (const auto& m : modules) names.push_back(m.name);
  return names;
}

class ScannerTest : public ::testing::Test {
 protected:
  std::string root() const { return dir_.str(); }

  absl::StatusOr<std::vector<ModuleDefaults>> Scan() const {
    return ScanModulesRoot(root(), kLocales);
  }

  // Scans and expects kFailedPrecondition with every `parts` in the message.
  void ExpectScanFails(const std::vector<std::string>& parts) const {
    auto result = Scan();
    ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition)
        << result.status();
    for (const auto& part : parts) {
      EXPECT_THAT(result.status().message(), HasSubstr(part));
    }
  }

  std::string ManifestPath(const std::string& module) const {
    return (dir_.path() / module / "module.json").string();
  }

  TempDir dir_;
};

TEST_F(ScannerTest, ListsDirectSubdirectoriesSorted) {
  for (const char* name : {"users", "Blog", "analytics", "Zeta", "blog-2"}) {
    dir_.MakeDir(name);
  }
  dir_.MakeDir("users/nested");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules),
              ElementsAre("Blog", "Zeta", "analytics", "blog-2", "users"));
}

TEST_F(ScannerTest, EmptyRootHasNoModules) {
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(*modules, IsEmpty());
}

TEST_F(ScannerTest, SkipsUnderscoreAndDotEntries) {
  dir_.MakeDir("_shared");
  dir_.MakeDir(".git");
  dir_.MakeDir("_9 bad name");
  dir_.MakeDir(".also bad");
  dir_.MakeDir("Blog");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("Blog"));
}

TEST_F(ScannerTest, SkipsPlainFiles) {
  dir_.WriteFile("README.md", "modules");
  dir_.WriteFile("index.ts", "export {}");
  dir_.WriteFile("bad name.txt", "");
  dir_.WriteFile("9lives", "");
  dir_.MakeDir("Blog");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("Blog"));
}

TEST_F(ScannerTest, NamesAreKeptExactly) {
  dir_.MakeDir("UserProfile");
  dir_.MakeDir("user_settings");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("UserProfile", "user_settings"));
  EXPECT_EQ((*modules)[0].stats_key, "UserProfile");
  EXPECT_EQ((*modules)[0].label.at("en"), "UserProfile");
}

TEST_F(ScannerTest, ModuleWithoutManifestGetsDefaults) {
  dir_.MakeDir("Blog");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  ASSERT_EQ(modules->size(), 1u);
  const ModuleDefaults& m = (*modules)[0];
  const ModuleDefaults expected = DefaultsFor("Blog", kLocales);
  EXPECT_EQ(m.label, expected.label);
  EXPECT_EQ(m.icon, "box");
  EXPECT_THAT(m.roles, ElementsAre("admin"));
  EXPECT_TRUE(m.enabled);
  EXPECT_EQ(m.order, 0);
  EXPECT_EQ(m.version, "1.0.0");
  EXPECT_EQ(m.stats_key, "Blog");
}

TEST_F(ScannerTest, InvalidNamesFailNamingTheEntry) {
  for (const std::string& bad : std::vector<std::string>{
           "bad name", "9lives", "\xC3\xBC-mod", std::string(65, 'm'), "a.b"}) {
    SCOPED_TRACE(QuoteForMessage(bad));
    TempDir dir;
    dir.MakeDir("Good");
    dir.MakeDir(bad);
    auto result = ScanModulesRoot(dir.str(), kLocales);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(result.status().message(), HasSubstr(QuoteForMessage(bad)));
    EXPECT_THAT(result.status().message(),
                HasSubstr(std::string(kModuleNameRule)));
  }
}

TEST_F(ScannerTest, SixtyFourCharacterNameIsAccepted) {
  dir_.MakeDir(std::string(64, 'm'));
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre(std::string(64, 'm')));
}

TEST_F(ScannerTest, NamesDifferingOnlyByCaseFailNamingBoth) {
  dir_.MakeDir("Blog");
  dir_.MakeDir("blog");
  dir_.MakeDir("Users");
  ExpectScanFails({"\"Blog\"", "\"blog\"", "letter case"});
}

TEST_F(ScannerTest, EveryProblemIsReported) {
  dir_.MakeDir("bad name");
  dir_.MakeDir("Blog");
  dir_.MakeDir("BLOG");
  dir_.MakeDir("Ok");
  dir_.WriteFile("Ok/module.json", "[]");
  ExpectScanFails({"\"bad name\"", "\"BLOG\"", "\"Blog\"", ManifestPath("Ok")});
}

TEST_F(ScannerTest, MissingRootFails) {
  auto result = ScanModulesRoot(root() + "/nope", kLocales);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr(root() + "/nope"));
  EXPECT_THAT(result.status().message(), HasSubstr("does not exist"));
}

TEST_F(ScannerTest, RootThatIsAFileFails) {
  dir_.WriteFile("file", "x");
  auto result = ScanModulesRoot(root() + "/file", kLocales);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("not a directory"));
}

TEST_F(ScannerTest, EmptyRootPathFails) {
  EXPECT_EQ(ScanModulesRoot("", kLocales).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ScannerTest, RootReachedThroughASymlinkIsScanned) {
  TempDir other;
  dir_.MakeDir("real/Blog");
  fs::create_directory_symlink(dir_.path() / "real", other.path() / "link");
  auto result = ScanModulesRoot((other.path() / "link").string(), kLocales);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(Names(*result), ElementsAre("Blog"));
}

TEST_F(ScannerTest, SymlinkToDirectoryInsideRootCounts) {
  dir_.MakeDir("_impl/blog_v2");
  dir_.WriteFile("_impl/blog_v2/module.json", R"({"icon": "rss"})");
  fs::create_directory_symlink(dir_.path() / "_impl" / "blog_v2",
                               dir_.path() / "Blog");
  fs::create_directory_symlink("_impl", dir_.path() / "Relative");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("Blog", "Relative"));
  EXPECT_EQ((*modules)[0].icon, "rss");
}

TEST_F(ScannerTest, SymlinkToDirectoryOutsideRootFails) {
  TempDir outside;
  outside.MakeDir("Stolen");
  dir_.MakeDir("Blog");
  fs::create_directory_symlink(outside.path() / "Stolen", dir_.path() / "Evil");
  ExpectScanFails({"\"Evil\"", "leads out of the modules root"});
}

TEST_F(ScannerTest, RelativeSymlinkEscapingRootFails) {
  dir_.MakeDir("Blog");
  fs::create_directory_symlink("..", dir_.path() / "Up");
  ExpectScanFails({"\"Up\"", "leads out"});
}

TEST_F(ScannerTest, SymlinkToTheRootItselfFails) {
  fs::create_directory_symlink(".", dir_.path() / "Self");
  ExpectScanFails({"\"Self\"", "leads out"});
}

TEST_F(ScannerTest, SymlinksToFilesAreSkipped) {
  dir_.MakeDir("Blog");
  dir_.WriteFile("_notes.txt", "x");
  fs::create_symlink(dir_.path() / "_notes.txt", dir_.path() / "Notes");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("Blog"));
}

// A linked module whose target went away must not read as a deleted module,
// or the next sync would delete its rows as orphans.
TEST_F(ScannerTest, DanglingSymlinkFailsTheScan) {
  dir_.MakeDir("Blog");
  fs::create_symlink(dir_.path() / "missing", dir_.path() / "Dangling");
  ExpectScanFails({"\"Dangling\"", "target cannot be reached"});
}

TEST_F(ScannerTest, SymlinkLoopFailsTheScan) {
  dir_.MakeDir("Blog");
  fs::create_symlink(dir_.path() / "LoopB", dir_.path() / "LoopA");
  fs::create_symlink(dir_.path() / "LoopA", dir_.path() / "LoopB");
  ExpectScanFails({"\"LoopA\"", "\"LoopB\"", "in a loop"});
}

TEST_F(ScannerTest, ManifestLabelStringAppliesToEveryLocale) {
  dir_.WriteFile("Blog/module.json", R"({"label": "Web Log"})");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  ASSERT_EQ(modules->size(), 1u);
  for (const auto& locale : kLocales) {
    EXPECT_EQ((*modules)[0].label.at(locale), "Web Log") << locale;
  }
}

TEST_F(ScannerTest, ManifestLabelObjectAppliesPerLocale) {
  dir_.WriteFile("Blog/module.json",
                 R"({"label": {"de": "Tagebuch", "en": "Journal"}})");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  const auto& label = (*modules)[0].label;
  EXPECT_EQ(label.size(), kLocales.size());
  EXPECT_EQ(label.at("de"), "Tagebuch");
  EXPECT_EQ(label.at("en"), "Journal");
  EXPECT_EQ(label.at("tr"), "Blog");
  EXPECT_EQ(label.at("es"), "Blog");
}

TEST_F(ScannerTest, ManifestAppliesEveryField) {
  dir_.WriteFile("Shop/module.json", R"({
    "icon": "mdi:cart", "roles": ["sales", "admin"], "enabled": false,
    "order": 7, "version": "3.2.1", "statsKey": "shop.orders",
    "ownField": {"kept": "by the app"}})");
  dir_.MakeDir("Blog");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  ASSERT_THAT(Names(*modules), ElementsAre("Blog", "Shop"));
  const ModuleDefaults& shop = (*modules)[1];
  EXPECT_EQ(shop.icon, "mdi:cart");
  EXPECT_THAT(shop.roles, ElementsAre("sales", "admin"));
  EXPECT_FALSE(shop.enabled);
  EXPECT_EQ(shop.order, 7);
  EXPECT_EQ(shop.version, "3.2.1");
  EXPECT_EQ(shop.stats_key, "shop.orders");
  EXPECT_EQ(shop.label.at("en"), "Shop");
  const ModuleDefaults& blog = (*modules)[0];
  EXPECT_EQ(blog.icon, "box");
  EXPECT_TRUE(blog.enabled);
}

TEST_F(ScannerTest, ManifestSyntaxErrorNamesFileLineAndColumn) {
  dir_.WriteFile("Blog/module.json",
                 "{\n  \"icon\": \"box\"\n  \"order\": 1\n}");
  ExpectScanFails({ManifestPath("Blog"), "not valid JSON", "line 3", "column"});
}

TEST_F(ScannerTest, ManifestWithWrongTypesFailsNamingTheFile) {
  for (const char* text :
       {R"({"enabled": "yes"})", R"({"order": "1"})", R"({"roles": "admin"})",
        R"({"icon": 3})", R"({"label": 3})", R"({"version": 1.0})",
        R"({"statsKey": []})", "[]"}) {
    SCOPED_TRACE(text);
    TempDir dir;
    dir.WriteFile("Blog/module.json", text);
    auto result = ScanModulesRoot(dir.str(), kLocales);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(result.status().message(),
                HasSubstr((dir.path() / "Blog/module.json").string()));
  }
}

TEST_F(ScannerTest, ManifestLabelLocaleOutsideConfiguredListFails) {
  dir_.WriteFile("Blog/module.json", R"({"label": {"it": "Diario"}})");
  ExpectScanFails({ManifestPath("Blog"), "\"it\""});
  auto only_it = ScanModulesRoot(root(), {"en", "it"});
  ASSERT_TRUE(only_it.ok()) << only_it.status();
  EXPECT_EQ((*only_it)[0].label.at("it"), "Diario");
}

TEST_F(ScannerTest, OversizeManifestFails) {
  std::string text = "{\"icon\": \"box\"}";
  text.resize(kMaxManifestBytes + 1, ' ');
  dir_.WriteFile("Blog/module.json", text);
  ExpectScanFails({ManifestPath("Blog"), std::to_string(kMaxManifestBytes)});
}

TEST_F(ScannerTest, ManifestAtTheSizeLimitIsRead) {
  std::string text = "{\"icon\": \"rss\"}";
  text.resize(kMaxManifestBytes, '\n');
  dir_.WriteFile("Blog/module.json", text);
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_EQ((*modules)[0].icon, "rss");
}

TEST_F(ScannerTest, ManifestThatIsADirectoryFails) {
  dir_.MakeDir("Blog/module.json");
  ExpectScanFails({ManifestPath("Blog"), "not a regular file"});
}

TEST_F(ScannerTest, InvalidManifestOfSkippedEntryIsIgnored) {
  dir_.WriteFile("_draft/module.json", "{ broken");
  dir_.MakeDir("Blog");
  auto modules = Scan();
  ASSERT_TRUE(modules.ok()) << modules.status();
  EXPECT_THAT(Names(*modules), ElementsAre("Blog"));
}

// Runs the scan in a child process that has dropped from root to "nobody",
// for whom permissions apply. `root` and its parent must let others in.
absl::Status ScanAsNobody(const fs::path& root) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    constexpr uid_t kNobody = 65534;
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(2);
    const absl::Status s = ScanModulesRoot(root.string(), kLocales).status();
    const std::string reply =
        absl::StrCat(static_cast<int>(s.code()), " ", s.message());
    const bool written = write(fds[1], reply.data(), reply.size()) ==
                         static_cast<ssize_t>(reply.size());
    _exit(written ? 0 : 3);
  }
  close(fds[1]);
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) reply.append(buffer, n);
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::InternalError(
        absl::StrCat("unprivileged scan failed, wait status ", wstatus));
  }
  const size_t space = reply.find(' ');
  return absl::Status(
      static_cast<absl::StatusCode>(std::stoi(reply.substr(0, space))),
      reply.substr(space + 1));
}

// Permission tests drop from root to another user; as anyone else, the
// files' owner could read them all.
class ScannerPermissionTest : public ScannerTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root, to scan as nobody";
    fs::permissions(dir_.path(), kOthersMayEnter);
  }

  static constexpr fs::perms kOthersMayEnter =
      fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec;
};

TEST_F(ScannerPermissionTest, ModuleThatCannotBeEnteredFailsTheScan) {
  dir_.WriteFile("Newsletter/module.json", R"({"enabled": false})");
  dir_.MakeDir("Blog");
  fs::permissions(dir_.path() / "Blog", kOthersMayEnter);
  fs::permissions(dir_.path() / "Newsletter", fs::perms::owner_all);

  const absl::Status s = ScanAsNobody(dir_.path());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr(ManifestPath("Newsletter")));
  EXPECT_THAT(s.message(), HasSubstr("cannot be read"));
  EXPECT_THAT(s.message(), Not(HasSubstr("Blog")));
}

TEST_F(ScannerPermissionTest, RootThatCanBeListedButNotEnteredFails) {
  dir_.MakeDir("Blog");
  fs::permissions(dir_.path() / "Blog", kOthersMayEnter);
  const absl::Status entered = ScanAsNobody(dir_.path());
  ASSERT_TRUE(entered.ok()) << entered;

  fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::others_read);
  const absl::Status s = ScanAsNobody(dir_.path());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("Blog"));
  EXPECT_THAT(s.message(), HasSubstr("cannot be read"));
}

TEST_F(ScannerTest, ManyProblemsAreSummarised) {
  for (int i = 0; i < 15; ++i) dir_.MakeDir("bad " + std::to_string(i));
  auto result = Scan();
  ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("and 5 more"));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("\n")));
}

}  // namespace
}  // namespace syncadmin::core
