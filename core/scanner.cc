#include "core/scanner.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/manifest.h"
#include "core/validation.h"

namespace syncadmin::core {
namespace {

namespace fs = std::filesystem;

// More problems than this are summarised, to keep the message readable.
constexpr size_t kMaxReportedProblems = 10;

std::string Lowercase(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsInside(const fs::path& child, const fs::path& parent) {
  auto mismatch =
      std::mismatch(parent.begin(), parent.end(), child.begin(), child.end());
  return mismatch.first == parent.end();
}

// Classifies one entry of the root. Returns true if it is a module directory;
// adds to `problems` when it is a link that leaves the root or is broken, or
// cannot be examined at all.
bool IsModuleDirectory(const fs::directory_entry& entry,
                       const fs::path& canonical_root,
                       std::vector<std::string>* problems) {
  std::error_code ec;
  const fs::file_status own = entry.symlink_status(ec);
  if (ec) {
    // Skipping it would make an existing module look deleted, its rows
    // orphans.
    problems->push_back(absl::StrCat(
        "entry ", QuoteForMessage(entry.path().filename().string()),
        " cannot be read: ", ec.message()));
    return false;
  }
  if (fs::is_directory(own)) return true;
  if (!fs::is_symlink(own)) return false;

  const fs::path target = fs::canonical(entry.path(), ec);
  if (ec) {
    // A module linked from elsewhere whose target went away must not look
    // like a deleted module: that would make its rows orphans.
    problems->push_back(absl::StrCat(
        "entry ", QuoteForMessage(entry.path().filename().string()),
        " is a symbolic link whose target cannot be reached (", ec.message(),
        "): missing, in a loop, or behind a directory that "
        "cannot be entered"));
    return false;
  }
  if (!fs::is_directory(target, ec)) return false;
  if (!IsInside(target, canonical_root) || target == canonical_root) {
    problems->push_back(absl::StrCat(
        "entry ", QuoteForMessage(entry.path().filename().string()),
        " is a symbolic link that leads out of the modules root"));
    return false;
  }
  return true;
}

// Reads `module.json` of `dir` into `*defaults` if there is one.
absl::Status ReadManifest(const fs::path& dir,
                          const std::vector<std::string>& locales,
                          ModuleDefaults* defaults) {
  const fs::path path = dir / "module.json";
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (status.type() == fs::file_type::not_found) return absl::OkStatus();
  const std::string shown = path.string();
  if (ec) {
    // A manifest that may exist but cannot be seen (a module directory
    // that cannot be entered) must not silently give the module defaults.
    return absl::FailedPreconditionError(
        absl::StrCat("manifest ", QuoteForMessage(shown, 512),
                     " cannot be read: ", ec.message()));
  }
  if (!fs::is_regular_file(status)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "manifest ", QuoteForMessage(shown, 512), " is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("manifest ", QuoteForMessage(shown, 512),
                     " cannot be read: ", std::strerror(errno)));
  }
  // Read one byte past the limit so that an oversized file is detected
  // without reading all of it.
  std::string text(kMaxManifestBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxManifestBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("manifest ", QuoteForMessage(shown, 512), " is over ",
                     kMaxManifestBytes, " bytes"));
  }
  return ApplyManifest(text, shown, locales, defaults);
}

}  // namespace

absl::StatusOr<std::vector<ModuleDefaults>> ScanModulesRoot(
    const std::string& root, const std::vector<std::string>& locales) {
  const std::string shown_root = QuoteForMessage(root, 512);
  std::error_code ec;
  const fs::file_status root_status = fs::status(root, ec);
  if (ec || !fs::exists(root_status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("modules root ", shown_root, " does not exist"));
  }
  if (!fs::is_directory(root_status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("modules root ", shown_root, " is not a directory"));
  }
  const fs::path canonical_root = fs::canonical(root, ec);
  fs::directory_iterator it(root, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "modules root ", shown_root, " cannot be read: ", ec.message()));
  }

  std::vector<std::string> problems;
  std::vector<fs::path> dirs;
  std::map<std::string, std::string> by_folded_name;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '_' || name[0] == '.') continue;
    if (!IsModuleDirectory(entry, canonical_root, &problems)) continue;

    if (absl::Status valid = ValidateModuleName(name, "module directory");
        !valid.ok()) {
      problems.emplace_back(valid.message());
      continue;
    }
    auto [pos, inserted] = by_folded_name.emplace(Lowercase(name), name);
    if (!inserted) {
      problems.push_back(absl::StrCat(
          "module directories ", QuoteForMessage(pos->second), " and ",
          QuoteForMessage(name), " differ only by letter case"));
      continue;
    }
    dirs.push_back(entry.path());
  }
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "modules root ", shown_root, " cannot be read: ", ec.message()));
  }

  std::vector<ModuleDefaults> modules;
  for (const fs::path& dir : dirs) {
    ModuleDefaults defaults = DefaultsFor(dir.filename().string(), locales);
    if (absl::Status s = ReadManifest(dir, locales, &defaults); !s.ok()) {
      problems.emplace_back(s.message());
      continue;
    }
    modules.push_back(std::move(defaults));
  }

  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    const size_t total = problems.size();
    if (total > kMaxReportedProblems) problems.resize(kMaxReportedProblems);
    std::string message =
        absl::StrCat("scan of modules root ", shown_root,
                     " failed: ", absl::StrJoin(problems, "; "));
    if (total > kMaxReportedProblems) {
      absl::StrAppend(&message, "; and ", total - kMaxReportedProblems,
                      " more");
    }
    return absl::FailedPreconditionError(message);
  }
  std::sort(modules.begin(), modules.end(),
            [](const ModuleDefaults& a, const ModuleDefaults& b) {
              return a.name < b.name;
            });
  return modules;
}

}  // namespace syncadmin::core
