#include "server/token_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/validation.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/rand.h"
#include "server/trusted_file.h"

namespace syncadmin::server {
namespace {

constexpr size_t kMaxLineBytes = 1024;
constexpr size_t kTokenRandomBytes = 32;
constexpr char kTokenPrefix[] = "sat_";
// How messages about the tokens file start, before its quoted path.
constexpr char kWhat[] = "tokens file";
constexpr char kNewFileHeader[] =
    "# syncd bearer tokens, one per line: NAME:ROLE:SHA256-HEX of the token.\n"
    "# Roles: viewer, operator, admin. Add entries with `syncd token add`.\n";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes exactly 64 lower-case hex digits.
std::optional<TokenHash> ParseHashHex(absl::string_view hex) {
  TokenHash hash;
  if (hex.size() != 2 * hash.size()) return std::nullopt;
  for (size_t i = 0; i < hash.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    hash[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return hash;
}

absl::Status LineError(absl::string_view source, size_t line,
                       absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", line, ": ", detail));
}

bool IsHolderName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
            name[0] != '_' && name[0] != '@' && name[0] != '-';
  for (size_t i = 0; ok && i < name.size(); ++i) ok = IsNameChar(name[i]);
  return ok;
}

// Parses one entry line (not empty, not a comment). No field's value is
// ever quoted in messages, only its position and rule: a token pasted into
// any of them by mistake must not end up in a log.
absl::StatusOr<TokenEntry> ParseEntry(absl::string_view line,
                                      absl::string_view source, size_t number) {
  const std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
  if (fields.size() != 3) {
    return LineError(
        source, number,
        absl::StrCat("expected NAME:ROLE:SHA256-HEX, found ", fields.size(),
                     " colon-separated field", fields.size() == 1 ? "" : "s"));
  }
  TokenEntry entry;
  if (!IsHolderName(fields[0])) {
    return LineError(source, number,
                     absl::StrCat("the NAME field is ",
                                  fields[0].empty() ? "empty" : "invalid",
                                  ": it must match ", kHolderNameRule));
  }
  entry.name = std::string(fields[0]);
  const std::optional<Role> role = ParseRole(fields[1]);
  if (!role) {
    return LineError(source, number,
                     "the ROLE field is invalid: it must be viewer, operator "
                     "or admin");
  }
  entry.role = *role;
  const std::optional<TokenHash> hash = ParseHashHex(fields[2]);
  if (!hash) {
    return LineError(source, number,
                     "the SHA256-HEX field is not 64 lower-case hex digits "
                     "(the SHA-256 of the token)");
  }
  entry.hash = *hash;
  return entry;
}

std::string ErrnoText() { return std::strerror(errno); }

absl::Status WriteAll(const TrustedFile& file, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(file.fd(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(file.shown(), " cannot be written: ", ErrnoText()));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

absl::Status ValidateHolderName(absl::string_view name) {
  if (IsHolderName(name)) return absl::OkStatus();
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("holder name is empty: it must match ", kHolderNameRule));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("holder name ", core::QuoteForMessage(name),
                   " is invalid: it must match ", kHolderNameRule));
}

TokenHash HashToken(absl::string_view token) {
  TokenHash hash{};
  unsigned int size = 0;
  // EVP_Digest with SHA-256 cannot fail for in-memory input short of
  // memory exhaustion; a zero hash then matches no entry.
  if (EVP_Digest(token.data(), token.size(), hash.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != hash.size()) {
    hash.fill(0);
  }
  return hash;
}

std::string HashToHex(const TokenHash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

const TokenEntry* TokenTable::Find(absl::string_view token) const {
  const TokenHash hash = HashToken(token);
  const TokenEntry* found = nullptr;
  for (const TokenEntry& entry : entries_) {
    const bool equal =
        CRYPTO_memcmp(entry.hash.data(), hash.data(), hash.size()) == 0;
    found = equal ? &entry : found;
  }
  return found;
}

absl::StatusOr<TokenTable> ParseTokenFile(absl::string_view text,
                                          absl::string_view source) {
  if (text.size() > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " is ", text.size(), " bytes: at most ",
                     kMaxTokenFileBytes, " are allowed"));
  }
  std::vector<TokenEntry> entries;
  std::map<std::string, size_t> line_of_name;
  std::map<TokenHash, size_t> line_of_hash;
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      return LineError(source, number,
                       "line ends with a carriage return: use LF line "
                       "endings");
    }
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > kMaxLineBytes) {
      return LineError(
          source, number,
          absl::StrCat("line is ", line.size(), " bytes long: at most ",
                       kMaxLineBytes, " are allowed"));
    }
    absl::StatusOr<TokenEntry> entry = ParseEntry(line, source, number);
    if (!entry.ok()) return entry.status();
    if (auto [it, inserted] = line_of_name.emplace(entry->name, number);
        !inserted) {
      return LineError(source, number,
                       absl::StrCat("the NAME field is the same as on line ",
                                    it->second, ": a holder has one token"));
    }
    if (auto [it, inserted] = line_of_hash.emplace(entry->hash, number);
        !inserted) {
      return LineError(
          source, number,
          absl::StrCat("the SHA256-HEX field is the same as on line ",
                       it->second, ": a token belongs to one holder"));
    }
    if (entries.size() == kMaxTokenEntries) {
      return LineError(source, number,
                       absl::StrCat("more than ", kMaxTokenEntries,
                                    " tokens are not allowed"));
    }
    entries.push_back(*std::move(entry));
  }
  return TokenTable(std::move(entries));
}

