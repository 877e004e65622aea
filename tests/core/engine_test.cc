#include "core/engine.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/store.h"
#include "core/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"

namespace syncadmin::core {
namespace {

using ::syncadmin::testing::TempDir;
using ::syncadmin::testing::TestDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;

// Advisory lock classes of the store: global runs and per-tenant runs.
constexpr int kGlobalLockClass = 1398361667;
constexpr int kTenantLockClass = 1398361684;

const Json kEmptySeo = {{"tr", ""}, {"en", ""}, {"de", ""},
                        {"pl", ""}, {"fr", ""}, {"es", ""}};

// An item reduced to what identifies it, for comparisons.
using ItemKey = std::tuple<Action, Kind, std::string, std::string>;

ItemKey KeyOf(const Item& item) {
  return {item.action, item.kind, item.tenant, item.module};
}

// Records every event of a run; can ask the run to stop once it has seen
// `cancel_after_items` items, and can block in its first phase until
// `release` is fulfilled (to hold a run's lock from another thread).
class RecordingSink : public EventSink {
 public:
  void OnRunStarted(const RunStartedEvent& event) override {
    sequence_.push_back("started");
    started_.push_back(event);
  }

  void OnPhaseStarted(absl::string_view name, uint64_t total) override {
    sequence_.push_back("phase");
    phases_.emplace_back(std::string(name), total);
    if (block_in_phase_) {
      block_in_phase_ = false;
      in_phase_.set_value();
      release_future_.wait_for(std::chrono::seconds(20));
    }
  }

  void OnItems(absl::Span<const Item> items) override {
    sequence_.push_back("items");
    items_.insert(items_.end(), items.begin(), items.end());
    cancel_->items_seen.store(items_.size());
  }

  void OnRunFinished(const RunFinishedEvent& event) override {
    sequence_.push_back("finished");
    finished_.push_back(event);
  }

  // Called by the run and by its cancel watcher thread, hence the atomics.
  std::optional<std::string> CancelReason() const override {
    const int64_t limit = cancel_->after_items.load();
    if (limit >= 0 &&
        cancel_->items_seen.load() >= static_cast<uint64_t>(limit)) {
      return std::string("the test asked to stop");
    }
    return std::nullopt;
  }

  void CancelAfterItems(size_t n) {
    cancel_->after_items.store(static_cast<int64_t>(n));
  }

  // Makes the first phase block until `Release()`; returns a future that
  // becomes ready when the run is inside that phase (its lock held).
  std::future<void> BlockInFirstPhase() {
    block_in_phase_ = true;
    release_future_ = release_.get_future();
    return in_phase_.get_future();
  }
  void Release() { release_.set_value(); }

  bool started() const { return !started_.empty(); }
  const RunStartedEvent& run_started() const { return started_.at(0); }
  const RunFinishedEvent& run_finished() const { return finished_.at(0); }
  const std::string& run_id() const { return run_started().run_id; }
  const std::vector<Item>& items() const { return items_; }
  const std::vector<std::string>& sequence() const { return sequence_; }
  const std::vector<std::pair<std::string, uint64_t>>& phases() const {
    return phases_;
  }
  size_t finished_count() const { return finished_.size(); }
  size_t started_count() const { return started_.size(); }

  std::multiset<ItemKey> ItemKeys() const {
    std::multiset<ItemKey> keys;
    for (const Item& item : items_) keys.insert(KeyOf(item));
    return keys;
  }

  std::vector<Item> ItemsWith(Action action, Kind kind) const {
    std::vector<Item> out;
    for (const Item& item : items_) {
      if (item.action == action && item.kind == kind) out.push_back(item);
    }
    return out;
  }

 private:
  std::vector<std::string> sequence_;
  std::vector<RunStartedEvent> started_;
  std::vector<std::pair<std::string, uint64_t>> phases_;
  std::vector<Item> items_;
  std::vector<RunFinishedEvent> finished_;
  struct CancelState {
    std::atomic<int64_t> after_items{-1};  // Negative: never.
    std::atomic<uint64_t> items_seen{0};
  };
  std::shared_ptr<CancelState> cancel_ = std::make_shared<CancelState>();
  bool block_in_phase_ = false;
  std::promise<void> in_phase_;
  std::promise<void> release_;
  std::shared_future<void> release_future_;
};

// Counts as a JSON value, for readable comparisons.
Json CountsJson(const Counts& counts) { return Json::parse(counts.ToJson()); }

// Maps the dry-run actions to the actions of the real run.
Action Undry(Action action) {
  if (action == Action::kWouldCreate) return Action::kCreated;
  if (action == Action::kWouldDelete) return Action::kDeleted;
  return action;
}

Counts UndryCounts(const Counts& counts) {
  Counts out;
  for (const auto& [key, n] : counts.entries()) {
    out.Add(Undry(key.first), key.second, n);
  }
  return out;
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

std::pair<std::string, uint64_t> Ph(const std::string& name, uint64_t total) {
  return {name, total};
}

// What a meta row should hold; defaults are the documented ones.
struct MetaExpectation {
  std::map<std::string, std::string> label;  // Empty: name everywhere.
  std::string icon = "box";
  std::vector<std::string> roles = {"admin"};
  bool enabled = true;
  std::string version = "1.0.0";
  int order = 0;
  std::string stats_key;  // Empty: the module name.
  std::string by = "anonymous";
};

// What a setting row should hold; defaults are the documented ones.
struct SettingExpectation {
  bool enabled = true;
  std::vector<std::string> roles = {"admin"};
  int order = 0;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(db_.conninfo());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->Migrate().ok());
  }

  EngineOptions Options() const {
    EngineOptions options;
    options.modules_dir = modules_.str();
    options.lock_timeout = absl::Seconds(5);
    return options;
  }

  void AddTenant(const std::string& slug, bool active = true) {
    Tenant tenant;
    tenant.slug = slug;
    tenant.name = {{"en", absl::StrCat("Tenant ", slug)}};
    tenant.active = active;
    auto stored = store_->CreateTenant(tenant);
    ASSERT_TRUE(stored.ok()) << stored.status();
  }

  void SetActive(const std::string& slug, bool active) {
    db_.Exec(absl::StrCat(
        "UPDATE tenants SET is_active = ", active ? "true" : "false",
        " WHERE slug = ", Quoted(slug)));
  }

  void AddModules(const std::vector<std::string>& names) {
    for (const auto& name : names) modules_.MakeDir(name);
  }

  static RunRequest Request(Operation op) {
    RunRequest request;
    request.operation = op;
    return request;
  }

  static RunRequest TenantRequest(Operation op, const std::string& tenant) {
    RunRequest request = Request(op);
    request.tenant = tenant;
    return request;
  }

  // Runs `request` with `options`, then checks what every run must
  // guarantee (see `VerifyRun`).
  RecordingSink Execute(const RunRequest& request, absl::Status* status,
                        const EngineOptions& options) {
    RecordingSink sink;
    Engine engine(options, store_.get());
    *status = engine.Run(request, sink);
    VerifyRun(request, *status, sink);
    return sink;
  }

  RecordingSink Execute(const RunRequest& request, absl::Status* status) {
    return Execute(request, status, Options());
  }

  // Runs `request` and expects it to succeed.
  RecordingSink ExecuteOk(const RunRequest& request) {
    absl::Status status;
    RecordingSink sink = Execute(request, &status);
    EXPECT_TRUE(status.ok()) << status;
    return sink;
  }

  // Runs `request` and expects it to fail with `code`.
  RecordingSink ExecuteFails(const RunRequest& request, absl::StatusCode code) {
    absl::Status status;
    RecordingSink sink = Execute(request, &status);
    EXPECT_EQ(status.code(), code) << status;
    return sink;
  }

  // The invariants of every run: events in order, counts equal to the
  // streamed items, the journal equal to the last event, and the database
  // holding exactly what the counts claim.
  void VerifyRun(const RunRequest& request, const absl::Status& status,
                 const RecordingSink& sink) {
    if (!sink.started()) {
      EXPECT_FALSE(status.ok());
      EXPECT_EQ(sink.finished_count(), 0u);
      return;
    }
    EXPECT_EQ(sink.started_count(), 1u);
    ASSERT_EQ(sink.finished_count(), 1u);
    EXPECT_EQ(sink.sequence().front(), "started");
    EXPECT_EQ(sink.sequence().back(), "finished");
    EXPECT_EQ(sink.run_started().operation, request.operation);
    EXPECT_EQ(sink.run_started().dry_run, request.dry_run);
    EXPECT_EQ(sink.run_started().requested_by, request.requested_by);
    const RunFinishedEvent& finished = sink.run_finished();
    EXPECT_EQ(finished.run_id, sink.run_id());
    EXPECT_EQ(finished.error, std::string(status.message()));

    Counts streamed;
    for (const Item& item : sink.items()) {
      streamed.Add(item.action, item.kind);
      if (request.dry_run) {
        EXPECT_NE(item.action, Action::kCreated);
        EXPECT_NE(item.action, Action::kDeleted);
      }
    }
    for (const auto& [key, n] : finished.counts.entries()) {
      if (key.first == Action::kExists && !request.include_unchanged) {
        continue;
      }
      EXPECT_EQ(streamed.Get(key.first, key.second), n)
          << ActionName(key.first) << "/" << KindName(key.second);
    }
    for (const auto& [key, n] : streamed.entries()) {
      EXPECT_EQ(finished.counts.Get(key.first, key.second), n);
    }

    const auto journal = db_.Query(absl::StrCat(
        "SELECT op, outcome, counts::text, dry_run::text, requested_by, "
        "error, (finished_at IS NOT NULL)::text FROM sync_runs WHERE id = ",
        Quoted(sink.run_id())));
    ASSERT_EQ(journal.size(), 1u);
    EXPECT_EQ(journal[0][0], OperationName(request.operation));
    EXPECT_EQ(journal[0][1], OutcomeName(finished.outcome));
    EXPECT_EQ(Json::parse(journal[0][2]), CountsJson(finished.counts));
    EXPECT_EQ(journal[0][3], request.dry_run ? "true" : "false");
    EXPECT_EQ(journal[0][4], request.requested_by);
    EXPECT_EQ(journal[0][5], std::string(status.message()));
    EXPECT_EQ(journal[0][6], "true");

    if (status.ok()) {
      const bool commits = !request.dry_run && !request.check_only;
      EXPECT_EQ(finished.outcome,
                commits ? Outcome::kCommitted : Outcome::kRolledBack);
    } else {
      EXPECT_NE(finished.outcome, Outcome::kCommitted);
    }
    VerifyWrites(request, sink);
  }

