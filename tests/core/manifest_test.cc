#include "core/manifest.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kLocales = {"tr", "en", "de", "pl", "fr", "es"};
constexpr char kPath[] = "/modules/Blog/module.json";

std::map<std::string, std::string> LabelEverywhere(const std::string& text) {
  std::map<std::string, std::string> label;
  for (const auto& locale : kLocales) label[locale] = text;
  return label;
}

// Applies `text` to the defaults of module "Blog" and returns the status.
absl::Status Apply(const std::string& text, ModuleDefaults* out) {
  *out = DefaultsFor("Blog", kLocales);
  return ApplyManifest(text, kPath, kLocales, out);
}

// Expects `text` to be rejected with a message naming the manifest and
// containing `detail`.
void ExpectRejected(const std::string& text, const std::string& detail) {
  ModuleDefaults defaults;
  absl::Status s = Apply(text, &defaults);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << text;
  EXPECT_THAT(s.message(), HasSubstr(kPath)) << text;
  EXPECT_THAT(s.message(), HasSubstr(detail)) << text;
}

TEST(ManifestTest, DefaultsForUsesTheDocumentedDefaults) {
  ModuleDefaults d = DefaultsFor("Blog", kLocales);
  EXPECT_EQ(d.name, "Blog");
  EXPECT_EQ(d.label, LabelEverywhere("Blog"));
  EXPECT_EQ(d.icon, "box");
  EXPECT_THAT(d.roles, ElementsAre("admin"));
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.order, 0);
  EXPECT_EQ(d.version, "1.0.0");
  EXPECT_EQ(d.stats_key, "Blog");
}

TEST(ManifestTest, DefaultsForKeepsTheNameExactly) {
  ModuleDefaults d = DefaultsFor("user_Profile-2", {"en"});
  EXPECT_EQ(d.name, "user_Profile-2");
  EXPECT_EQ(d.stats_key, "user_Profile-2");
  EXPECT_EQ(d.label,
            (std::map<std::string, std::string>{{"en", "user_Profile-2"}}));
}

TEST(ManifestTest, DefaultsForWithoutLocalesHasEmptyLabel) {
  EXPECT_TRUE(DefaultsFor("Blog", {}).label.empty());
}

TEST(ManifestTest, EmptyObjectKeepsEveryDefault) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply("{}", &d).ok());
  ModuleDefaults expected = DefaultsFor("Blog", kLocales);
  EXPECT_EQ(d.label, expected.label);
  EXPECT_EQ(d.icon, expected.icon);
  EXPECT_EQ(d.roles, expected.roles);
  EXPECT_EQ(d.enabled, expected.enabled);
  EXPECT_EQ(d.order, expected.order);
  EXPECT_EQ(d.version, expected.version);
  EXPECT_EQ(d.stats_key, expected.stats_key);
}

TEST(ManifestTest, AppliesEveryKey) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply(R"({
      "label": "Web Log", "icon": "mdi:book-open", "roles": ["editor", "admin"],
      "enabled": false, "order": -42, "version": "2.1.0-rc.1",
      "statsKey": "blog.views"})",
                    &d)
                  .ok());
  EXPECT_EQ(d.name, "Blog");
  EXPECT_EQ(d.label, LabelEverywhere("Web Log"));
  EXPECT_EQ(d.icon, "mdi:book-open");
  EXPECT_THAT(d.roles, ElementsAre("editor", "admin"));
  EXPECT_FALSE(d.enabled);
  EXPECT_EQ(d.order, -42);
  EXPECT_EQ(d.version, "2.1.0-rc.1");
  EXPECT_EQ(d.stats_key, "blog.views");
}

TEST(ManifestTest, LabelObjectSetsGivenLocalesAndKeepsNameForOthers) {
  ModuleDefaults d;
  ASSERT_TRUE(
      Apply(R"({"label": {"tr": "G\u00fcnl\u00fck", "en": "Journal"}})", &d)
          .ok());
  std::map<std::string, std::string> expected = LabelEverywhere("Blog");
  expected["tr"] = "G\xC3\xBCnl\xC3\xBCk";
  expected["en"] = "Journal";
  EXPECT_EQ(d.label, expected);
}

TEST(ManifestTest, EmptyLabelObjectKeepsTheName) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply(R"({"label": {}})", &d).ok());
  EXPECT_EQ(d.label, LabelEverywhere("Blog"));
}

TEST(ManifestTest, UnknownKeysAreIgnored) {
  ModuleDefaults d;
  ASSERT_TRUE(
      Apply(R"({"description": "x", "nested": {"a": [1, 2]}, "icon": "rss"})",
            &d)
          .ok());
  EXPECT_EQ(d.icon, "rss");
}

TEST(ManifestTest, RejectsKeysThatLookLikeMisspelledKnownKeys) {
  ExpectRejected(R"({"Enabled": false})", "did you mean \"enabled\"");
  ExpectRejected(R"({"enable": false})", "did you mean \"enabled\"");
  ExpectRejected(R"({"statskey": "x"})", "did you mean \"statsKey\"");
  ExpectRejected(R"({"lable": "Blog"})", "did you mean \"label\"");
  ExpectRejected(R"({"ROLES": []})", "did you mean \"roles\"");
}

