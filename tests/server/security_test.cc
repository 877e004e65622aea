// The service against hostile callers, on a real database: every rpc with
// every kind of credential, every string field with hostile values, hostile
// modules roots, and oversized messages and headers. Each refusal must come
// with the right code, before anything is written.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/service.h"
#include "tests/support/in_process_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::server {
namespace {

using ::syncadmin::testing::InProcessServer;
using ::syncadmin::testing::TempDir;
using ::syncadmin::testing::TestDatabase;
using ::testing::HasSubstr;
using ::testing::Not;

using Stub = v1::SyncAdmin::Stub;
using Call = std::function<grpc::Status(Stub&, grpc::ClientContext*)>;

constexpr char kViewerToken[] = "sat_viewer-token-for-tests";
constexpr char kOperatorToken[] = "sat_operator-token-for-tests";
constexpr char kAdminToken[] = "sat_admin-token-for-tests";

Authenticator TestAuthenticator() {
  return Authenticator(TokenTable({
      {"vera", Role::kViewer, HashToken(kViewerToken)},
      {"otto", Role::kOperator, HashToken(kOperatorToken)},
      {"ada", Role::kAdmin, HashToken(kAdminToken)},
  }));
}

// Reads a stream to its end and returns its final status.
template <typename Request>
Call Streaming(std::unique_ptr<grpc::ClientReader<v1::SyncEvent>> (
                   Stub::*method)(grpc::ClientContext*, const Request&),
               Request request) {
  return [method, request](Stub& stub, grpc::ClientContext* context) {
    auto reader = (stub.*method)(context, request);
    v1::SyncEvent event;
    while (reader->Read(&event)) {
    }
    return reader->Finish();
  };
}

template <typename Request, typename Response>
Call UnaryCall(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                            const Request&, Response*),
               Request request) {
  return [method, request](Stub& stub, grpc::ClientContext* context) {
    Response response;
    return (stub.*method)(context, request, &response);
  };
}

v1::RunOptions Options(bool dry_run) {
  v1::RunOptions options;
  options.set_dry_run(dry_run);
  return options;
}

v1::SeedMetaRequest SeedMeta(bool dry_run) {
  v1::SeedMetaRequest r;
  *r.mutable_options() = Options(dry_run);
  return r;
}
v1::SeedSettingsRequest SeedSettings(bool dry_run) {
  v1::SeedSettingsRequest r;
  *r.mutable_options() = Options(dry_run);
  return r;
}
v1::HealthCheckRequest HealthCheck(bool check_only, bool dry_run) {
  v1::HealthCheckRequest r;
  *r.mutable_options() = Options(dry_run);
  r.set_check_only(check_only);
  return r;
}
v1::SeedTenantRequest SeedTenant(const std::string& tenant, bool dry_run) {
  v1::SeedTenantRequest r;
  *r.mutable_options() = Options(dry_run);
  r.set_tenant(tenant);
  return r;
}
v1::SeedModuleRequest SeedModule(const std::string& module, bool dry_run) {
  v1::SeedModuleRequest r;
  *r.mutable_options() = Options(dry_run);
  r.set_module(module);
  return r;
}
v1::RemoveTenantRequest RemoveTenant(const std::string& tenant, bool dry_run) {
  v1::RemoveTenantRequest r;
  *r.mutable_options() = Options(dry_run);
  r.set_tenant(tenant);
  return r;
}
v1::SyncAllRequest SyncAll(bool dry_run) {
  v1::SyncAllRequest r;
  *r.mutable_options() = Options(dry_run);
  return r;
}
v1::RestoreRequest Restore(const std::string& run_id, bool dry_run) {
  v1::RestoreRequest r;
  *r.mutable_options() = Options(dry_run);
  r.set_run_id(run_id);
  return r;
}
v1::CreateTenantRequest CreateTenant(const std::string& slug,
                                     const std::string& locale = "en",
                                     const std::string& name = "A Name") {
  v1::CreateTenantRequest r;
  r.set_slug(slug);
  (*r.mutable_name())[locale] = name;
  return r;
}
v1::SetTenantActiveRequest SetTenantActive(const std::string& slug,
                                           bool dry_run = false) {
  v1::SetTenantActiveRequest r;
  r.set_slug(slug);
  r.set_active(true);
  r.set_dry_run(dry_run);
  return r;
}
v1::CreateTenantRequest DryRun(v1::CreateTenantRequest request) {
  request.set_dry_run(true);
  return request;
}
v1::ListTenantsRequest ListTenants(const std::string& page_token = "") {
  v1::ListTenantsRequest r;
  r.set_page_token(page_token);
  return r;
}
v1::ListRunsRequest ListRuns(const std::string& page_token = "") {
  v1::ListRunsRequest r;
  r.set_page_token(page_token);
  return r;
}
v1::GetRunRequest GetRun(const std::string& run_id) {
  v1::GetRunRequest r;
  r.set_run_id(run_id);
  return r;
}

