// Structured logging on spdlog: one line per event, a short lower-case
// message and fixed snake_case fields, rendered as text
// (`run finished run=… op=sync_all`) or as one JSON object per line.
//
// Field values are untrusted: text rendering quotes and escapes any value
// with spaces, quotes, `=`, control or non-ASCII bytes, so a value can never
// forge a field or a line; JSON rendering escapes as JSON does.
#ifndef SYNCADMIN_CORE_LOGGING_H_
#define SYNCADMIN_CORE_LOGGING_H_

#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "spdlog/common.h"

namespace syncadmin::log {

enum class Format { kText, kJson };

// One key=value pair of an event.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value)
      : key_(key), value_(std::string(value)) {}
  Field(absl::string_view key, const std::string& value)
      : key_(key), value_(value) {}
  Field(absl::string_view key, const char* value)
      : key_(key), value_(std::string(value)) {}
  Field(absl::string_view key, bool value) : key_(key), value_(value) {}
  Field(absl::string_view key, int value)
      : key_(key), value_(int64_t{value}) {}
  Field(absl::string_view key, int64_t value) : key_(key), value_(value) {}
  Field(absl::string_view key, uint64_t value)
      : key_(key), value_(static_cast<int64_t>(value)) {}
  Field(absl::string_view key, double value) : key_(key), value_(value) {}

  absl::string_view key() const { return key_; }
  const std::variant<std::string, bool, int64_t, double>& value() const {
    return value_;
  }

 private:
  absl::string_view key_;
  std::variant<std::string, bool, int64_t, double> value_;
};

// Installs the process-wide logger: stderr, UTC timestamps, `format`, and
// `level` ("trace" … "error"). Call once at startup, before other threads.
void Init(Format format, spdlog::level::level_enum level);

// Logs one event. Thread-safe.
void Event(spdlog::level::level_enum level, absl::string_view message,
           absl::Span<const Field> fields = {});

inline void Debug(absl::string_view message,
                  absl::Span<const Field> fields = {}) {
  Event(spdlog::level::debug, message, fields);
}
inline void Info(absl::string_view message,
                 absl::Span<const Field> fields = {}) {
  Event(spdlog::level::info, message, fields);
}
inline void Warn(absl::string_view message,
                 absl::Span<const Field> fields = {}) {
  Event(spdlog::level::warn, message, fields);
}
inline void Error(absl::string_view message,
                  absl::Span<const Field> fields = {}) {
  Event(spdlog::level::err, message, fields);
}

// Renders an event the way `Event` does, without the time and level (text)
// or with `time` and `level` given (JSON). Exposed for tests.
std::string RenderText(absl::string_view message,
                       absl::Span<const Field> fields);
std::string RenderJson(absl::string_view time, absl::string_view level,
                       absl::string_view message,
                       absl::Span<const Field> fields);

}  // namespace syncadmin::log

#endif  // SYNCADMIN_CORE_LOGGING_H_
