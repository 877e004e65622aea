#include "server/service.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/in_process_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::server {
namespace {

using ::syncadmin::testing::InProcessServer;
using ::syncadmin::testing::TempDir;
using ::syncadmin::testing::TestDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Reader = std::unique_ptr<grpc::ClientReader<v1::SyncEvent>>;
using ItemKey = std::tuple<v1::Action, v1::Kind, std::string, std::string>;

// Everything a streaming call returned.
struct Stream {
  grpc::Status status;
  std::vector<v1::SyncEvent> events;

  bool started() const { return !events.empty(); }
  const v1::RunStarted& run_started() const {
    return events.front().run_started();
  }
  const v1::RunFinished& run_finished() const {
    return events.back().run_finished();
  }
  const std::string& run_id() const { return run_started().run_id(); }

  std::vector<v1::Item> items() const {
    std::vector<v1::Item> out;
    for (const auto& e : events) {
      if (e.has_items()) {
        out.insert(out.end(), e.items().items().begin(),
                   e.items().items().end());
      }
    }
    return out;
  }

  std::multiset<ItemKey> item_keys() const {
    std::multiset<ItemKey> out;
    for (const auto& i : items()) {
      out.insert({i.action(), i.kind(), i.tenant(), i.module()});
    }
    return out;
  }

  // Count of one (action, kind) in `RunFinished.counts`.
  uint64_t count(v1::Action action, v1::Kind kind) const {
    for (const auto& c : run_finished().counts()) {
      if (c.action() == action && c.kind() == kind) return c.count();
    }
    return 0;
  }
};

v1::RunOptions DryRun() {
  v1::RunOptions options;
  options.set_dry_run(true);
  return options;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    modules_.MakeDir("Blog");
    modules_.MakeDir("Users");
    core::EngineOptions options;
    options.modules_dir = modules_.str();
    options.lock_timeout = absl::Seconds(5);
    server_ = std::make_unique<InProcessServer>(db_.conninfo(), options);
  }

