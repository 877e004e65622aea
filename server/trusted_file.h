// Opening the files syncd trusts at start: the tokens file and the TLS
// files.
//
// Each is opened without blocking and must be a regular file, so that a
// FIFO or a device named by mistake is refused at once instead of hanging
// syncd in open(2) (its shutdown signals are blocked by then, so not even
// SIGTERM would end it).
//
// A file that grants access or holds a secret must also be out of reach of
// other users, the way OpenSSH's StrictModes treats authorized_keys: owned
// by syncd's effective user or root and writable by no one else, in a
// directory that is owned by one of those users and that group and others
// cannot write to unless it is sticky (as /tmp is), since whoever can write
// the directory can replace the file.
//
// Nothing here depends on gRPC.
#ifndef SYNCADMIN_SERVER_TRUSTED_FILE_H_
#define SYNCADMIN_SERVER_TRUSTED_FILE_H_

#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace syncadmin::server {

// Which rules `TrustedFile::Open` applies beyond "a regular file".
enum class FileProtection {
  kAny,      // Anyone may own it or write it (certificates).
  kPrivate,  // Only syncd's effective user or root may change the file or
             // its directory, as described above (tokens file, TLS key).
};

// A regular file opened by `Open`, closed on destruction. Move-only.
class TrustedFile {
 public:
  // Opens `path` with `flags` (an access mode, optionally `O_APPEND` and
  // `O_CREAT`; `O_CREAT` makes a missing file with mode 0600). A symbolic
  // link is followed, and for `kPrivate` the rules apply to the directory
  // the link leads to, checked before the file is opened or created.
  //
  // Returns kFailedPrecondition if the file cannot be opened, is not a
  // regular file, or breaks the rules of `protection`. Each message is one
  // line that starts with `what` and the quoted path ("--tls-key file
  // "/etc/syncd/key.pem" …") and states the rule broken. Never blocks on a
  // FIFO or device.
  static absl::StatusOr<TrustedFile> Open(const std::string& path,
                                          absl::string_view what, int flags,
                                          FileProtection protection);

  TrustedFile(TrustedFile&& other) noexcept;
  TrustedFile& operator=(TrustedFile&& other) noexcept;
  TrustedFile(const TrustedFile&) = delete;
  TrustedFile& operator=(const TrustedFile&) = delete;
  ~TrustedFile();

  int fd() const { return fd_; }

  // The file's status when it was opened.
  const struct stat& status() const { return status_; }

  // Reads the whole file from offset 0. Returns kFailedPrecondition if it
  // is larger than `max_bytes` or cannot be read.
  absl::StatusOr<std::string> ReadAll(size_t max_bytes) const;

  // The quoted path, prefixed by `what`, for messages about this file.
  const std::string& shown() const { return shown_; }

 private:
  TrustedFile(int fd, const struct stat& status, std::string shown)
      : fd_(fd), status_(status), shown_(std::move(shown)) {}

  int fd_ = -1;
  struct stat status_ {};
  std::string shown_;
};

// Reads the regular file at `path`: `TrustedFile::Open` read-only, then
// `ReadAll(max_bytes)`.
absl::StatusOr<std::string> ReadTrustedFile(const std::string& path,
                                            absl::string_view what,
                                            size_t max_bytes,
                                            FileProtection protection);

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_TRUSTED_FILE_H_
