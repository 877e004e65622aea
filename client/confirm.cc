#include "client/confirm.h"

#include <poll.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace syncadmin::client {
namespace {

std::string Plural(uint64_t n, const char* word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

// Text from the server shown on the terminal: no control characters.
std::string Printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = '?';
  }
  return text;
}

}  // namespace

void DeletionPreview::Add(const v1::SyncEvent& event) {
  if (!event.has_items()) return;
  for (const v1::Item& item : event.items().items()) {
    if (item.action() != v1::ACTION_WOULD_DELETE) continue;
    switch (item.kind()) {
      case v1::KIND_META:
        ++metas_;
        metas_listed_.push_back(absl::StrCat("meta    ",
                                             Printable(item.tenant()), "/",
                                             Printable(item.module())));
        break;
      case v1::KIND_SETTING:
        ++settings_;  // Follows its meta; counted, not listed.
        break;
      case v1::KIND_TENANT:
        ++tenants_;
        tenants_listed_.push_back(
            absl::StrCat("tenant  ", Printable(item.tenant())));
        break;
      default:
        break;
    }
  }
}

std::string DeletionPreview::Describe(size_t max_listed) const {
  std::vector<std::string> parts;
  if (tenants_ > 0) parts.push_back(Plural(tenants_, "tenant"));
  if (metas_ > 0) parts.push_back(Plural(metas_, "meta"));
  if (settings_ > 0) parts.push_back(Plural(settings_, "setting"));
  std::string text = absl::StrCat(
      "This run deletes ",
      parts.empty() ? "nothing" : absl::StrJoin(parts, ", "), ":\n");
  // Tenants first: removing one is the larger news.
  std::vector<std::string> listed = tenants_listed_;
  listed.insert(listed.end(), metas_listed_.begin(), metas_listed_.end());
  const size_t shown = std::min(max_listed, listed.size());
  for (size_t i = 0; i < shown; ++i) {
    absl::StrAppend(&text, "  ", listed[i], "\n");
  }
  if (listed.size() > shown) {
    absl::StrAppend(&text, "  ... and ", listed.size() - shown, " more\n");
  }
  absl::StrAppend(&text,
                  "Deleted rows are archived; `syncctl restore RUN_ID` puts "
                  "them back.\n");
  return text;
}

Answer Ask(const std::string& question, const std::string& expected,
           bool also_yes, int in_fd, FILE* out,
           const std::function<bool()>& interrupted) {
  std::fputs(question.c_str(), out);
  std::fflush(out);
  std::string line;
  while (true) {
    if (interrupted()) {
      std::fputs("\n", out);
      return Answer::kInterrupted;
    }
    pollfd fd{in_fd, POLLIN, 0};
    const int ready = poll(&fd, 1, 100);
    if (ready <= 0) continue;
    char c;
    const ssize_t n = read(in_fd, &c, 1);
    if (n <= 0) {
      std::fputs("\n", out);
      return Answer::kDeclined;
    }
    if (c == '\n') break;
    if (line.size() < 4096) line += c;
  }
  const std::string answer(absl::StripAsciiWhitespace(line));
  if (!expected.empty() && answer == expected) return Answer::kConfirmed;
  if (also_yes) {
    const std::string lower = absl::AsciiStrToLower(answer);
    if (lower == "y" || lower == "yes") return Answer::kConfirmed;
  }
  return Answer::kDeclined;
}

}  // namespace syncadmin::client
