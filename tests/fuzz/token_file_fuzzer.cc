// Fuzzes the tokens file parser and the bearer header check with arbitrary
// bytes: no crash, errors name a line, and what parses survives a round
// trip through `FormatTokenEntry`.
#include <cstddef>
#include <cstdint>
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

void CheckParse(absl::string_view text) {
  absl::StatusOr<server::TokenTable> table =
      server::ParseTokenFile(text, "tokens");
  if (!table.ok()) {
    SYNCADMIN_FUZZ_CHECK(absl::IsInvalidArgument(table.status()));
    SYNCADMIN_FUZZ_CHECK(absl::StartsWith(table.status().message(), "tokens"));
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
    std::string masked;
    for (char c : caller.status().message()) {
      const bool digit = c >= '0' && c <= '9';
      if (!digit) {
        masked += c;
      } else if (masked.empty() || masked.back() != '#') {
        masked += '#';
      }
    }
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
