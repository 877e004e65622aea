// A private PostgreSQL 15 cluster that a test may stop and start, unlike
// the shared one that scripts/test runs for every test (see
// test_database.h). It listens on a free loopback port with trust
// authentication and lives in a temporary directory.
#ifndef SYNCADMIN_TESTS_SUPPORT_PG_CLUSTER_H_
#define SYNCADMIN_TESTS_SUPPORT_PG_CLUSTER_H_

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace syncadmin::testing {

class PgCluster {
 public:
  // Runs initdb and starts the server; throws with its log on failure. As
  // root, the server runs as the `postgres` user (it refuses root).
  PgCluster();
  // Stops the server (immediately) and removes the cluster.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Stops the server with pg_ctl's shutdown `mode`: "fast" closes the
  // connections cleanly; "immediate" kills every backend at once, like a
  // crash (the next start runs crash recovery). The port stops answering.
  void Stop(const std::string& mode = "fast");
  // Starts the server again on the same port.
  void Start();

  // Freezes the server's main process (SIGSTOP): the port still accepts
  // TCP connections, but no new session ever answers, as with a server
  // that hangs. `Resume` (SIGCONT) thaws it.
  void Pause();
  void Resume();

  int port() const { return port_; }
  // libpq connection string of database `dbname` as user postgres.
  std::string conninfo(const std::string& dbname = "postgres") const;

 private:
  // Runs a PostgreSQL tool as the server's user; throws on failure.
  void RunPg(const std::vector<std::string>& argv) const;
  std::string Log() const;
  // The postmaster's pid, from its pid file.
  int PostmasterPid() const;

  TempDir dir_;
  int port_ = 0;
  bool running_ = false;
  bool paused_ = false;
};

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_PG_CLUSTER_H_
