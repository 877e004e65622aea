#include "core/validation.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace syncadmin::core {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Checks `value` against "^[first][rest]{0,max_len-1}$" where both classes
// are given as predicates.
template <typename First, typename Rest>
bool MatchesSimpleGrammar(absl::string_view value, size_t max_len, First first,
                          Rest rest) {
  if (value.empty() || value.size() > max_len) return false;
  if (!first(value[0])) return false;
  for (size_t i = 1; i < value.size(); ++i) {
    if (!rest(value[i])) return false;
  }
  return true;
}

absl::Status Invalid(absl::string_view field, absl::string_view value,
                     absl::string_view rule) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is empty: it must match ", rule));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, " ", QuoteForMessage(value), " is invalid: it must match ", rule));
}

// Decodes the code point that starts at `value[i]` (valid UTF-8 assumed).
uint32_t CodePointAt(absl::string_view value, size_t i) {
  const auto c = static_cast<uint8_t>(value[i]);
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
                                    : 4;
  uint32_t cp = len == 1   ? c
                : len == 2 ? (c & 0x1F)
                : len == 3 ? (c & 0x0F)
                           : (c & 0x07);
  for (size_t k = 1; k < len && i + k < value.size(); ++k) {
    cp = (cp << 6) | (static_cast<uint8_t>(value[i + k]) & 0x3F);
  }
  return cp;
}

// Unicode white space (the White_Space property) outside the C0/C1
// controls, which are rejected on their own.
bool IsUnicodeSpace(uint32_t cp) {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Characters that draw nothing: Unicode's Default_Ignorable_Code_Point set
// (soft hyphen, combining grapheme joiner, Hangul fillers, zero-width
// spaces and joiners, bidirectional controls, word joiners, variation
// selectors, the byte order mark, tags) and the interlinear annotation
// controls. They make two names look alike, a name look blank, or reorder
// what a terminal shows.
bool IsInvisible(uint32_t cp) {
  return cp == 0xAD || cp == 0x34F || cp == 0x61C ||
         (cp >= 0x115F && cp <= 0x1160) || (cp >= 0x17B4 && cp <= 0x17B5) ||
         (cp >= 0x180B && cp <= 0x180F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) ||
         cp == 0x3164 || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF ||
         cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFFB) ||
         (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A) ||
         (cp >= 0xE0000 && cp <= 0xE0FFF);
}

// Whether `cp` lies in a block where Unicode defines emoji variation
// sequences (emoji-variation-sequences.txt): the keycap bases # * 0-9,
// (c) (R) TM and the like, arrows, technical and geometric symbols,
// dingbats, and the emoji planes. Only after these does a presentation
// selector change what is drawn.
bool HasEmojiVariants(uint32_t cp) {
  return cp == '#' || cp == '*' || (cp >= '0' && cp <= '9') || cp == 0xA9 ||
         cp == 0xAE || cp == 0x203C || cp == 0x2049 || cp == 0x2122 ||
         cp == 0x2139 || (cp >= 0x2194 && cp <= 0x21AA) ||
         (cp >= 0x231A && cp <= 0x23FF) || cp == 0x24C2 ||
         (cp >= 0x25AA && cp <= 0x27BF) || (cp >= 0x2934 && cp <= 0x2935) ||
         (cp >= 0x2B05 && cp <= 0x2B55) || cp == 0x3030 || cp == 0x303D ||
         cp == 0x3297 || cp == 0x3299 || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

// The text and emoji presentation selectors (U+FE0E, U+FE0F) choose how the
// character before them is drawn ("\u2764\uFE0F" is the red heart emoji,
// "1\uFE0F\u20E3" the keycap one). They are allowed only right after a
// character they can change; anywhere else they draw nothing.
bool IsPresentationSelectorAfter(uint32_t cp, std::optional<uint32_t> prev) {
  return (cp == 0xFE0E || cp == 0xFE0F) && prev.has_value() &&
         HasEmojiVariants(*prev);
}

// White space, or a character drawn as a blank cell (U+2800 braille blank).
bool IsBlank(uint32_t cp) { return IsUnicodeSpace(cp) || cp == 0x2800; }

// True if valid UTF-8 `value` starts or ends with a blank character.
bool StartsOrEndsWithBlank(absl::string_view value) {
  size_t last = value.size() - 1;
  while (last > 0 && (static_cast<uint8_t>(value[last]) & 0xC0) == 0x80) {
    --last;
  }
  return IsBlank(CodePointAt(value, 0)) || IsBlank(CodePointAt(value, last));
}

}  // namespace