// A server with authentication on, a modules root with two modules, the
// active tenant "acme" and the journal of one removal to restore.
class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    modules_.MakeDir("Blog");
    modules_.MakeDir("Users");
    core::EngineOptions options;
    options.modules_dir = modules_.str();
    options.lock_timeout = absl::Seconds(10);
    server_ = std::make_unique<InProcessServer>(
        db_.conninfo(), options, server::StreamOptions{}, &authenticator_);
    for (const char* slug : {"acme", "victim", "old"}) {
      ASSERT_TRUE(
          Run(UnaryCall(&Stub::CreateTenant, CreateTenant(slug)), kAdminToken)
              .ok());
    }
    ASSERT_TRUE(
        Run(Streaming(&Stub::SyncAll, SyncAll(false)), kAdminToken).ok());
    ASSERT_TRUE(Run(Streaming(&Stub::RemoveTenant, RemoveTenant("old", false)),
                    kAdminToken)
                    .ok());
    removal_run_ = db_.Scalar(
        "SELECT id FROM sync_runs WHERE op = 'remove_tenant' LIMIT 1");
    ASSERT_EQ(removal_run_.size(), 36u) << removal_run_;
  }

  // Calls `call` with `token` as bearer token (none if null), and any
  // `extra` authorization headers, under a deadline.
  grpc::Status Run(const Call& call, const char* token,
                   const std::vector<std::string>& extra = {}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    if (token != nullptr) {
      context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    for (const std::string& value : extra) {
      context.AddMetadata("authorization", value);
    }
    return call(server_->stub(), &context);
  }

  TestDatabase db_;
  TempDir modules_;
  Authenticator authenticator_ = TestAuthenticator();
  std::unique_ptr<InProcessServer> server_;
  std::string removal_run_;
};

// --- Who may call what ------------------------------------------------------

struct Credential {
  const char* name;
  const char* token;  // Null: no authorization header at all.
  int role;           // 0: not authenticated; else a `Role`.
};

void PrintTo(const Credential& credential, std::ostream* os) {
  *os << credential.name;
}

struct RpcCase {
  std::string name;
  Role needed;
  Call call;
};

