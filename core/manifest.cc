#include "core/manifest.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/validation.h"
#include "nlohmann/json.hpp"

namespace syncadmin::core {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxRoles = 32;
constexpr int64_t kMaxAbsOrder = 1000000;

absl::Status ManifestError(absl::string_view path, absl::string_view detail) {
  return absl::FailedPreconditionError(
      absl::StrCat("manifest ", QuoteForMessage(path, 512), ": ", detail));
}

// Re-wraps a validation error so that it names the manifest it came from.
absl::Status InFile(absl::string_view path, const absl::Status& status) {
  if (status.ok()) return status;
  return ManifestError(path, status.message());
}

absl::Status ApplyLabel(const Json& label, absl::string_view path,
                        const std::vector<std::string>& locales,
                        ModuleDefaults* defaults) {
  if (label.is_string()) {
    const auto& text = label.get_ref<const std::string&>();
    SYNCADMIN_RETURN_IF_ERROR(
        InFile(path, ValidateDisplayText(text, "\"label\"")));
    for (const auto& locale : locales) defaults->label[locale] = text;
    return absl::OkStatus();
  }
  if (!label.is_object()) {
    return ManifestError(path,
                         "\"label\" must be a string or an object of "
                         "locale to text");
  }
  for (const auto& [locale, text] : label.items()) {
    const std::string field = "\"label\" key";
    SYNCADMIN_RETURN_IF_ERROR(InFile(path, ValidateLocale(locale, field)));
    if (std::find(locales.begin(), locales.end(), locale) == locales.end()) {
      return ManifestError(
          path, absl::StrCat("\"label\" has locale ", QuoteForMessage(locale),
                             ", which is not among the configured locales"));
    }
    if (!text.is_string()) {
      return ManifestError(path, absl::StrCat("\"label\".", locale,
                                              " must be a string"));
    }
    SYNCADMIN_RETURN_IF_ERROR(InFile(
        path, ValidateDisplayText(text.get_ref<const std::string&>(),
                                  absl::StrCat("\"label\".", locale))));
    defaults->label[locale] = text.get<std::string>();
  }
  return absl::OkStatus();
}

absl::Status ApplyRoles(const Json& roles, absl::string_view path,
                        ModuleDefaults* defaults) {
  if (!roles.is_array()) {
    return ManifestError(path, "\"roles\" must be an array of strings");
  }
  if (roles.size() > kMaxRoles) {
    return ManifestError(
        path, absl::StrCat("\"roles\" has ", roles.size(),
                           " entries: at most ", kMaxRoles, " are allowed"));
  }
  defaults->roles.clear();
  for (const auto& role : roles) {
    if (!role.is_string()) {
      return ManifestError(path, "\"roles\" must be an array of strings");
    }
    const auto& value = role.get_ref<const std::string&>();
    SYNCADMIN_RETURN_IF_ERROR(InFile(path, ValidateRole(value, "role")));
    if (std::find(defaults->roles.begin(), defaults->roles.end(), value) ==
        defaults->roles.end()) {
      defaults->roles.push_back(value);
    }
  }
  return absl::OkStatus();
}

// Reads an optional string key and validates it with `validate`.
template <typename Validator>
absl::Status ApplyString(const Json& doc, const char* key,
                         absl::string_view path, Validator validate,
                         std::string* out) {
  auto it = doc.find(key);
  if (it == doc.end()) return absl::OkStatus();
  if (!it->is_string()) {
    return ManifestError(path, absl::StrCat("\"", key, "\" must be a string"));
  }
  const auto& value = it->get_ref<const std::string&>();
  SYNCADMIN_RETURN_IF_ERROR(
      InFile(path, validate(value, absl::StrCat("\"", key, "\""))));
  *out = value;
  return absl::OkStatus();
}

absl::Status ApplyFields(const Json& doc, absl::string_view path,
                         const std::vector<std::string>& locales,
                         ModuleDefaults* defaults) {
  if (auto it = doc.find("label"); it != doc.end()) {
    SYNCADMIN_RETURN_IF_ERROR(ApplyLabel(*it, path, locales, defaults));
  }
  SYNCADMIN_RETURN_IF_ERROR(
      ApplyString(doc, "icon", path, ValidateIcon, &defaults->icon));
  if (auto it = doc.find("roles"); it != doc.end()) {
    SYNCADMIN_RETURN_IF_ERROR(ApplyRoles(*it, path, defaults));
  }
  if (auto it = doc.find("enabled"); it != doc.end()) {
    if (!it->is_boolean()) {
      return ManifestError(path, "\"enabled\" must be true or false");
    }
    defaults->enabled = it->get<bool>();
  }
  if (auto it = doc.find("order"); it != doc.end()) {
    // Unsigned values are read as such: as int64 a huge one would wrap.
    const bool in_range =
        it->is_number_unsigned()
            ? it->get<uint64_t>() <= static_cast<uint64_t>(kMaxAbsOrder)
            : it->is_number_integer() && it->get<int64_t>() >= -kMaxAbsOrder &&
                  it->get<int64_t>() <= kMaxAbsOrder;
    if (!in_range) {
      return ManifestError(path, absl::StrCat("\"order\" must be an integer "
                                              "between -",
                                              kMaxAbsOrder, " and ",
                                              kMaxAbsOrder));
    }
    defaults->order = static_cast<int32_t>(it->get<int64_t>());
  }
  SYNCADMIN_RETURN_IF_ERROR(
      ApplyString(doc, "version", path, ValidateVersion, &defaults->version));
  return ApplyString(doc, "statsKey", path, ValidateStatsKey,
                     &defaults->stats_key);
}

// A parser callback that records the first key repeated within one object
// (plain parsing would silently keep the last value).
Json::parser_callback_t DuplicateKeyFinder(std::string* duplicate) {
  auto open_objects = std::make_shared<std::vector<std::set<std::string>>>();
  return [open_objects, duplicate](int, Json::parse_event_t event,
                                   Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects->emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects->pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects->empty() &&
               !open_objects->back().insert(parsed.get<std::string>()).second &&
               duplicate->empty()) {
      *duplicate = parsed.get<std::string>();
    }
    return true;
  };
}