  v1::SyncAdmin::Stub& stub() { return server_->stub(); }

  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
  }

  // Reads a whole stream and checks the framing every stream must have.
  Stream Read(const std::function<Reader(grpc::ClientContext*)>& call) {
    grpc::ClientContext context;
    SetDeadline(&context);
    Reader reader = call(&context);
    Stream out;
    v1::SyncEvent event;
    while (reader->Read(&event)) out.events.push_back(event);
    out.status = reader->Finish();
    VerifyFraming(out);
    return out;
  }

  // A stream is empty (the request was rejected before any run started), or
  // it is run_started, then phases and items, then run_finished, numbered
  // from 1 without gaps, all with the run's id.
  static void VerifyFraming(const Stream& s) {
    if (s.events.empty()) {
      EXPECT_FALSE(s.status.ok());
      return;
    }
    ASSERT_TRUE(s.events.front().has_run_started());
    ASSERT_TRUE(s.events.back().has_run_finished());
    const std::string& id = s.run_id();
    EXPECT_EQ(id.size(), 36u);
    for (size_t i = 0; i < s.events.size(); ++i) {
      const v1::SyncEvent& e = s.events[i];
      EXPECT_EQ(e.sequence(), i + 1);
      EXPECT_EQ(e.run_id(), id);
      if (i > 0) {
        EXPECT_FALSE(e.has_run_started()) << i;
      }
      if (i + 1 < s.events.size()) {
        EXPECT_FALSE(e.has_run_finished()) << i;
      }
      EXPECT_NE(e.event_case(), v1::SyncEvent::EVENT_NOT_SET);
    }
    const v1::RunFinished& finished = s.run_finished();
    EXPECT_EQ(finished.error(), s.status.error_message());
    if (s.status.ok()) {
      EXPECT_TRUE(finished.outcome() == v1::OUTCOME_COMMITTED ||
                  finished.outcome() == v1::OUTCOME_ROLLED_BACK);
    } else {
      EXPECT_TRUE(finished.outcome() == v1::OUTCOME_FAILED ||
                  finished.outcome() == v1::OUTCOME_CANCELLED);
    }
  }

  Stream SeedMeta(const v1::RunOptions& options = {}) {
    v1::SeedMetaRequest request;
    *request.mutable_options() = options;
    return Read(
        [&](grpc::ClientContext* c) { return stub().SeedMeta(c, request); });
  }

  Stream SeedSettings(const v1::RunOptions& options = {}) {
    v1::SeedSettingsRequest request;
    *request.mutable_options() = options;
    return Read([&](grpc::ClientContext* c) {
      return stub().SeedSettings(c, request);
    });
  }

  Stream HealthCheck(bool check_only, const v1::RunOptions& options = {}) {
    v1::HealthCheckRequest request;
    *request.mutable_options() = options;
    request.set_check_only(check_only);
    return Read(
        [&](grpc::ClientContext* c) { return stub().HealthCheck(c, request); });
  }

  Stream SeedTenant(const std::string& tenant,
                    const v1::RunOptions& options = {}) {
    v1::SeedTenantRequest request;
    *request.mutable_options() = options;
    request.set_tenant(tenant);
    return Read(
        [&](grpc::ClientContext* c) { return stub().SeedTenant(c, request); });
  }

  Stream SeedModule(const std::string& module,
                    const v1::RunOptions& options = {}) {
    v1::SeedModuleRequest request;
    *request.mutable_options() = options;
    request.set_module(module);
    return Read(
        [&](grpc::ClientContext* c) { return stub().SeedModule(c, request); });
  }

  Stream RemoveTenant(const std::string& tenant,
                      const v1::RunOptions& options = {}) {
    v1::RemoveTenantRequest request;
    *request.mutable_options() = options;
    request.set_tenant(tenant);
    return Read([&](grpc::ClientContext* c) {
      return stub().RemoveTenant(c, request);
    });
  }

  Stream SyncAll(const v1::RunOptions& options = {}) {
    v1::SyncAllRequest request;
    *request.mutable_options() = options;
    return Read(
        [&](grpc::ClientContext* c) { return stub().SyncAll(c, request); });
  }

  Stream Restore(const std::string& run_id,
                 const v1::RunOptions& options = {}) {
    v1::RestoreRequest request;
    *request.mutable_options() = options;
    request.set_run_id(run_id);
    return Read(
        [&](grpc::ClientContext* c) { return stub().Restore(c, request); });
  }

  grpc::Status CreateTenant(const std::string& slug,
                            const std::map<std::string, std::string>& name,
                            bool inactive, v1::Tenant* out = nullptr) {
    v1::CreateTenantRequest request;
    request.set_slug(slug);
    for (const auto& [locale, text] : name) {
      (*request.mutable_name())[locale] = text;
    }
    request.set_inactive(inactive);
    v1::CreateTenantResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub().CreateTenant(&context, request, &response);
    if (out) *out = response.tenant();
    return status;
  }

  void AddTenant(const std::string& slug, bool active = true) {
    grpc::Status s = CreateTenant(slug, {}, !active);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status ListTenants(uint32_t page_size, const std::string& token,
                           v1::ListTenantsResponse* response) {
    v1::ListTenantsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub().ListTenants(&context, request, response);
  }

  grpc::Status SetTenantActive(const std::string& slug, bool active,
                               v1::Tenant* out = nullptr) {
    v1::SetTenantActiveRequest request;
    request.set_slug(slug);
    request.set_active(active);
    v1::SetTenantActiveResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub().SetTenantActive(&context, request, &response);
    if (out) *out = response.tenant();
    return status;
  }

  grpc::Status ListRuns(uint32_t page_size, const std::string& token,
                        v1::ListRunsResponse* response) {
    v1::ListRunsRequest request;
    request.set_page_size(page_size);
    request.set_page_token(token);
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub().ListRuns(&context, request, response);
  }

  grpc::Status GetRun(const std::string& id, v1::Run* out = nullptr) {
    v1::GetRunRequest request;
    request.set_run_id(id);
    v1::GetRunResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub().GetRun(&context, request, &response);
    if (out) *out = response.run();
    return status;
  }

  uint64_t Count(const std::string& from_where) const {
    return std::stoull(db_.Scalar("SELECT count(*) FROM " + from_where));
  }

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<InProcessServer> server_;
};

// --- Streaming rpcs ---------------------------------------------------------

