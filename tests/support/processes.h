// Running the real syncd and syncctl binaries from tests.
#ifndef SYNCADMIN_TESTS_SUPPORT_PROCESSES_H_
#define SYNCADMIN_TESTS_SUPPORT_PROCESSES_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace syncadmin::testing {

// Path of a built binary ("syncd", "syncctl"): $SYNCADMIN_BIN_DIR/name, else
// the build tree's bin directory.
std::string BinaryPath(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal.
  int signal = 0;      // The signal that killed it, if one did.
  std::string out;
  std::string err;
};

// Runs `argv` without a shell, with `env` added to the environment, and
// captures its output. Kills it after `timeout_s` seconds (exit_code -1).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         double timeout_s = 120);

// A syncd process listening on a free loopback port.
class SyncdProcess {
 public:
  // Starts `syncd --listen 127.0.0.1:0 --db conninfo --modules-dir dir`
  // plus `extra_args`, and waits until it serves. Throws on failure, with
  // its log in the message.
  SyncdProcess(const std::string& conninfo, const std::string& modules_dir,
               const std::vector<std::string>& extra_args = {});
  // Sends SIGKILL if still running.
  ~SyncdProcess();

  int port() const { return port_; }
  std::string address() const;
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits up to `timeout_s` for the exit; returns the
  // exit code (128 + signal number if killed by it), or -1 if it was still
  // running then (it is killed with SIGKILL).
  int Stop(int signal, double timeout_s = 60);
  // Everything the server logged so far.
  std::string Log() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A command started in the background, for tests that act on it while it
// runs (send it a signal, wait for it). Its output goes to files.
class BackgroundCommand {
 public:
  // Starts `argv` without a shell, with `env` added to the environment.
  explicit BackgroundCommand(
      const std::vector<std::string>& argv,
      const std::map<std::string, std::string>& env = {});
  // Sends SIGKILL if still running.
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` unless the command has already been waited for.
  void Signal(int signal);
  // Waits up to `timeout_s` for the exit and returns the result; exit_code
  // is -1 if it was still running then (it is killed with SIGKILL).
  CommandResult Wait(double timeout_s = 60);

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  CommandResult result_;
};

// Runs the syncctl binary against `address` with `args`.
CommandResult RunSyncctl(const std::string& address,
                         const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {});

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_PROCESSES_H_
