// Fuzzes the tokens file parser and the bearer header check with arbitrary
// bytes: no crash, errors name a line and never echo the input, and what
// parses survives a round trip through `FormatTokenEntry`.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/auth.h"
#include "server/token_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace server = syncadmin::server;

// `text` with each run of digits replaced by one '#'.
std::string MaskDigits(absl::string_view text) {
  std::string masked;
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit) {
      masked += c;
    } else if (masked.empty() || masked.back() != '#') {
      masked += '#';
    }
  }
  return masked;
}

// Every message `ParseTokenFile(..., "tokens")` may return, digits masked.
// None has room for a field's value, which may be a misplaced token.
bool IsFixedParseError(absl::string_view message) {
  static const std::set<std::string>* const kMasked = [] {
    const std::string rule(server::kHolderNameRule);
    const std::string texts[] = {
        "tokens is 1 bytes: at most 1 are allowed",
        "tokens:1: line ends with a carriage return: use LF line endings",
        "tokens:1: line is 1 bytes long: at most 1 are allowed",
        "tokens:1: expected NAME:ROLE:SHA256-HEX, found 1 colon-separated "
        "field",
        "tokens:1: expected NAME:ROLE:SHA256-HEX, found 1 colon-separated "
        "fields",
        "tokens:1: the NAME field is empty: it must match " + rule,
        "tokens:1: the NAME field is invalid: it must match " + rule,
        "tokens:1: the ROLE field is invalid: it must be viewer, operator or "
        "admin",
        "tokens:1: the SHA256-HEX field is not 64 lower-case hex digits (the "
        "SHA-256 of the token)",
        "tokens:1: the NAME field is the same as on line 1: a holder has one "
        "token",
        "tokens:1: the SHA256-HEX field is the same as on line 1: a token "
        "belongs to one holder",
        "tokens:1: more than 1 tokens are not allowed",
    };
    auto* masked = new std::set<std::string>;
    for (const std::string& text : texts) masked->insert(MaskDigits(text));
    return masked;
  }();
  return kMasked->count(MaskDigits(message)) == 1;
}

void CheckParse(absl::string_view text) {
  absl::StatusOr<server::TokenTable> table =
      server::ParseTokenFile(text, "tokens");
  if (!table.ok()) {
    SYNCADMIN_FUZZ_CHECK(absl::IsInvalidArgument(table.status()));
    SYNCADMIN_FUZZ_CHECK(IsFixedParseError(table.status().message()));
    return;
  }
  std::vector<std::string> lines;
  for (const server::TokenEntry& entry : table->entries()) {
    SYNCADMIN_FUZZ_CHECK(server::ValidateHolderName(entry.name).ok());
    lines.push_back(server::FormatTokenEntry(entry));
  }
  absl::StatusOr<server::TokenTable> again =
      server::ParseTokenFile(absl::StrJoin(lines, "\n"), "again");
  SYNCADMIN_FUZZ_CHECK(again.ok());
  SYNCADMIN_FUZZ_CHECK(again->entries().size() == table->entries().size());
  for (size_t i = 0; i < lines.size(); ++i) {
    SYNCADMIN_FUZZ_CHECK(again->entries()[i].name == table->entries()[i].name);
    SYNCADMIN_FUZZ_CHECK(again->entries()[i].role == table->entries()[i].role);
    SYNCADMIN_FUZZ_CHECK(again->entries()[i].hash == table->entries()[i].hash);
  }
}

// The input as an authorization header, against a table holding the token
// "sat_fuzz" for "fuzzer": only that header may get in.
void CheckAuthenticate(absl::string_view header) {
  static const server::Authenticator* const kAuthenticator = [] {
    server::TokenEntry entry{"fuzzer", server::Role::kOperator,
                             server::HashToken("sat_fuzz")};
    return new server::Authenticator(server::TokenTable({entry}));
  }();
  const absl::string_view one[] = {header};
  absl::StatusOr<server::Principal> caller = kAuthenticator->Authenticate(one);
  if (caller.ok()) {
    SYNCADMIN_FUZZ_CHECK(caller->name == "fuzzer");
    SYNCADMIN_FUZZ_CHECK(absl::EqualsIgnoreCase(header, "bearer sat_fuzz"));
  } else {
    SYNCADMIN_FUZZ_CHECK(absl::IsUnauthenticated(caller.status()));
    // A message must never echo what the caller sent: with numbers masked,
    // it is one of a few fixed texts.
    const std::string masked = MaskDigits(caller.status().message());
    SYNCADMIN_FUZZ_CHECK(
        masked ==
            "the authorization header is not of the form 'Bearer TOKEN'" ||
        masked == "the bearer token is # bytes long: at most # are allowed" ||
        absl::StartsWith(masked, "the bearer token is malformed: ") ||
        masked == "the bearer token is not valid");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckParse(input);
  CheckAuthenticate(input);
  return 0;
}