class AuthMatrixTest : public SecurityTest,
                       public ::testing::WithParamInterface<Credential> {
 protected:
  std::vector<RpcCase> Cases() const {
    const std::string run = removal_run_;
    return {
        {"SeedMeta", Role::kOperator,
         Streaming(&Stub::SeedMeta, SeedMeta(false))},
        {"SeedMeta dry run", Role::kViewer,
         Streaming(&Stub::SeedMeta, SeedMeta(true))},
        {"SeedSettings", Role::kOperator,
         Streaming(&Stub::SeedSettings, SeedSettings(false))},
        {"SeedSettings dry run", Role::kViewer,
         Streaming(&Stub::SeedSettings, SeedSettings(true))},
        {"HealthCheck repair", Role::kOperator,
         Streaming(&Stub::HealthCheck, HealthCheck(false, false))},
        {"HealthCheck repair dry run", Role::kViewer,
         Streaming(&Stub::HealthCheck, HealthCheck(false, true))},
        {"HealthCheck check only", Role::kViewer,
         Streaming(&Stub::HealthCheck, HealthCheck(true, false))},
        {"SeedTenant", Role::kOperator,
         Streaming(&Stub::SeedTenant, SeedTenant("acme", false))},
        {"SeedTenant dry run", Role::kViewer,
         Streaming(&Stub::SeedTenant, SeedTenant("acme", true))},
        {"SeedModule", Role::kOperator,
         Streaming(&Stub::SeedModule, SeedModule("Blog", false))},
        {"SeedModule dry run", Role::kViewer,
         Streaming(&Stub::SeedModule, SeedModule("Blog", true))},
        {"RemoveTenant dry run", Role::kViewer,
         Streaming(&Stub::RemoveTenant, RemoveTenant("acme", true))},
        {"RemoveTenant", Role::kAdmin,
         Streaming(&Stub::RemoveTenant, RemoveTenant("victim", false))},
        {"SyncAll dry run", Role::kViewer,
         Streaming(&Stub::SyncAll, SyncAll(true))},
        {"SyncAll", Role::kAdmin, Streaming(&Stub::SyncAll, SyncAll(false))},
        {"Restore dry run", Role::kViewer,
         Streaming(&Stub::Restore, Restore(run, true))},
        {"Restore", Role::kAdmin,
         Streaming(&Stub::Restore, Restore(run, false))},
        {"CreateTenant dry run", Role::kViewer,
         UnaryCall(&Stub::CreateTenant, DryRun(CreateTenant("newcomer")))},
        {"CreateTenant", Role::kAdmin,
         UnaryCall(&Stub::CreateTenant, CreateTenant("newcomer"))},
        {"SetTenantActive dry run", Role::kViewer,
         UnaryCall(&Stub::SetTenantActive, SetTenantActive("acme", true))},
        {"SetTenantActive", Role::kAdmin,
         UnaryCall(&Stub::SetTenantActive, SetTenantActive("acme"))},
        {"ListTenants", Role::kViewer,
         UnaryCall(&Stub::ListTenants, ListTenants())},
        {"ListRuns", Role::kViewer, UnaryCall(&Stub::ListRuns, ListRuns())},
        {"GetRun", Role::kViewer, UnaryCall(&Stub::GetRun, GetRun(run))},
    };
  }
};

TEST_P(AuthMatrixTest, EveryRpcAnswersAccordingToTheCallersRole) {
  const Credential& credential = GetParam();
  for (const RpcCase& rpc : Cases()) {
    SCOPED_TRACE(absl::StrCat(rpc.name, " as ", credential.name));
    const std::string before = db_.Checksum();
    const grpc::Status status = Run(rpc.call, credential.token);
    if (credential.role == 0) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << status.error_message();
    } else if (credential.role < static_cast<int>(rpc.needed)) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << status.error_message();
      EXPECT_THAT(
          status.error_message(),
          HasSubstr(absl::StrCat("needs the ", RoleName(rpc.needed), " role")));
    } else {
      EXPECT_TRUE(status.ok())
          << status.error_code() << " " << status.error_message();
      continue;
    }
    EXPECT_EQ(db_.Checksum(), before) << "a refused call wrote something";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Credentials, AuthMatrixTest,
    ::testing::Values(
        Credential{"NoToken", nullptr, 0},
        Credential{"BadToken", "sat_not-a-token-anyone-holds", 0},
        Credential{"Viewer", kViewerToken, static_cast<int>(Role::kViewer)},
        Credential{"Operator", kOperatorToken,
                   static_cast<int>(Role::kOperator)},
        Credential{"Admin", kAdminToken, static_cast<int>(Role::kAdmin)}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SecurityTest, BrokenAuthorizationHeadersAreUnauthenticated) {
  const Call list = UnaryCall(&Stub::ListTenants, ListTenants());
  const Call remove =
      Streaming(&Stub::RemoveTenant, RemoveTenant("acme", false));
  const std::string before = db_.Checksum();
  const std::vector<std::vector<std::string>> cases = {
      {"Bearer " + std::string(kAdminToken),
       "Bearer " + std::string(kAdminToken)},
      {"Bearer " + std::string(kViewerToken),
       "Bearer " + std::string(kAdminToken)},
      {"Bearer " + std::string(10 * 1024, 'a')},
      {std::string(kAdminToken)},
      {"Basic YWRhOmFkbWlu"},
      {"Bearer " + std::string(kAdminToken) + "x"},
  };
  for (const auto& headers : cases) {
    for (const Call& call : {list, remove}) {
      const grpc::Status status = Run(call, nullptr, headers);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << headers[0].substr(0, 40) << ": " << status.error_message();
      EXPECT_THAT(status.error_message(), Not(HasSubstr(kAdminToken)));
      EXPECT_THAT(status.error_message(), Not(HasSubstr(kViewerToken)));
    }
  }
  EXPECT_EQ(db_.Checksum(), before);
}