absl::Status ValidateTenantSlug(absl::string_view value,
                                absl::string_view field) {
  bool ok = MatchesSimpleGrammar(
      value, 63, [](char c) { return IsLower(c) || IsDigit(c); },
      [](char c) { return IsLower(c) || IsDigit(c) || c == '-'; });
  return ok ? absl::OkStatus() : Invalid(field, value, kTenantSlugRule);
}

absl::Status ValidateModuleName(absl::string_view value,
                                absl::string_view field) {
  bool ok = MatchesSimpleGrammar(value, 64, IsAlpha, [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-';
  });
  return ok ? absl::OkStatus() : Invalid(field, value, kModuleNameRule);
}

absl::Status ValidateLocale(absl::string_view value, absl::string_view field) {
  bool ok = (value.size() == 2 || value.size() == 5) && IsLower(value[0]) &&
            IsLower(value[1]);
  if (ok && value.size() == 5) {
    ok = value[2] == '-' && IsUpper(value[3]) && IsUpper(value[4]);
  }
  return ok ? absl::OkStatus() : Invalid(field, value, kLocaleRule);
}

absl::Status ValidateRole(absl::string_view value, absl::string_view field) {
  bool ok = MatchesSimpleGrammar(value, 32, IsLower, [](char c) {
    return IsLower(c) || IsDigit(c) || c == '_' || c == '-';
  });
  return ok ? absl::OkStatus() : Invalid(field, value, kRoleRule);
}

absl::Status ValidateIcon(absl::string_view value, absl::string_view field) {
  bool ok = MatchesSimpleGrammar(
      value, 64, [](char c) { return IsLower(c) || IsDigit(c); },
      [](char c) {
        return IsLower(c) || IsDigit(c) || c == '_' || c == ':' || c == '.' ||
               c == '-';
      });
  return ok ? absl::OkStatus() : Invalid(field, value, kIconRule);
}

absl::Status ValidateVersion(absl::string_view value, absl::string_view field) {
  bool ok = MatchesSimpleGrammar(
      value, 32, [](char c) { return IsAlpha(c) || IsDigit(c); },
      [](char c) {
        return IsAlpha(c) || IsDigit(c) || c == '.' || c == '+' || c == '-';
      });
  return ok ? absl::OkStatus() : Invalid(field, value, kVersionRule);
}

absl::Status ValidateStatsKey(absl::string_view value,
                              absl::string_view field) {
  bool ok = MatchesSimpleGrammar(value, 64, IsAlpha, [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == '-';
  });
  return ok ? absl::OkStatus() : Invalid(field, value, kStatsKeyRule);
}

absl::Status ValidateRunId(absl::string_view value, absl::string_view field) {
  bool ok = value.size() == 36;
  for (size_t i = 0; ok && i < value.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash_position ? value[i] == '-' : IsHex(value[i]);
  }
  return ok ? absl::OkStatus() : Invalid(field, value, kRunIdRule);
}

std::string NormalizeRunId(absl::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (IsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsValidUtf8(absl::string_view value) {
  size_t i = 0;
  const size_t n = value.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(value[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(value[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                          (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status ValidateDisplayText(absl::string_view value,
                                 absl::string_view field) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " ", QuoteForMessage(value), " is not valid UTF-8"));
  }
  size_t chars = 0;
  std::optional<uint32_t> prev;  // The code point before the current one.
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<uint8_t>(value[i]);
    if ((c & 0xC0) != 0x80) ++chars;
    // C0 controls, DEL, and the C1 controls U+0080..U+009F (C2 80..C2 9F).
    const bool c1 = c == 0xC2 && i + 1 < value.size() &&
                    static_cast<uint8_t>(value[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " ", QuoteForMessage(value), " contains a control character"));
    }
    if ((c & 0xC0) == 0x80) continue;
    const uint32_t cp = CodePointAt(value, i);
    if (cp == 0x2028 || cp == 0x2029) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %s contains the line break U+%04X", field,
                          QuoteForMessage(value), cp));
    }
    if (IsInvisible(cp) && !IsPresentationSelectorAfter(cp, prev)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %s contains the invisible character U+%04X",
                          field, QuoteForMessage(value), cp));
    }
    prev = cp;
  }
  if (chars > kMaxDisplayTextChars) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %d characters long: at most %d are allowed",
                        field, chars, kMaxDisplayTextChars));
  }
  if (StartsOrEndsWithBlank(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " ", QuoteForMessage(value), " has leading or trailing spaces"));
  }
  return absl::OkStatus();
}

std::string QuoteForMessage(absl::string_view value, size_t max_bytes) {
  std::string out = "\"";
  const size_t shown = value.size() < max_bytes ? value.size() : max_bytes;
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<uint8_t>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      absl::StrAppendFormat(&out, "\\x%02X", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (shown < value.size()) {
    absl::StrAppend(&out, "... (", value.size(), " bytes)");
  }
  return out;
}

}  // namespace syncadmin::core