TEST_F(ServiceTest, SeedMetaStreamsTheWholeRun) {
  AddTenant("acme");
  AddTenant("globex");

  Stream s = SeedMeta();

  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.run_started().operation(), v1::OPERATION_SEED_META);
  EXPECT_FALSE(s.run_started().dry_run());
  EXPECT_EQ(s.run_started().module_count(), 2u);
  EXPECT_EQ(s.run_started().tenant_count(), 2u);
  ASSERT_GE(s.events.size(), 4u);
  EXPECT_TRUE(s.events[1].has_phase_started());
  EXPECT_EQ(s.events[1].phase_started().name(), "seed-metas");
  EXPECT_EQ(s.events[1].phase_started().total(), 4u);
  EXPECT_EQ(s.item_keys(),
            (std::multiset<ItemKey>{
                {v1::ACTION_CREATED, v1::KIND_META, "acme", "Blog"},
                {v1::ACTION_CREATED, v1::KIND_META, "acme", "Users"},
                {v1::ACTION_CREATED, v1::KIND_META, "globex", "Blog"},
                {v1::ACTION_CREATED, v1::KIND_META, "globex", "Users"}}));
  EXPECT_EQ(s.run_finished().outcome(), v1::OUTCOME_COMMITTED);
  ASSERT_EQ(s.run_finished().counts_size(), 1);
  EXPECT_EQ(s.count(v1::ACTION_CREATED, v1::KIND_META), 4u);
  EXPECT_FALSE(s.run_finished().has_health());
  EXPECT_EQ(Count("module_meta"), 4u);
}

TEST_F(ServiceTest, SecondRunReportsExistingRowsOnlyInCounts) {
  AddTenant("acme");
  ASSERT_TRUE(SyncAll().status.ok());

  Stream s = SyncAll();

  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_THAT(s.items(), IsEmpty());
  EXPECT_EQ(s.count(v1::ACTION_EXISTS, v1::KIND_META), 2u);
  EXPECT_EQ(s.count(v1::ACTION_EXISTS, v1::KIND_SETTING), 2u);

  v1::RunOptions unchanged;
  unchanged.set_include_unchanged(true);
  Stream listed = SeedMeta(unchanged);
  ASSERT_TRUE(listed.status.ok());
  EXPECT_EQ(listed.item_keys(),
            (std::multiset<ItemKey>{
                {v1::ACTION_EXISTS, v1::KIND_META, "acme", "Blog"},
                {v1::ACTION_EXISTS, v1::KIND_META, "acme", "Users"}}));
}

TEST_F(ServiceTest, SeedSettingsReturnsOk) {
  AddTenant("acme");
  ASSERT_TRUE(SeedMeta().status.ok());
  Stream s = SeedSettings();
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.run_started().operation(), v1::OPERATION_SEED_SETTINGS);
  EXPECT_EQ(s.count(v1::ACTION_CREATED, v1::KIND_SETTING), 2u);
  EXPECT_EQ(Count("module_settings"), 2u);
}

TEST_F(ServiceTest, HealthCheckReportsSummary) {
  AddTenant("acme");
  AddTenant("dormant");
  ASSERT_TRUE(SyncAll().status.ok());
  ASSERT_TRUE(SetTenantActive("dormant", false).ok());
  db_.Exec(
      "DELETE FROM module_settings WHERE tenant = 'acme' "
      "AND module = 'Users'");
  const std::string before = db_.DataChecksum();

  Stream check = HealthCheck(/*check_only=*/true);

  ASSERT_TRUE(check.status.ok()) << check.status.error_message();
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(check.run_finished().outcome(), v1::OUTCOME_ROLLED_BACK);
  ASSERT_TRUE(check.run_finished().has_health());
  const v1::HealthSummary& health = check.run_finished().health();
  EXPECT_EQ(health.missing_settings(), 1u);
  EXPECT_EQ(health.orphan_metas(), 0u);
  EXPECT_EQ(health.inactive_tenants_with_rows(), 1u);
  EXPECT_TRUE(health.drift());
  EXPECT_EQ(check.item_keys(),
            (std::multiset<ItemKey>{
                {v1::ACTION_WOULD_CREATE, v1::KIND_SETTING, "acme", "Users"},
                {v1::ACTION_SKIPPED, v1::KIND_TENANT, "dormant", ""}}));

  Stream repair = HealthCheck(/*check_only=*/false);
  ASSERT_TRUE(repair.status.ok()) << repair.status.error_message();
  EXPECT_EQ(repair.run_finished().outcome(), v1::OUTCOME_COMMITTED);
  EXPECT_EQ(repair.count(v1::ACTION_CREATED, v1::KIND_SETTING), 1u);
  EXPECT_EQ(Count("module_settings WHERE tenant = 'acme'"), 2u);
}

