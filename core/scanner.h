// Scanning of the modules root: which modules physically exist.
#ifndef SYNCADMIN_CORE_SCANNER_H_
#define SYNCADMIN_CORE_SCANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace syncadmin::core {

// Lists the modules under `root`, sorted by name, each with its defaults
// (from `DefaultsFor` and the optional `module.json`).
//
// A module is a directory directly under `root` whose name does not start
// with `_` or `.`; plain files and other entries are skipped. A symbolic link
// counts as a module only if it resolves to a directory inside `root`; a link
// that leads out of `root`, or whose target is missing or loops, fails the
// scan. Names are matched exactly.
//
// Returns `kFailedPrecondition` when `root` is missing, not a directory or
// unreadable; when a module's name breaks `kModuleNameRule`; when two names
// differ only by letter case; or when a manifest is invalid or too large.
// Every offending entry is named in the message. An empty root is not an
// error: callers that delete by absence must refuse it themselves.
// Thread-safe; reads only the file system.
absl::StatusOr<std::vector<ModuleDefaults>> ScanModulesRoot(
    const std::string& root, const std::vector<std::string>& locales);

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_SCANNER_H_