  // Rows the run left in the database match its counts.
  void VerifyWrites(const RunRequest& request, const RecordingSink& sink) {
    const bool committed = sink.run_finished().outcome == Outcome::kCommitted;
    const Counts& counts = sink.run_finished().counts;
    const std::string id = Quoted(sink.run_id());
    if (request.operation != Operation::kRestore) {
      EXPECT_EQ(Count("module_meta WHERE created_by_run = " + id),
                committed ? counts.Get(Action::kCreated, Kind::kMeta) : 0);
      EXPECT_EQ(Count("module_settings WHERE created_by_run = " + id),
                committed ? counts.Get(Action::kCreated, Kind::kSetting) : 0);
    }
    EXPECT_EQ(Count("sync_archive WHERE \"table\" = 'module_meta' AND "
                    "run_id = " +
                    id),
              committed ? counts.Get(Action::kDeleted, Kind::kMeta) : 0);
    EXPECT_EQ(Count("sync_archive WHERE \"table\" = 'module_settings' AND "
                    "run_id = " +
                    id),
              committed ? counts.Get(Action::kDeleted, Kind::kSetting) : 0);
    EXPECT_EQ(
        Count("sync_archive WHERE \"table\" = 'tenants' AND run_id = " + id),
        committed ? counts.Get(Action::kDeleted, Kind::kTenant) : 0);
  }

  uint64_t Count(const std::string& from_where) const {
    return std::stoull(db_.Scalar("SELECT count(*) FROM " + from_where));
  }

  // Every column of every row of one tenant (registry, metas, settings).
  std::string TenantRows(const std::string& slug) const {
    const std::string s = Quoted(slug);
    return db_.Scalar(absl::StrCat(
        "SELECT coalesce(string_agg(r, E'\\n' ORDER BY r), '') FROM ("
        "SELECT 't' || to_jsonb(t)::text AS r FROM tenants t WHERE slug = ",
        s,
        " UNION ALL SELECT 'm' || to_jsonb(m)::text FROM module_meta m "
        "WHERE tenant = ",
        s,
        " UNION ALL SELECT 's' || to_jsonb(x)::text FROM module_settings x "
        "WHERE tenant = ",
        s, ") q"));
  }

  Json MetaRow(const std::string& tenant, const std::string& name) const {
    const auto rows = db_.Query(absl::StrCat(
        "SELECT to_jsonb(m)::text FROM module_meta m WHERE tenant = ",
        Quoted(tenant), " AND name = ", Quoted(name)));
    return rows.size() == 1 ? Json::parse(rows[0][0]) : Json();
  }

  Json SettingRow(const std::string& tenant, const std::string& module) const {
    const auto rows = db_.Query(absl::StrCat(
        "SELECT to_jsonb(s)::text FROM module_settings s WHERE tenant = ",
        Quoted(tenant), " AND module = ", Quoted(module)));
    return rows.size() == 1 ? Json::parse(rows[0][0]) : Json();
  }

  std::vector<std::string> MetaNames(const std::string& tenant) const {
    std::vector<std::string> out;
    for (const auto& row : db_.Query(absl::StrCat(
             "SELECT name FROM module_meta WHERE tenant = ", Quoted(tenant),
             " ORDER BY name"))) {
      out.push_back(row[0]);
    }
    return out;
  }

  std::vector<std::string> SettingModules(const std::string& tenant) const {
    std::vector<std::string> out;
    for (const auto& row : db_.Query(
             absl::StrCat("SELECT module FROM module_settings WHERE tenant = ",
                          Quoted(tenant), " ORDER BY module"))) {
      out.push_back(row[0]);
    }
    return out;
  }

  // Compares every column of a meta with `want`. Timestamps must be set;
  // the history holds exactly one creation entry.
  void ExpectMeta(const std::string& tenant, const std::string& name,
                  const std::string& run_id, const MetaExpectation& want) {
    SCOPED_TRACE(absl::StrCat("meta ", tenant, "/", name));
    Json row = MetaRow(tenant, name);
    ASSERT_TRUE(row.is_object()) << "no such meta";
    Json label = Json::object();
    if (want.label.empty()) {
      for (const char* l : {"tr", "en", "de", "pl", "fr", "es"}) {
        label[l] = name;
      }
    } else {
      for (const auto& [l, text] : want.label) label[l] = text;
    }
    const Json expected = {
        {"tenant", tenant},
        {"name", name},
        {"label", label},
        {"icon", want.icon},
        {"roles", want.roles},
        {"enabled", want.enabled},
        {"language", "en"},
        {"version", want.version},
        {"order", want.order},
        {"stats_key", want.stats_key.empty() ? name : want.stats_key},
        {"created_by_run", run_id},
    };
    for (const char* ts : {"created_at", "updated_at"}) {
      ASSERT_TRUE(row.contains(ts));
      EXPECT_TRUE(row[ts].is_string()) << ts;
      row.erase(ts);
    }
    ASSERT_TRUE(row.contains("history"));
    const Json history = row["history"];
    row.erase("history");
    EXPECT_EQ(row, expected);

    ASSERT_TRUE(history.is_array());
    ASSERT_EQ(history.size(), 1u);
    Json entry = history[0];
    ASSERT_TRUE(entry.contains("date"));
    const std::string date = entry["date"].get<std::string>();
    EXPECT_EQ(date.size(), 24u) << date;
    EXPECT_EQ(date.substr(10, 1), "T") << date;
    EXPECT_EQ(date.back(), 'Z') << date;
    const std::string today =
        absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
    const std::string yesterday = absl::FormatTime(
        "%Y-%m-%d", absl::Now() - absl::Hours(1), absl::UTCTimeZone());
    EXPECT_TRUE(date.substr(0, 10) == today || date.substr(0, 10) == yesterday)
        << date;
    entry.erase("date");
    EXPECT_EQ(entry, Json({{"version", want.version},
                           {"by", want.by},
                           {"note", "created by sync"}}));
  }

  // Compares every column of a setting with `want`.
  void ExpectSetting(const std::string& tenant, const std::string& module,
                     const std::string& run_id,
                     const SettingExpectation& want) {
    SCOPED_TRACE(absl::StrCat("setting ", tenant, "/", module));
    Json row = SettingRow(tenant, module);
    ASSERT_TRUE(row.is_object()) << "no such setting";
    for (const char* ts : {"created_at", "updated_at"}) {
      ASSERT_TRUE(row.contains(ts));
      EXPECT_TRUE(row[ts].is_string()) << ts;
      row.erase(ts);
    }
    const Json expected = {
        {"tenant", tenant},         {"module", module},
        {"enabled", want.enabled},  {"visible_in_sidebar", true},
        {"use_analytics", false},   {"show_in_dashboard", true},
        {"roles", want.roles},      {"order", want.order},
        {"seo_title", kEmptySeo},   {"seo_description", kEmptySeo},
        {"seo_summary", kEmptySeo}, {"seo_og_image", ""},
        {"created_by_run", run_id},
    };
    EXPECT_EQ(row, expected);
  }

  TestDatabase db_;
  TempDir modules_;
  std::unique_ptr<Store> store_;
};

// --- SeedMeta ---------------------------------------------------------------

TEST_F(EngineTest, SeedMetaCreatesMetasWithDocumentedDefaults) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Users", "Blog"});

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedMeta));

  EXPECT_EQ(sink.run_started().module_count, 2u);
  EXPECT_EQ(sink.run_started().tenant_count, 2u);
  EXPECT_THAT(sink.phases(), ElementsAre(Ph("seed-metas", 4)));
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kCreated, Kind::kMeta, "acme", "Blog"},
                {Action::kCreated, Kind::kMeta, "acme", "Users"},
                {Action::kCreated, Kind::kMeta, "globex", "Blog"},
                {Action::kCreated, Kind::kMeta, "globex", "Users"}}));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":4}})"));
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCommitted);
  for (const char* tenant : {"acme", "globex"}) {
    for (const char* module : {"Blog", "Users"}) {
      ExpectMeta(tenant, module, sink.run_id(), {});
    }
  }
  EXPECT_EQ(Count("module_settings"), 0u);
}

TEST_F(EngineTest, SeedMetaRecordsWhoRequestedIt) {
  AddTenant("acme");
  AddModules({"Blog"});
  RunRequest request = Request(Operation::kSeedMeta);
  request.requested_by = "ops@example.com";
  RecordingSink sink = ExecuteOk(request);
  MetaExpectation want;
  want.by = "ops@example.com";
  ExpectMeta("acme", "Blog", sink.run_id(), want);
}

TEST_F(EngineTest, SeedMetaAppliesTheManifest) {
  AddTenant("acme");
  modules_.WriteFile("Shop/module.json", R"({
      "label": {"en": "Shop", "de": "Laden"}, "icon": "mdi:cart",
      "roles": ["sales", "admin"], "enabled": false, "order": 7,
      "version": "3.2.1", "statsKey": "shop.orders"})");
  modules_.WriteFile("Blog/module.json", R"({"label": "Web Log"})");

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedMeta));

  MetaExpectation shop;
  shop.label = {{"tr", "Shop"}, {"en", "Shop"}, {"de", "Laden"},
                {"pl", "Shop"}, {"fr", "Shop"}, {"es", "Shop"}};
  shop.icon = "mdi:cart";
  shop.roles = {"sales", "admin"};
  shop.enabled = false;
  shop.order = 7;
  shop.version = "3.2.1";
  shop.stats_key = "shop.orders";
  ExpectMeta("acme", "Shop", sink.run_id(), shop);
  MetaExpectation blog;
  blog.label = {{"tr", "Web Log"}, {"en", "Web Log"}, {"de", "Web Log"},
                {"pl", "Web Log"}, {"fr", "Web Log"}, {"es", "Web Log"}};
  ExpectMeta("acme", "Blog", sink.run_id(), blog);
}

