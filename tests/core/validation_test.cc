#include "core/validation.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Validator = std::function<absl::Status(absl::string_view)>;

// Byte strings that no grammar accepts: NUL and control bytes, a Cyrillic
// small a (U+0430) that looks like a Latin "a", a fullwidth a (U+FF41),
// spaces around a valid value, a 10 KB value and the empty string.
std::vector<std::string> HostileValues(const std::string& valid) {
  return {
      "",
      std::string("a\0b", 3),
      valid + std::string(1, '\0'),
      valid + "\n",
      "\t" + valid,
      valid + "\x7F",
      valid + "\x1B[31m",
      "\xD0\xB0" + valid.substr(1),      // Cyrillic small letter a.
      "\xEF\xBD\x81" + valid.substr(1),  // Fullwidth small letter a.
      " " + valid,
      valid + " ",
      std::string(10 * 1024, 'a'),
      "a;DROP TABLE tenants",
      "a'b",
      "a\"b",
      "a/b",
      "a\\b",
  };
}

void ExpectRejectsAll(const Validator& validate,
                      const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    absl::Status s = validate(value);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(value);
  }
}

void ExpectAcceptsAll(const Validator& validate,
                      const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    EXPECT_TRUE(validate(value).ok()) << QuoteForMessage(value);
  }
}

TEST(ValidationTest, TenantSlugAcceptsTheGrammar) {
  EXPECT_TRUE(ValidateTenantSlug("acme").ok());
  EXPECT_TRUE(ValidateTenantSlug("0-a").ok());
  EXPECT_TRUE(ValidateTenantSlug(std::string(63, 'a')).ok());
  ExpectAcceptsAll([](absl::string_view v) { return ValidateTenantSlug(v); },
                   {"a", "9", "a-", "a--b", "acme-2024", "0"});
}

TEST(ValidationTest, TenantSlugRejectsOutsideTheGrammar) {
  for (const std::string& bad :
       std::vector<std::string>{"", "-acme", "Acme", "acme corp", "acme;drop",
                                std::string(64, 'a'), std::string("ac\0me", 5),
                                "\xD0\xB0"
                                "cme",
                                " acme", "acme "}) {
    absl::Status s = ValidateTenantSlug(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, TenantSlugRejectsHostileValues) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateTenantSlug(v); },
                   HostileValues("acme"));
  ExpectRejectsAll([](absl::string_view v) { return ValidateTenantSlug(v); },
                   {"acme_corp", "acme.corp", "ACME", "aCme", "a\xC3\xA7me"});
}

TEST(ValidationTest, TenantSlugMessageNamesFieldValueAndRule) {
  absl::Status s = ValidateTenantSlug("Bad Slug", "slug");
  EXPECT_THAT(s.message(), HasSubstr("slug"));
  EXPECT_THAT(s.message(), HasSubstr("\"Bad Slug\""));
  EXPECT_THAT(s.message(), HasSubstr(std::string(kTenantSlugRule)));
}

TEST(ValidationTest, EmptyValueMessageSaysEmptyAndNamesRule) {
  absl::Status s = ValidateTenantSlug("", "tenant");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tenant is empty"));
  EXPECT_THAT(s.message(), HasSubstr(std::string(kTenantSlugRule)));
}

TEST(ValidationTest, MessageEscapesControlBytesOfTheValue) {
  absl::Status s = ValidateModuleName("a\nb\x1B[2J");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), Not(HasSubstr("\n")));
  EXPECT_THAT(s.message(), Not(HasSubstr("\x1B")));
  EXPECT_THAT(s.message(), HasSubstr("a\\x0Ab\\x1B[2J"));
}

TEST(ValidationTest, MessageOfLongValueIsTruncated) {
  absl::Status s = ValidateTenantSlug(std::string(10 * 1024, 'A'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(s.message().size(), 400u);
  EXPECT_THAT(s.message(), HasSubstr("(10240 bytes)"));
}

TEST(ValidationTest, ModuleNameAcceptsTheGrammar) {
  ExpectAcceptsAll([](absl::string_view v) { return ValidateModuleName(v); },
                   {"a", "Z", "Blog", "blog", "user_profile", "user-profile",
                    "A1", "x_-9", std::string(64, 'm')});
}

TEST(ValidationTest, ModuleNameRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateModuleName(v); },
                   HostileValues("blog"));
  ExpectRejectsAll(
      [](absl::string_view v) { return ValidateModuleName(v); },
      {"9lives", "_shared", "-x", ".hidden", "bad name", "\xC3\xBC-mod", "a.b",
       "a:b", std::string(65, 'm'), "blog\xE2\x80\x8B"});
}

