// Authentication, roles and the server's security set-up, without a
// database: the authenticator, the role each request needs, the listen
// policy, and the checks of TLS and token files at start.
#include "server/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/security.h"
#include "server/service.h"
#include "tests/support/certificates.h"
#include "tests/support/fifo.h"
#include "tests/support/temp_dir.h"

namespace syncadmin::server {
namespace {

using ::syncadmin::testing::MakeFifo;
using ::syncadmin::testing::StatusUnlessStuckOnFifo;
using ::syncadmin::testing::TempDir;
using ::syncadmin::testing::TestCertificates;
using ::testing::HasSubstr;
using ::testing::Not;

// An authenticator with one token per role: "v-token", "o-token",
// "a-token".
Authenticator ThreeRoles() {
  return Authenticator(TokenTable({
      {"vera", Role::kViewer, HashToken("v-token")},
      {"otto", Role::kOperator, HashToken("o-token")},
      {"ada", Role::kAdmin, HashToken("a-token")},
  }));
}

absl::StatusOr<Principal> AuthenticateWith(
    const Authenticator& authenticator,
    const std::vector<absl::string_view>& headers) {
  return authenticator.Authenticate(headers);
}

TEST(AuthenticatorTest, OffMeansAnonymousAdmin) {
  const Authenticator off;
  EXPECT_FALSE(off.enabled());
  for (const std::vector<absl::string_view>& headers :
       std::vector<std::vector<absl::string_view>>{
           {}, {"Bearer whatever"}, {"garbage", "more"}}) {
    absl::StatusOr<Principal> caller = AuthenticateWith(off, headers);
    ASSERT_TRUE(caller.ok());
    EXPECT_EQ(caller->name, "anonymous");
    EXPECT_EQ(caller->role, Role::kAdmin);
  }
}

TEST(AuthenticatorTest, ValidTokensNameTheirHolderAndRole) {
  const Authenticator auth = ThreeRoles();
  EXPECT_TRUE(auth.enabled());
  absl::StatusOr<Principal> vera = AuthenticateWith(auth, {"Bearer v-token"});
  ASSERT_TRUE(vera.ok());
  EXPECT_EQ(vera->name, "vera");
  EXPECT_EQ(vera->role, Role::kViewer);
  absl::StatusOr<Principal> ada = AuthenticateWith(auth, {"bearer a-token"});
  ASSERT_TRUE(ada.ok()) << "the scheme is case-insensitive";
  EXPECT_EQ(ada->name, "ada");
  EXPECT_EQ(ada->role, Role::kAdmin);
}

TEST(AuthenticatorTest, RejectsMissingDuplicateMalformedAndUnknownTokens) {
  const Authenticator auth = ThreeRoles();
  const std::string huge = absl::StrCat("Bearer ", std::string(10000, 'a'));
  const struct {
    std::vector<absl::string_view> headers;
    std::string detail;
  } cases[] = {
      {{}, "no credentials"},
      {{"Bearer v-token", "Bearer a-token"}, "2 authorization headers"},
      {{"Bearer a-token", "Bearer a-token"}, "2 authorization headers"},
      {{"a-token"}, "not of the form 'Bearer TOKEN'"},
      {{"Basic YWRhOnB3"}, "not of the form"},
      {{"Bearer"}, "not of the form"},
      {{"Bearer "}, "malformed"},
      {{"Bearer  a-token"}, "malformed"},
      {{"Bearer a-token "}, "malformed"},
      {{"Bearer a-token\n"}, "malformed"},
      {{"Bearer a-to=ken"}, "malformed"},
      {{absl::string_view("Bearer a-token\0x", 16)}, "malformed"},
      {{huge}, "10000 bytes long: at most 512"},
      {{"Bearer A-TOKEN"}, "not valid"},
      {{"Bearer a-token=="}, "not valid"},
      {{"Bearer sat_unknown"}, "not valid"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<Principal> caller = AuthenticateWith(auth, c.headers);
    ASSERT_FALSE(caller.ok()) << c.detail;
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated)
        << c.detail;
    EXPECT_THAT(caller.status().message(), HasSubstr(c.detail));
    EXPECT_THAT(caller.status().message(), Not(HasSubstr("a-token")));
  }
}

TEST(AuthorizeTest, EachRoleIncludesTheOnesBelow) {
  const Role roles[] = {Role::kViewer, Role::kOperator, Role::kAdmin};
  for (Role have : roles) {
    for (Role need : roles) {
      const absl::Status s = Authorize({"x", have}, need, "Rpc");
      EXPECT_EQ(s.ok(), static_cast<int>(have) >= static_cast<int>(need))
          << RoleName(have) << " for " << RoleName(need);
    }
  }
  const absl::Status denied =
      Authorize({"vera", Role::kViewer}, Role::kAdmin, "RemoveTenant");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "RemoveTenant needs the admin role; vera has viewer");
}

TEST(RequiredRoleTest, FollowsWhatEachOperationCanDo) {
  using core::Operation;
  const struct {
    Operation op;
    bool check_only;
    Role role;
  } cases[] = {
      {Operation::kSeedMeta, false, Role::kOperator},
      {Operation::kSeedSettings, false, Role::kOperator},
      {Operation::kSeedTenant, false, Role::kOperator},
      {Operation::kSeedModule, false, Role::kOperator},
      {Operation::kHealthCheck, false, Role::kOperator},
      {Operation::kHealthCheck, true, Role::kViewer},
      {Operation::kRemoveTenant, false, Role::kAdmin},
      {Operation::kSyncAll, false, Role::kAdmin},
      {Operation::kRestore, false, Role::kAdmin},
  };
  for (const auto& c : cases) {
    core::RunRequest request;
    request.operation = c.op;
    request.check_only = c.check_only;
    EXPECT_EQ(RequiredRole(request), c.role) << core::OperationName(c.op);
    request.dry_run = true;
    EXPECT_EQ(RequiredRole(request), Role::kViewer)
        << "dry run of " << core::OperationName(c.op);
  }
}

TEST(LoopbackTest, OnlyAddressesReachableFromThisMachine) {
  for (const char* address :
       {"127.0.0.1:50051", "127.0.0.1:0", "127.8.9.10:1", "localhost:50051",
        "LOCALHOST:1", "[::1]:50051", "ipv4:127.0.0.1:1", "ipv6:[::1]:1",
        "[::ffff:127.0.0.1]:1", "unix:/run/syncd.sock", "unix-abstract:syncd",
        "dns:///localhost:1"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0:50051", "[::]:50051", ":50051", "10.0.0.5:50051",
        "128.0.0.1:1", "example.com:50051", "localhost.example.com:1",
        "[::2]:1", "[::ffff:10.0.0.1]:1", "", "[::1", "127.0.0.1.nip.io:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(SecurityTest, UnprotectedServerListensOnLoopbackOnly) {
  absl::StatusOr<ServerSecurity> loopback =
      SetUpSecurity(SecurityFlags{}, "127.0.0.1:0");
  ASSERT_TRUE(loopback.ok()) << loopback.status();
  EXPECT_FALSE(loopback->tls);
  EXPECT_FALSE(loopback->authenticator->enabled());

  absl::StatusOr<ServerSecurity> open =
      SetUpSecurity(SecurityFlags{}, "0.0.0.0:50051");
  EXPECT_EQ(open.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(open.status().message(),
              HasSubstr("refusing to listen on 0.0.0.0:50051 without TLS"));
  EXPECT_THAT(open.status().message(), HasSubstr("--insecure"));

  SecurityFlags insecure;
  insecure.insecure = true;
  EXPECT_TRUE(SetUpSecurity(insecure, "0.0.0.0:50051").ok());
}

TEST(SecurityTest, TokensWithoutTlsAreNotEnoughForAPublicAddress) {
  TempDir dir;
  dir.WriteFile("tokens", "");
  SecurityFlags flags;
  flags.tokens_file = (dir.path() / "tokens").string();
  absl::StatusOr<ServerSecurity> security =
      SetUpSecurity(flags, "10.1.2.3:50051");
  EXPECT_EQ(security.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(security.status().message(), HasSubstr("without TLS"));
  EXPECT_THAT(security.status().message(), Not(HasSubstr("tokens")));
}

TEST(SecurityTest, TlsFlagsMustFitTogether) {
  SecurityFlags cert_only;
  cert_only.tls_cert = "/x/server.pem";
  EXPECT_THAT(SetUpSecurity(cert_only, "127.0.0.1:0").status().message(),
              HasSubstr("--tls-cert and --tls-key go together"));
  SecurityFlags ca_only;
  ca_only.tls_client_ca = "/x/ca.pem";
  EXPECT_THAT(SetUpSecurity(ca_only, "127.0.0.1:0").status().message(),
              HasSubstr("--tls-client-ca needs TLS"));
}

TEST(SecurityTest, TlsAndTokensAllowAnyAddress) {
  TestCertificates certs;
  TempDir dir;
  dir.WriteFile("tokens", "");
  chmod((dir.path() / "tokens").c_str(), 0600);
  SecurityFlags flags;
  flags.tls_cert = certs.Path("server.pem");
  flags.tls_key = certs.Path("server.key");
  flags.tls_client_ca = certs.Path("ca.pem");
  flags.tokens_file = (dir.path() / "tokens").string();
  absl::StatusOr<ServerSecurity> security = SetUpSecurity(flags, "0.0.0.0:0");
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_TRUE(security->tls);
  EXPECT_TRUE(security->mutual_tls);
  EXPECT_TRUE(security->authenticator->enabled());
}

TEST(SecurityTest, BadTlsFilesAreNamedAtStart) {
  TestCertificates certs;
  const auto status_of = [](const std::string& cert, const std::string& key,
                            const std::string& ca = "") {
    SecurityFlags flags;
    flags.tls_cert = cert;
    flags.tls_key = key;
    flags.tls_client_ca = ca;
    return SetUpSecurity(flags, "127.0.0.1:0").status();
  };
  absl::Status missing =
      status_of(certs.Path("nope.pem"), certs.Path("server.key"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("nope.pem"));

  absl::Status not_a_cert =
      status_of(certs.Path("server.key"), certs.Path("server.key"));
  EXPECT_THAT(not_a_cert.message(), HasSubstr("holds no PEM certificate"));

  absl::Status not_a_key =
      status_of(certs.Path("server.pem"), certs.Path("server.pem"));
  EXPECT_THAT(not_a_key.message(), HasSubstr("holds no PEM private key"));

  absl::Status mismatch =
      status_of(certs.Path("server.pem"), certs.Path("client.key"));
  EXPECT_THAT(mismatch.message(),
              HasSubstr("does not belong to the certificate"));

  absl::Status bad_ca =
      status_of(certs.Path("server.pem"), certs.Path("server.key"),
                certs.Path("server.key"));
  EXPECT_THAT(bad_ca.message(), HasSubstr("--tls-client-ca file"));
}

TEST(SecurityTest, AnUnsafeTokensFileStopsTheStart) {
  TempDir dir;
  dir.WriteFile("tokens", "");
  const std::string path = (dir.path() / "tokens").string();
  chmod(path.c_str(), 0666);
  SecurityFlags flags;
  flags.tokens_file = path;
  absl::Status status = SetUpSecurity(flags, "127.0.0.1:0").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("writable by group or others"));
}

// The key is a secret held to the rules of the tokens file; certificates
// are public and may belong to anyone.
TEST(SecurityTest, TheTlsKeyMustBeSafeFromOtherUsersButCertificatesNeedNot) {
  TestCertificates certs;
  TempDir dir;
  dir.MakeDir("tls");
  const std::string tls = (dir.path() / "tls").string();
  SecurityFlags flags;
  flags.tls_cert = tls + "/server.pem";
  flags.tls_key = tls + "/server.key";
  std::filesystem::copy_file(certs.Path("server.pem"), flags.tls_cert);
  std::filesystem::copy_file(certs.Path("server.key"), flags.tls_key);
  chmod(flags.tls_key.c_str(), 0600);
  chmod(tls.c_str(), 0755);
  const auto refusal = [&flags] {
    absl::Status status = SetUpSecurity(flags, "127.0.0.1:0").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    return std::string(status.message());
  };
  ASSERT_TRUE(SetUpSecurity(flags, "127.0.0.1:0").ok());

  if (chown(flags.tls_key.c_str(), 65534, 65534) != 0) {
    GTEST_SKIP() << "giving a file to another user needs root";
  }
  EXPECT_THAT(refusal(),
              HasSubstr(absl::StrCat("--tls-key file \"", flags.tls_key,
                                     "\" is owned by uid 65534")));
  ASSERT_EQ(chown(flags.tls_key.c_str(), geteuid(), getegid()), 0);

  chmod(flags.tls_key.c_str(), 0620);
  EXPECT_THAT(refusal(), HasSubstr("is writable by group or others"));
  chmod(flags.tls_key.c_str(), 0600);

  chmod(tls.c_str(), 0777);
  EXPECT_THAT(refusal(), HasSubstr("that group or others can write to"));
  chmod(tls.c_str(), 0755);

  ASSERT_EQ(chown(flags.tls_cert.c_str(), 65534, 65534), 0);
  chmod(flags.tls_cert.c_str(), 0666);
  EXPECT_TRUE(SetUpSecurity(flags, "127.0.0.1:0").ok());
}

// A FIFO given for any file must be refused at once, naming the flag and
// the file: opened for reading, it would wait for a writer while SIGTERM is
// blocked.
TEST(SecurityTest, AFifoForAnyFileIsRefusedWithoutBlocking) {
  TestCertificates certs;
  TempDir dir;
  dir.WriteFile("tokens", "");
  chmod((dir.path() / "tokens").c_str(), 0600);
  const std::string fifo = (dir.path() / "fifo").string();
  MakeFifo(fifo);
  SecurityFlags valid;
  valid.tls_cert = certs.Path("server.pem");
  valid.tls_key = certs.Path("server.key");
  valid.tls_client_ca = certs.Path("ca.pem");
  valid.tokens_file = (dir.path() / "tokens").string();
  ASSERT_TRUE(SetUpSecurity(valid, "127.0.0.1:0").ok());

  const std::pair<const char*, std::string SecurityFlags::*> kFiles[] = {
      {"--tls-cert file", &SecurityFlags::tls_cert},
      {"--tls-key file", &SecurityFlags::tls_key},
      {"--tls-client-ca file", &SecurityFlags::tls_client_ca},
      {"tokens file", &SecurityFlags::tokens_file},
  };
  for (const auto& [what, member] : kFiles) {
    SecurityFlags flags = valid;
    flags.*member = fifo;
    const absl::Status status = StatusUnlessStuckOnFifo(fifo, [&flags] {
      return SetUpSecurity(flags, "127.0.0.1:0").status();
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition)
        << what << ": " << status;
    EXPECT_THAT(
        std::string(status.message()),
        HasSubstr(absl::StrCat(what, " \"", fifo, "\" is not a regular file")));
  }
}

}  // namespace
}  // namespace syncadmin::server
