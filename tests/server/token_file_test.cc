#include "server/token_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fifo.h"
#include "tests/support/temp_dir.h"

namespace syncadmin::server {
namespace {

using ::syncadmin::testing::MakeFifo;
using ::syncadmin::testing::StatusUnlessStuckOnFifo;
using ::syncadmin::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

// SHA-256 of "foo" and of "bar".
constexpr char kFooHash[] =
    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
constexpr char kBarHash[] =
    "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

// Owner of the files that the ownership tests hand to another user.
constexpr uid_t kNobody = 65534;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Expects `text` to fail to parse at `line` with a message containing
// `detail`.
void ExpectParseError(const std::string& text, int line,
                      const std::string& detail) {
  absl::StatusOr<TokenTable> table = ParseTokenFile(text, "tokens.txt");
  ASSERT_FALSE(table.ok()) << text;
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(table.status().message()),
              StartsWith(absl::StrCat("tokens.txt:", line, ": ")))
      << text;
  EXPECT_THAT(table.status().message(), HasSubstr(detail)) << text;
}

TEST(TokenFileTest, HashIsSha256) {
  EXPECT_EQ(HashToHex(HashToken("foo")), kFooHash);
  EXPECT_EQ(HashToHex(HashToken("bar")), kBarHash);
}

TEST(TokenFileTest, ParsesEntriesCommentsAndBlankLines) {
  absl::StatusOr<TokenTable> table = ParseTokenFile(
      absl::StrCat("# who may call\n\nalice:admin:", kFooHash,
                   "\n#bob:admin:x\nci.bot@example-1:operator:", kBarHash,
                   "\nv:viewer:", std::string(64, '0')),
      "tokens.txt");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_THAT(table->entries(), SizeIs(3));
  EXPECT_EQ(table->entries()[0].name, "alice");
  EXPECT_EQ(table->entries()[0].role, Role::kAdmin);
  EXPECT_EQ(HashToHex(table->entries()[0].hash), kFooHash);
  EXPECT_EQ(table->entries()[1].name, "ci.bot@example-1");
  EXPECT_EQ(table->entries()[1].role, Role::kOperator);
  EXPECT_EQ(table->entries()[2].role, Role::kViewer);
}

TEST(TokenFileTest, EmptyFileHasNoEntries) {
  absl::StatusOr<TokenTable> table = ParseTokenFile("", "tokens.txt");
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(table->entries().empty());
}

TEST(TokenFileTest, FindMatchesOnlyTheTokenWhoseHashIsStored) {
  absl::StatusOr<TokenTable> table = ParseTokenFile(
      absl::StrCat("alice:admin:", kFooHash, "\nbob:viewer:", kBarHash, "\n"),
      "tokens.txt");
  ASSERT_TRUE(table.ok());
  ASSERT_NE(table->Find("foo"), nullptr);
  EXPECT_EQ(table->Find("foo")->name, "alice");
  ASSERT_NE(table->Find("bar"), nullptr);
  EXPECT_EQ(table->Find("bar")->name, "bob");
  EXPECT_EQ(table->Find("fo"), nullptr);
  EXPECT_EQ(table->Find("foo "), nullptr);
  EXPECT_EQ(table->Find(""), nullptr);
  // The file holds hashes: presenting a stored hash is not the token.
  EXPECT_EQ(table->Find(kFooHash), nullptr);
}

TEST(TokenFileTest, RejectsMalformedLinesNamingLineAndRule) {
  const std::string ok = absl::StrCat("alice:admin:", kFooHash, "\n");
  ExpectParseError(ok + "bob:viewer\n", 2,
                   "expected NAME:ROLE:SHA256-HEX, found 2");
  ExpectParseError(ok + "bob:viewer:" + kBarHash + ":x\n", 2, "found 4");
  ExpectParseError("b b:viewer:" + std::string(kBarHash), 1,
                   "the NAME field is invalid: it must match ^[A-Za-z0-9]");
  ExpectParseError(":viewer:" + std::string(kBarHash), 1,
                   "the NAME field is empty: it must match");
  ExpectParseError("-bob:viewer:" + std::string(kBarHash), 1, "must match");
  ExpectParseError(std::string(65, 'a') + ":viewer:" + kBarHash, 1,
                   "must match");
  ExpectParseError("bob:root:" + std::string(kBarHash), 1,
                   "the ROLE field is invalid: it must be viewer, operator or "
                   "admin");
  ExpectParseError("bob:Admin:" + std::string(kBarHash), 1, "ROLE field");
  ExpectParseError("bob:viewer:abc", 1,
                   "the SHA256-HEX field is not 64 lower-case hex digits");
  ExpectParseError("bob:viewer:" + absl::AsciiStrToUpper(kBarHash), 1,
                   "not 64 lower-case hex digits");
  ExpectParseError(" bob:viewer:" + std::string(kBarHash), 1, "must match");
  ExpectParseError("bob:viewer:" + std::string(kBarHash) + " ", 1,
                   "not 64 lower-case hex digits");
  ExpectParseError(ok + "bob:viewer:" + kBarHash + "\r\n", 2,
                   "carriage return");
  ExpectParseError(std::string("bo\0b:viewer:", 12) + kBarHash, 1,
                   "NAME field is invalid");
  ExpectParseError(ok + "#\n" + std::string(2000, 'x'), 3, "2000 bytes");
}

TEST(TokenFileTest, RejectsDuplicateNamesAndHashes) {
  ExpectParseError(
      absl::StrCat("alice:admin:", kFooHash, "\nalice:viewer:", kBarHash, "\n"),
      2, "the NAME field is the same as on line 1");
  ExpectParseError(
      absl::StrCat("alice:admin:", kFooHash, "\n\nbob:viewer:", kFooHash, "\n"),
      3, "the SHA256-HEX field is the same as on line 1");
}

// Someone may paste a token where the hash belongs; the error must not
// copy it into a log.
TEST(TokenFileTest, HashErrorDoesNotEchoTheField) {
  absl::StatusOr<TokenTable> table =
      ParseTokenFile("bob:viewer:sat_SECRETSECRETSECRETSECRET", "tokens.txt");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), Not(HasSubstr("SECRET")));
}