TEST(ValidationTest, LocaleAcceptsTheGrammar) {
  ExpectAcceptsAll([](absl::string_view v) { return ValidateLocale(v); },
                   {"en", "tr", "pt-BR", "zh-CN", "zz"});
}

TEST(ValidationTest, LocaleRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateLocale(v); },
                   HostileValues("en"));
  ExpectRejectsAll(
      [](absl::string_view v) { return ValidateLocale(v); },
      {"e", "eng", "EN", "En", "en-us", "en_US", "en-USA", "en-U", "e1",
       "pt-B1", "en-", "-en", "en-US ", std::string("e\0", 2), "\xD0\xB5n"});
}

TEST(ValidationTest, RoleAcceptsTheGrammar) {
  ExpectAcceptsAll(
      [](absl::string_view v) { return ValidateRole(v); },
      {"admin", "a", "editor_2", "read-only", std::string(32, 'r')});
}

TEST(ValidationTest, RoleRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateRole(v); },
                   HostileValues("admin"));
  ExpectRejectsAll(
      [](absl::string_view v) { return ValidateRole(v); },
      {"Admin", "1admin", "_admin", "-admin", "ad.min", std::string(33, 'r')});
}

TEST(ValidationTest, IconAcceptsTheGrammar) {
  ExpectAcceptsAll(
      [](absl::string_view v) { return ValidateIcon(v); },
      {"box", "0", "mdi:account", "fa-solid.user_1", std::string(64, 'i')});
}

TEST(ValidationTest, IconRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateIcon(v); },
                   HostileValues("box"));
  ExpectRejectsAll([](absl::string_view v) { return ValidateIcon(v); },
                   {"Box", ":box", "-box", ".box", "_box", "bo x",
                    std::string(65, 'i'), "http://x/y.png"});
}

TEST(ValidationTest, VersionAcceptsTheGrammar) {
  ExpectAcceptsAll(
      [](absl::string_view v) { return ValidateVersion(v); },
      {"1.0.0", "1", "v2", "2.0.0-rc.1+build.5", "A", std::string(32, '9')});
}

TEST(ValidationTest, VersionRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateVersion(v); },
                   HostileValues("1.0.0"));
  ExpectRejectsAll([](absl::string_view v) { return ValidateVersion(v); },
                   {".1", "-1", "+1", "1_0", "1 0", std::string(33, '9')});
}

TEST(ValidationTest, StatsKeyAcceptsTheGrammar) {
  ExpectAcceptsAll(
      [](absl::string_view v) { return ValidateStatsKey(v); },
      {"blog", "Blog.views", "a_b-c.d", "x", std::string(64, 's')});
}

TEST(ValidationTest, StatsKeyRejectsOutsideTheGrammar) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateStatsKey(v); },
                   HostileValues("stats"));
  ExpectRejectsAll([](absl::string_view v) { return ValidateStatsKey(v); },
                   {"1blog", ".blog", "_blog", "blog:x", std::string(65, 's')});
}

TEST(ValidationTest, RunIdAcceptsCanonicalUuidsInEitherCase) {
  ExpectAcceptsAll([](absl::string_view v) { return ValidateRunId(v); },
                   {"123e4567-e89b-12d3-a456-426614174000",
                    "123E4567-E89B-12D3-A456-426614174000",
                    "00000000-0000-0000-0000-000000000000",
                    "ffffffff-ffff-ffff-ffff-ffffffffffff"});
}

TEST(ValidationTest, RunIdRejectsAnythingElse) {
  ExpectRejectsAll([](absl::string_view v) { return ValidateRunId(v); },
                   HostileValues("123e4567-e89b-12d3-a456-426614174000"));
  ExpectRejectsAll([](absl::string_view v) { return ValidateRunId(v); },
                   {"not-a-uuid", "123e4567e89b12d3a456426614174000",
                    "{123e4567-e89b-12d3-a456-426614174000}",
                    "123e4567-e89b-12d3-a456-42661417400",
                    "123e4567-e89b-12d3-a456-4266141740000",
                    "123e4567-e89b-12d3-a456_426614174000",
                    "123e4567-e89b-12d3-a456-42661417400g",
                    "123e4567-e89b-12d3-a456-42661417400\xEF\xBC\x90"});
}

TEST(ValidationTest, NormalizeRunIdLowercasesHexOnly) {
  EXPECT_EQ(NormalizeRunId("123E4567-E89B-12D3-A456-426614174ABC"),
            "123e4567-e89b-12d3-a456-426614174abc");
  EXPECT_EQ(NormalizeRunId("abc-DEF-123"), "abc-def-123");
}

TEST(ValidationTest, Utf8AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xBC"));              // U+00FC
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));          // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));          // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));          // U+E000
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is well-formed.
}

TEST(ValidationTest, Utf8RejectsOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));
}