TEST(ManifestTest, RejectsARepeatedKey) {
  ExpectRejected(R"({"icon": "a", "icon": "b"})", "\"icon\" appears twice");
  ExpectRejected(R"({"label": {"en": "A", "en": "B"}})",
                 "\"en\" appears twice");
}

TEST(ManifestTest, SameKeyInDifferentObjectsIsNotARepeat) {
  ModuleDefaults d;
  EXPECT_TRUE(Apply(R"({"x": {"icon": 1}, "icon": "rss"})", &d).ok());
  EXPECT_EQ(d.icon, "rss");
}

TEST(ManifestTest, RolesAreDeduplicatedInOrder) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply(R"({"roles": ["viewer", "admin", "viewer"]})", &d).ok());
  EXPECT_THAT(d.roles, ElementsAre("viewer", "admin"));
}

TEST(ManifestTest, EmptyRolesReplaceTheDefault) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply(R"({"roles": []})", &d).ok());
  EXPECT_TRUE(d.roles.empty());
}

TEST(ManifestTest, AcceptsThirtyTwoRoles) {
  std::string roles;
  for (int i = 0; i < 32; ++i) {
    roles += (i ? ",\"r" : "\"r") + std::to_string(i) + "\"";
  }
  ModuleDefaults d;
  ASSERT_TRUE(Apply("{\"roles\": [" + roles + "]}", &d).ok());
  EXPECT_EQ(d.roles.size(), 32u);
}

TEST(ManifestTest, OrderAcceptsTheLimits) {
  ModuleDefaults d;
  ASSERT_TRUE(Apply(R"({"order": 1000000})", &d).ok());
  EXPECT_EQ(d.order, 1000000);
  ASSERT_TRUE(Apply(R"({"order": -1000000})", &d).ok());
  EXPECT_EQ(d.order, -1000000);
}

TEST(ManifestTest, RejectsSyntaxErrorsWithLineAndColumn) {
  ModuleDefaults d;
  absl::Status s = Apply("{\n  \"icon\": \"box\",\n  oops\n}", &d);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(kPath));
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(s.message(), HasSubstr("line 3"));
  EXPECT_THAT(s.message(), HasSubstr("column"));
}

// nlohmann reports a number beyond a double's range as out_of_range, not as
// a syntax error; it must still be a clear error, not an escaped exception.
TEST(ManifestTest, RejectsANumberTooLargeForADouble) {
  ExpectRejected(R"({"order": 1e999})", "number overflow");
  ExpectRejected(R"({"x": -311e1111})", "not valid JSON");
}

TEST(ManifestTest, RejectsNonJsonText) {
  ExpectRejected("", "not valid JSON");
  ExpectRejected("{", "not valid JSON");
  ExpectRejected("{\"icon\": \"box\",}", "not valid JSON");
  ExpectRejected("// comment\n{}", "not valid JSON");
  ExpectRejected("{} {}", "not valid JSON");
  ExpectRejected("{\"label\": \"\xC3\"}", "not valid JSON");
}

TEST(ManifestTest, RejectsTopLevelNonObjects) {
  for (const char* text : {"[]", "null", "42", "\"Blog\"", "true"}) {
    ExpectRejected(text, "must hold a JSON object");
  }
}

TEST(ManifestTest, RejectsLabelOfWrongType) {
  ExpectRejected(R"({"label": 5})", "\"label\"");
  ExpectRejected(R"({"label": null})", "\"label\"");
  ExpectRejected(R"({"label": ["Blog"]})", "\"label\"");
  ExpectRejected(R"({"label": {"en": 5}})", "\"label\".en");
  ExpectRejected(R"({"label": {"en": null}})", "\"label\".en");
}

TEST(ManifestTest, RejectsInvalidLabelText) {
  ExpectRejected(R"({"label": ""})", "\"label\"");
  ExpectRejected(R"({"label": " Blog"})", "\"label\"");
  ExpectRejected(R"({"label": "a\nb"})", "control character");
  ExpectRejected(R"({"label": {"en": "a\u0000b"}})", "control character");
  ExpectRejected("{\"label\": \"" + std::string(201, 'x') + "\"}", "201");
  ExpectRejected(R"({"label": {"en": ""}})", "\"label\".en");
}

TEST(ManifestTest, RejectsLabelLocaleOutsideTheConfiguredList) {
  ExpectRejected(R"({"label": {"it": "Diario"}})", "\"it\"");
  ExpectRejected(R"({"label": {"it": "Diario"}})", "configured locales");
  ExpectRejected(R"({"label": {"en-US": "Blog"}})", "\"en-US\"");
}

TEST(ManifestTest, RejectsMalformedLabelLocale) {
  ExpectRejected(R"({"label": {"EN": "Blog"}})", "\"EN\"");
  ExpectRejected(R"({"label": {"english": "Blog"}})", "\"english\"");
  ExpectRejected(R"({"label": {"": "Blog"}})", "empty");
}

