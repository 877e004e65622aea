// End-to-end security of the real binaries: `syncd token add`, tokens and
// roles through `syncctl`, TLS and mutual TLS with certificates made by the
// openssl tool, the loopback-only rule, and secrets kept out of logs.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/certificates.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string Describe(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\n--- stdout ---\n", r.out,
                      "--- stderr ---\n", r.err);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `syncd token add NAME ROLE --tokens-file FILE` and returns the token
// it printed (failing the test if it did not work).
std::string AddToken(const std::string& file, const std::string& name,
                     const std::string& role) {
  const CommandResult r = RunCommand(
      {BinaryPath("syncd"), "token", "add", name, role, "--tokens-file", file});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  return std::string(absl::StripTrailingAsciiWhitespace(r.out));
}

class SecurityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    modules_.MakeDir("blog");
    modules_.MakeDir("faq");
    tokens_file_ = (dir_.path() / "tokens").string();
  }

  TestDatabase db_;
  TempDir modules_;
  TempDir dir_;
  std::string tokens_file_;
};

// ------------------------------------------------------------ token add

TEST_F(SecurityCliTest, TokenAddPrintsTheTokenOnceAndStoresItsHash) {
  const CommandResult r =
      RunCommand({BinaryPath("syncd"), "token", "add", "alice", "admin",
                  "--tokens-file", tokens_file_});
  ASSERT_EQ(r.exit_code, kExitOk) << Describe(r);
  const std::string token(absl::StripTrailingAsciiWhitespace(r.out));
  EXPECT_TRUE(std::regex_match(token, std::regex("sat_[A-Za-z0-9_-]{43}")))
      << token;
  EXPECT_THAT(r.err, HasSubstr("shown only this once"));
  EXPECT_THAT(r.err, Not(HasSubstr(token)));

  const std::string file = ReadAll(tokens_file_);
  EXPECT_THAT(file, Not(HasSubstr(token)));
  EXPECT_TRUE(
      std::regex_search(file, std::regex("\nalice:admin:[0-9a-f]{64}\n")))
      << file;
  struct stat st;
  ASSERT_EQ(stat(tokens_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(SecurityCliTest, TokenAddRefusesBadUsageAndTakenNames) {
  AddToken(tokens_file_, "alice", "admin");
  const std::string before = ReadAll(tokens_file_);
  const std::string syncd = BinaryPath("syncd");

  CommandResult r = RunCommand({syncd, "token", "add", "alice", "viewer",
                                "--tokens-file", tokens_file_});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("alice already has a token"));
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = RunCommand(
      {syncd, "token", "add", "bob", "root", "--tokens-file", tokens_file_});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("root"));

  r = RunCommand({syncd, "token", "add", "bob;rm -rf", "viewer",
                  "--tokens-file", tokens_file_});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("holder name \"bob;rm -rf\" is invalid"));

  r = RunCommand({syncd, "token", "add", "bob", "viewer"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("--tokens-file"));

  EXPECT_EQ(ReadAll(tokens_file_), before);
}

// ------------------------------------------------------- tokens and roles

TEST_F(SecurityCliTest, TokensAndRolesGateEveryCommand) {
  const std::string viewer = AddToken(tokens_file_, "vera", "viewer");
  const std::string operator_token = AddToken(tokens_file_, "otto", "operator");
  const std::string admin = AddToken(tokens_file_, "ada", "admin");
  dir_.WriteFile("admin-token", admin + "\n");
  const std::string admin_file = (dir_.path() / "admin-token").string();
  SyncdProcess syncd(db_.conninfo(), modules_.str(),
                     {"--tokens-file", tokens_file_});
  const std::string addr = syncd.address();

  CommandResult r = RunSyncctl(addr, {"tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(r.err, HasSubstr("SYNCCTL_TOKEN"));

  r = RunSyncctl(addr, {"tenants", "list"}, {{"SYNCCTL_TOKEN", "sat_nope"}});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));

  r = RunSyncctl(addr, {"tenants", "list"}, {{"SYNCCTL_TOKEN", viewer}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);

  r = RunSyncctl(addr, {"tenants", "add", "acme"}, {{"SYNCCTL_TOKEN", viewer}});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED: CreateTenant needs the "
                               "admin role; vera has viewer"));

  r = RunSyncctl(addr, {"--token-file", admin_file, "tenants", "add", "acme"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);

  r = RunSyncctl(addr, {"all", "--dry-run"}, {{"SYNCCTL_TOKEN", viewer}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  r = RunSyncctl(addr, {"all", "--yes"}, {{"SYNCCTL_TOKEN", operator_token}});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("SyncAll needs the admin role"));
  r = RunSyncctl(addr, {"--token", operator_token, "meta"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  r = RunSyncctl(addr, {"all", "--yes"}, {{"SYNCCTL_TOKEN_FILE", admin_file}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);

  EXPECT_EQ(db_.Scalar("SELECT string_agg(op || '=' || requested_by, ',' "
                       "ORDER BY started_at) FROM sync_runs"),
            "sync_all=vera,seed_meta=otto,sync_all=ada");
}

TEST_F(SecurityCliTest, SyncctlRefusesTokenFlagsThatCannotWork) {
  const std::string syncctl = BinaryPath("syncctl");
  dir_.WriteFile("empty", "\n");
  const struct {
    std::vector<std::string> args;
    std::string detail;
  } cases[] = {
      {{"--token", "sat_a", "--token-file", tokens_file_}, "not both"},
      {{"--token-file", (dir_.path() / "missing").string()}, "missing"},
      {{"--token-file", (dir_.path() / "empty").string()}, "holds no token"},
      {{"--token", "sat_a b"}, "contains a space"},
      {{"--tls-cert", "/x/client.pem"}, "--tls-cert and --tls-key go together"},
      {{"--tls-ca", (dir_.path() / "missing.pem").string()}, "missing.pem"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {syncctl, "--addr", "127.0.0.1:1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    argv.insert(argv.end(), {"tenants", "list"});
    const CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.detail)) << Describe(r);
    EXPECT_THAT(r.err, Not(HasSubstr("sat_a")));
  }
}

// Tokens must not reach a log, whatever the outcome of the call and however
// verbose the log.
TEST_F(SecurityCliTest, TokensNeverAppearInLogsOrOutput) {
  const std::string viewer = AddToken(tokens_file_, "vera", "viewer");
  const std::string admin = AddToken(tokens_file_, "ada", "admin");
  const std::string forged = admin.substr(0, admin.size() - 2) + "xx";
  for (const char* format : {"text", "json"}) {
    SCOPED_TRACE(format);
    SyncdProcess syncd(db_.conninfo(), modules_.str(),
                       {"--tokens-file", tokens_file_, "--log-level", "trace",
                        "--log-format", format});
    std::string client_output;
    for (const auto& [token, args] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{
             {admin, {"tenants", "add", format}},
             {admin, {"all", "--yes"}},
             {viewer, {"tenants", "add", "denied"}},
             {viewer, {"all", "--dry-run"}},
             {forged, {"tenants", "list"}},
             {"not a token", {"tenants", "list"}},
         }) {
      const CommandResult r =
          RunSyncctl(syncd.address(), args, {{"SYNCCTL_TOKEN", token}});
      client_output += r.out + r.err;
    }
    const std::string log = syncd.Log();
    EXPECT_THAT(log, HasSubstr("rpc denied"));
    EXPECT_THAT(log, HasSubstr("requested_by"));
    for (const std::string& secret : {viewer, admin, forged}) {
      EXPECT_THAT(log, Not(HasSubstr(secret)));
      EXPECT_THAT(log, Not(HasSubstr(secret.substr(4))));
      EXPECT_THAT(client_output, Not(HasSubstr(secret)));
    }
  }
}

// ----------------------------------------------------------------- TLS

class TlsTest : public SecurityCliTest {
 protected:
  std::vector<std::string> ServerTls(bool mutual) const {
    std::vector<std::string> args = {"--tls-cert", certs_.Path("server.pem"),
                                     "--tls-key", certs_.Path("server.key")};
    if (mutual) {
      args.insert(args.end(), {"--tls-client-ca", certs_.Path("ca.pem")});
    }
    return args;
  }

  TestCertificates certs_;
};

TEST_F(TlsTest, PlaintextClientCannotTalkToATlsServer) {
  SyncdProcess syncd(db_.conninfo(), modules_.str(), ServerTls(false));

  CommandResult r = RunSyncctl(syncd.address(), {"tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(r.err, HasSubstr("--tls-ca"));

  r = RunSyncctl(syncd.address(),
                 {"--tls-ca", certs_.Path("ca.pem"), "tenants", "add", "acme"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  r = RunSyncctl(syncd.address(), {"tenants", "list"},
                 {{"SYNCCTL_TLS_CA", certs_.Path("ca.pem")}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(r.out, HasSubstr("acme"));
  EXPECT_THAT(syncd.Log(), HasSubstr("tls=on"));
}

TEST_F(TlsTest, ClientRefusesAServerItCannotVerify) {
  SyncdProcess syncd(db_.conninfo(), modules_.str(), ServerTls(false));
  const CommandResult r =
      RunSyncctl(syncd.address(),
                 {"--tls-ca", certs_.Path("rogue-ca.pem"), "tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheTrustedCa) {
  SyncdProcess syncd(db_.conninfo(), modules_.str(), ServerTls(true));
  const std::string ca = certs_.Path("ca.pem");

  CommandResult r =
      RunSyncctl(syncd.address(), {"--tls-ca", ca, "tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << "no client certificate\n"
                                       << Describe(r);

  r = RunSyncctl(syncd.address(),
                 {"--tls-ca", ca, "--tls-cert", certs_.Path("rogue.pem"),
                  "--tls-key", certs_.Path("rogue.key"), "tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitFailure) << "certificate of another CA\n"
                                       << Describe(r);

  r = RunSyncctl(syncd.address(),
                 {"--tls-ca", ca, "--tls-cert", certs_.Path("client.pem"),
                  "--tls-key", certs_.Path("client.key"), "tenants", "list"});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);

  r = RunSyncctl(syncd.address(), {"tenants", "list"},
                 {{"SYNCCTL_TLS_CA", ca},
                  {"SYNCCTL_TLS_CERT", certs_.Path("client.pem")},
                  {"SYNCCTL_TLS_KEY", certs_.Path("client.key")}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
  EXPECT_THAT(syncd.Log(), HasSubstr("tls=mutual"));
}

TEST_F(TlsTest, TlsAndTokensTogether) {
  const std::string admin = AddToken(tokens_file_, "ada", "admin");
  std::vector<std::string> args = ServerTls(true);
  args.insert(args.end(), {"--tokens-file", tokens_file_});
  SyncdProcess syncd(db_.conninfo(), modules_.str(), args);
  const std::vector<std::string> tls = {
      "--tls-ca",   certs_.Path("ca.pem"),
      "--tls-cert", certs_.Path("client.pem"),
      "--tls-key",  certs_.Path("client.key")};

  std::vector<std::string> no_token = tls;
  no_token.insert(no_token.end(), {"tenants", "list"});
  CommandResult r = RunSyncctl(syncd.address(), no_token);
  EXPECT_EQ(r.exit_code, kExitFailure) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));

  r = RunSyncctl(syncd.address(), no_token, {{"SYNCCTL_TOKEN", admin}});
  EXPECT_EQ(r.exit_code, kExitOk) << Describe(r);
}

// ------------------------------------------------------ loopback only

// Starts syncd with `args` in the background; returns once it serves (its
// port file is written) or has exited.
class BackgroundSyncd {
 public:
  explicit BackgroundSyncd(std::vector<std::string> args) {
    const std::string port_file = (dir_.path() / "port").string();
    args.insert(args.begin(), {BinaryPath("syncd"), "--port-file", port_file});
    command_ = std::make_unique<BackgroundCommand>(args);
    for (int i = 0; i < 600 && !serving(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  bool serving() const {
    return !ReadAll((dir_.path() / "port").string()).empty();
  }
  CommandResult Stop() {
    command_->Signal(SIGTERM);
    return command_->Wait();
  }

 private:
  TempDir dir_;
  std::unique_ptr<BackgroundCommand> command_;
};

TEST_F(SecurityCliTest, UnprotectedSyncdRefusesAPublicAddressInOneLine) {
  for (const std::vector<std::string>& extra :
       std::vector<std::vector<std::string>>{
           {"--listen", "0.0.0.0:0"},
           {"--listen", "[::]:0"},
           {"--listen", "0.0.0.0:0", "--tokens-file", tokens_file_}}) {
    std::vector<std::string> argv = {BinaryPath("syncd"), "--db",
                                     db_.conninfo(), "--modules-dir",
                                     modules_.str()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const CommandResult r = RunCommand(argv, {}, 30);
    EXPECT_EQ(r.exit_code, kExitUsage) << Describe(r);
    const std::vector<std::string> lines =
        absl::StrSplit(r.err, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_THAT(lines[0], HasSubstr("refusing to listen on"));
    EXPECT_THAT(lines[0], HasSubstr("--insecure"));
  }
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM pg_tables WHERE tablename = "
                       "'sync_runs'"),
            "0")
      << "syncd must refuse before it touches the database";
}

TEST_F(SecurityCliTest, InsecureOrTlsWithTokensMayServeAPublicAddress) {
  const std::vector<std::string> base = {"--db",          db_.conninfo(),
                                         "--modules-dir", modules_.str(),
                                         "--listen",      "0.0.0.0:0"};
  std::vector<std::string> insecure = base;
  insecure.push_back("--insecure");
  BackgroundSyncd open(insecure);
  ASSERT_TRUE(open.serving());
  const CommandResult stopped = open.Stop();
  EXPECT_EQ(stopped.exit_code, 0) << Describe(stopped);
  EXPECT_THAT(stopped.err, HasSubstr("unprotected (--insecure)"));

  TestCertificates certs;
  AddToken(tokens_file_, "ada", "admin");
  std::vector<std::string> protected_args = base;
  protected_args.insert(
      protected_args.end(),
      {"--tls-cert", certs.Path("server.pem"), "--tls-key",
       certs.Path("server.key"), "--tokens-file", tokens_file_});
  BackgroundSyncd closed(protected_args);
  ASSERT_TRUE(closed.serving());
  const CommandResult ok = closed.Stop();
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
  EXPECT_THAT(ok.err, Not(HasSubstr("unprotected")));
}

}  // namespace
}  // namespace syncadmin::testing