TEST(ValidationTest, Utf8RejectsSurrogatesAndOutOfRange) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU pair.
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));          // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFC\x84\x80\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(ValidationTest, Utf8RejectsTruncatedAndStraySequences) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(
      IsValidUtf8("a\xBF"
                  "b"));
  EXPECT_FALSE(
      IsValidUtf8("\xC3"
                  "a"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));
}

TEST(ValidationTest, DisplayTextAcceptsOrdinaryText) {
  for (const std::string& good : std::vector<std::string>{
           "Acme", "Acme Corp",
           "\xC3\x9C"
           "ber",
           "\xE6\x97\xA5\xE6\x9C\xAC", "a", "A  B", "\xF0\x9F\x98\x80 Smile",
           "x\xC2\xA0y", std::string(200, 'a')}) {
    EXPECT_TRUE(ValidateDisplayText(good, "name").ok())
        << QuoteForMessage(good);
  }
}

TEST(ValidationTest, DisplayTextCountsCodePointsNotBytes) {
  std::string two_hundred;
  for (int i = 0; i < 200; ++i) two_hundred += "\xC3\xA9";
  EXPECT_TRUE(ValidateDisplayText(two_hundred, "name").ok());
  std::string four_byte;
  for (int i = 0; i < 200; ++i) four_byte += "\xF0\x9F\x98\x80";
  EXPECT_TRUE(ValidateDisplayText(four_byte, "name").ok());

  absl::Status s = ValidateDisplayText(two_hundred + "\xC3\xA9", "name");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("201"));
  EXPECT_THAT(s.message(), HasSubstr("200"));
  EXPECT_EQ(ValidateDisplayText(std::string(201, 'a'), "name").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDisplayText(std::string(10 * 1024, 'a'), "name").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidationTest, DisplayTextRejectsEmptyControlsAndBadUtf8) {
  for (const std::string& bad : std::vector<std::string>{
           "", std::string("a\0b", 3), "a\nb", "a\rb", "\tAcme", "Acme\x7F",
           "a\x1B[31mred",
           "a\xC2\x80"
           "b",
           "a\xC2\x85"
           "b",
           "a\xC2\x9F"
           "b",
           "\xC0\xAF", "Acme\xED\xA0\x80", "Acme\xC3", "\xFF"}) {
    absl::Status s = ValidateDisplayText(bad, "name.en");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(bad);
    EXPECT_THAT(s.message(), HasSubstr("name.en")) << QuoteForMessage(bad);
  }
}