// A token pasted into any field, or a whole header pasted as the name,
// must not be copied into the error; the message names the line, the field
// and its rule instead.
TEST(TokenFileTest, ErrorsNeverEchoAField) {
  const std::string secret = "sat_SECRETSECRETSECRETSECRETSECRETSECRETSECRE";
  const std::string hash = kFooHash;
  const struct {
    std::string text;
    std::string detail;
  } kCases[] = {
      {"bob:" + secret + ":" + hash, "1: the ROLE field is invalid"},
      {"Bearer " + secret + ":admin:" + hash, "1: the NAME field is invalid"},
      {"#\n" + secret + "x" + secret + ":admin:" + hash,
       "2: the NAME field is invalid"},
      {secret + ":admin:" + secret, "1: the SHA256-HEX field is not"},
      {secret + ":admin:" + hash + "\n" + secret + ":viewer:" + kBarHash,
       "2: the NAME field is the same as on line 1"},
  };
  for (const auto& [text, detail] : kCases) {
    absl::StatusOr<TokenTable> table = ParseTokenFile(text, "tokens.txt");
    ASSERT_FALSE(table.ok()) << text;
    const std::string message(table.status().message());
    EXPECT_THAT(message, HasSubstr(absl::StrCat("tokens.txt:", detail)));
    EXPECT_THAT(message, Not(HasSubstr("SECRET"))) << message;
  }
}

TEST(TokenFileTest, RejectsTooManyBytes) {
  absl::StatusOr<TokenTable> table =
      ParseTokenFile(std::string(kMaxTokenFileBytes + 1, '#'), "tokens.txt");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("at most"));
}

TEST(TokenFileTest, FormatRoundTrips) {
  TokenEntry entry{"alice", Role::kOperator, HashToken("foo")};
  EXPECT_EQ(FormatTokenEntry(entry), absl::StrCat("alice:operator:", kFooHash));
  absl::StatusOr<TokenTable> table =
      ParseTokenFile(FormatTokenEntry(entry), "x");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->entries()[0].hash, entry.hash);
}

TEST(TokenFileTest, GeneratedTokensAreFreshAndRecognisable) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> token = GenerateToken();
    ASSERT_TRUE(token.ok());
    EXPECT_THAT(*token, MatchesRegex("sat_[A-Za-z0-9_-]{43}"));
    seen.insert(*token);
  }
  EXPECT_THAT(seen, SizeIs(100));
}

