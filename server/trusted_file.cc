#include "server/trusted_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/validation.h"

namespace syncadmin::server {
namespace {

namespace fs = std::filesystem;

absl::Status Refuse(const std::string& shown, absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat(shown, " ", detail));
}

absl::Status RefuseWithErrno(const std::string& shown,
                             absl::string_view doing) {
  return Refuse(shown, absl::StrCat(doing, ": ", std::strerror(errno)));
}

// A descriptor closed on destruction unless released.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Where the file named by a path really lives: its directory with every
// symbolic link resolved, and its name there.
struct Location {
  fs::path directory;
  std::string name;
};

absl::StatusOr<Location> Locate(const std::string& path, bool may_create,
                                const std::string& shown) {
  std::error_code error;
  fs::path resolved = fs::canonical(path, error);
  if (error == std::errc::no_such_file_or_directory && may_create) {
    const fs::path given(path);
    fs::path parent = given.parent_path();
    if (parent.empty()) parent = ".";
    error.clear();
    resolved = fs::canonical(parent, error) / given.filename();
  }
  if (error) {
    return Refuse(shown, absl::StrCat("cannot be opened: ", error.message()));
  }
  return Location{resolved.parent_path(), resolved.filename().string()};
}

bool IsTrustedOwner(uid_t uid) { return uid == 0 || uid == geteuid(); }

// Whoever can write a directory can rename another file over the one syncd
// trusts, whatever that file's own owner and mode; the sticky bit limits
// renames to the owners of the files involved.
absl::Status CheckDirectory(int dir_fd, const fs::path& directory,
                            const std::string& shown) {
  struct stat st;
  if (fstat(dir_fd, &st) != 0) {
    return RefuseWithErrno(shown, "has a directory that cannot be examined");
  }
  const std::string dir = core::QuoteForMessage(directory.string(), 512);
  if (!IsTrustedOwner(st.st_uid)) {
    return Refuse(
        shown,
        absl::StrCat("is in directory ", dir, " owned by uid ", st.st_uid,
                     ", who could replace the file: the directory "
                     "must be owned by root or by the user syncd "
                     "runs as (uid ",
                     geteuid(), ")"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return Refuse(shown, absl::StrCat("is in directory ", dir,
                                      " that group or others can write to, "
                                      "so they could replace the file: run "
                                      "chmod go-w (or chmod +t) on the "
                                      "directory"));
  }
  return absl::OkStatus();
}

absl::Status CheckPrivateFile(const struct stat& st, const std::string& shown) {
  if (!IsTrustedOwner(st.st_uid)) {
    return Refuse(shown,
                  absl::StrCat("is owned by uid ", st.st_uid,
                               ", who could change it: it must be owned by "
                               "root or by the user syncd runs as (uid ",
                               geteuid(), ")"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Refuse(shown,
                  "is writable by group or others, who could change it: run "
                  "chmod go-w on it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrustedFile> TrustedFile::Open(const std::string& path,
                                              absl::string_view what, int flags,
                                              FileProtection protection) {
  std::string shown = absl::StrCat(what, " ", core::QuoteForMessage(path, 512));
  absl::StatusOr<Location> where = Locate(path, (flags & O_CREAT) != 0, shown);
  if (!where.ok()) return where.status();

  // O_PATH: the directory is only examined and opened from, so it needs to
  // be searchable, not readable.
  ScopedFd dir(
      open(where->directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return RefuseWithErrno(shown, "cannot be opened");
  if (protection == FileProtection::kPrivate) {
    absl::Status s = CheckDirectory(dir.get(), where->directory, shown);
    if (!s.ok()) return s;
  }

  // O_NONBLOCK keeps open(2) from waiting for a FIFO's writer or a device;
  // regular files ignore it, so it stays set. O_NOFOLLOW: the name was
  // resolved above, so a link found now was put there since.
  ScopedFd fd(openat(dir.get(), where->name.c_str(),
                     flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return RefuseWithErrno(shown, "cannot be opened");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return RefuseWithErrno(shown, "cannot be examined");
  }
  if (!S_ISREG(st.st_mode)) return Refuse(shown, "is not a regular file");
  if (protection == FileProtection::kPrivate) {
    if (absl::Status s = CheckPrivateFile(st, shown); !s.ok()) return s;
  }
  return TrustedFile(fd.release(), st, std::move(shown));
}

TrustedFile::TrustedFile(TrustedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      status_(other.status_),
      shown_(std::move(other.shown_)) {}

TrustedFile& TrustedFile::operator=(TrustedFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    status_ = other.status_;
    shown_ = std::move(other.shown_);
  }
  return *this;
}

TrustedFile::~TrustedFile() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::string> TrustedFile::ReadAll(size_t max_bytes) const {
  const auto too_large = [&](uint64_t size) {
    return Refuse(shown_, absl::StrCat("is ", size, " bytes: at most ",
                                       max_bytes, " are allowed"));
  };
  if (static_cast<uint64_t>(status_.st_size) > max_bytes) {
    return too_large(status_.st_size);
  }

  // The file may grow while it is read; stop one byte past the limit.
  std::string text;
  char buffer[8192];
  while (text.size() <= max_bytes) {
    const ssize_t n =
        pread(fd_, buffer, sizeof buffer, static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return RefuseWithErrno(shown_, "cannot be read");
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  if (text.size() > max_bytes) return too_large(text.size());
  return text;
}

absl::StatusOr<std::string> ReadTrustedFile(const std::string& path,
                                            absl::string_view what,
                                            size_t max_bytes,
                                            FileProtection protection) {
  absl::StatusOr<TrustedFile> file =
      TrustedFile::Open(path, what, O_RDONLY, protection);
  if (!file.ok()) return file.status();
  return file->ReadAll(max_bytes);
}

}  // namespace syncadmin::server