TEST(ManifestTest, AcceptsRegionalLocaleWhenConfigured) {
  ModuleDefaults d = DefaultsFor("Blog", {"en", "pt-BR"});
  ASSERT_TRUE(ApplyManifest(R"({"label": {"pt-BR": "Di\u00e1rio"}})", kPath,
                            {"en", "pt-BR"}, &d)
                  .ok());
  EXPECT_EQ(d.label.at("pt-BR"), "Di\xC3\xA1rio");
  EXPECT_EQ(d.label.at("en"), "Blog");
}

TEST(ManifestTest, RejectsIconOfWrongTypeOrGrammar) {
  ExpectRejected(R"({"icon": 5})", "\"icon\" must be a string");
  ExpectRejected(R"({"icon": null})", "\"icon\" must be a string");
  ExpectRejected(R"({"icon": "Box"})", "\"icon\"");
  ExpectRejected(R"({"icon": ""})", "\"icon\"");
  ExpectRejected(R"({"icon": "<svg onload=x>"})", "\"icon\"");
}

TEST(ManifestTest, RejectsRolesOfWrongTypeOrGrammar) {
  ExpectRejected(R"({"roles": "admin"})", "\"roles\" must be an array");
  ExpectRejected(R"({"roles": [1]})", "\"roles\" must be an array");
  ExpectRejected(R"({"roles": [["admin"]]})", "\"roles\" must be an array");
  ExpectRejected(R"({"roles": ["Admin"]})", "\"Admin\"");
  ExpectRejected(R"({"roles": [""]})", "role is empty");
  ExpectRejected(R"({"roles": ["ad min"]})", "\"ad min\"");
}

TEST(ManifestTest, RejectsMoreThanThirtyTwoRoles) {
  std::string roles;
  for (int i = 0; i < 33; ++i) {
    roles += (i ? ",\"r" : "\"r") + std::to_string(i) + "\"";
  }
  ExpectRejected("{\"roles\": [" + roles + "]}", "33");
}

TEST(ManifestTest, RejectsEnabledThatIsNotABoolean) {
  for (const char* text : {R"({"enabled": "true"})", R"({"enabled": 1})",
                           R"({"enabled": null})"}) {
    ExpectRejected(text, "\"enabled\" must be true or false");
  }
}

TEST(ManifestTest, RejectsOrderThatIsNotASmallInteger) {
  for (const char* text :
       {R"({"order": 1.5})", R"({"order": "1"})", R"({"order": null})",
        R"({"order": 1000001})", R"({"order": -1000001})",
        R"({"order": 4294967296})", R"({"order": 1e3})"}) {
    ExpectRejected(text, "\"order\" must be an integer");
  }
}

// Integers beyond the int64 range must be refused like any other order
// outside [-1000000, 1000000]: read as int64, 18446744073709551615 would
// wrap to -1, and INT64_MIN has no absolute value.
TEST(ManifestTest, RejectsOrderBeyondInt64) {
  ExpectRejected(R"({"order": 18446744073709551615})",
                 "\"order\" must be an integer");
  ExpectRejected(R"({"order": 9223372036854775808})",
                 "\"order\" must be an integer");
  ExpectRejected(R"({"order": -9223372036854775808})",
                 "\"order\" must be an integer");
}

TEST(ManifestTest, RejectsVersionOfWrongTypeOrGrammar) {
  ExpectRejected(R"({"version": 1})", "\"version\" must be a string");
  ExpectRejected(R"({"version": "1 0"})", "\"version\"");
  ExpectRejected(R"({"version": ""})", "\"version\"");
}

TEST(ManifestTest, RejectsStatsKeyOfWrongTypeOrGrammar) {
  ExpectRejected(R"({"statsKey": true})", "\"statsKey\" must be a string");
  ExpectRejected(R"({"statsKey": "9views"})", "\"statsKey\"");
  ExpectRejected(R"({"statsKey": "a b"})", "\"statsKey\"");
}

TEST(ManifestTest, RejectsTextOverTheSizeLimit) {
  std::string text = "{\"icon\": \"box\"}";
  text.resize(kMaxManifestBytes + 1, ' ');
  ExpectRejected(text, std::to_string(kMaxManifestBytes));
}

TEST(ManifestTest, AcceptsTextAtTheSizeLimit) {
  std::string text = "{\"icon\": \"rss\"}";
  text.resize(kMaxManifestBytes, ' ');
  ModuleDefaults d;
  ASSERT_TRUE(Apply(text, &d).ok());
  EXPECT_EQ(d.icon, "rss");
}

TEST(ManifestTest, MessageEscapesAHostilePath) {
  ModuleDefaults d = DefaultsFor("Blog", kLocales);
  absl::Status s = ApplyManifest("[]", "/m/a\nb\x1B/module.json", kLocales, &d);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("a\\x0Ab\\x1B"));
  EXPECT_EQ(s.message().find('\n'), absl::string_view::npos);
}

}  // namespace
}  // namespace syncadmin::core
