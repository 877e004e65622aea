#include "core/validation.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace syncadmin::core {
namespace {

TEST(ValidationTest, TenantSlugAcceptsTheGrammar) {
  EXPECT_TRUE(ValidateTenantSlug("acme").ok());
  EXPECT_TRUE(ValidateTenantSlug("0-a").ok());
  EXPECT_TRUE(ValidateTenantSlug(std::string(63, 'a')).ok());
}

TEST(ValidationTest, TenantSlugRejectsOutsideTheGrammar) {
  for (const std::string& bad : std::vector<std::string>{
       "", "-acme", "Acme", "acme corp", "acme;drop", std::string(64, 'a'),
        std::string("ac\0me", 5), "\xD0\xB0" "cme", " acme", "acme "}) {
    absl::Status s = ValidateTenantSlug(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, QuoteForMessageEscapesControlAndNonAscii) {
  EXPECT_EQ(QuoteForMessage(std::string("a\nb\0c\"", 6)),
            "\"a\\x0Ab\\x00c\\\"\"");
  EXPECT_EQ(QuoteForMessage("\xC3\xA9"), "\"\\xC3\\xA9\"");
}

}  // namespace
}  // namespace syncadmin::core
