#include "tests/support/processes.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace syncadmin::testing {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// fork + exec with stdout/stderr sent to `out_fd`/`err_fd` (or inherited
// when -1) and `env` added to the environment.
pid_t Spawn(const std::vector<std::string>& argv,
            const std::map<std::string, std::string>& env, int out_fd,
            int err_fd) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (env.count(key) == 0) env_strings.push_back(entry);
  }
  for (const auto& [key, value] : env) {
    env_strings.push_back(absl::StrCat(key, "=", value));
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Undo any signal mask of the test process (syncctl relies on
    // receiving SIGINT).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int SignalOf(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

// Waits up to `timeout_s` for `pid` to exit and returns its decoded status
// (setting `*signal` if a signal killed it); kills it with SIGKILL and
// returns -1 if it is still running then.
int WaitWithTimeout(pid_t pid, double timeout_s, int* signal = nullptr) {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      if (signal != nullptr) *signal = SIGKILL;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (signal != nullptr) *signal = SignalOf(status);
  return DecodeWaitStatus(status);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("SYNCADMIN_BIN_DIR");
  return absl::StrCat(
      dir != nullptr && *dir != '\0' ? dir : SYNCADMIN_BUILD_BIN_DIR, "/",
      name);
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         double timeout_s) {
  int out_pipe[2], err_pipe[2];
  // Close-on-exec, so that only fds 1 and 2 reach the child: a daemon it
  // starts (pg_ctl start) must not keep the pipes open after it exits.
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = Spawn(argv, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);

  CommandResult result;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  char buffer[65536];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = timed_out ? -1 : DecodeWaitStatus(status);
  result.signal = timed_out ? SIGKILL : SignalOf(status);
  return result;
}

SyncdProcess::SyncdProcess(const std::string& conninfo,
                           const std::string& modules_dir,
                           const std::vector<std::string>& extra_args) {
  const std::string port_file = (dir_.path() / "port").string();
  const std::string log_file = (dir_.path() / "syncd.log").string();
  std::vector<std::string> argv = {
      BinaryPath("syncd"), "--listen", "127.0.0.1:0", "--port-file",
      port_file,           "--db",     conninfo,      "--modules-dir",
      modules_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_ = Spawn(argv, {}, log_fd, log_fd);
  close(log_fd);

  for (int i = 0; i < 300; ++i) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(
          absl::StrCat("syncd exited during startup: ", Log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(absl::StrCat("syncd did not start: ", Log()));
}

SyncdProcess::~SyncdProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string SyncdProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

int SyncdProcess::Stop(int signal, double timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const int code = WaitWithTimeout(pid_, timeout_s);
  pid_ = -1;
  return code;
}

std::string SyncdProcess::Log() const {
  return ReadFile(dir_.path() / "syncd.log");
}

BackgroundCommand::BackgroundCommand(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env) {
  const std::string out_file = (dir_.path() / "stdout").string();
  const std::string err_file = (dir_.path() / "stderr").string();
  const int out_fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err_fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_ = Spawn(argv, env, out_fd, err_fd);
  close(out_fd);
  close(err_fd);
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void BackgroundCommand::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

CommandResult BackgroundCommand::Wait(double timeout_s) {
  if (pid_ > 0) {
    result_.exit_code = WaitWithTimeout(pid_, timeout_s, &result_.signal);
    pid_ = -1;
    result_.out = ReadFile(dir_.path() / "stdout");
    result_.err = ReadFile(dir_.path() / "stderr");
  }
  return result_;
}

CommandResult RunSyncctl(const std::string& address,
                         const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {BinaryPath("syncctl"), "--addr", address};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env);
}

}  // namespace syncadmin::testing