TEST(ValidationTest, DisplayTextRejectsLeadingAndTrailingSpaces) {
  for (const std::string& bad :
       std::vector<std::string>{" Acme", "Acme ", " ", "  Acme  "}) {
    EXPECT_EQ(ValidateDisplayText(bad, "name").code(),
              absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(bad);
  }
}

// The contract promises "no leading or trailing white space"; Unicode
// spaces such as U+00A0 and U+3000 are white space as much as U+0020.
TEST(ValidationTest, DisplayTextRejectsLeadingAndTrailingUnicodeSpaces) {
  for (const std::string& bad : std::vector<std::string>{"\xC2\xA0"
                                                         "Acme",
                                                         "Acme\xC2\xA0",
                                                         "\xE3\x80\x80"
                                                         "Acme",
                                                         "Acme\xE2\x80\x83"}) {
    EXPECT_EQ(ValidateDisplayText(bad, "name").code(),
              absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(bad);
  }
}

// Expects every one of `texts` refused as a display text, with `rule` in
// the message.
void ExpectDisplayTextsRefused(const std::vector<std::string>& texts,
                               absl::string_view rule) {
  for (const std::string& bad : texts) {
    absl::Status s = ValidateDisplayText(bad, "name");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(bad);
    EXPECT_THAT(s.message(), HasSubstr(rule)) << QuoteForMessage(bad);
  }
}

TEST(ValidationTest, DisplayTextRejectsInvisibleFormatCharacters) {
  ExpectDisplayTextsRefused(
      {
          "Ac\xE2\x80\x8Bme",  // U+200B zero-width space
          "Ac\xE2\x80\xAEme",  // U+202E right-to-left override
          "Ac\xEF\xBB\xBFme",  // U+FEFF byte order mark
          "Ac\xC2\xADme",      // U+00AD soft hyphen
          "Ac\xE2\x81\xA6me",  // U+2066 left-to-right isolate
      },
      "invisible character U+");
  EXPECT_TRUE(ValidateDisplayText("Acme \xC3\x87"
                                  "a\xC4\x9F",
                                  "name")
                  .ok());
}

// Every other character that draws nothing either: alone, each would make a
// name look blank; inside one, two names look alike.
TEST(ValidationTest, DisplayTextRejectsEveryDefaultIgnorableCharacter) {
  ExpectDisplayTextsRefused(
      {
          "\xF3\xA0\x81\xA7\xF3\xA0\x81\xA8",      // U+E0067 U+E0068 tags
          "\xE3\x85\xA4",                          // U+3164 Hangul filler
          "\xEF\xBE\xA0",                          // U+FFA0 halfwidth filler
          "\xE1\x85\x9F",                          // U+115F choseong filler
          "Ac\xCD\x8Fme",                          // U+034F grapheme joiner
          "Ac\xE1\x9E\xB4me",                      // U+17B4 Khmer vowel
          "Ac\xF0\x9D\x85\xB3me",                  // U+1D173 music format
          "Ac\xF3\xA0\x80\x81me",                  // U+E0001 language tag
          "Acme\xEF\xB8\x8F",                      // U+FE0F after a letter
          "Zo\xC3\xA9\xEF\xB8\x8F",                // U+FE0F after U+00E9
          "\xE6\xBC\xA2\xEF\xB8\x8F",              // U+FE0F after U+6F22
          "Ac\xEF\xB8\x80me",                      // U+FE00 selector 1
          "\xE2\x9D\xA4\xEF\xB8\x8F\xEF\xB8\x8F",  // two selectors
      },
      "invisible character U+");
}

TEST(ValidationTest, DisplayTextKeepsEmojiPresentation) {
  for (const std::string& good : std::vector<std::string>{
           "Acme \xE2\x9D\xA4\xEF\xB8\x8F",         // U+2764 U+FE0F heart
           "Room 1\xEF\xB8\x8F\xE2\x83\xA3",        // 1 U+FE0F U+20E3 keycap
           "#\xEF\xB8\x8F\xE2\x83\xA3 Tag",         // # keycap
           "Acme\xC2\xAE\xEF\xB8\x8E",              // U+00AE U+FE0E text (R)
           "\xF0\x9F\x8C\xA7\xEF\xB8\x8F Rain"}) {  // U+1F327 U+FE0F
    EXPECT_TRUE(ValidateDisplayText(good, "name").ok())
        << QuoteForMessage(good);
  }
}

TEST(ValidationTest, DisplayTextRejectsLineAndParagraphSeparators) {
  ExpectDisplayTextsRefused({"Ac\xE2\x80\xA8me", "Ac\xE2\x80\xA9me"},
                            "line break U+");
}

TEST(ValidationTest, DisplayTextRejectsABrailleBlankAtEitherEnd) {
  for (const std::string& bad : std::vector<std::string>{"\xE2\xA0\x80",
                                                         "\xE2\xA0\x80"
                                                         "Acme",
                                                         "Acme\xE2\xA0\x80"}) {
    EXPECT_EQ(ValidateDisplayText(bad, "name").code(),
              absl::StatusCode::kInvalidArgument)
        << QuoteForMessage(bad);
  }
}

TEST(ValidationTest, QuoteForMessageEscapesControlAndNonAscii) {
  EXPECT_EQ(QuoteForMessage(std::string("a\nb\0c\"", 6)),
            "\"a\\x0Ab\\x00c\\\"\"");
  EXPECT_EQ(QuoteForMessage("\xC3\xA9"), "\"\\xC3\\xA9\"");
}

TEST(ValidationTest, QuoteForMessageEscapesBackslashAndDel) {
  EXPECT_EQ(QuoteForMessage("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(QuoteForMessage("\x7F"), "\"\\x7F\"");
  EXPECT_EQ(QuoteForMessage(""), "\"\"");
  EXPECT_EQ(QuoteForMessage("plain text"), "\"plain text\"");
}

TEST(ValidationTest, QuoteForMessageIsAlwaysPrintableAscii) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  const std::string quoted = QuoteForMessage(every_byte, 1000);
  for (char c : quoted) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7F) << static_cast<int>(c);
  }
}

TEST(ValidationTest, QuoteForMessageTruncatesAfterMaxBytes) {
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "\"abc\"... (6 bytes)");
  EXPECT_EQ(QuoteForMessage("abc", 3), "\"abc\"");
  EXPECT_EQ(QuoteForMessage(std::string(80, 'x')),
            "\"" + std::string(80, 'x') + "\"");
  EXPECT_EQ(QuoteForMessage(std::string(81, 'x')),
            "\"" + std::string(80, 'x') + "\"... (81 bytes)");
  const std::string big = QuoteForMessage(std::string(10 * 1024, '\n'));
  EXPECT_THAT(big, HasSubstr("... (10240 bytes)"));
  EXPECT_LT(big.size(), 80u * 4 + 40);
}

}  // namespace
}  // namespace syncadmin::core
