#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/support/processes.h"

namespace syncadmin::testing {
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

PgCluster::PgCluster() : port_(FreePort()) {
  if (geteuid() == 0) {
    const passwd* pg = getpwnam("postgres");
    if (pg == nullptr) {
      throw std::runtime_error("user postgres does not exist (scripts/setup)");
    }
    // The temporary directory is root's, mode 0700: hand it over.
    if (chown(dir_.str().c_str(), pg->pw_uid, pg->pw_gid) != 0) {
      throw std::runtime_error("cannot chown the cluster directory");
    }
  }
  RunPg({absl::StrCat(kPgBin, "/initdb"), "-D", dir_.str() + "/data",
         "--auth=trust", "--username=postgres", "--encoding=UTF8",
         "--no-locale", "--no-sync"});
  Start();
}

PgCluster::~PgCluster() {
  if (paused_) Resume();
  if (running_) {
    try {
      RunPg({absl::StrCat(kPgBin, "/pg_ctl"), "-D", dir_.str() + "/data", "-m",
             "immediate", "-w", "stop"});
    } catch (const std::exception&) {
      // Nothing more to do; the directory goes anyway.
    }
  }
}

void PgCluster::RunPg(const std::vector<std::string>& argv) const {
  // From "/", so that a current directory the server's user cannot read
  // does not upset the PostgreSQL tools.
  std::vector<std::string> full = {"/bin/sh", "-c",
                                   "cd / && exec \"$0\" \"$@\""};
  if (geteuid() == 0) {
    full.insert(full.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  }
  full.insert(full.end(), argv.begin(), argv.end());
  const CommandResult r = RunCommand(full, {}, /*timeout_s=*/120);
  if (r.exit_code != 0) {
    throw std::runtime_error(absl::StrCat(absl::StrJoin(argv, " "),
                                          " failed (exit ", r.exit_code,
                                          "): ", r.out, r.err, Log()));
  }
}

void PgCluster::Start() {
  RunPg({absl::StrCat(kPgBin, "/pg_ctl"), "-D", dir_.str() + "/data", "-l",
         dir_.str() + "/log", "-w", "-t", "60", "-o",
         absl::StrCat("-c listen_addresses=127.0.0.1 -c port=", port_,
                      " -c unix_socket_directories='' -c fsync=off"),
         "start"});
  running_ = true;
}

void PgCluster::Stop(const std::string& mode) {
  RunPg({absl::StrCat(kPgBin, "/pg_ctl"), "-D", dir_.str() + "/data", "-m",
         mode, "-w", "-t", "60", "stop"});
  running_ = false;
}

int PgCluster::PostmasterPid() const {
  std::ifstream in(dir_.path() / "data" / "postmaster.pid");
  int pid = 0;
  if (!(in >> pid) || pid <= 0) {
    throw std::runtime_error("no postmaster.pid: is the cluster running?");
  }
  return pid;
}

void PgCluster::Pause() {
  if (kill(PostmasterPid(), SIGSTOP) != 0) {
    throw std::runtime_error("cannot stop the postmaster");
  }
  paused_ = true;
}

void PgCluster::Resume() {
  if (kill(PostmasterPid(), SIGCONT) != 0) {
    throw std::runtime_error("cannot continue the postmaster");
  }
  paused_ = false;
}

std::string PgCluster::conninfo(const std::string& dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_,
                      " user=postgres dbname=", dbname);
}

std::string PgCluster::Log() const {
  std::ifstream in(dir_.path() / "log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace syncadmin::testing
