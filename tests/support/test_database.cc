#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"

namespace syncadmin::testing {
namespace {

std::string BaseConninfo() {
  const char* base = std::getenv("SYNCADMIN_TEST_PG");
  if (base == nullptr || *base == '\0') {
    std::fprintf(stderr,
                 "SYNCADMIN_TEST_PG is not set: these tests need a real "
                 "PostgreSQL. Run them through scripts/test.\n");
    std::abort();
  }
  return base;
}

std::string UniqueName() {
  static std::atomic<int> counter{0};
  return absl::StrCat("sa_test_", getpid(), "_", counter.fetch_add(1));
}

constexpr char kDataTables[] =
    "(SELECT 't' AS k, to_jsonb(t)::text AS r FROM tenants t"
    " UNION ALL SELECT 'm', to_jsonb(m)::text FROM module_meta m"
    " UNION ALL SELECT 's', to_jsonb(s)::text FROM module_settings s)";

constexpr char kAllTables[] =
    "(SELECT 't' AS k, to_jsonb(t)::text AS r FROM tenants t"
    " UNION ALL SELECT 'm', to_jsonb(m)::text FROM module_meta m"
    " UNION ALL SELECT 's', to_jsonb(s)::text FROM module_settings s"
    " UNION ALL SELECT 'r', to_jsonb(r)::text FROM sync_runs r"
    " UNION ALL SELECT 'a', to_jsonb(a)::text FROM sync_archive a)";

}  // namespace

std::string ConninfoForDatabase(const std::string& dbname) {
  return absl::StrCat(BaseConninfo(), " dbname=", dbname);
}

TestDatabase::TestDatabase()
    : admin_conninfo_(BaseConninfo()), name_(UniqueName()) {
  pqxx::connection admin(admin_conninfo_);
  pqxx::nontransaction tx(admin);
  tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_));
  tx.exec(absl::StrCat("CREATE DATABASE ", name_));
  conninfo_ = ConninfoForDatabase(name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_conninfo_);
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_,
                         " WITH (FORCE)"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "could not drop test database %s: %s\n",
                 name_.c_str(), e.what());
  }
}

void TestDatabase::Exec(const std::string& sql) const {
  pqxx::connection conn(conninfo_);
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

Rows TestDatabase::Query(const std::string& sql) const {
  pqxx::connection conn(conninfo_);
  pqxx::work tx(conn);
  Rows out;
  for (const auto& row : tx.exec(sql)) {
    std::vector<std::string> values;
    for (const auto& field : row) {
      values.push_back(field.is_null() ? "<null>" : field.c_str());
    }
    out.push_back(std::move(values));
  }
  return out;
}

std::string TestDatabase::Scalar(const std::string& sql) const {
  Rows rows = Query(sql);
  if (rows.size() != 1 || rows[0].size() != 1) {
    return absl::StrCat("<expected one value, got ", rows.size(), " rows>");
  }
  return rows[0][0];
}

std::string TestDatabase::Checksum() const {
  return Scalar(absl::StrCat(
      "SELECT count(*) || ':' || coalesce(md5(string_agg(k || r, '|' "
      "ORDER BY k, r)), '') FROM ",
      kAllTables, " x"));
}

std::string TestDatabase::DataChecksum() const {
  return Scalar(absl::StrCat(
      "SELECT count(*) || ':' || coalesce(md5(string_agg(k || r, '|' "
      "ORDER BY k, r)), '') FROM ",
      kDataTables, " x"));
}

}  // namespace syncadmin::testing
