// Parsing of a module's optional `module.json` manifest.
//
// A manifest is a JSON object; every key is optional:
//   "label":    a string (used for every locale) or an object locale -> text
//   "icon":     string, `kIconRule`
//   "roles":    array of role strings, `kRoleRule`, at most 32
//   "enabled":  boolean
//   "order":    integer in [-1000000, 1000000]
//   "version":  string, `kVersionRule`
//   "statsKey": string, `kStatsKeyRule`
// Unknown keys are ignored so that applications can keep their own fields in
// the same file, except keys that look like a misspelling of a known one
// (same letters in another case, or at most two edits away), which are
// refused. A key repeated within one object is refused too.
#ifndef SYNCADMIN_CORE_MANIFEST_H_
#define SYNCADMIN_CORE_MANIFEST_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "core/types.h"

namespace syncadmin::core {

// Largest `module.json` the scanner reads, in bytes.
inline constexpr size_t kMaxManifestBytes = 64 * 1024;

// Returns the defaults of a module without a manifest: the label is the
// module name in every locale, the stats key is the module name, and the
// rest are the documented defaults.
ModuleDefaults DefaultsFor(absl::string_view module,
                           const std::vector<std::string>& locales);

// Applies the manifest `text` (read from `path`, used in messages) on top of
// `*defaults`. Label locales outside `locales` are rejected; locales the label
// omits keep the module name. Returns `kFailedPrecondition` naming `path`,
// the key and the rule (or the line and column of a JSON syntax error) when
// the manifest is invalid; `*defaults` is then unspecified.
absl::Status ApplyManifest(absl::string_view text, absl::string_view path,
                           const std::vector<std::string>& locales,
                           ModuleDefaults* defaults);

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_MANIFEST_H_