TEST_F(ServiceTest, SeedTenantStatusCodes) {
  AddTenant("acme");
  AddTenant("dormant", false);

  Stream ok = SeedTenant("acme");
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.run_started().tenant_count(), 1u);
  EXPECT_EQ(ok.count(v1::ACTION_CREATED, v1::KIND_META), 2u);
  EXPECT_EQ(ok.count(v1::ACTION_CREATED, v1::KIND_SETTING), 2u);

  Stream missing = SeedTenant("nobody");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.status.error_message(), HasSubstr("\"nobody\""));
  EXPECT_EQ(missing.run_finished().outcome(), v1::OUTCOME_FAILED);

  Stream inactive = SeedTenant("dormant");
  EXPECT_EQ(inactive.status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Count("module_meta WHERE tenant = 'dormant'"), 0u);
}

TEST_F(ServiceTest, SeedModuleStatusCodes) {
  AddTenant("acme");

  Stream ok = SeedModule("Blog");
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.item_keys(),
            (std::multiset<ItemKey>{
                {v1::ACTION_CREATED, v1::KIND_META, "acme", "Blog"},
                {v1::ACTION_CREATED, v1::KIND_SETTING, "acme", "Blog"}}));

  Stream wrong_case = SeedModule("blog");
  EXPECT_EQ(wrong_case.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(wrong_case.started());
  Stream missing = SeedModule("Shop");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("module_meta"), 1u);
}