TEST(TokenFileTest, RoleNamesRoundTrip) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(ParseRole("root"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_EQ(ParseRole("ADMIN"), std::nullopt);
}

TEST(TokenFileTest, AddTokenCreatesAPrivateFileAndStoresOnlyTheHash) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  absl::StatusOr<std::string> token = AddToken(path, "alice", Role::kAdmin);
  ASSERT_TRUE(token.ok()) << token.status();

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  const std::string text = ReadAll(path);
  EXPECT_THAT(text, StartsWith("# "));
  EXPECT_THAT(text, Not(HasSubstr(*token)));
  EXPECT_THAT(text, HasSubstr(absl::StrCat(
                        "\nalice:admin:", HashToHex(HashToken(*token)), "\n")));

  absl::StatusOr<TokenTable> table = LoadTokenFile(path);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_NE(table->Find(*token), nullptr);
  EXPECT_EQ(table->Find(*token)->name, "alice");
}

TEST(TokenFileTest, AddTokenAppendsAndRefusesATakenName) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  // A file written by hand, without a final newline.
  dir.WriteFile("tokens", absl::StrCat("# mine\nalice:admin:", kFooHash));
  chmod(path.c_str(), 0600);

  absl::StatusOr<std::string> bob = AddToken(path, "bob", Role::kViewer);
  ASSERT_TRUE(bob.ok()) << bob.status();
  absl::StatusOr<std::string> again = AddToken(path, "alice", Role::kViewer);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("alice"));

  EXPECT_EQ(ReadAll(path),
            absl::StrCat("# mine\nalice:admin:", kFooHash,
                         "\nbob:viewer:", HashToHex(HashToken(*bob)), "\n"));
}

TEST(TokenFileTest, AddTokenRefusesABadNameOrAMalformedFileAndWritesNothing) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  dir.WriteFile("tokens", "alice:root:abc\n");
  chmod(path.c_str(), 0600);

  EXPECT_EQ(AddToken(path, "b:ob", Role::kViewer).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> token = AddToken(path, "bob", Role::kViewer);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(token.status().message(), HasSubstr(":1: the ROLE field"));
  EXPECT_EQ(ReadAll(path), "alice:root:abc\n");
}

TEST(TokenFileTest, ConcurrentAddsKeepEveryEntry) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&path, i] {
      EXPECT_TRUE(
          AddToken(path, absl::StrCat("holder", i), Role::kViewer).ok());
    });
  }
  for (auto& t : threads) t.join();
  absl::StatusOr<TokenTable> table = LoadTokenFile(path);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->entries(), SizeIs(8));
}

TEST(TokenFileTest, LoadRefusesAFileOthersCanWrite) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  dir.WriteFile("tokens", absl::StrCat("alice:admin:", kFooHash, "\n"));
  for (mode_t mode : {0620, 0602, 0666}) {
    chmod(path.c_str(), mode);
    absl::StatusOr<TokenTable> table = LoadTokenFile(path);
    EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition)
        << std::oct << mode;
    EXPECT_THAT(table.status().message(), HasSubstr("chmod go-w"));
    EXPECT_EQ(AddToken(path, "bob", Role::kAdmin).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // Readable by everyone is fine: the file holds hashes only.
  chmod(path.c_str(), 0644);
  EXPECT_TRUE(LoadTokenFile(path).ok());
}

TEST(TokenFileTest, LoadNamesAMissingFileADirectoryAndAnOversizedFile) {
  TempDir dir;
  absl::StatusOr<TokenTable> missing =
      LoadTokenFile((dir.path() / "nope").string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));

  dir.MakeDir("sub");
  EXPECT_THAT(LoadTokenFile((dir.path() / "sub").string()).status().message(),
              HasSubstr("not a regular file"));

  dir.WriteFile("big", std::string(kMaxTokenFileBytes + 1, '#'));
  chmod((dir.path() / "big").c_str(), 0600);
  EXPECT_THAT(LoadTokenFile((dir.path() / "big").string()).status().message(),
              HasSubstr("at most"));
}

// Its owner can always write a file, whatever its mode; another user who
// owns the tokens file can make themselves admin.
TEST(TokenFileTest, LoadAndAddRefuseAFileOwnedByAnotherUser) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  const std::string text = absl::StrCat("alice:admin:", kFooHash, "\n");
  dir.WriteFile("tokens", text);
  chmod(path.c_str(), 0600);
  if (chown(path.c_str(), kNobody, kNobody) != 0) {
    GTEST_SKIP() << "giving a file to another user needs root";
  }

  absl::StatusOr<TokenTable> table = LoadTokenFile(path);
  EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(table.status().message()),
              HasSubstr(absl::StrCat("tokens file \"", path,
                                     "\" is owned by uid 65534")));
  EXPECT_THAT(table.status().message(),
              HasSubstr("must be owned by root or by the user syncd runs as"));
  EXPECT_EQ(AddToken(path, "bob", Role::kAdmin).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(path), text);

  ASSERT_EQ(chown(path.c_str(), geteuid(), getegid()), 0);
  EXPECT_TRUE(LoadTokenFile(path).ok());
}