std::string FormatTokenEntry(const TokenEntry& entry) {
  return absl::StrCat(entry.name, ":", RoleName(entry.role), ":",
                      HashToHex(entry.hash));
}

absl::StatusOr<TokenTable> LoadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTrustedFile(
      path, kWhat, kMaxTokenFileBytes, FileProtection::kPrivate);
  if (!text.ok()) return text.status();
  return ParseTokenFile(*text, path);
}

absl::StatusOr<std::string> GenerateToken() {
  unsigned char bytes[kTokenRandomBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return absl::InternalError("the random number generator failed");
  }
  const std::string token = absl::StrCat(
      kTokenPrefix, absl::WebSafeBase64Escape(absl::string_view(
                        reinterpret_cast<const char*>(bytes), sizeof bytes)));
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

absl::StatusOr<std::string> AddToken(const std::string& path,
                                     absl::string_view name, Role role) {
  if (absl::Status s = ValidateHolderName(name); !s.ok()) return s;
  absl::StatusOr<TrustedFile> file = TrustedFile::Open(
      path, kWhat, O_RDWR | O_APPEND | O_CREAT, FileProtection::kPrivate);
  if (!file.ok()) return file.status();
  // Serialises concurrent `syncd token add` runs on the same file.
  if (flock(file->fd(), LOCK_EX) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(file->shown(), " cannot be locked: ", ErrnoText()));
  }
  absl::StatusOr<std::string> text = file->ReadAll(kMaxTokenFileBytes);
  if (!text.ok()) return text.status();
  absl::StatusOr<TokenTable> table = ParseTokenFile(*text, path);
  if (!table.ok()) return table.status();
  for (const TokenEntry& entry : table->entries()) {
    if (entry.name == name) {
      return absl::AlreadyExistsError(
          absl::StrCat("holder ", name, " already has a token in ", path,
                       "; remove that line first to replace it"));
    }
  }

  absl::StatusOr<std::string> token = GenerateToken();
  if (!token.ok()) return token.status();
  TokenEntry entry{std::string(name), role, HashToken(*token)};
  std::string out;
  if (text->empty()) out = kNewFileHeader;
  if (!text->empty() && text->back() != '\n') out += '\n';
  absl::StrAppend(&out, FormatTokenEntry(entry), "\n");
  if (absl::Status s = WriteAll(*file, out); !s.ok()) return s;
  if (fsync(file->fd()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(file->shown(), " cannot be synced: ", ErrnoText()));
  }
  return token;
}

}  // namespace syncadmin::server
