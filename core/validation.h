// Grammars for every string that reaches SQL or the file system.
//
// Each `Validate...` function returns OK or `kInvalidArgument` with a message
// that quotes the offending value (escaped, see `QuoteForMessage`) and states
// the rule. All checks are byte-exact and ASCII-based, so look-alike Unicode
// characters, NUL and control bytes never pass. They run before any SQL.
#ifndef SYNCADMIN_CORE_VALIDATION_H_
#define SYNCADMIN_CORE_VALIDATION_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace syncadmin::core {

inline constexpr absl::string_view kTenantSlugRule =
    "^[a-z0-9][a-z0-9-]{0,62}$";
inline constexpr absl::string_view kModuleNameRule =
    "^[A-Za-z][A-Za-z0-9_-]{0,63}$";
inline constexpr absl::string_view kLocaleRule = "^[a-z]{2}(-[A-Z]{2})?$";
inline constexpr absl::string_view kRoleRule = "^[a-z][a-z0-9_-]{0,31}$";
inline constexpr absl::string_view kIconRule = "^[a-z0-9][a-z0-9_:.-]{0,63}$";
inline constexpr absl::string_view kVersionRule =
    "^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$";
inline constexpr absl::string_view kStatsKeyRule =
    "^[A-Za-z][A-Za-z0-9_.-]{0,63}$";
inline constexpr absl::string_view kRunIdRule =
    "a UUID such as 123e4567-e89b-12d3-a456-426614174000";

// Longest display text (tenant names, labels) in Unicode code points.
inline constexpr size_t kMaxDisplayTextChars = 200;

// Each returns OK when `value` matches the rule of the same name above.
// `field` names the value in the error message, e.g. "tenant".
absl::Status ValidateTenantSlug(absl::string_view value,
                                absl::string_view field = "tenant");
absl::Status ValidateModuleName(absl::string_view value,
                                absl::string_view field = "module");
absl::Status ValidateLocale(absl::string_view value,
                            absl::string_view field = "locale");
absl::Status ValidateRole(absl::string_view value,
                          absl::string_view field = "role");
absl::Status ValidateIcon(absl::string_view value,
                          absl::string_view field = "icon");
absl::Status ValidateVersion(absl::string_view value,
                             absl::string_view field = "version");
absl::Status ValidateStatsKey(absl::string_view value,
                              absl::string_view field = "statsKey");

// A canonical UUID in lower- or upper-case hex. Callers store the lower-case
// form (`NormalizeRunId`).
absl::Status ValidateRunId(absl::string_view value,
                           absl::string_view field = "run_id");
std::string NormalizeRunId(absl::string_view value);

// Text meant for people (a tenant's name, a label): valid UTF-8, 1 to
// `kMaxDisplayTextChars` code points, no control characters, no invisible
// format characters (zero-width spaces, bidirectional overrides, ...), no
// leading or trailing white space.
absl::Status ValidateDisplayText(absl::string_view value,
                                 absl::string_view field);

// True if `value` is well-formed UTF-8 (no overlong forms or surrogates).
bool IsValidUtf8(absl::string_view value);

// Renders an untrusted value for an error or log message: wrapped in double
// quotes, with `"`, `\`, control bytes and non-ASCII bytes escaped as \xNN,
// and cut after `max_bytes` input bytes with a note of the full length. The
// result is always printable ASCII, so it cannot forge log lines or
// terminal escapes.
std::string QuoteForMessage(absl::string_view value, size_t max_bytes = 80);

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_VALIDATION_H_
