// Fuzzes `ApplyManifest` with arbitrary bytes as the text of a module.json:
// no crash, a clear status, and every value it accepts obeys its rule.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/manifest.h"
#include "core/validation.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace core = syncadmin::core;
  static const std::vector<std::string> kLocales = {"en", "tr", "pt-BR"};
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  core::ModuleDefaults defaults = core::DefaultsFor("blog", kLocales);
  const absl::Status status =
      core::ApplyManifest(text, "blog/module.json", kLocales, &defaults);
  if (!status.ok()) {
    SYNCADMIN_FUZZ_CHECK(absl::IsFailedPrecondition(status));
    const std::string message(status.message());
    SYNCADMIN_FUZZ_CHECK(message.find("blog/module.json") != std::string::npos);
    return 0;
  }
  SYNCADMIN_FUZZ_CHECK(defaults.name == "blog");
  SYNCADMIN_FUZZ_CHECK(defaults.label.size() == kLocales.size());
  for (const auto& [locale, label] : defaults.label) {
    SYNCADMIN_FUZZ_CHECK(core::ValidateLocale(locale).ok());
    SYNCADMIN_FUZZ_CHECK(core::ValidateDisplayText(label, "label").ok());
  }
  SYNCADMIN_FUZZ_CHECK(core::ValidateIcon(defaults.icon).ok());
  SYNCADMIN_FUZZ_CHECK(defaults.roles.size() <= 32);
  for (const std::string& role : defaults.roles) {
    SYNCADMIN_FUZZ_CHECK(core::ValidateRole(role).ok());
  }
  SYNCADMIN_FUZZ_CHECK(defaults.order >= -1000000 && defaults.order <= 1000000);
  SYNCADMIN_FUZZ_CHECK(core::ValidateVersion(defaults.version).ok());
  SYNCADMIN_FUZZ_CHECK(core::ValidateStatsKey(defaults.stats_key).ok());
  return 0;
}