TEST_F(ServiceTest, RemoveTenantAndRestoreRoundTrip) {
  AddTenant("acme");
  AddTenant("globex");
  ASSERT_TRUE(SyncAll().status.ok());
  const std::string before = db_.DataChecksum();

  Stream removed = RemoveTenant("acme");
  ASSERT_TRUE(removed.status.ok()) << removed.status.error_message();
  EXPECT_EQ(removed.count(v1::ACTION_DELETED, v1::KIND_SETTING), 2u);
  EXPECT_EQ(removed.count(v1::ACTION_DELETED, v1::KIND_META), 2u);
  EXPECT_EQ(removed.count(v1::ACTION_DELETED, v1::KIND_TENANT), 1u);
  EXPECT_EQ(Count("tenants WHERE slug = 'acme'"), 0u);
  EXPECT_EQ(Count("module_meta WHERE tenant = 'globex'"), 2u);

  Stream missing = RemoveTenant("acme");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);

  Stream restored = Restore(removed.run_id());
  ASSERT_TRUE(restored.status.ok()) << restored.status.error_message();
  EXPECT_EQ(restored.run_started().operation(), v1::OPERATION_RESTORE);
  EXPECT_EQ(restored.count(v1::ACTION_CREATED, v1::KIND_TENANT), 1u);
  EXPECT_EQ(db_.DataChecksum(), before);

  Stream unknown = Restore("123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, SyncAllStatusCodes) {
  AddTenant("acme");
  ASSERT_TRUE(SyncAll().status.ok());
  modules_.Remove("Users");

  Stream ok = SyncAll();
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.events[1].phase_started().name(), "delete-orphans");
  EXPECT_EQ(ok.item_keys(),
            (std::multiset<ItemKey>{
                {v1::ACTION_DELETED, v1::KIND_SETTING, "acme", "Users"},
                {v1::ACTION_DELETED, v1::KIND_META, "acme", "Users"}}));

  modules_.Remove("Blog");
  const std::string before = db_.DataChecksum();
  Stream empty_root = SyncAll();
  EXPECT_EQ(empty_root.status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(empty_root.run_finished().outcome(), v1::OUTCOME_FAILED);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(ServiceTest, SyncAllDeletionGuardNeedsForce) {
  AddTenant("acme");
  modules_.MakeDir("Shop");
  ASSERT_TRUE(SyncAll().status.ok());
  modules_.Remove("Users");
  modules_.Remove("Shop");
  const std::string before = db_.DataChecksum();

  Stream refused = SyncAll();
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(db_.DataChecksum(), before);

  v1::RunOptions force;
  force.set_force(true);
  Stream forced = SyncAll(force);
  EXPECT_TRUE(forced.status.ok()) << forced.status.error_message();
  EXPECT_EQ(Count("module_meta"), 1u);
}

TEST_F(ServiceTest, DryRunStreamsWouldActionsAndWritesNothing) {
  AddTenant("acme");
  AddTenant("globex");
  ASSERT_TRUE(SyncAll().status.ok());
  modules_.Remove("Users");
  modules_.MakeDir("Shop");
  const std::string before = db_.DataChecksum();

  Stream dry = SyncAll(DryRun());

  ASSERT_TRUE(dry.status.ok()) << dry.status.error_message();
  EXPECT_TRUE(dry.run_started().dry_run());
  EXPECT_EQ(dry.run_finished().outcome(), v1::OUTCOME_ROLLED_BACK);
  EXPECT_TRUE(dry.run_finished().error().empty());
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(dry.count(v1::ACTION_WOULD_DELETE, v1::KIND_META), 2u);
  EXPECT_EQ(dry.count(v1::ACTION_WOULD_DELETE, v1::KIND_SETTING), 2u);
  EXPECT_EQ(dry.count(v1::ACTION_WOULD_CREATE, v1::KIND_META), 2u);
  EXPECT_EQ(dry.count(v1::ACTION_WOULD_CREATE, v1::KIND_SETTING), 2u);
  for (const v1::Item& item : dry.items()) {
    EXPECT_TRUE(item.action() == v1::ACTION_WOULD_CREATE ||
                item.action() == v1::ACTION_WOULD_DELETE)
        << item.ShortDebugString();
  }
  v1::Run journaled;
  ASSERT_TRUE(GetRun(dry.run_id(), &journaled).ok());
  EXPECT_TRUE(journaled.dry_run());
  EXPECT_EQ(journaled.outcome(), v1::OUTCOME_ROLLED_BACK);

  for (Stream other :
       {SeedMeta(DryRun()), SeedSettings(DryRun()),
        SeedTenant("acme", DryRun()), SeedModule("Shop", DryRun()),
        RemoveTenant("globex", DryRun()), HealthCheck(false, DryRun())}) {
    EXPECT_TRUE(other.status.ok()) << other.status.error_message();
    EXPECT_TRUE(other.run_started().dry_run());
    EXPECT_EQ(other.run_finished().outcome(), v1::OUTCOME_ROLLED_BACK);
  }
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(ServiceTest, InvalidArgumentsStartNoRunAndWriteNothing) {
  AddTenant("acme");
  const std::string before = db_.Checksum();

  const std::vector<Stream> rejected = {
      SeedTenant(""),
      SeedTenant("Acme"),
      SeedTenant("acme; DROP TABLE tenants"),
      SeedTenant(std::string(64, 'a')),
      SeedModule(""),
      SeedModule("bad name"),
      SeedModule("../etc"),
      SeedModule("\xD0\x92log"),
      RemoveTenant(" acme"),
      RemoveTenant(std::string("ac\0me", 5)),
      Restore(""),
      Restore("not-a-uuid"),
  };

  for (const Stream& s : rejected) {
    EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.status.error_message();
    EXPECT_THAT(s.events, IsEmpty());
  }
  EXPECT_EQ(db_.Checksum(), before);
}

TEST_F(ServiceTest, LargeRunsStreamInBoundedBatches) {
  db_.Exec(
      "INSERT INTO tenants (slug, name) SELECT 't' || g, '{}' "
      "FROM generate_series(1, 1100) g");
  modules_.Remove("Users");

  Stream s = SeedMeta();

  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.items().size(), 1100u);
  size_t batches = 0;
  for (const auto& e : s.events) {
    if (!e.has_items()) continue;
    ++batches;
    EXPECT_LE(e.items().items_size(), 1000);
    EXPECT_GT(e.items().items_size(), 0);
  }
  EXPECT_GE(batches, 2u);
  EXPECT_EQ(s.count(v1::ACTION_CREATED, v1::KIND_META), 1100u);
}

TEST_F(ServiceTest, ShutdownCancelsARunAndRollsItBack) {
  AddTenant("acme");
  const std::string before = db_.DataChecksum();
  server_->SetShuttingDown(true);

  Stream s = SyncAll();
  server_->SetShuttingDown(false);

  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::CANCELLED)
      << s.status.error_message();
  ASSERT_TRUE(s.started());
  EXPECT_EQ(s.run_finished().outcome(), v1::OUTCOME_CANCELLED);
  EXPECT_THAT(s.status.error_message(), HasSubstr("shutting down"));
  EXPECT_EQ(db_.DataChecksum(), before);
  v1::Run run;
  ASSERT_TRUE(GetRun(s.run_id(), &run).ok());
  EXPECT_EQ(run.outcome(), v1::OUTCOME_CANCELLED);
}

