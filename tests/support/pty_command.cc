#include "tests/support/pty_command.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace syncadmin::testing {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point After(double seconds) {
  return Clock::now() +
         std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

PtyCommand::PtyCommand(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env,
                       int columns) {
  std::map<std::string, std::string> merged = {{"TERM", "xterm"}};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    merged[entry.substr(0, eq)] =
        eq == std::string::npos ? "" : entry.substr(eq + 1);
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) {
    env_strings.push_back(absl::StrCat(key, "=", value));
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  winsize size{};
  size.ws_row = 40;
  size.ws_col = static_cast<unsigned short>(columns);
  pid_ = forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
}

PtyCommand::~PtyCommand() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

bool PtyCommand::ReadSome(int timeout_ms) {
  if (eof_) return false;
  pollfd fd{master_, POLLIN, 0};
  if (poll(&fd, 1, timeout_ms) <= 0) return true;
  char buffer[4096];
  const ssize_t n = read(master_, buffer, sizeof buffer);
  // Linux reports the other side's close as EIO.
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

bool PtyCommand::WaitFor(const std::string& text, double timeout_s) {
  const auto deadline = After(timeout_s);
  while (output_.find(text) == std::string::npos) {
    const int left = MillisLeft(deadline);
    if (left == 0 || !ReadSome(std::min(left, 100))) {
      return output_.find(text) != std::string::npos;
    }
  }
  return true;
}

void PtyCommand::Type(const std::string& input) {
  if (write(master_, input.data(), input.size()) < 0) {
    throw std::runtime_error("writing to the terminal failed");
  }
}

CommandResult PtyCommand::Wait(double timeout_s) {
  CommandResult result;
  const auto deadline = After(timeout_s);
  while (!eof_ && MillisLeft(deadline) > 0) {
    ReadSome(std::min(MillisLeft(deadline), 100));
  }
  int status = 0;
  while (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0) {
    if (MillisLeft(deadline) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      result.exit_code = -1;
      result.signal = SIGKILL;
      result.out = output_;
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = 128 + result.signal;
  }
  result.out = output_;
  return result;
}

}  // namespace syncadmin::testing