// Levenshtein distance, for short ASCII keys.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Unknown keys are the application's own and are ignored, but one that is
// almost a known key ("Enabled", "enable", "statskey") is surely a typo
// whose value would otherwise be lost without a word.
absl::Status CheckForMisspelledKeys(const Json& doc, absl::string_view path) {
  static constexpr absl::string_view kKnownKeys[] = {
      "label", "icon", "roles", "enabled", "order", "version", "statsKey"};
  for (const auto& [key, value] : doc.items()) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) !=
        std::end(kKnownKeys)) {
      continue;
    }
    const std::string folded = absl::AsciiStrToLower(key);
    for (absl::string_view known : kKnownKeys) {
      const std::string known_folded = absl::AsciiStrToLower(known);
      if (folded == known_folded ||
          (key.size() >= 4 && EditDistance(folded, known_folded) <= 2)) {
        return ManifestError(
            path, absl::StrCat("unknown key ", QuoteForMessage(key),
                               ": did you mean \"", known, "\"?"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

ModuleDefaults DefaultsFor(absl::string_view module,
                           const std::vector<std::string>& locales) {
  ModuleDefaults defaults;
  defaults.name = std::string(module);
  for (const auto& locale : locales) defaults.label[locale] = defaults.name;
  defaults.stats_key = defaults.name;
  return defaults;
}

absl::Status ApplyManifest(absl::string_view text, absl::string_view path,
                           const std::vector<std::string>& locales,
                           ModuleDefaults* defaults) {
  if (text.size() > kMaxManifestBytes) {
    return ManifestError(path, absl::StrCat("too large: ", text.size(),
                                            " bytes, at most ",
                                            kMaxManifestBytes, " are read"));
  }
  Json doc;
  std::string duplicate;
  try {
    doc = Json::parse(text.begin(), text.end(), DuplicateKeyFinder(&duplicate));
  } catch (const Json::parse_error& e) {
    // nlohmann's message names the line and column of the syntax error.
    return ManifestError(path, absl::StrCat("not valid JSON: ", e.what()));
  } catch (const Json::exception& e) {
    // A number too large for a double ("1e999") is reported as
    // out_of_range, not parse_error; its message quotes the number.
    return ManifestError(path, absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!duplicate.empty()) {
    return ManifestError(path, absl::StrCat("key ", QuoteForMessage(duplicate),
                                            " appears twice in one object"));
  }
  if (!doc.is_object()) {
    return ManifestError(path, "must hold a JSON object");
  }
  SYNCADMIN_RETURN_IF_ERROR(CheckForMisspelledKeys(doc, path));
  return ApplyFields(doc, path, locales, defaults);
}

}  // namespace syncadmin::core