// --- Tenants ----------------------------------------------------------------

TEST_F(ServiceTest, CreateTenantDefaultsNameToSlug) {
  v1::Tenant tenant;
  grpc::Status s = CreateTenant("acme", {}, false, &tenant);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(tenant.slug(), "acme");
  EXPECT_EQ(tenant.name().size(), 1u);
  EXPECT_EQ(tenant.name().at("en"), "acme");
  EXPECT_TRUE(tenant.active());
  EXPECT_FALSE(tenant.created_at().empty());
  EXPECT_EQ(tenant.created_at().back(), 'Z');
  EXPECT_EQ(tenant.meta_count(), 0u);
  EXPECT_EQ(db_.Scalar("SELECT name::text || is_active::text FROM tenants"),
            "{\"en\": \"acme\"}true");
}

TEST_F(ServiceTest, CreateTenantKeepsNamesAndInactiveFlag) {
  v1::Tenant tenant;
  grpc::Status s = CreateTenant(
      "globex", {{"en", "Globex Corp"}, {"tr", "Globex A.\xC5\x9E."}}, true,
      &tenant);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(tenant.active());
  EXPECT_EQ(tenant.name().at("tr"), "Globex A.\xC5\x9E.");
  EXPECT_EQ(tenant.name().size(), 2u);
  EXPECT_EQ(Count("tenants WHERE NOT is_active"), 1u);
}

TEST_F(ServiceTest, CreateTenantTwiceIsAlreadyExists) {
  AddTenant("acme");
  const std::string before = db_.Checksum();
  grpc::Status s = CreateTenant("acme", {{"en", "Other"}}, false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(), HasSubstr("\"acme\""));
  EXPECT_EQ(db_.Checksum(), before);
}

TEST_F(ServiceTest, CreateTenantRejectsBadInputAndWritesNothing) {
  const std::string before = db_.Checksum();
  std::map<std::string, std::string> too_many;
  for (char c = 'a'; c < 'a' + 17; ++c) {
    too_many[std::string(2, c)] = "Name";
  }
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>>
      bad = {
          {"", {}},
          {"Acme", {}},
          {"acme corp", {}},
          {"-acme", {}},
          {std::string(64, 'a'), {}},
          {"\xD0\xB0"
           "cme",
           {}},
          {"acme", {{"EN", "Acme"}}},
          {"acme", {{"english", "Acme"}}},
          {"acme", {{"", "Acme"}}},
          {"acme", {{"en", ""}}},
          {"acme", {{"en", "Ac\nme"}}},
          {"acme", {{"en", std::string("Ac\0me", 5)}}},
          {"acme", {{"en", "Acme\x1B[2J"}}},
          {"acme", {{"en", " Acme"}}},
          {"acme", {{"en", std::string(201, 'x')}}},
          {"acme", {{"xx", "Acme"}}},  // Well-formed, but not configured.
          {"acme", {{"en", "Ac\xE2\x80\xAEme"}}},  // Right-to-left override.
          {"acme", too_many},
      };
  for (const auto& [slug, name] : bad) {
    grpc::Status s = CreateTenant(slug, name, false);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << slug << " " << s.error_message();
  }
  EXPECT_EQ(db_.Checksum(), before);
}

