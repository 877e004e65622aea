// naive_sync: the algorithm of the maintenance scripts SyncAdmin replaced,
// kept as a reference point for scripts/bench. Never part of the product.
//
// For each active tenant and each module directory it looks the meta up and
// inserts it if missing; then, for each pair again, it looks up the meta and
// the setting and inserts the setting if the meta is enabled and the setting
// missing. Before that it deletes, per tenant, the metas (and settings) whose
// module directory is gone. Every statement is its own autocommit round
// trip, as the scripts' one-document-at-a-time calls were. Statements are
// prepared once, which makes this the fastest form of the per-pair algorithm.
//
// The rows it writes have the same columns and defaults as SyncAdmin's for a
// module without a manifest. It prints one line per item to stdout and a
// summary to stderr.
//
//   naive_sync --db CONNINFO --modules-dir DIR [--tenants N] [--locales L]
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"

namespace {

struct Options {
  std::string db;
  std::string modules_dir;
  int tenant_limit = 0;  // 0: every active tenant.
  std::string locales = "tr,en,de,pl,fr,es";
};

struct Totals {
  uint64_t statements = 0;
  uint64_t metas_created = 0;
  uint64_t settings_created = 0;
  uint64_t orphans_deleted = 0;
  uint64_t unchanged = 0;
};

// Module directories directly under `root`, sorted: names not starting with
// `_` or `.`, directories only (as SyncAdmin's scanner, without manifests).
std::vector<std::string> ListModules(const std::string& root) {
  std::vector<std::string> names;
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) throw std::runtime_error("cannot read " + root);
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.empty() || name[0] == '.' || name[0] == '_') continue;
    struct stat st;
    if (stat((root + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      names.push_back(name);
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(sep, start), text.size());
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

void Prepare(pqxx::connection& conn) {
  conn.prepare("tenants",
               "SELECT slug FROM tenants WHERE is_active ORDER BY slug "
               "LIMIT CASE WHEN $1::int > 0 THEN $1::int END");
  conn.prepare("metas_of", "SELECT name FROM module_meta WHERE tenant = $1");
  conn.prepare("delete_settings",
               "DELETE FROM module_settings WHERE tenant = $1 AND module = $2");
  conn.prepare("delete_meta",
               "DELETE FROM module_meta WHERE tenant = $1 AND name = $2");
  conn.prepare("find_meta",
               "SELECT enabled, roles::text, \"order\" FROM module_meta "
               "WHERE tenant = $1 AND name = $2");
  conn.prepare("insert_meta", R"sql(
    INSERT INTO module_meta (tenant, name, label, icon, roles, enabled,
                             version, "order", stats_key, history,
                             created_by_run)
    VALUES ($1, $2, $3::jsonb, 'box', '{admin}', true, '1.0.0', 0, $2,
            jsonb_build_array(jsonb_build_object(
              'version', '1.0.0', 'by', 'naive_sync',
              'date', to_char(now() AT TIME ZONE 'UTC',
                              'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'note', 'created by sync')),
            $4::uuid))sql");
  conn.prepare("find_setting",
               "SELECT 1 FROM module_settings WHERE tenant = $1 AND module = "
               "$2");
  conn.prepare("insert_setting", R"sql(
    INSERT INTO module_settings (tenant, module, enabled, visible_in_sidebar,
                                 use_analytics, show_in_dashboard, roles,
                                 "order", seo_title, seo_description,
                                 seo_summary, seo_og_image, created_by_run)
    VALUES ($1, $2, true, true, false, true,
            CASE WHEN cardinality($3::text[]) = 0 THEN ARRAY['admin']
                 ELSE $3::text[] END,
            $4, $5::jsonb, $5::jsonb, $5::jsonb, '', $6::uuid))sql");
}

void Item(const char* action, const char* kind, const std::string& tenant,
          const std::string& module) {
  std::printf("  %-12s %-7s %s/%s\n", action, kind, tenant.c_str(),
              module.c_str());
}

void DeleteOrphans(pqxx::nontransaction& tx, const std::string& tenant,
                   const std::set<std::string>& modules, Totals* totals) {
  const pqxx::result metas = tx.exec_prepared("metas_of", tenant);
  ++totals->statements;
  for (const auto& row : metas) {
    const std::string name = row[0].c_str();
    if (modules.count(name) > 0) continue;
    tx.exec_prepared("delete_settings", tenant, name);
    tx.exec_prepared("delete_meta", tenant, name);
    totals->statements += 2;
    ++totals->orphans_deleted;
    Item("deleted", "meta", tenant, name);
  }
}

void SeedMeta(pqxx::nontransaction& tx, const std::string& tenant,
              const std::string& module, const std::string& label,
              const std::string& run_id, Totals* totals) {
  ++totals->statements;
  if (!tx.exec_prepared("find_meta", tenant, module).empty()) {
    ++totals->unchanged;
    return;
  }
  tx.exec_prepared("insert_meta", tenant, module, label, run_id);
  ++totals->statements;
  ++totals->metas_created;
  Item("created", "meta", tenant, module);
}

void SeedSetting(pqxx::nontransaction& tx, const std::string& tenant,
                 const std::string& module, const std::string& seo,
                 const std::string& run_id, Totals* totals) {
  const pqxx::result meta = tx.exec_prepared("find_meta", tenant, module);
  ++totals->statements;
  if (meta.empty() || !meta[0][0].as<bool>()) return;
  ++totals->statements;
  if (!tx.exec_prepared("find_setting", tenant, module).empty()) {
    ++totals->unchanged;
    return;
  }
  tx.exec_prepared("insert_setting", tenant, module,
                   std::string(meta[0][1].c_str()), meta[0][2].as<int>(), seo,
                   run_id);
  ++totals->statements;
  ++totals->settings_created;
  Item("created", "setting", tenant, module);
}

int Run(const Options& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::vector<std::string> modules = ListModules(options.modules_dir);
  const std::set<std::string> module_set(modules.begin(), modules.end());
  const std::vector<std::string> locales = Split(options.locales, ',');
  nlohmann::json seo = nlohmann::json::object();
  for (const auto& locale : locales) seo[locale] = "";
  const std::string seo_text = seo.dump();

  pqxx::connection conn(options.db);
  Prepare(conn);
  pqxx::nontransaction tx(conn);
  const std::string run_id =
      tx.exec("SELECT gen_random_uuid()::text")[0][0].c_str();
  std::vector<std::string> tenants;
  for (const auto& row : tx.exec_prepared("tenants", options.tenant_limit)) {
    tenants.emplace_back(row[0].c_str());
  }

  Totals totals;
  for (const auto& tenant : tenants) {
    DeleteOrphans(tx, tenant, module_set, &totals);
  }
  for (const auto& tenant : tenants) {
    for (const auto& module : modules) {
      nlohmann::json label = nlohmann::json::object();
      for (const auto& locale : locales) label[locale] = module;
      SeedMeta(tx, tenant, module, label.dump(), run_id, &totals);
    }
  }
  for (const auto& tenant : tenants) {
    for (const auto& module : modules) {
      SeedSetting(tx, tenant, module, seo_text, run_id, &totals);
    }
  }
  std::fflush(stdout);

  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  std::fprintf(stderr,
               "naive_sync: %zu tenants x %zu modules: %llu metas and %llu "
               "settings created, %llu orphans deleted, %llu unchanged, "
               "%llu statements in %.3f s\n",
               tenants.size(), modules.size(),
               static_cast<unsigned long long>(totals.metas_created),
               static_cast<unsigned long long>(totals.settings_created),
               static_cast<unsigned long long>(totals.orphans_deleted),
               static_cast<unsigned long long>(totals.unchanged),
               static_cast<unsigned long long>(totals.statements), elapsed_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"naive_sync: the per-pair sync algorithm, for benchmarks",
               "naive_sync"};
  app.add_option("--db", options.db, "libpq connection string")->required();
  app.add_option("--modules-dir", options.modules_dir, "Modules root")
      ->required();
  app.add_option("--tenants", options.tenant_limit,
                 "Only the first N active tenants (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--locales", options.locales,
                 "Comma-separated locales of labels and SEO texts");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  static char buffer[1 << 16];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "naive_sync: %s\n", e.what());
    return 1;
  }
}