// Whoever can write the directory can rename their own file over the
// tokens file; the sticky bit (as on /tmp) stops that.
TEST(TokenFileTest, LoadAndAddRefuseADirectoryOthersCanWriteUnlessSticky) {
  TempDir dir;
  dir.MakeDir("shared");
  const std::string shared = (dir.path() / "shared").string();
  const std::string path = shared + "/tokens";
  const std::string fresh = shared + "/fresh";
  dir.WriteFile("shared/tokens", absl::StrCat("alice:admin:", kFooHash, "\n"));
  chmod(path.c_str(), 0600);

  for (mode_t mode : {0777, 0770, 0703}) {
    ASSERT_EQ(chmod(shared.c_str(), mode), 0);
    absl::StatusOr<TokenTable> table = LoadTokenFile(path);
    EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition)
        << std::oct << mode;
    EXPECT_THAT(
        std::string(table.status().message()),
        HasSubstr(absl::StrCat("is in directory \"",
                               std::filesystem::canonical(shared).string(),
                               "\" that group or others can write to")));
    EXPECT_EQ(AddToken(fresh, "bob", Role::kAdmin).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << std::oct << mode;
    EXPECT_FALSE(std::filesystem::exists(fresh)) << "created in an unsafe dir";
  }

  ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
  EXPECT_TRUE(LoadTokenFile(path).ok());
  EXPECT_TRUE(AddToken(fresh, "bob", Role::kAdmin).ok());
}

TEST(TokenFileTest, LoadRefusesADirectoryOwnedByAnotherUser) {
  TempDir dir;
  dir.MakeDir("theirs");
  const std::string theirs = (dir.path() / "theirs").string();
  const std::string path = theirs + "/tokens";
  dir.WriteFile("theirs/tokens", absl::StrCat("alice:admin:", kFooHash, "\n"));
  chmod(path.c_str(), 0600);
  chmod(theirs.c_str(), 0755);
  if (chown(theirs.c_str(), kNobody, kNobody) != 0) {
    GTEST_SKIP() << "giving a directory to another user needs root";
  }

  absl::StatusOr<TokenTable> table = LoadTokenFile(path);
  EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(table.status().message()),
              HasSubstr("owned by uid 65534, who could replace the file"));
}

// A link in a safe directory does not make the file it leads to safe.
TEST(TokenFileTest, LoadChecksTheDirectoryThatALinkLeadsTo) {
  TempDir dir;
  dir.MakeDir("shared");
  const std::string shared = (dir.path() / "shared").string();
  dir.WriteFile("shared/tokens", absl::StrCat("alice:admin:", kFooHash, "\n"));
  chmod((shared + "/tokens").c_str(), 0600);
  chmod(shared.c_str(), 0777);
  const std::string link = (dir.path() / "tokens").string();
  ASSERT_EQ(symlink("shared/tokens", link.c_str()), 0);

  absl::StatusOr<TokenTable> table = LoadTokenFile(link);
  EXPECT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(table.status().message(),
              HasSubstr("that group or others can write to"));

  chmod(shared.c_str(), 0755);
  EXPECT_TRUE(LoadTokenFile(link).ok());
}

// Opening a FIFO for reading waits for a writer, and syncd blocks SIGTERM
// before it reads the file: it must refuse the FIFO without opening it
// that way.
TEST(TokenFileTest, LoadAndAddRefuseAFifoWithoutBlocking) {
  TempDir dir;
  const std::string path = (dir.path() / "tokens").string();
  MakeFifo(path);

  const absl::Status load = StatusUnlessStuckOnFifo(
      path, [&path] { return LoadTokenFile(path).status(); });
  EXPECT_EQ(load.code(), absl::StatusCode::kFailedPrecondition) << load;
  EXPECT_THAT(load.message(), HasSubstr(path));
  EXPECT_THAT(load.message(), HasSubstr("is not a regular file"));

  const absl::Status add = StatusUnlessStuckOnFifo(
      path, [&path] { return AddToken(path, "bob", Role::kAdmin).status(); });
  EXPECT_EQ(add.code(), absl::StatusCode::kFailedPrecondition) << add;
  EXPECT_THAT(add.message(), HasSubstr("is not a regular file"));
}

}  // namespace
}  // namespace syncadmin::server
