// Fuzzes the grammars of core/validation.h with arbitrary bytes: no crash,
// and whatever a grammar accepts really is inside it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/validation.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using syncadmin::core::IsValidUtf8;
using syncadmin::core::NormalizeRunId;
using syncadmin::core::QuoteForMessage;

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return IsLower(c) || (c >= 'A' && c <= 'Z'); }

// Every accepted identifier is short, plain ASCII without NUL, spaces,
// quotes, slashes or dots-only path segments.
void CheckIdentifier(absl::string_view value) {
  SYNCADMIN_FUZZ_CHECK(!value.empty() && value.size() <= 64);
  for (char c : value) {
    SYNCADMIN_FUZZ_CHECK(c > ' ' && c < 0x7F);
    SYNCADMIN_FUZZ_CHECK(c != '/' && c != '\\' && c != '\'' && c != '"');
  }
  SYNCADMIN_FUZZ_CHECK(value != "." && value != "..");
}

void CheckMessage(const std::string& message) {
  for (char c : message) SYNCADMIN_FUZZ_CHECK(c >= ' ' && c < 0x7F);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  namespace core = syncadmin::core;

  if (absl::Status s = core::ValidateTenantSlug(input); s.ok()) {
    CheckIdentifier(input);
    SYNCADMIN_FUZZ_CHECK(input.size() <= 63);
    SYNCADMIN_FUZZ_CHECK(IsLower(input[0]) || IsDigit(input[0]));
    for (char c : input) {
      SYNCADMIN_FUZZ_CHECK(IsLower(c) || IsDigit(c) || c == '-');
    }
  } else {
    CheckMessage(std::string(s.message()));
  }
  if (absl::Status s = core::ValidateModuleName(input); s.ok()) {
    CheckIdentifier(input);
    SYNCADMIN_FUZZ_CHECK(IsAlpha(input[0]));
  } else {
    CheckMessage(std::string(s.message()));
  }
  for (auto validate :
       {&core::ValidateLocale, &core::ValidateRole, &core::ValidateIcon,
        &core::ValidateVersion, &core::ValidateStatsKey}) {
    absl::Status s = validate(input, "field");
    if (s.ok()) {
      CheckIdentifier(input);
    } else {
      CheckMessage(std::string(s.message()));
    }
  }
  if (core::ValidateRunId(input).ok()) {
    const std::string normal = NormalizeRunId(input);
    SYNCADMIN_FUZZ_CHECK(normal.size() == 36);
    SYNCADMIN_FUZZ_CHECK(core::ValidateRunId(normal).ok());
  }
  if (absl::Status s = core::ValidateDisplayText(input, "name"); s.ok()) {
    SYNCADMIN_FUZZ_CHECK(IsValidUtf8(input));
    SYNCADMIN_FUZZ_CHECK(input.front() != ' ' && input.back() != ' ');
    for (char c : input) {
      SYNCADMIN_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
    }
  } else {
    CheckMessage(std::string(s.message()));
  }
  CheckMessage(QuoteForMessage(input));
  CheckMessage(QuoteForMessage(input, 3));
  return 0;
}
