// Running a command on a pseudo-terminal, as an operator at a terminal
// would: its stdin, stdout and stderr are all the terminal.
#ifndef SYNCADMIN_TESTS_SUPPORT_PTY_COMMAND_H_
#define SYNCADMIN_TESTS_SUPPORT_PTY_COMMAND_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/processes.h"

namespace syncadmin::testing {

class PtyCommand {
 public:
  // Starts `argv` without a shell on a new terminal `columns` wide, with
  // `env` added to the environment (TERM defaults to xterm).
  explicit PtyCommand(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env = {},
                      int columns = 160);
  // Kills the command if it still runs.
  ~PtyCommand();
  PtyCommand(const PtyCommand&) = delete;
  PtyCommand& operator=(const PtyCommand&) = delete;

  // Reads what the terminal shows until `text` appears in it; false if it
  // did not within `timeout_s` or the command closed the terminal first.
  bool WaitFor(const std::string& text, double timeout_s = 30);

  // Types `input` at the terminal ("\x03" is Ctrl-C).
  void Type(const std::string& input);

  // Waits for the exit, reading the terminal to the end. `out` holds
  // everything the terminal showed (stdout, stderr and the echo of what was
  // typed, with CR LF line ends); `err` is empty.
  CommandResult Wait(double timeout_s = 60);

  // Everything the terminal showed so far.
  const std::string& output() const { return output_; }

 private:
  // Reads what is available within `timeout_ms`; false at end of output.
  bool ReadSome(int timeout_ms);

  int master_ = -1;
  pid_t pid_ = -1;
  bool eof_ = false;
  std::string output_;
};

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_PTY_COMMAND_H_
