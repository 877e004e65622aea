#include "tests/support/fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace syncadmin::testing {

void MakeFifo(const std::string& path) {
  if (mkfifo(path.c_str(), 0600) != 0) {
    throw std::runtime_error(
        absl::StrCat("mkfifo ", path, ": ", std::strerror(errno)));
  }
}

absl::Status StatusUnlessStuckOnFifo(const std::string& fifo,
                                     const std::function<absl::Status()>& call,
                                     std::chrono::seconds timeout) {
  std::future<absl::Status> result = std::async(std::launch::async, call);
  if (result.wait_for(timeout) == std::future_status::ready) {
    return result.get();
  }

  // A reader blocked in open(2) lets a non-blocking writer in; once the
  // writer closes, the reader sees end of file and goes on.
  do {
    const int writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (writer >= 0) close(writer);
  } while (result.wait_for(std::chrono::milliseconds(100)) !=
           std::future_status::ready);
  return absl::DeadlineExceededError(
      absl::StrCat("blocked on FIFO ", fifo, " for more than ", timeout.count(),
                   " s, then said: ", result.get().ToString()));
}

}  // namespace syncadmin::testing