TEST_F(ServiceTest, ListTenantsPagesInSlugOrderWithCounts) {
  for (const char* slug : {"delta", "alpha", "echo", "charlie", "bravo"}) {
    AddTenant(slug);
  }
  ASSERT_TRUE(SetTenantActive("echo", false).ok());
  ASSERT_TRUE(SyncAll().status.ok());
  db_.Exec(
      "DELETE FROM module_settings WHERE tenant = 'bravo' "
      "AND module = 'Blog'");

  std::vector<std::string> slugs;
  std::vector<std::string> tokens;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListTenantsResponse response;
    grpc::Status s = ListTenants(2, token, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(response.tenants_size(), 2);
    for (const v1::Tenant& t : response.tenants()) {
      slugs.push_back(t.slug());
      if (t.slug() == "bravo") {
        EXPECT_EQ(t.meta_count(), 2u);
        EXPECT_EQ(t.setting_count(), 1u);
      } else if (t.slug() == "echo") {
        EXPECT_FALSE(t.active());
        EXPECT_EQ(t.meta_count(), 0u);
        EXPECT_EQ(t.setting_count(), 0u);
      } else {
        EXPECT_TRUE(t.active());
        EXPECT_EQ(t.meta_count(), 2u);
        EXPECT_EQ(t.setting_count(), 2u);
      }
    }
    token = response.next_page_token();
    tokens.push_back(token);
    if (token.empty()) break;
  }
  EXPECT_THAT(slugs, ElementsAre("alpha", "bravo", "charlie", "delta", "echo"));
  EXPECT_THAT(tokens, ElementsAre("bravo", "delta", ""));

  v1::ListTenantsResponse all;
  ASSERT_TRUE(ListTenants(0, "", &all).ok());
  EXPECT_EQ(all.tenants_size(), 5);
  EXPECT_TRUE(all.next_page_token().empty());

  v1::ListTenantsResponse exact;
  ASSERT_TRUE(ListTenants(5, "", &exact).ok());
  EXPECT_EQ(exact.tenants_size(), 5);
  EXPECT_TRUE(exact.next_page_token().empty());
}