// Metadata beyond syncd's limit never reaches a handler; gRPC refuses the
// call and the server carries on.
TEST_F(SecurityTest, OversizedMetadataIsRefusedAndTheServerCarriesOn) {
  const std::string before = db_.Checksum();
  const grpc::Status status =
      Run(Streaming(&Stub::RemoveTenant, RemoveTenant("acme", false)),
          kAdminToken, {"Bearer " + std::string(64 * 1024, 'a')});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(db_.Checksum(), before);
  EXPECT_TRUE(
      Run(UnaryCall(&Stub::ListTenants, ListTenants()), kViewerToken).ok());
}

TEST_F(SecurityTest, TheHolderIsRecordedAsWhoAsked) {
  modules_.MakeDir("Shop");
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kOperatorToken));
  auto reader = server_->stub().SeedMeta(&context, SeedMeta(false));
  v1::SyncEvent event;
  std::string started_by;
  while (reader->Read(&event)) {
    if (event.has_run_started())
      started_by = event.run_started().requested_by();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(started_by, "otto");
  EXPECT_EQ(db_.Scalar("SELECT requested_by FROM sync_runs WHERE op = "
                       "'seed_meta' ORDER BY started_at DESC LIMIT 1"),
            "otto");
  EXPECT_EQ(db_.Scalar("SELECT string_agg(DISTINCT history->0->>'by', ',') "
                       "FROM module_meta WHERE name = 'Shop'"),
            "otto");
  // The setup ran as the admin.
  EXPECT_EQ(db_.Scalar("SELECT string_agg(DISTINCT requested_by, ',') FROM "
                       "sync_runs WHERE op <> 'seed_meta'"),
            "ada");
}

