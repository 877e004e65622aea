#include "client/confirm.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace syncadmin::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::SyncEvent WouldDelete(v1::Kind kind, const std::string& tenant,
                          const std::string& module, int n = 1) {
  v1::SyncEvent e;
  for (int i = 0; i < n; ++i) {
    v1::Item* item = e.mutable_items()->add_items();
    item->set_action(v1::ACTION_WOULD_DELETE);
    item->set_kind(kind);
    item->set_tenant(tenant);
    item->set_module(module);
  }
  return e;
}

TEST(DeletionPreviewTest, CountsAndListsTenantsFirst) {
  DeletionPreview preview;
  preview.Add(WouldDelete(v1::KIND_SETTING, "acme", "blog", 2));
  preview.Add(WouldDelete(v1::KIND_META, "acme", "blog"));
  preview.Add(WouldDelete(v1::KIND_META, "acme", "faq"));
  preview.Add(WouldDelete(v1::KIND_TENANT, "acme", ""));
  EXPECT_EQ(preview.total(), 5u);
  EXPECT_EQ(preview.Describe(),
            "This run deletes 1 tenant, 2 metas, 2 settings:\n"
            "  tenant  acme\n"
            "  meta    acme/blog\n"
            "  meta    acme/faq\n"
            "Deleted rows are archived; `syncctl restore RUN_ID` puts them "
            "back.\n");
}

TEST(DeletionPreviewTest, IgnoresOtherActionsAndShortensLongLists) {
  DeletionPreview preview;
  v1::SyncEvent created = WouldDelete(v1::KIND_META, "acme", "blog");
  created.mutable_items()->mutable_items(0)->set_action(
      v1::ACTION_WOULD_CREATE);
  preview.Add(created);
  EXPECT_EQ(preview.total(), 0u);

  for (int i = 0; i < 12; ++i) {
    preview.Add(WouldDelete(v1::KIND_META, "t" + std::to_string(i), "blog"));
  }
  const std::string text = preview.Describe(/*max_listed=*/10);
  EXPECT_THAT(text, HasSubstr("  meta    t9/blog\n  ... and 2 more\n"));
  EXPECT_THAT(text, Not(HasSubstr("t10/")));
}

TEST(DeletionPreviewTest, ControlCharactersFromTheServerAreNotPrinted) {
  DeletionPreview preview;
  preview.Add(WouldDelete(v1::KIND_META, "acme", "x\x1b[2Jy"));
  EXPECT_THAT(preview.Describe(), HasSubstr("acme/x?[2Jy"));
}

// Ask() reading from a pipe that holds `input`.
Answer AskWith(const std::string& input, const std::string& expected,
               bool also_yes, std::string* shown = nullptr) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  EXPECT_EQ(write(fds[1], input.data(), input.size()),
            static_cast<ssize_t>(input.size()));
  close(fds[1]);
  FILE* out = std::tmpfile();
  const Answer answer =
      Ask("Sure? ", expected, also_yes, fds[0], out, [] { return false; });
  close(fds[0]);
  if (shown != nullptr) {
    std::rewind(out);
    char buffer[256] = {};
    shown->assign(buffer, std::fread(buffer, 1, sizeof buffer - 1, out));
  }
  std::fclose(out);
  return answer;
}

TEST(AskTest, ConfirmsOnlyTheExpectedAnswer) {
  std::string shown;
  EXPECT_EQ(AskWith("acme\n", "acme", false, &shown), Answer::kConfirmed);
  EXPECT_EQ(shown, "Sure? ");
  EXPECT_EQ(AskWith("  acme \n", "acme", false), Answer::kConfirmed);
  EXPECT_EQ(AskWith("yes\n", "acme", false), Answer::kDeclined);
  EXPECT_EQ(AskWith("acm\n", "acme", false), Answer::kDeclined);
}

TEST(AskTest, YesAnswersWhenAllowed) {
  for (const char* input : {"y\n", "Y\n", "yes\n", "YES\n"}) {
    EXPECT_EQ(AskWith(input, "", true), Answer::kConfirmed) << input;
  }
  for (const char* input : {"\n", "n\n", "no\n", "yess\n", "sure\n"}) {
    EXPECT_EQ(AskWith(input, "", true), Answer::kDeclined) << input;
  }
}

TEST(AskTest, EndOfInputDeclines) {
  EXPECT_EQ(AskWith("", "", true), Answer::kDeclined);
  EXPECT_EQ(AskWith("y", "", true), Answer::kDeclined) << "no newline";
}

TEST(AskTest, InterruptStopsTheWait) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);  // Nothing is ever written.
  FILE* out = std::tmpfile();
  int polls = 0;
  EXPECT_EQ(Ask("Sure? ", "", true, fds[0], out, [&] { return ++polls > 2; }),
            Answer::kInterrupted);
  std::fclose(out);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace syncadmin::client
