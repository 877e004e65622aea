#include "core/logging.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace syncadmin::log {
namespace {

std::atomic<Format> g_format{Format::kText};

bool NeedsQuoting(absl::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

void AppendText(std::string* out, const Field& field) {
  absl::StrAppend(out, " ", field.key(), "=");
  if (const auto* s = std::get_if<std::string>(&field.value())) {
    if (!NeedsQuoting(*s)) {
      absl::StrAppend(out, *s);
      return;
    }
    out->push_back('"');
    for (char c : *s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(c);
      } else if (u < 0x20 || u == 0x7F) {
        absl::StrAppendFormat(out, "\\x%02X", u);
      } else {
        out->push_back(c);  // UTF-8 passes through; controls never do.
      }
    }
    out->push_back('"');
  } else if (const auto* b = std::get_if<bool>(&field.value())) {
    absl::StrAppend(out, *b ? "true" : "false");
  } else if (const auto* i = std::get_if<int64_t>(&field.value())) {
    absl::StrAppend(out, *i);
  } else {
    absl::StrAppend(out, std::get<double>(field.value()));
  }
}

}  // namespace

std::string RenderText(absl::string_view message,
                       absl::Span<const Field> fields) {
  std::string out(message);
  for (const Field& field : fields) AppendText(&out, field);
  return out;
}

std::string RenderJson(absl::string_view time, absl::string_view level,
                       absl::string_view message,
                       absl::Span<const Field> fields) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["time"] = std::string(time);
  line["level"] = std::string(level);
  line["msg"] = std::string(message);
  for (const Field& field : fields) {
    std::visit([&](const auto& v) { line[std::string(field.key())] = v; },
               field.value());
  }
  // Invalid UTF-8 in a value is replaced rather than thrown on.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Init(Format format, spdlog::level::level_enum level) {
  g_format.store(format);
  auto logger = std::make_shared<spdlog::logger>(
      "syncadmin", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == Format::kJson) {
    logger->set_pattern("%v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void Event(spdlog::level::level_enum level, absl::string_view message,
           absl::Span<const Field> fields) {
  if (!spdlog::should_log(level)) return;
  if (g_format.load() == Format::kJson) {
    const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                              absl::Now(), absl::UTCTimeZone());
    const auto name = spdlog::level::to_string_view(level);
    spdlog::log(level, "{}",
                RenderJson(time, absl::string_view(name.data(), name.size()),
                           message, fields));
    return;
  }
  spdlog::log(level, "{}", RenderText(message, fields));
}

}  // namespace syncadmin::log