TEST(AnonymousTest, WithoutAuthenticationEveryCallerIsAnAnonymousAdmin) {
  TestDatabase db;
  TempDir modules;
  modules.MakeDir("Blog");
  core::EngineOptions options;
  options.modules_dir = modules.str();
  InProcessServer server(db.conninfo(), options);
  grpc::ClientContext create;
  v1::CreateTenantResponse created;
  ASSERT_TRUE(
      server.stub().CreateTenant(&create, CreateTenant("acme"), &created).ok());
  grpc::ClientContext sync;
  auto reader = server.stub().SyncAll(&sync, SyncAll(false));
  v1::SyncEvent event;
  while (reader->Read(&event)) {
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(db.Scalar("SELECT requested_by FROM sync_runs"), "anonymous");
}

// --- Hostile values in every string field -----------------------------------

// Values no identifier grammar (tenant slug, module name, run id, locale)
// accepts.
std::vector<std::string> HostileIdentifiers() {
  return {
      "'; DROP TABLE tenants; --",
      "acme' OR '1'='1",
      "acme\"; DELETE FROM module_meta; --",
      "$1",
      "acme%",
      "\\",
      "..",
      "../etc",
      "../../../../etc/passwd",
      "/etc/passwd",
      "acme/../other",
      "..\\windows",
      "%2e%2e%2f",
      std::string("acme\0evil", 9),
      std::string("\0", 1),
      "acme\n",
      "acme\r\nINFO forged log line",
      "\x1B[31macme",
      "acme\t",
      "acme\x7F",
      std::string(10 * 1024, 'a'),
      std::string(65, 'a'),
      "\xD0\xB0"
      "cme",                         // Cyrillic a
      "\xEF\xBD\x81\xEF\xBD\x83me",  // fullwidth ac
      "acme\xE2\x80\x8B",            // zero width space
      "ac\xE2\x80\xAEme",            // right-to-left override
      "\xE2\x84\xAA"
      "elvin",         // Kelvin sign
      "acme\xC2\xA0",  // no-break space
      " acme",
      "acme ",
      " ",
      "",
  };
}

// Values a display name (free text) must not accept.
std::vector<std::string> HostileDisplayTexts() {
  return {
      std::string("Acme\0evil", 9),
      "Acme\nINFO forged log line",
      "\x1B[31mAcme",
      "Acme\x7F",
      "Acme\xC2\x85",
      std::string(10 * 1024, 'a'),
      "Ac\xE2\x80\xAEme",
      "Acme\xE2\x80\x8B",
      " Acme",
      "Acme ",
      "\xE3\x80\x80"
      "Acme",
      "",
  };
}

// Each string field of the api, as a call that puts `value` into it.
struct Field {
  std::string name;
  std::function<Call(const std::string&)> call;
  bool empty_is_valid = false;  // Page tokens: empty means "first page".
};

std::vector<Field> IdentifierFields() {
  return {
      {"SeedTenant.tenant",
       [](const std::string& v) {
         return Streaming(&Stub::SeedTenant, SeedTenant(v, false));
       }},
      {"RemoveTenant.tenant",
       [](const std::string& v) {
         return Streaming(&Stub::RemoveTenant, RemoveTenant(v, false));
       }},
      {"SeedModule.module",
       [](const std::string& v) {
         return Streaming(&Stub::SeedModule, SeedModule(v, false));
       }},
      {"Restore.run_id",
       [](const std::string& v) {
         return Streaming(&Stub::Restore, Restore(v, false));
       }},
      {"CreateTenant.slug",
       [](const std::string& v) {
         return UnaryCall(&Stub::CreateTenant, CreateTenant(v));
       }},
      {"CreateTenant.name (locale)",
       [](const std::string& v) {
         return UnaryCall(&Stub::CreateTenant, CreateTenant("fresh", v));
       }},
      {"SetTenantActive.slug",
       [](const std::string& v) {
         return UnaryCall(&Stub::SetTenantActive, SetTenantActive(v));
       }},
      {"ListTenants.page_token",
       [](const std::string& v) {
         return UnaryCall(&Stub::ListTenants, ListTenants(v));
       },
       true},
      {"ListRuns.page_token",
       [](const std::string& v) {
         return UnaryCall(&Stub::ListRuns, ListRuns(v));
       },
       true},
      {"GetRun.run_id",
       [](const std::string& v) {
         return UnaryCall(&Stub::GetRun, GetRun(v));
       }},
  };
}

// True if `text` is printable ASCII: hostile bytes were escaped.
bool IsPrintableAscii(const std::string& text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void ExpectRefused(const grpc::Status& status, const std::string& field,
                   const std::string& value) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << field << " = " << core::QuoteForMessage(value) << ": "
      << status.error_message();
  EXPECT_TRUE(IsPrintableAscii(status.error_message()))
      << core::QuoteForMessage(status.error_message());
  EXPECT_LT(status.error_message().size(), 600u);
}

TEST_F(SecurityTest, HostileValuesInEveryFieldAreInvalidAndChangeNothing) {
  for (const Field& field : IdentifierFields()) {
    for (const std::string& value : HostileIdentifiers()) {
      if (value.empty() && field.empty_is_valid) continue;
      // Only valid UTF-8 reaches a handler; see the next test.
      if (!core::IsValidUtf8(value)) continue;
      SCOPED_TRACE(
          absl::StrCat(field.name, " = ", core::QuoteForMessage(value)));
      const std::string before = db_.Checksum();
      ExpectRefused(Run(field.call(value), kAdminToken), field.name, value);
      EXPECT_EQ(db_.Checksum(), before);
    }
  }
  for (const std::string& value : HostileDisplayTexts()) {
    SCOPED_TRACE(
        absl::StrCat("CreateTenant.name = ", core::QuoteForMessage(value)));
    const std::string before = db_.Checksum();
    ExpectRefused(
        Run(UnaryCall(&Stub::CreateTenant, CreateTenant("fresh", "en", value)),
            kAdminToken),
        "name", value);
    EXPECT_EQ(db_.Checksum(), before);
  }
}

// protobuf refuses a proto3 string field that is not valid UTF-8 while
// parsing the request, so such a value never reaches a handler: gRPC itself
// answers INTERNAL, not INVALID_ARGUMENT.
TEST_F(SecurityTest, InvalidUtf8NeverReachesAHandler) {
  for (const std::string& value :
       {std::string("acme\xFF"), std::string("\xC0\xAF"),
        std::string("Acme\xED\xA0\x80")}) {
    for (const Call& call :
         {UnaryCall(&Stub::CreateTenant, CreateTenant(value)),
          UnaryCall(&Stub::CreateTenant, CreateTenant("fresh", "en", value)),
          Streaming(&Stub::RemoveTenant, RemoveTenant(value, false))}) {
      const std::string before = db_.Checksum();
      const grpc::Status status = Run(call, kAdminToken);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL)
          << core::QuoteForMessage(value);
      EXPECT_EQ(db_.Checksum(), before);
    }
  }
}