// A page of long names would pass gRPC's default 4 MiB receive limit: the
// server ends it early, with a token for the rest, so every client can read
// every page.
TEST_F(ServiceTest, ListTenantsEndsAPageBeforeItOutgrowsAClientsLimit) {
  // 700 tenants of six 200-character names in four-byte characters: about
  // 3.4 MB.
  db_.Exec(
      "INSERT INTO tenants (slug, name) "
      "SELECT format('t%s', lpad(i::text, 4, '0')), "
      "       (SELECT jsonb_object_agg(l, repeat(U&'\\+01F680', 200)) "
      "          FROM unnest(ARRAY['tr','en','de','pl','fr','es']) AS l) "
      "  FROM generate_series(1, 700) AS i");

  size_t listed = 0;
  int pages = 0;
  std::string token;
  do {
    v1::ListTenantsResponse response;
    grpc::Status s = ListTenants(1000, token, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LT(response.ByteSizeLong(), size_t{4} << 20);
    EXPECT_GT(response.tenants_size(), 0);
    if (!response.next_page_token().empty()) {
      EXPECT_EQ(response.next_page_token(),
                response.tenants(response.tenants_size() - 1).slug());
    }
    listed += response.tenants_size();
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(listed, 700u);
  EXPECT_EQ(pages, 2);
}

TEST_F(ServiceTest, ListTenantsRejectsMalformedToken) {
  v1::ListTenantsResponse response;
  EXPECT_EQ(ListTenants(2, "Not A Slug", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ListTenants(2, "' OR 1=1 --", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, SetTenantActiveTogglesAndAllTenantRunsFollow) {
  AddTenant("acme");
  AddTenant("globex");
  v1::Tenant tenant;
  ASSERT_TRUE(SetTenantActive("globex", false, &tenant).ok());
  EXPECT_FALSE(tenant.active());
  EXPECT_EQ(tenant.slug(), "globex");

  Stream s = SyncAll();
  ASSERT_TRUE(s.status.ok());
  EXPECT_EQ(s.run_started().tenant_count(), 1u);
  EXPECT_EQ(Count("module_meta WHERE tenant = 'globex'"), 0u);

  ASSERT_TRUE(SetTenantActive("globex", true, &tenant).ok());
  EXPECT_TRUE(tenant.active());
  ASSERT_TRUE(SyncAll().status.ok());
  EXPECT_EQ(Count("module_meta WHERE tenant = 'globex'"), 2u);
}

TEST_F(ServiceTest, SetTenantActiveToTheSameStateKeepsUpdatedAt) {
  AddTenant("acme");
  db_.Exec("UPDATE tenants SET updated_at = '2020-01-01T00:00:00Z'");
  const std::string before = db_.Checksum();
  v1::Tenant tenant;
  ASSERT_TRUE(SetTenantActive("acme", true, &tenant).ok());
  EXPECT_EQ(tenant.updated_at(), "2020-01-01T00:00:00.000Z");
  EXPECT_EQ(db_.Checksum(), before);
}

TEST_F(ServiceTest, SetTenantActiveStatusCodes) {
  const std::string before = db_.Checksum();
  EXPECT_EQ(SetTenantActive("nobody", true).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetTenantActive("Nobody", true).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetTenantActive("", false).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(db_.Checksum(), before);
}

// --- Runs -------------------------------------------------------------------

TEST_F(ServiceTest, GetRunReturnsTheJournaledRun) {
  AddTenant("acme");
  Stream s = SeedMeta();
  ASSERT_TRUE(s.status.ok());

  v1::Run run;
  grpc::Status status = GetRun(s.run_id(), &run);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(run.id(), s.run_id());
  EXPECT_EQ(run.operation(), v1::OPERATION_SEED_META);
  EXPECT_EQ(run.outcome(), v1::OUTCOME_COMMITTED);
  EXPECT_FALSE(run.dry_run());
  EXPECT_FALSE(run.started_at().empty());
  EXPECT_FALSE(run.finished_at().empty());
  EXPECT_GE(run.finished_at(), run.started_at());
  EXPECT_TRUE(run.error().empty());
  ASSERT_EQ(run.counts_size(), s.run_finished().counts_size());
  for (int i = 0; i < run.counts_size(); ++i) {
    EXPECT_EQ(run.counts(i).ShortDebugString(),
              s.run_finished().counts(i).ShortDebugString());
  }

  v1::Run upper;
  ASSERT_TRUE(GetRun(absl::AsciiStrToUpper(s.run_id()), &upper).ok());
  EXPECT_EQ(upper.id(), s.run_id());
}

TEST_F(ServiceTest, GetRunStatusCodes) {
  EXPECT_EQ(GetRun("123e4567-e89b-12d3-a456-426614174000").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetRun("not-a-uuid").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetRun("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      GetRun("123e4567-e89b-12d3-a456-426614174000' OR '1'='1").error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, FailedRunIsJournaledWithItsError) {
  Stream s = SeedTenant("nobody");
  ASSERT_EQ(s.status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Run run;
  ASSERT_TRUE(GetRun(s.run_id(), &run).ok());
  EXPECT_EQ(run.outcome(), v1::OUTCOME_FAILED);
  EXPECT_EQ(run.error(), s.status.error_message());
  EXPECT_EQ(run.operation(), v1::OPERATION_SEED_TENANT);
}

TEST_F(ServiceTest, ListRunsPagesNewestFirst) {
  AddTenant("acme");
  std::vector<std::string> ids;
  ids.push_back(SeedMeta().run_id());
  ids.push_back(SeedSettings().run_id());
  ids.push_back(SyncAll(DryRun()).run_id());
  ids.push_back(SeedTenant("acme").run_id());

  std::vector<std::string> listed;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListRunsResponse response;
    grpc::Status s = ListRuns(3, token, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(response.runs_size(), 3);
    for (const v1::Run& r : response.runs()) listed.push_back(r.id());
    token = response.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_THAT(listed, ElementsAre(ids[3], ids[2], ids[1], ids[0]));

  v1::ListRunsResponse first;
  ASSERT_TRUE(ListRuns(0, "", &first).ok());
  ASSERT_EQ(first.runs_size(), 4);
  EXPECT_EQ(first.runs(0).operation(), v1::OPERATION_SEED_TENANT);
  EXPECT_EQ(first.runs(1).outcome(), v1::OUTCOME_ROLLED_BACK);
  EXPECT_TRUE(first.runs(1).dry_run());
  EXPECT_TRUE(first.next_page_token().empty());

  v1::ListRunsResponse bad;
  EXPECT_EQ(ListRuns(1, "not-a-uuid", &bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, UnaryRequestsThatFailWriteNothing) {
  AddTenant("acme");
  const std::string before = db_.Checksum();
  v1::ListTenantsResponse tenants;
  v1::ListRunsResponse runs;
  EXPECT_FALSE(CreateTenant("acme", {}, false).ok());
  EXPECT_FALSE(CreateTenant("Bad", {}, false).ok());
  EXPECT_FALSE(SetTenantActive("nobody", false).ok());
  EXPECT_FALSE(GetRun("123e4567-e89b-12d3-a456-426614174000").ok());
  EXPECT_FALSE(ListTenants(1, "-", &tenants).ok());
  EXPECT_FALSE(ListRuns(1, "x", &runs).ok());
  EXPECT_EQ(db_.Checksum(), before);
}

}  // namespace
}  // namespace syncadmin::server