TEST_F(EngineTest, SeedMetaUsesConfiguredLocales) {
  AddTenant("acme");
  AddModules({"Blog"});
  EngineOptions options = Options();
  options.locales = {"en", "pt-BR"};
  absl::Status status;
  RecordingSink sink = Execute(Request(Operation::kSeedMeta), &status, options);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(MetaRow("acme", "Blog")["label"],
            Json({{"en", "Blog"}, {"pt-BR", "Blog"}}));
}

TEST_F(EngineTest, SeedMetaTwiceCreatesNothing) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSeedMeta));
  const std::string before = db_.DataChecksum();

  RecordingSink second = ExecuteOk(Request(Operation::kSeedMeta));

  EXPECT_THAT(second.items(), IsEmpty());
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"exists":{"meta":4}})"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SeedMetaStreamsUnchangedItemsOnRequest) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSeedMeta));
  AddModules({"Users"});
  RunRequest request = Request(Operation::kSeedMeta);
  request.include_unchanged = true;

  RecordingSink sink = ExecuteOk(request);

  EXPECT_EQ(
      sink.ItemKeys(),
      (std::multiset<ItemKey>{{Action::kCreated, Kind::kMeta, "acme", "Users"},
                              {Action::kExists, Kind::kMeta, "acme", "Blog"}}));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":1},"exists":{"meta":1}})"));
}

TEST_F(EngineTest, SeedMetaLeavesInactiveTenantsUntouched) {
  AddTenant("acme");
  AddTenant("dormant");
  AddModules({"Blog", "Users"});
  ExecuteOk(TenantRequest(Operation::kSeedTenant, "dormant"));
  SetActive("dormant", false);
  db_.Exec("DELETE FROM module_settings WHERE tenant = 'dormant'");
  db_.Exec(
      "DELETE FROM module_meta WHERE tenant = 'dormant' "
      "AND name = 'Users'");
  const std::string before = TenantRows("dormant");

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedMeta));

  EXPECT_EQ(sink.run_started().tenant_count, 1u);
  EXPECT_EQ(TenantRows("dormant"), before);
  for (const Item& item : sink.items()) EXPECT_EQ(item.tenant, "acme");
  EXPECT_THAT(MetaNames("dormant"), ElementsAre("Blog"));
}

TEST_F(EngineTest, SeedMetaNeverModifiesExistingMetas) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSeedMeta));
  db_.Exec(R"sql(UPDATE module_meta
                    SET label = '{"en": "My Blog"}', icon = 'rss',
                        roles = '{editor}', enabled = false, "order" = 3,
                        stats_key = 'custom', updated_at = now()
                  WHERE tenant = 'acme' AND name = 'Blog')sql");
  const Json edited = MetaRow("acme", "Blog");
  modules_.WriteFile("Blog/module.json", R"({"icon": "mdi:new"})");
  AddModules({"Users"});

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedMeta));

  EXPECT_EQ(MetaRow("acme", "Blog"), edited);
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":1},"exists":{"meta":1}})"));
}

TEST_F(EngineTest, SeedMetaWithoutActiveTenantsCreatesNothing) {
  AddTenant("dormant", false);
  AddModules({"Blog"});
  RecordingSink sink = ExecuteOk(Request(Operation::kSeedMeta));
  EXPECT_EQ(sink.run_started().tenant_count, 0u);
  EXPECT_THAT(sink.items(), IsEmpty());
  EXPECT_EQ(Count("module_meta"), 0u);
}

TEST_F(EngineTest, SeedMetaFailsOnInvalidModulesTreeBeforeWriting) {
  AddTenant("acme");
  AddModules({"Blog", "blog"});
  const std::string before = db_.DataChecksum();
  RecordingSink sink = ExecuteFails(Request(Operation::kSeedMeta),
                                    absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(sink.run_finished().error, HasSubstr("letter case"));
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kFailed);
  EXPECT_EQ(db_.DataChecksum(), before);
}

// --- SeedSettings -----------------------------------------------------------

TEST_F(EngineTest, SeedSettingsCreatesSettingsWithDocumentedDefaults) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog"});
  modules_.WriteFile("Shop/module.json",
                     R"({"roles": ["sales", "admin"], "order": 7})");
  modules_.WriteFile("Open/module.json", R"({"roles": [], "order": -2})");
  modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
  ExecuteOk(Request(Operation::kSeedMeta));

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedSettings));

  EXPECT_EQ(sink.run_started().module_count, 0u);
  EXPECT_EQ(sink.run_started().tenant_count, 2u);
  EXPECT_THAT(sink.phases(), ElementsAre(Ph("seed-settings", 6)));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"setting":6}})"));
  for (const char* tenant : {"acme", "globex"}) {
    EXPECT_THAT(SettingModules(tenant), ElementsAre("Blog", "Open", "Shop"));
    ExpectSetting(tenant, "Blog", sink.run_id(), {});
    SettingExpectation shop;
    shop.roles = {"sales", "admin"};
    shop.order = 7;
    ExpectSetting(tenant, "Shop", sink.run_id(), shop);
    SettingExpectation open;
    open.order = -2;
    ExpectSetting(tenant, "Open", sink.run_id(), open);
    EXPECT_EQ(MetaRow(tenant, "Open")["roles"], Json::array());
    EXPECT_EQ(MetaRow(tenant, "Legacy")["enabled"], false);
    EXPECT_TRUE(SettingRow(tenant, "Legacy").is_null());
  }
}

TEST_F(EngineTest, SeedSettingsFollowsTheMetaAsItIsNow) {
  AddTenant("acme");
  AddModules({"Blog", "Shop"});
  ExecuteOk(Request(Operation::kSeedMeta));
  db_.Exec(R"sql(UPDATE module_meta SET roles = '{viewer}', "order" = 9
                  WHERE name = 'Blog')sql");
  db_.Exec("UPDATE module_meta SET enabled = false WHERE name = 'Shop'");

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedSettings));

  SettingExpectation blog;
  blog.roles = {"viewer"};
  blog.order = 9;
  ExpectSetting("acme", "Blog", sink.run_id(), blog);
  EXPECT_TRUE(SettingRow("acme", "Shop").is_null());
}

TEST_F(EngineTest, SeedSettingsTwiceCreatesNothing) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSeedMeta));
  ExecuteOk(Request(Operation::kSeedSettings));
  const std::string before = db_.DataChecksum();

  RecordingSink second = ExecuteOk(Request(Operation::kSeedSettings));

  EXPECT_THAT(second.items(), IsEmpty());
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"exists":{"setting":2}})"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SeedSettingsNeverModifiesExistingSettings) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSeedMeta));
  ExecuteOk(Request(Operation::kSeedSettings));
  db_.Exec(R"sql(UPDATE module_settings
                    SET enabled = false, visible_in_sidebar = false,
                        use_analytics = true, show_in_dashboard = false,
                        roles = '{editor}', "order" = 5,
                        seo_title = '{"en": "Title"}', seo_og_image = 'x.png'
                  WHERE module = 'Blog')sql");
  db_.Exec("DELETE FROM module_settings WHERE module = 'Users'");
  const Json edited = SettingRow("acme", "Blog");
  RunRequest request = Request(Operation::kSeedSettings);
  request.include_unchanged = true;

  RecordingSink sink = ExecuteOk(request);

  EXPECT_EQ(SettingRow("acme", "Blog"), edited);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kCreated, Kind::kSetting, "acme", "Users"},
                {Action::kExists, Kind::kSetting, "acme", "Blog"}}));
}

TEST_F(EngineTest, SeedSettingsLeavesInactiveTenantsUntouched) {
  AddTenant("acme");
  AddTenant("dormant");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSeedMeta));
  SetActive("dormant", false);
  const std::string before = TenantRows("dormant");

  RecordingSink sink = ExecuteOk(Request(Operation::kSeedSettings));

  EXPECT_EQ(TenantRows("dormant"), before);
  EXPECT_THAT(SettingModules("dormant"), IsEmpty());
  EXPECT_THAT(SettingModules("acme"), ElementsAre("Blog", "Users"));
}

TEST_F(EngineTest, SeedSettingsDoesNotNeedTheModulesRoot) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSeedMeta));
  modules_.Remove("Blog");
  EngineOptions options = Options();
  options.modules_dir = modules_.str() + "/missing";
  absl::Status status;
  Execute(Request(Operation::kSeedSettings), &status, options);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(SettingModules("acme"), ElementsAre("Blog"));
}

// --- HealthCheck ------------------------------------------------------------

// Active tenant "acme" with a missing setting (Users), an orphan (Gone), a
// disabled module (Legacy); inactive tenant "dormant" with rows.
class HealthCheckTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    AddTenant("acme");
    AddTenant("dormant");
    AddModules({"Blog", "Users", "Gone"});
    modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
    ExecuteOk(Request(Operation::kSyncAll));
    SetActive("dormant", false);
    modules_.Remove("Gone");
    db_.Exec(
        "DELETE FROM module_settings WHERE tenant = 'acme' "
        "AND module = 'Users'");
  }
};

