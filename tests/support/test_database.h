// A private PostgreSQL database per test, created from the cluster that
// `scripts/test` starts (connection string in SYNCADMIN_TEST_PG) and dropped
// when the fixture goes away.
#ifndef SYNCADMIN_TESTS_SUPPORT_TEST_DATABASE_H_
#define SYNCADMIN_TESTS_SUPPORT_TEST_DATABASE_H_

#include <string>
#include <vector>

namespace syncadmin::testing {

using Rows = std::vector<std::vector<std::string>>;

class TestDatabase {
 public:
  // Creates an empty database with a unique name. Aborts the test binary
  // with a clear message if SYNCADMIN_TEST_PG is not set: these tests need
  // the real PostgreSQL that scripts/test provides.
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // libpq connection string of the test database.
  const std::string& conninfo() const { return conninfo_; }
  const std::string& name() const { return name_; }

  // Runs `sql` (no parameters) in its own transaction.
  void Exec(const std::string& sql) const;

  // Runs `sql` and returns every row as text; NULL becomes "<null>".
  Rows Query(const std::string& sql) const;

  // The single value of a one-row, one-column query.
  std::string Scalar(const std::string& sql) const;

  // A fingerprint of every row of every SyncAdmin table (tenants, metas,
  // settings, journal, archive), to prove that something changed nothing.
  std::string Checksum() const;

  // A fingerprint of the data tables only (tenants, metas, settings).
  std::string DataChecksum() const;

 private:
  std::string admin_conninfo_;
  std::string name_;
  std::string conninfo_;
};

// The base connection string from SYNCADMIN_TEST_PG with `dbname` replaced.
std::string ConninfoForDatabase(const std::string& dbname);

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_TEST_DATABASE_H_
