// Logging helpers shared by the core, the server and the tools.
#ifndef SYNCADMIN_CORE_LOGGING_H_
#define SYNCADMIN_CORE_LOGGING_H_

#include "absl/strings/string_view.h"
#include "spdlog/fmt/fmt.h"

// Lets spdlog format `absl::string_view` (which Debian's Abseil keeps as its
// own type rather than an alias of `std::string_view`).
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view value, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(value.data(), value.size()), ctx);
  }
};

#endif  // SYNCADMIN_CORE_LOGGING_H_