TEST_F(HealthCheckTest, CheckOnlyReportsDriftAndWritesNothing) {
  const std::string before = db_.DataChecksum();
  RunRequest request = Request(Operation::kHealthCheck);
  request.check_only = true;

  RecordingSink sink = ExecuteOk(request);

  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kRolledBack);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kSkipped, Kind::kMeta, "acme", "Gone"},
                {Action::kSkipped, Kind::kMeta, "acme", "Legacy"},
                {Action::kWouldCreate, Kind::kSetting, "acme", "Users"},
                {Action::kSkipped, Kind::kTenant, "dormant", ""}}));
  const auto tenant_items = sink.ItemsWith(Action::kSkipped, Kind::kTenant);
  ASSERT_EQ(tenant_items.size(), 1u);
  EXPECT_THAT(tenant_items[0].message, HasSubstr("4 metas"));
  EXPECT_THAT(tenant_items[0].message, HasSubstr("3 settings"));
  ASSERT_TRUE(sink.run_finished().health.has_value());
  const HealthSummary& health = *sink.run_finished().health;
  EXPECT_EQ(health.missing_settings, 1u);
  EXPECT_EQ(health.orphan_metas, 1u);
  EXPECT_EQ(health.disabled_metas, 1u);
  EXPECT_EQ(health.inactive_tenants_with_rows, 1u);
  EXPECT_TRUE(health.drift());
}

TEST_F(HealthCheckTest, RepairCreatesMissingSettingsAndNeverDeletes) {
  const std::string dormant = TenantRows("dormant");
  const Json gone = MetaRow("acme", "Gone");

  RecordingSink sink = ExecuteOk(Request(Operation::kHealthCheck));

  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCommitted);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kSkipped, Kind::kMeta, "acme", "Gone"},
                {Action::kSkipped, Kind::kMeta, "acme", "Legacy"},
                {Action::kCreated, Kind::kSetting, "acme", "Users"},
                {Action::kSkipped, Kind::kTenant, "dormant", ""}}));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"setting":1},
                            "exists":{"setting":2},
                            "skipped":{"meta":2,"tenant":1}})"));
  ExpectSetting("acme", "Users", sink.run_id(), {});
  EXPECT_EQ(MetaRow("acme", "Gone"), gone);
  EXPECT_THAT(MetaNames("acme"),
              ElementsAre("Blog", "Gone", "Legacy", "Users"));
  EXPECT_EQ(TenantRows("dormant"), dormant);
  ASSERT_TRUE(sink.run_finished().health.has_value());
  EXPECT_EQ(sink.run_finished().health->missing_settings, 1u);
  EXPECT_EQ(sink.run_finished().health->orphan_metas, 1u);
  EXPECT_EQ(Count("sync_archive"), 0u);
}

TEST_F(HealthCheckTest, SecondRepairCreatesNothing) {
  ExecuteOk(Request(Operation::kHealthCheck));
  const std::string before = db_.DataChecksum();

  RecordingSink second = ExecuteOk(Request(Operation::kHealthCheck));

  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(second.run_finished().counts.Get(Action::kCreated, Kind::kSetting),
            0u);
  EXPECT_EQ(second.run_finished().health->missing_settings, 0u);
  EXPECT_TRUE(second.run_finished().health->drift());
}

TEST_F(HealthCheckTest, CleanDatabaseHasNoDrift) {
  db_.Exec("DELETE FROM module_settings WHERE tenant = 'dormant'");
  db_.Exec("DELETE FROM module_meta WHERE tenant = 'dormant'");
  db_.Exec("DELETE FROM module_settings WHERE module = 'Gone'");
  db_.Exec("DELETE FROM module_meta WHERE name = 'Gone'");
  ExecuteOk(Request(Operation::kSeedSettings));
  RunRequest request = Request(Operation::kHealthCheck);
  request.check_only = true;

  RecordingSink sink = ExecuteOk(request);

  ASSERT_TRUE(sink.run_finished().health.has_value());
  const HealthSummary& health = *sink.run_finished().health;
  EXPECT_EQ(health.missing_settings, 0u);
  EXPECT_EQ(health.orphan_metas, 0u);
  EXPECT_EQ(health.inactive_tenants_with_rows, 0u);
  EXPECT_EQ(health.disabled_metas, 1u);
  EXPECT_FALSE(health.drift());
}

TEST_F(HealthCheckTest, OtherOperationsHaveNoHealthSummary) {
  RecordingSink sink = ExecuteOk(Request(Operation::kSeedSettings));
  EXPECT_FALSE(sink.run_finished().health.has_value());
}

// --- SeedTenant -------------------------------------------------------------

TEST_F(EngineTest, SeedTenantSeedsOnlyThatTenant) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users"});
  modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
  const std::string globex = TenantRows("globex");

  RecordingSink sink = ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));

  EXPECT_EQ(sink.run_started().tenant_count, 1u);
  EXPECT_EQ(sink.run_started().module_count, 3u);
  EXPECT_THAT(sink.phases(),
              ElementsAre(Ph("seed-metas", 3), Ph("seed-settings", 2)));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":3,"setting":2}})"));
  ExpectMeta("acme", "Blog", sink.run_id(), {});
  ExpectMeta("acme", "Users", sink.run_id(), {});
  MetaExpectation legacy;
  legacy.enabled = false;
  ExpectMeta("acme", "Legacy", sink.run_id(), legacy);
  ExpectSetting("acme", "Blog", sink.run_id(), {});
  ExpectSetting("acme", "Users", sink.run_id(), {});
  EXPECT_THAT(SettingModules("acme"), ElementsAre("Blog", "Users"));
  EXPECT_EQ(TenantRows("globex"), globex);
}

TEST_F(EngineTest, SeedTenantTwiceCreatesNothing) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));
  const std::string before = db_.DataChecksum();

  RecordingSink second =
      ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));

  EXPECT_THAT(second.items(), IsEmpty());
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"exists":{"meta":2,"setting":2}})"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SeedTenantKeepsEditedRows) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));
  db_.Exec(R"sql(UPDATE module_meta SET label = '{"en": "Mine"}',
                  icon = 'star' WHERE name = 'Blog')sql");
  db_.Exec(
      "UPDATE module_settings SET visible_in_sidebar = false, "
      "use_analytics = true WHERE module = 'Blog'");
  const std::string before = TenantRows("acme");

  ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));

  EXPECT_EQ(TenantRows("acme"), before);
}

TEST_F(EngineTest, SeedTenantOfUnknownTenantIsNotFound) {
  AddTenant("acme");
  AddModules({"Blog"});
  const std::string before = db_.DataChecksum();
  RecordingSink sink =
      ExecuteFails(TenantRequest(Operation::kSeedTenant, "nobody"),
                   absl::StatusCode::kNotFound);
  EXPECT_THAT(sink.run_finished().error, HasSubstr("\"nobody\""));
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kFailed);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SeedTenantOfInactiveTenantFails) {
  AddTenant("dormant", false);
  AddModules({"Blog"});
  const std::string before = db_.DataChecksum();
  ExecuteFails(TenantRequest(Operation::kSeedTenant, "dormant"),
               absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, InvalidTenantSlugWritesNothing) {
  AddTenant("acme");
  AddModules({"Blog"});
  const std::string before = db_.Checksum();
  for (const Operation op :
       {Operation::kSeedTenant, Operation::kRemoveTenant}) {
    for (const std::string& bad : std::vector<std::string>{
             "", "Acme", "acme ", "acme;drop table tenants", "-acme",
             std::string("ac\0me", 5),
             "\xD0\xB0"
             "cme",
             std::string(64, 'a'), std::string(10 * 1024, 'a')}) {
      RecordingSink sink = ExecuteFails(TenantRequest(op, bad),
                                        absl::StatusCode::kInvalidArgument);
      EXPECT_FALSE(sink.started());
    }
  }
  EXPECT_EQ(db_.Checksum(), before);
}

// --- SeedModule -------------------------------------------------------------

TEST_F(EngineTest, SeedModuleSeedsOneModuleForEveryActiveTenant) {
  AddTenant("acme");
  AddTenant("globex");
  AddTenant("dormant", false);
  AddModules({"Blog", "Users"});
  const std::string dormant = TenantRows("dormant");
  RunRequest request = Request(Operation::kSeedModule);
  request.module = "Blog";

  RecordingSink sink = ExecuteOk(request);

  EXPECT_EQ(sink.run_started().module_count, 1u);
  EXPECT_EQ(sink.run_started().tenant_count, 2u);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kCreated, Kind::kMeta, "acme", "Blog"},
                {Action::kCreated, Kind::kMeta, "globex", "Blog"},
                {Action::kCreated, Kind::kSetting, "acme", "Blog"},
                {Action::kCreated, Kind::kSetting, "globex", "Blog"}}));
  for (const char* tenant : {"acme", "globex"}) {
    ExpectMeta(tenant, "Blog", sink.run_id(), {});
    ExpectSetting(tenant, "Blog", sink.run_id(), {});
    EXPECT_THAT(MetaNames(tenant), ElementsAre("Blog"));
  }
  EXPECT_EQ(TenantRows("dormant"), dormant);
}

TEST_F(EngineTest, SeedModuleTwiceCreatesNothing) {
  AddTenant("acme");
  AddModules({"Blog"});
  RunRequest request = Request(Operation::kSeedModule);
  request.module = "Blog";
  ExecuteOk(request);
  const std::string before = db_.DataChecksum();
  RecordingSink second = ExecuteOk(request);
  EXPECT_THAT(second.items(), IsEmpty());
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"exists":{"meta":1,"setting":1}})"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SeedModuleOfDisabledModuleCreatesMetaWithoutSetting) {
  AddTenant("acme");
  modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
  RunRequest request = Request(Operation::kSeedModule);
  request.module = "Legacy";

  RecordingSink sink = ExecuteOk(request);

  MetaExpectation legacy;
  legacy.enabled = false;
  ExpectMeta("acme", "Legacy", sink.run_id(), legacy);
  EXPECT_TRUE(SettingRow("acme", "Legacy").is_null());
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":1}})"));
}

