// FIFOs for tests of code that must refuse one without blocking on it.
#ifndef SYNCADMIN_TESTS_SUPPORT_FIFO_H_
#define SYNCADMIN_TESTS_SUPPORT_FIFO_H_

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace syncadmin::testing {

// Makes a FIFO at `path` with mode 0600; throws on failure.
void MakeFifo(const std::string& path);

// Runs `call` on a thread of its own and returns its status. If `call` has
// not returned after `timeout`, it is taken to be stuck opening the FIFO at
// `fifo`: the FIFO is opened for writing and closed until `call` returns,
// so that the test fails instead of hanging, and kDeadlineExceeded is
// returned.
absl::Status StatusUnlessStuckOnFifo(
    const std::string& fifo, const std::function<absl::Status()>& call,
    std::chrono::seconds timeout = std::chrono::seconds(10));

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_FIFO_H_