// SQL in free text is data: it is stored as given and runs nowhere.
TEST_F(SecurityTest, SqlInADisplayNameIsStoredVerbatim) {
  const std::string name = "Robert'); DROP TABLE tenants; --";
  ASSERT_TRUE(
      Run(UnaryCall(&Stub::CreateTenant, CreateTenant("bobby", "en", name)),
          kAdminToken)
          .ok());
  EXPECT_EQ(db_.Scalar("SELECT name->>'en' FROM tenants WHERE slug = 'bobby'"),
            name);
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM tenants"), "3");
}

TEST_F(SecurityTest, RequestsOverTheSizeLimitAreRefused) {
  const std::string before = db_.Checksum();
  const grpc::Status status =
      Run(UnaryCall(&Stub::CreateTenant,
                    CreateTenant("big", "en", std::string(2 << 20, 'a'))),
          kAdminToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(db_.Checksum(), before);
}

// --- Hostile modules roots --------------------------------------------------

class HostileRootTest : public SecurityTest {
 protected:
  // Calls SyncAll (which deletes orphans) and SeedMeta as admin; both must
  // fail with FAILED_PRECONDITION naming `detail`, writing no data.
  void ExpectScanRefused(const std::string& detail) {
    const std::string before = db_.DataChecksum();
    for (const Call& call : {Streaming(&Stub::SyncAll, SyncAll(false)),
                             Streaming(&Stub::SeedMeta, SeedMeta(false))}) {
      const grpc::Status status = Run(call, kAdminToken);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr(detail));
      EXPECT_EQ(db_.DataChecksum(), before);
    }
    // The journal tells what was refused.
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM sync_runs WHERE outcome = "
                         "'failed' AND op IN ('sync_all', 'seed_meta')"),
              "2");
  }
};

TEST_F(HostileRootTest, SymlinkOutOfTheRootIsNotFollowed) {
  TempDir outside;
  outside.MakeDir("Secrets");
  outside.WriteFile("Secrets/module.json", R"({"label": "stolen"})");
  // An orphan that SyncAll would delete if the scan went through.
  modules_.Remove("Users");
  std::filesystem::create_symlink(outside.path() / "Secrets",
                                  modules_.path() / "Secrets");
  ExpectScanRefused(
      "\"Secrets\" is a symbolic link that leads out of the modules root");
  EXPECT_EQ(db_.Scalar("SELECT count(*) FROM module_meta WHERE name = "
                       "'Users'"),
            "2");
}

TEST_F(HostileRootTest, FiftyMegabyteManifestIsRefusedUnread) {
  const std::filesystem::path manifest =
      modules_.path() / "Blog" / "module.json";
  {
    std::ofstream out(manifest, std::ios::binary);
    out << R"({"label": ")";
  }
  ASSERT_EQ(truncate(manifest.c_str(), 50 << 20), 0);
  ExpectScanRefused("module.json\" is over 65536 bytes");
}

TEST_F(HostileRootTest, ManifestSyntaxErrorNamesFileAndPosition) {
  modules_.WriteFile("Blog/module.json", "{\n  \"icon\": \"box\",\n  oops\n}");
  ExpectScanRefused("line 3");
}

TEST_F(HostileRootTest, DirectoryNamesMustPassTheModuleGrammar) {
  modules_.MakeDir("x;DROP TABLE module_meta");
  ExpectScanRefused(
      "module directory \"x;DROP TABLE module_meta\" is "
      "invalid");
}

}  // namespace
}  // namespace syncadmin::server
