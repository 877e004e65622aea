// Bearer tokens of syncd: roles, the tokens file, and token generation.
//
// The tokens file names each token's holder and role and stores the SHA-256
// of the token, never the token itself:
//
//   # Who may call syncd.
//   alice:admin:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e88…
//   deploy-bot:operator:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04f…
//
// One entry per line, `NAME:ROLE:SHA256-HEX`: NAME matches `kHolderNameRule`,
// ROLE is one of viewer, operator, admin, and the hash is 64 lower-case hex
// digits. Empty lines and lines starting with `#` are ignored; nothing else
// is accepted (no spaces, no CR line endings). Names and hashes are unique.
//
// Nothing here depends on gRPC, so the parser can be fuzzed on its own.
#ifndef SYNCADMIN_SERVER_TOKEN_FILE_H_
#define SYNCADMIN_SERVER_TOKEN_FILE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace syncadmin::server {

// What a caller may do. Each role includes the rights of the ones below it.
enum class Role {
  kViewer = 1,    // List, get, report, and every dry run.
  kOperator = 2,  // Seed and repair: operations that only insert.
  kAdmin = 3,     // Anything that deletes, restores, or edits tenants.
};

// "viewer", "operator" or "admin".
absl::string_view RoleName(Role role);

// The role named `name`, or nullopt.
std::optional<Role> ParseRole(absl::string_view name);

inline constexpr absl::string_view kHolderNameRule =
    "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$";

// Checks a holder name against `kHolderNameRule`; kInvalidArgument names
// the value and the rule.
absl::Status ValidateHolderName(absl::string_view name);

// Largest tokens file syncd reads, and most entries it holds.
inline constexpr size_t kMaxTokenFileBytes = 1 << 20;
inline constexpr size_t kMaxTokenEntries = 10000;

// Longest token a client may present, in bytes. Generated tokens are 47.
inline constexpr size_t kMaxTokenBytes = 512;

using TokenHash = std::array<uint8_t, 32>;

// The SHA-256 of `token` (OpenSSL).
TokenHash HashToken(absl::string_view token);

// `hash` as 64 lower-case hex digits.
std::string HashToHex(const TokenHash& hash);

struct TokenEntry {
  std::string name;
  Role role = Role::kViewer;
  TokenHash hash{};
};

// The parsed tokens file. Immutable once built; safe to share between
// threads.
class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(std::vector<TokenEntry> entries)
      : entries_(std::move(entries)) {}

  // The entry whose hash is the SHA-256 of `token`, or null. Compares the
  // hash with every entry in constant time (`CRYPTO_memcmp`) and does not
  // stop at the first match, so the time taken says nothing about which
  // entry, if any, matched.
  const TokenEntry* Find(absl::string_view token) const;

  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  std::vector<TokenEntry> entries_;
};

// Parses the text of a tokens file. `source` names the file in messages.
// Returns kInvalidArgument as "SOURCE:LINE: what is wrong" for the first bad
// line, naming the field and the rule it breaks. No message quotes a
// field's value: a token pasted into the wrong field stays out of the logs.
absl::StatusOr<TokenTable> ParseTokenFile(absl::string_view text,
                                          absl::string_view source);

// Renders one entry as a line of the tokens file, without the newline.
std::string FormatTokenEntry(const TokenEntry& entry);

// Reads and parses the tokens file at `path`, opened as a
// `FileProtection::kPrivate` `TrustedFile` (so a FIFO is refused at once
// rather than waited on). Returns kFailedPrecondition if it cannot be read,
// is not a regular file, is larger than `kMaxTokenFileBytes`, or could be
// changed or replaced by a user other than root and syncd's own: owned by
// one, writable by group or others, or in a directory that is (anyone who
// can write it can make themselves admin); kInvalidArgument from
// `ParseTokenFile`. Reading the file is allowed to everyone: it holds only
// hashes of random 256-bit tokens.
absl::StatusOr<TokenTable> LoadTokenFile(const std::string& path);

// A fresh random token: "sat_" followed by 43 base64url characters (32
// bytes from OpenSSL's `RAND_bytes`). Returns kInternal if the random
// generator fails.
absl::StatusOr<std::string> GenerateToken();

// Generates a token for `name` with `role`, appends its entry to the tokens
// file at `path` (created with mode 0600 if missing) and returns the token,
// which is stored nowhere else. The file is locked while it is read and
// appended to, and must parse and be safe as for `LoadTokenFile`; its
// directory is checked before the file is created, so nothing is written
// where another user could replace it. Returns kInvalidArgument for a bad
// name or a malformed file, kAlreadyExists if `name` already has a token,
// kFailedPrecondition if the file cannot be read or written or is unsafe.
absl::StatusOr<std::string> AddToken(const std::string& path,
                                     absl::string_view name, Role role);

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_TOKEN_FILE_H_