TEST_F(EngineTest, SeedModuleOfUnknownModuleIsNotFound) {
  AddTenant("acme");
  AddModules({"Blog"});
  modules_.WriteFile("Notes", "a plain file");
  modules_.MakeDir("_shared");
  const std::string before = db_.DataChecksum();
  for (const char* name : {"Users", "blog", "BLOG", "Notes"}) {
    RunRequest request = Request(Operation::kSeedModule);
    request.module = name;
    RecordingSink sink = ExecuteFails(request, absl::StatusCode::kNotFound);
    EXPECT_THAT(sink.run_finished().error,
                HasSubstr(absl::StrCat("\"", name, "\"")));
  }
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, InvalidModuleNameWritesNothing) {
  AddTenant("acme");
  AddModules({"Blog"});
  modules_.MakeDir("_shared");
  const std::string before = db_.Checksum();
  for (const std::string& bad : std::vector<std::string>{
           "", "_shared", "bad name", "9lives", "\xC3\xBC-mod", "../Blog",
           "Blog/..", std::string("Bl\0og", 5), std::string(65, 'm'),
           "Blog'; DELETE FROM module_meta; --"}) {
    RunRequest request = Request(Operation::kSeedModule);
    request.module = bad;
    RecordingSink sink =
        ExecuteFails(request, absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(sink.started());
  }
  EXPECT_EQ(db_.Checksum(), before);
}

// --- RemoveTenant -----------------------------------------------------------

TEST_F(EngineTest, RemoveTenantDeletesOnlyThatTenantAndArchivesIt) {
  AddTenant("acme");
  AddTenant("globex");
  AddTenant("dormant");
  AddModules({"Blog", "Users"});
  modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
  ExecuteOk(Request(Operation::kSyncAll));
  SetActive("dormant", false);
  const std::string globex = TenantRows("globex");
  const std::string dormant = TenantRows("dormant");
  const std::string acme_rows = db_.Scalar(
      "SELECT string_agg(r, E'\\n' ORDER BY r) FROM ("
      "SELECT to_jsonb(t)::text AS r FROM tenants t WHERE slug = 'acme' "
      "UNION ALL SELECT to_jsonb(m)::text FROM module_meta m "
      "WHERE tenant = 'acme' UNION ALL SELECT to_jsonb(s)::text "
      "FROM module_settings s WHERE tenant = 'acme') q");

  RecordingSink sink =
      ExecuteOk(TenantRequest(Operation::kRemoveTenant, "acme"));

  EXPECT_THAT(sink.phases(), ElementsAre(Ph("remove-tenant", 6)));
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kDeleted, Kind::kSetting, "acme", "Blog"},
                {Action::kDeleted, Kind::kSetting, "acme", "Users"},
                {Action::kDeleted, Kind::kMeta, "acme", "Blog"},
                {Action::kDeleted, Kind::kMeta, "acme", "Legacy"},
                {Action::kDeleted, Kind::kMeta, "acme", "Users"},
                {Action::kDeleted, Kind::kTenant, "acme", ""}}));
  EXPECT_EQ(sink.items().back().kind, Kind::kTenant);
  EXPECT_EQ(sink.items().front().kind, Kind::kSetting);
  EXPECT_EQ(Count("tenants WHERE slug = 'acme'"), 0u);
  EXPECT_EQ(Count("module_meta WHERE tenant = 'acme'"), 0u);
  EXPECT_EQ(Count("module_settings WHERE tenant = 'acme'"), 0u);
  EXPECT_EQ(TenantRows("globex"), globex);
  EXPECT_EQ(TenantRows("dormant"), dormant);
  EXPECT_EQ(db_.Scalar(absl::StrCat(
                "SELECT string_agg(\"row\"::text, E'\\n' ORDER BY "
                "\"row\"::text) FROM sync_archive WHERE tenant = 'acme' AND "
                "run_id = ",
                Quoted(sink.run_id()))),
            acme_rows);
}

TEST_F(EngineTest, RemoveTenantWorksForInactiveTenant) {
  AddTenant("dormant");
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSyncAll));
  SetActive("dormant", false);
  const std::string acme = TenantRows("acme");
  ExecuteOk(TenantRequest(Operation::kRemoveTenant, "dormant"));
  EXPECT_EQ(TenantRows("dormant"), "");
  EXPECT_EQ(TenantRows("acme"), acme);
}

TEST_F(EngineTest, RemoveTenantOfUnknownTenantIsNotFound) {
  AddTenant("acme");
  const std::string before = db_.DataChecksum();
  ExecuteFails(TenantRequest(Operation::kRemoveTenant, "nobody"),
               absl::StatusCode::kNotFound);
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(Count("sync_archive"), 0u);
}

TEST_F(EngineTest, RemoveTenantDoesNotNeedTheModulesRoot) {
  AddTenant("acme");
  EngineOptions options = Options();
  options.modules_dir = "";
  absl::Status status;
  Execute(TenantRequest(Operation::kRemoveTenant, "acme"), &status, options);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(Count("tenants"), 0u);
}

// --- SyncAll ----------------------------------------------------------------

TEST_F(EngineTest, SyncAllSeedsMetasAndSettingsForActiveTenants) {
  AddTenant("acme");
  AddTenant("globex");
  AddTenant("dormant", false);
  AddModules({"Blog", "Users"});

  RecordingSink sink = ExecuteOk(Request(Operation::kSyncAll));

  EXPECT_THAT(sink.phases(),
              ElementsAre(Ph("delete-orphans", 0), Ph("seed-metas", 4),
                          Ph("seed-settings", 4)));
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":4,"setting":4}})"));
  for (const char* tenant : {"acme", "globex"}) {
    for (const char* module : {"Blog", "Users"}) {
      ExpectMeta(tenant, module, sink.run_id(), {});
      ExpectSetting(tenant, module, sink.run_id(), {});
    }
  }
  EXPECT_EQ(Count("module_meta WHERE tenant = 'dormant'"), 0u);
}

TEST_F(EngineTest, SyncAllTwiceChangesNothing) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSyncAll));
  const std::string before = db_.DataChecksum();
  RecordingSink second = ExecuteOk(Request(Operation::kSyncAll));
  EXPECT_THAT(second.items(), IsEmpty());
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"exists":{"meta":2,"setting":2}})"));
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SyncAllDeletesOnlyTheRemovedModule) {
  AddTenant("acme");
  AddTenant("globex");
  AddTenant("dormant");
  AddModules({"Blog", "Users", "Gone"});
  ExecuteOk(Request(Operation::kSyncAll));
  SetActive("dormant", false);
  db_.Exec("UPDATE module_meta SET icon = 'star' WHERE name = 'Blog'");
  const std::string dormant = TenantRows("dormant");
  const std::string kept = db_.Scalar(
      "SELECT string_agg(r, E'\\n' ORDER BY r) FROM ("
      "SELECT to_jsonb(m)::text AS r FROM module_meta m WHERE name <> 'Gone' "
      "UNION ALL SELECT to_jsonb(s)::text FROM module_settings s "
      "WHERE module <> 'Gone' UNION ALL SELECT to_jsonb(t)::text "
      "FROM tenants t) q");
  modules_.Remove("Gone");

  RecordingSink sink = ExecuteOk(Request(Operation::kSyncAll));

  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kDeleted, Kind::kSetting, "acme", "Gone"},
                {Action::kDeleted, Kind::kSetting, "globex", "Gone"},
                {Action::kDeleted, Kind::kMeta, "acme", "Gone"},
                {Action::kDeleted, Kind::kMeta, "globex", "Gone"}}));
  EXPECT_EQ(sink.phases().at(0),
            std::make_pair(std::string("delete-orphans"), uint64_t{2}));
  EXPECT_EQ(Count("module_meta WHERE name = 'Gone' AND tenant <> 'dormant'"),
            0u);
  EXPECT_EQ(Count("module_settings WHERE module = 'Gone' "
                  "AND tenant <> 'dormant'"),
            0u);
  EXPECT_EQ(TenantRows("dormant"), dormant);
  EXPECT_EQ(
      db_.Scalar("SELECT string_agg(r, E'\\n' ORDER BY r) FROM ("
                 "SELECT to_jsonb(m)::text AS r FROM module_meta m "
                 "WHERE name <> 'Gone' UNION ALL SELECT to_jsonb(s)::text "
                 "FROM module_settings s WHERE module <> 'Gone' UNION ALL "
                 "SELECT to_jsonb(t)::text FROM tenants t) q"),
      kept);
  EXPECT_EQ(Count(absl::StrCat("sync_archive WHERE run_id = ",
                               Quoted(sink.run_id()))),
            4u);
}

TEST_F(EngineTest, SyncAllWithEmptyModulesRootFailsAndDeletesNothing) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSyncAll));
  modules_.Remove("Blog");
  modules_.MakeDir("_shared");
  modules_.WriteFile("README.md", "x");
  const std::string before = db_.DataChecksum();

  for (const bool force : {false, true}) {
    RunRequest request = Request(Operation::kSyncAll);
    request.force = force;
    RecordingSink sink =
        ExecuteFails(request, absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(sink.run_finished().outcome, Outcome::kFailed);
    EXPECT_THAT(sink.items(), IsEmpty());
  }
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SyncAllWithMissingModulesRootFailsAndDeletesNothing) {
  AddTenant("acme");
  AddModules({"Blog"});
  ExecuteOk(Request(Operation::kSyncAll));
  const std::string before = db_.DataChecksum();
  EngineOptions options = Options();
  options.modules_dir = modules_.str() + "/renamed";
  for (const std::string& dir : {modules_.str() + "/renamed", std::string()}) {
    options.modules_dir = dir;
    absl::Status status;
    Execute(Request(Operation::kSyncAll), &status, options);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << dir;
  }
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SyncAllRefusesToDeleteMoreThanHalfWithoutForce) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users", "Shop"});
  ExecuteOk(Request(Operation::kSyncAll));
  modules_.Remove("Users");
  modules_.Remove("Shop");
  const std::string before = db_.DataChecksum();

  RecordingSink refused = ExecuteFails(Request(Operation::kSyncAll),
                                       absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_THAT(refused.run_finished().error, HasSubstr("acme (2 of 3 metas)"));
  EXPECT_THAT(refused.run_finished().error, HasSubstr("force"));
  EXPECT_EQ(db_.Scalar(absl::StrCat("SELECT outcome || ':' || error FROM "
                                    "sync_runs WHERE id = ",
                                    Quoted(refused.run_id()))),
            absl::StrCat("failed:", refused.run_finished().error));

  RunRequest forced = Request(Operation::kSyncAll);
  forced.force = true;
  RecordingSink sink = ExecuteOk(forced);
  EXPECT_EQ(sink.run_finished().counts.Get(Action::kDeleted, Kind::kMeta), 4u);
  EXPECT_THAT(MetaNames("acme"), ElementsAre("Blog"));
  EXPECT_THAT(MetaNames("globex"), ElementsAre("Blog"));
}

TEST_F(EngineTest, SyncAllAllowsDeletingExactlyHalf) {
  AddTenant("acme");
  AddModules({"Blog", "Users", "Shop", "News"});
  ExecuteOk(Request(Operation::kSyncAll));
  modules_.Remove("Shop");
  modules_.Remove("News");
  RecordingSink sink = ExecuteOk(Request(Operation::kSyncAll));
  EXPECT_THAT(MetaNames("acme"), ElementsAre("Blog", "Users"));
  EXPECT_THAT(SettingModules("acme"), ElementsAre("Blog", "Users"));
}

TEST_F(EngineTest, SyncAllGuardIsPerTenant) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users", "Shop"});
  ExecuteOk(Request(Operation::kSyncAll));
  // globex loses 2 of 2 metas; acme, with an extra module, loses 2 of 4.
  db_.Exec(
      "DELETE FROM module_settings WHERE tenant = 'globex' "
      "AND module = 'Blog'");
  db_.Exec(
      "DELETE FROM module_meta WHERE tenant = 'globex' "
      "AND name = 'Blog'");
  modules_.MakeDir("Extra");
  ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));
  modules_.Remove("Users");
  modules_.Remove("Shop");
  const std::string before = db_.DataChecksum();
  RecordingSink refused = ExecuteFails(Request(Operation::kSyncAll),
                                       absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.run_finished().error, HasSubstr("globex"));
  EXPECT_EQ(refused.run_finished().error.find("acme ("), std::string::npos);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, SyncAllHonoursConfiguredDeleteShare) {
  AddTenant("acme");
  AddModules({"Blog", "Users", "Shop", "News"});
  ExecuteOk(Request(Operation::kSyncAll));
  modules_.Remove("News");
  EngineOptions options = Options();
  options.max_delete_share = 0.2;
  absl::Status status;
  Execute(Request(Operation::kSyncAll), &status, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(MetaNames("acme"), ElementsAre("Blog", "News", "Shop", "Users"));
}

TEST_F(EngineTest, NoOperationModifiesAnExistingRow) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSyncAll));
  db_.Exec(R"sql(UPDATE module_meta
                    SET label = '{"en": "Edited"}', icon = 'star',
                        roles = '{}', version = '9.9.9', "order" = 4,
                        stats_key = NULL, language = 'tr',
                        history = '[]', updated_at = now() - interval '1 day'
                  WHERE name = 'Blog')sql");
  db_.Exec(R"sql(UPDATE module_settings
                    SET enabled = false, visible_in_sidebar = false,
                        use_analytics = true, show_in_dashboard = false,
                        roles = '{}', "order" = -1, seo_title = '{}',
                        seo_description = '{"en": "d"}', seo_summary = '[]',
                        seo_og_image = 'x.png',
                        updated_at = now() - interval '1 day'
                  WHERE module = 'Blog')sql");
  db_.Exec("DELETE FROM module_settings WHERE module = 'Users'");
  modules_.WriteFile("Blog/module.json",
                     R"({"icon": "new", "label": "New", "order": 1})");
  AddModules({"News"});
  auto edited = [&] {
    return db_.Scalar(
        "SELECT string_agg(r, E'\n' ORDER BY r) FROM ("
        "SELECT to_jsonb(m)::text AS r FROM module_meta m WHERE name = 'Blog' "
        "UNION ALL SELECT to_jsonb(s)::text FROM module_settings s "
        "WHERE module = 'Blog') q");
  };
  const std::string before = edited();

  RunRequest seed_module = Request(Operation::kSeedModule);
  seed_module.module = "Blog";
  for (const RunRequest& request :
       {Request(Operation::kSeedMeta), Request(Operation::kSeedSettings),
        Request(Operation::kHealthCheck),
        TenantRequest(Operation::kSeedTenant, "acme"), seed_module,
        Request(Operation::kSyncAll)}) {
    SCOPED_TRACE(OperationName(request.operation));
    ExecuteOk(request);
    EXPECT_EQ(edited(), before);
  }
  EXPECT_THAT(SettingModules("acme"), ElementsAre("Blog", "News", "Users"));
  EXPECT_THAT(MetaNames("globex"), ElementsAre("Blog", "News", "Users"));
}

// --- Dry runs ---------------------------------------------------------------

struct DryRunCase {
  const char* name;
  Operation operation;
  const char* tenant;
  const char* module;
};

// A database with work for every operation: tenants acme and globex active,
// dormant inactive; acme misses a setting; Gone is an orphan everywhere;
// News is a new module; a RemoveTenant run of "removed" to restore.
class DryRunTest : public EngineTest,
                   public ::testing::WithParamInterface<DryRunCase> {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    for (const char* t : {"acme", "globex", "dormant", "removed"}) {
      AddTenant(t);
    }
    AddModules({"Blog", "Users", "Gone", "Shop"});
    ExecuteOk(Request(Operation::kSyncAll));
    SetActive("dormant", false);
    removal_run_ =
        ExecuteOk(TenantRequest(Operation::kRemoveTenant, "removed")).run_id();
    modules_.Remove("Gone");
    AddModules({"News"});
    db_.Exec(
        "DELETE FROM module_settings WHERE tenant = 'acme' "
        "AND module = 'Users'");
  }

  RunRequest RequestFor(const DryRunCase& c) const {
    RunRequest request = Request(c.operation);
    request.tenant = c.tenant;
    request.module = c.module;
    if (c.operation == Operation::kRestore) {
      request.source_run_id = removal_run_;
    }
    return request;
  }

  std::string removal_run_;
};

TEST_P(DryRunTest, StreamsWhatTheRealRunDoesAndWritesNothing) {
  RunRequest request = RequestFor(GetParam());
  request.dry_run = true;
  const std::string before = db_.DataChecksum();
  const uint64_t archived = Count("sync_archive");

  RecordingSink dry = ExecuteOk(request);

  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(Count("sync_archive"), archived);
  EXPECT_EQ(dry.run_finished().outcome, Outcome::kRolledBack);
  EXPECT_TRUE(dry.run_finished().error.empty());
  std::multiset<ItemKey> dry_keys;
  for (const Item& item : dry.items()) {
    EXPECT_NE(item.action, Action::kCreated);
    EXPECT_NE(item.action, Action::kDeleted);
    dry_keys.insert({Undry(item.action), item.kind, item.tenant, item.module});
  }

  request.dry_run = false;
  RecordingSink real = ExecuteOk(request);

  EXPECT_FALSE(real.items().empty());
  EXPECT_EQ(dry_keys, real.ItemKeys());
  EXPECT_EQ(CountsJson(UndryCounts(dry.run_finished().counts)),
            CountsJson(real.run_finished().counts));
  EXPECT_EQ(dry.phases(), real.phases());
  EXPECT_NE(db_.DataChecksum(), before);
}

INSTANTIATE_TEST_SUITE_P(
    EveryMutatingOperation, DryRunTest,
    ::testing::Values(
        DryRunCase{"SeedMeta", Operation::kSeedMeta, "", ""},
        DryRunCase{"SeedSettings", Operation::kSeedSettings, "", ""},
        DryRunCase{"HealthCheck", Operation::kHealthCheck, "", ""},
        DryRunCase{"SeedTenant", Operation::kSeedTenant, "acme", ""},
        DryRunCase{"SeedModule", Operation::kSeedModule, "", "News"},
        DryRunCase{"RemoveTenant", Operation::kRemoveTenant, "globex", ""},
        DryRunCase{"SyncAll", Operation::kSyncAll, "", ""},
        DryRunCase{"Restore", Operation::kRestore, "", ""}),
    [](const ::testing::TestParamInfo<DryRunCase>& info) {
      return std::string(info.param.name);
    });

// --- Restore ----------------------------------------------------------------

TEST_F(EngineTest, RestorePutsBackEveryColumnOfARemovedTenant) {
  AddTenant("acme");
  AddTenant("globex");
  AddModules({"Blog", "Users"});
  modules_.WriteFile("Legacy/module.json", R"({"enabled": false})");
  ExecuteOk(Request(Operation::kSyncAll));
  db_.Exec(R"sql(UPDATE module_meta SET label = '{"en": "Mine"}',
                  roles = '{}', history = history || '[{"note": "edited"}]'
                  WHERE tenant = 'acme' AND name = 'Blog')sql");
  db_.Exec(
      "UPDATE module_settings SET use_analytics = true, "
      "seo_og_image = 'og.png', updated_at = now() - interval '3 days' "
      "WHERE tenant = 'acme' AND module = 'Users'");
  db_.Exec(
      "UPDATE tenants SET name = '{\"en\": \"Acme\", \"tr\": \"Akme\"}', "
      "is_active = false WHERE slug = 'acme'");
  const std::string acme = TenantRows("acme");
  const std::string globex = TenantRows("globex");
  const std::string removal =
      ExecuteOk(TenantRequest(Operation::kRemoveTenant, "acme")).run_id();
  ASSERT_EQ(TenantRows("acme"), "");

  RunRequest restore = Request(Operation::kRestore);
  restore.source_run_id = removal;
  RecordingSink sink = ExecuteOk(restore);

  EXPECT_EQ(TenantRows("acme"), acme);
  EXPECT_EQ(TenantRows("globex"), globex);
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"tenant":1,"meta":3,"setting":2}})"));
  EXPECT_THAT(sink.phases(), ElementsAre(Ph("restore", 0)));

  const std::string after_first = db_.DataChecksum();
  RecordingSink again = ExecuteOk(restore);
  EXPECT_EQ(db_.DataChecksum(), after_first);
  EXPECT_EQ(CountsJson(again.run_finished().counts),
            Json::parse(R"({"skipped":{"tenant":1,"meta":3,"setting":2}})"));
  for (const Item& item : again.items()) {
    EXPECT_THAT(item.message, HasSubstr("exists again"));
  }
}

TEST_F(EngineTest, RestoreAcceptsUpperCaseRunId) {
  AddTenant("acme");
  const std::string removal =
      ExecuteOk(TenantRequest(Operation::kRemoveTenant, "acme")).run_id();
  RunRequest restore = Request(Operation::kRestore);
  restore.source_run_id = absl::AsciiStrToUpper(removal);
  ExecuteOk(restore);
  EXPECT_EQ(Count("tenants WHERE slug = 'acme'"), 1u);
}

TEST_F(EngineTest, RestorePutsBackOrphansDeletedBySyncAll) {
  AddTenant("acme");
  AddModules({"Blog", "Users", "Gone"});
  ExecuteOk(Request(Operation::kSyncAll));
  db_.Exec(
      "UPDATE module_settings SET use_analytics = true "
      "WHERE module = 'Gone'");
  const std::string before = TenantRows("acme");
  modules_.Remove("Gone");
  const std::string sync_run = ExecuteOk(Request(Operation::kSyncAll)).run_id();
  ASSERT_THAT(MetaNames("acme"), ElementsAre("Blog", "Users"));

  RunRequest restore = Request(Operation::kRestore);
  restore.source_run_id = sync_run;
  RecordingSink sink = ExecuteOk(restore);

  EXPECT_EQ(TenantRows("acme"), before);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kCreated, Kind::kMeta, "acme", "Gone"},
                {Action::kCreated, Kind::kSetting, "acme", "Gone"}}));
}

TEST_F(EngineTest, RestoreSkipsRowsThatExistAgain) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  ExecuteOk(Request(Operation::kSyncAll));
  const std::string removal =
      ExecuteOk(TenantRequest(Operation::kRemoveTenant, "acme")).run_id();
  AddTenant("acme");
  ExecuteOk(TenantRequest(Operation::kSeedTenant, "acme"));
  db_.Exec("DELETE FROM module_settings WHERE module = 'Users'");
  db_.Exec("DELETE FROM module_meta WHERE name = 'Users'");
  const Json blog = MetaRow("acme", "Blog");
  const std::string tenant_row =
      db_.Scalar("SELECT to_jsonb(t)::text FROM tenants t");

  RunRequest restore = Request(Operation::kRestore);
  restore.source_run_id = removal;
  RecordingSink sink = ExecuteOk(restore);

  EXPECT_EQ(MetaRow("acme", "Blog"), blog);
  EXPECT_EQ(db_.Scalar("SELECT to_jsonb(t)::text FROM tenants t"), tenant_row);
  EXPECT_EQ(sink.ItemKeys(),
            (std::multiset<ItemKey>{
                {Action::kSkipped, Kind::kTenant, "acme", ""},
                {Action::kSkipped, Kind::kMeta, "acme", "Blog"},
                {Action::kCreated, Kind::kMeta, "acme", "Users"},
                {Action::kSkipped, Kind::kSetting, "acme", "Blog"},
                {Action::kCreated, Kind::kSetting, "acme", "Users"}}));
}

TEST_F(EngineTest, RestoreOfUnknownRunIsNotFound) {
  AddTenant("acme");
  const std::string before = db_.DataChecksum();
  RunRequest restore = Request(Operation::kRestore);
  restore.source_run_id = "123e4567-e89b-12d3-a456-426614174000";
  ExecuteFails(restore, absl::StatusCode::kNotFound);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, RestoreOfMalformedRunIdWritesNothing) {
  const std::string before = db_.Checksum();
  for (const char* bad : {"", "not-a-uuid", "123e4567-e89b-12d3-a456",
                          "123e4567-e89b-12d3-a456-426614174000' OR '1"}) {
    RunRequest restore = Request(Operation::kRestore);
    restore.source_run_id = bad;
    ExecuteFails(restore, absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(db_.Checksum(), before);
}

// --- Journal ----------------------------------------------------------------

TEST_F(EngineTest, JournalHasOneRowPerRun) {
  AddTenant("acme");
  AddModules({"Blog"});
  RunRequest seed = Request(Operation::kSeedMeta);
  seed.requested_by = "alice";
  const std::string seed_run = ExecuteOk(seed).run_id();
  RunRequest dry = Request(Operation::kSyncAll);
  dry.dry_run = true;
  const std::string dry_run = ExecuteOk(dry).run_id();
  const std::string failed_run =
      ExecuteFails(TenantRequest(Operation::kSeedTenant, "nobody"),
                   absl::StatusCode::kNotFound)
          .run_id();

  EXPECT_EQ(Count("sync_runs"), 3u);
  const auto rows = db_.Query(
      absl::StrCat("SELECT id::text, op, outcome, counts::text, params::text, "
                   "requested_by, error FROM sync_runs ORDER BY started_at"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], seed_run);
  EXPECT_EQ(rows[0][1], "seed_meta");
  EXPECT_EQ(rows[0][2], "committed");
  EXPECT_EQ(Json::parse(rows[0][3]), Json::parse(R"({"created":{"meta":1}})"));
  EXPECT_EQ(rows[0][5], "alice");
  EXPECT_EQ(rows[0][6], "");
  EXPECT_EQ(rows[1][0], dry_run);
  EXPECT_EQ(rows[1][1], "sync_all");
  EXPECT_EQ(rows[1][2], "rolled_back");
  EXPECT_EQ(Json::parse(rows[1][3]), Json::parse(R"({"exists":{"meta":1},
                            "would_create":{"setting":1}})"));
  EXPECT_EQ(rows[2][0], failed_run);
  EXPECT_EQ(rows[2][1], "seed_tenant");
  EXPECT_EQ(rows[2][2], "failed");
  EXPECT_EQ(Json::parse(rows[2][4]), Json::parse(R"({"tenant":"nobody"})"));
  EXPECT_THAT(rows[2][6], HasSubstr("not found"));
}

TEST_F(EngineTest, JournalKeepsParamsOfTheRequest) {
  AddTenant("acme");
  AddModules({"Blog"});
  RunRequest request = Request(Operation::kSeedModule);
  request.module = "Blog";
  request.force = true;
  request.include_unchanged = true;
  const std::string run = ExecuteOk(request).run_id();
  EXPECT_EQ(
      Json::parse(db_.Scalar(absl::StrCat(
          "SELECT params::text FROM sync_runs WHERE id = ", Quoted(run)))),
      Json::parse(R"({"module":"Blog","force":true,
                            "include_unchanged":true})"));
}

// --- Chunking and cancellation ----------------------------------------------

class ChunkedEngineTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    for (int i = 0; i < 6; ++i) AddTenant(absl::StrCat("t", i));
    AddModules({"Blog", "Users", "Shop"});
  }

  EngineOptions Chunked() const {
    EngineOptions options = Options();
    options.rows_per_statement = 5;
    return options;
  }
};

TEST_F(ChunkedEngineTest, SmallChunksGiveTheSameResult) {
  absl::Status status;
  RecordingSink sink =
      Execute(Request(Operation::kSyncAll), &status, Chunked());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(CountsJson(sink.run_finished().counts),
            Json::parse(R"({"created":{"meta":18,"setting":18}})"));
  EXPECT_EQ(Count("module_meta"), 18u);
  EXPECT_EQ(Count("module_settings"), 18u);
  modules_.Remove("Shop");
  RecordingSink second =
      Execute(Request(Operation::kSyncAll), &status, Chunked());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(CountsJson(second.run_finished().counts),
            Json::parse(R"({"deleted":{"meta":6,"setting":6},
                            "exists":{"meta":12,"setting":12}})"));
}

TEST_F(ChunkedEngineTest, CancellationRollsBackEverything) {
  const std::string before = db_.DataChecksum();
  RecordingSink sink;
  sink.CancelAfterItems(1);
  Engine engine(Chunked(), store_.get());

  absl::Status status = engine.Run(Request(Operation::kSeedMeta), sink);

  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  VerifyRun(Request(Operation::kSeedMeta), status, sink);
  EXPECT_FALSE(sink.items().empty());
  EXPECT_LT(sink.items().size(), 18u);
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
  EXPECT_THAT(sink.run_finished().error, HasSubstr("the test asked to stop"));
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(db_.Scalar(absl::StrCat("SELECT outcome FROM sync_runs WHERE id = ",
                                    Quoted(sink.run_id()))),
            "cancelled");
}

TEST_F(ChunkedEngineTest, CancellationOfADeletingRunKeepsEveryRow) {
  absl::Status seeded;
  Execute(Request(Operation::kSyncAll), &seeded, Chunked());
  ASSERT_TRUE(seeded.ok()) << seeded;
  modules_.Remove("Shop");
  const std::string before = db_.DataChecksum();
  RecordingSink sink;
  sink.CancelAfterItems(1);
  Engine engine(Chunked(), store_.get());

  absl::Status status = engine.Run(Request(Operation::kSyncAll), sink);

  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  VerifyRun(Request(Operation::kSyncAll), status, sink);
  EXPECT_FALSE(sink.ItemsWith(Action::kDeleted, Kind::kMeta).empty());
  EXPECT_EQ(db_.DataChecksum(), before);
  EXPECT_EQ(Count("sync_archive"), 0u);
}

// A client that cancels while the last statement runs must not find the
// run committed behind its back: the run asks once more before committing.
TEST_F(EngineTest, CancellationAfterTheLastStatementRollsBack) {
  AddTenant("acme");
  AddModules({"Blog", "Users"});
  const std::string before = db_.DataChecksum();
  RecordingSink sink;
  sink.CancelAfterItems(1);
  Engine engine(Options(), store_.get());

  absl::Status status = engine.Run(Request(Operation::kSeedMeta), sink);

  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
  EXPECT_EQ(db_.DataChecksum(), before);
}

TEST_F(EngineTest, PassedDeadlineCancelsTheRun) {
  AddTenant("acme");
  AddModules({"Blog"});
  RunRequest request = Request(Operation::kSeedMeta);
  request.deadline = absl::Now() - absl::Seconds(1);
  RecordingSink sink =
      ExecuteFails(request, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
  EXPECT_EQ(Count("module_meta"), 0u);
}

// --- Locks ------------------------------------------------------------------

// A separate database session that holds advisory locks until destroyed.
class LockHolder {
 public:
  explicit LockHolder(const std::string& conninfo) : conn_(conninfo) {}

  void Exec(const std::string& sql) {
    pqxx::nontransaction tx(conn_);
    tx.exec(sql);
  }

 private:
  pqxx::connection conn_;
};

class LockTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    AddTenant("a");
    AddTenant("b");
    AddModules({"Blog"});
  }

  EngineOptions ShortWait() const {
    EngineOptions options = Options();
    options.lock_timeout = absl::Milliseconds(300);
    return options;
  }

  absl::Status RunWithShortWait(const RunRequest& request,
                                RecordingSink* sink_out = nullptr) {
    absl::Status status;
    RecordingSink sink = Execute(request, &status, ShortWait());
    if (sink_out) *sink_out = std::move(sink);
    return status;
  }
};

TEST_F(LockTest, GlobalLockHeldElsewhereAbortsAfterTheTimeout) {
  LockHolder holder(db_.conninfo());
  holder.Exec(
      absl::StrCat("SELECT pg_advisory_lock(", kGlobalLockClass, ", 0)"));
  const std::string before = db_.DataChecksum();

  const absl::Time start = absl::Now();
  absl::Status status;
  RecordingSink sink =
      Execute(Request(Operation::kSeedMeta), &status, ShortWait());
  const absl::Duration waited = absl::Now() - start;

  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(status.message(), HasSubstr("global"));
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(5));
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kFailed);
  EXPECT_THAT(sink.items(), IsEmpty());
  // The client learns at once that the run waits rather than hangs.
  EXPECT_THAT(sink.phases(), ElementsAre(Ph("wait-for-lock", 0)));
  EXPECT_EQ(db_.DataChecksum(), before);

  // Tenant runs need the global lock in shared mode: they wait too.
  EXPECT_EQ(RunWithShortWait(TenantRequest(Operation::kSeedTenant, "a")).code(),
            absl::StatusCode::kAborted);
}

TEST_F(LockTest, CheckOnlyHealthCheckTakesNoLock) {
  LockHolder holder(db_.conninfo());
  holder.Exec(
      absl::StrCat("SELECT pg_advisory_lock(", kGlobalLockClass, ", 0)"));
  RunRequest request = Request(Operation::kHealthCheck);
  request.check_only = true;
  EXPECT_TRUE(RunWithShortWait(request).ok());
  RunRequest repair = Request(Operation::kHealthCheck);
  EXPECT_EQ(RunWithShortWait(repair).code(), absl::StatusCode::kAborted);
}

TEST_F(LockTest, TenantRunProceedsWhileAnotherTenantIsLocked) {
  LockHolder holder(db_.conninfo());
  holder.Exec(absl::StrCat("SELECT pg_advisory_lock_shared(", kGlobalLockClass,
                           ", 0)"));
  holder.Exec(absl::StrCat("SELECT pg_advisory_lock(", kTenantLockClass,
                           ", hashtext('b'))"));

  EXPECT_TRUE(
      RunWithShortWait(TenantRequest(Operation::kSeedTenant, "a")).ok());
  EXPECT_THAT(MetaNames("a"), ElementsAre("Blog"));

  RecordingSink blocked;
  absl::Status status =
      RunWithShortWait(TenantRequest(Operation::kSeedTenant, "b"), &blocked);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(status.message(), HasSubstr("tenant b"));
  EXPECT_EQ(
      RunWithShortWait(TenantRequest(Operation::kRemoveTenant, "b")).code(),
      absl::StatusCode::kAborted);
  EXPECT_EQ(RunWithShortWait(Request(Operation::kSeedMeta)).code(),
            absl::StatusCode::kAborted);
  EXPECT_THAT(MetaNames("b"), IsEmpty());
}

TEST_F(LockTest, LosingRunNamesTheRunItWaitedOn) {
  RecordingSink holder_sink;
  std::future<void> in_phase = holder_sink.BlockInFirstPhase();
  absl::Status holder_status;
  Engine engine(Options(), store_.get());
  std::thread holder([&] {
    holder_status = engine.Run(Request(Operation::kSyncAll), holder_sink);
  });
  if (in_phase.wait_for(std::chrono::seconds(20)) !=
      std::future_status::ready) {
    holder_sink.Release();
    holder.join();
    FAIL() << "the first run never reached its first phase";
  }
  const std::string holder_run = holder_sink.run_id();

  RecordingSink loser;
  absl::Status status =
      RunWithShortWait(TenantRequest(Operation::kSeedTenant, "a"), &loser);
  absl::Status global = RunWithShortWait(Request(Operation::kSeedMeta));
  holder_sink.Release();
  holder.join();

  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(status.message(), HasSubstr(holder_run));
  EXPECT_THAT(status.message(), HasSubstr("sync_all"));
  EXPECT_EQ(global.code(), absl::StatusCode::kAborted) << global;
  EXPECT_THAT(global.message(), HasSubstr(holder_run));
  EXPECT_TRUE(holder_status.ok()) << holder_status;
  EXPECT_EQ(Count("module_meta"), 2u);
  EXPECT_TRUE(RunWithShortWait(Request(Operation::kSeedMeta)).ok());
}

TEST_F(LockTest, RunsOfDifferentTenantsGoSideBySide) {
  RecordingSink holder_sink;
  std::future<void> in_phase = holder_sink.BlockInFirstPhase();
  absl::Status holder_status;
  Engine engine(Options(), store_.get());
  std::thread holder([&] {
    holder_status =
        engine.Run(TenantRequest(Operation::kSeedTenant, "b"), holder_sink);
  });
  if (in_phase.wait_for(std::chrono::seconds(20)) !=
      std::future_status::ready) {
    holder_sink.Release();
    holder.join();
    FAIL() << "the first run never reached its first phase";
  }
  const std::string holder_run = holder_sink.run_id();

  absl::Status other =
      RunWithShortWait(TenantRequest(Operation::kSeedTenant, "a"));
  absl::Status same =
      RunWithShortWait(TenantRequest(Operation::kRemoveTenant, "b"));
  absl::Status global = RunWithShortWait(Request(Operation::kSyncAll));
  holder_sink.Release();
  holder.join();

  EXPECT_TRUE(other.ok()) << other;
  EXPECT_EQ(same.code(), absl::StatusCode::kAborted) << same;
  EXPECT_THAT(same.message(), HasSubstr(holder_run));
  EXPECT_EQ(global.code(), absl::StatusCode::kAborted) << global;
  EXPECT_THAT(global.message(), HasSubstr(holder_run));
  EXPECT_TRUE(holder_status.ok()) << holder_status;
  EXPECT_THAT(MetaNames("a"), ElementsAre("Blog"));
  EXPECT_THAT(MetaNames("b"), ElementsAre("Blog"));
  EXPECT_EQ(Count("tenants"), 2u);
}

TEST_F(LockTest, CancellationStopsTheWaitForALock) {
  LockHolder holder(db_.conninfo());
  holder.Exec(
      absl::StrCat("SELECT pg_advisory_lock(", kGlobalLockClass, ", 0)"));
  RecordingSink sink;
  sink.CancelAfterItems(0);
  Engine engine(Options(), store_.get());

  const absl::Time start = absl::Now();
  absl::Status status = engine.Run(Request(Operation::kSeedMeta), sink);

  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  VerifyRun(Request(Operation::kSeedMeta), status, sink);
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
}

// A request whose own deadline passes while it waits for a lock has hit its
// deadline, not the lock timeout: `Engine::Run` documents kDeadlineExceeded
// for that, and the journal should say "cancelled", not blame the lock.
TEST_F(LockTest, DeadlinePassingWhileWaitingForALockIsDeadlineExceeded) {
  LockHolder holder(db_.conninfo());
  holder.Exec(
      absl::StrCat("SELECT pg_advisory_lock(", kGlobalLockClass, ", 0)"));
  RunRequest request = Request(Operation::kSeedMeta);
  request.deadline = absl::Now() + absl::Milliseconds(300);

  absl::Status status;
  RecordingSink sink = Execute(request, &status, Options());

  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
}

TEST_F(LockTest, DeadlineEndsARunBlockedInsideAStatement) {
  RunRequest request = Request(Operation::kSeedMeta);
  request.deadline = absl::Now() + absl::Milliseconds(500);
  RecordingSink sink;
  Engine engine(Options(), store_.get());
  absl::Status status;
  absl::Duration elapsed;
  {
    pqxx::connection conn(db_.conninfo());
    pqxx::work locker(conn);
    locker.exec("LOCK TABLE module_meta IN ACCESS EXCLUSIVE MODE");
    // Releases the table after the run, or after 10 s if the run stays
    // blocked, so that a regression fails instead of hanging.
    std::promise<void> run_done;
    std::thread releaser([&locker, done = run_done.get_future()] {
      done.wait_for(std::chrono::seconds(10));
      locker.abort();
    });
    const absl::Time start = absl::Now();
    status = engine.Run(request, sink);
    elapsed = absl::Now() - start;
    run_done.set_value();
    releaser.join();
  }

  VerifyRun(request, status, sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(elapsed, absl::Seconds(4));
  EXPECT_EQ(sink.run_finished().outcome, Outcome::kCancelled);
  EXPECT_EQ(Count("module_meta"), 0u);
}

TEST_F(LockTest, LockIsReleasedWhenTheRunEnds) {
  ExecuteFails(TenantRequest(Operation::kSeedTenant, "nobody"),
               absl::StatusCode::kNotFound);
  EXPECT_TRUE(RunWithShortWait(Request(Operation::kSyncAll)).ok());
  EXPECT_TRUE(
      RunWithShortWait(TenantRequest(Operation::kRemoveTenant, "a")).ok());
  EXPECT_TRUE(RunWithShortWait(Request(Operation::kSyncAll)).ok());
}

}  // namespace
}  // namespace syncadmin::core
