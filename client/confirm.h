// Confirmation before syncctl runs anything that deletes.
//
// `all` (orphan metas and their settings) and `remove-tenant` (a whole
// tenant) delete rows. Unless given `--dry-run` or `--yes`, syncctl first
// runs the same request as a dry run, shows what the real run would delete,
// and asks on the terminal: `remove-tenant` wants the tenant's slug typed
// back, `all` wants "y" (and asks nothing when nothing would be deleted).
// Without a terminal on stdin it refuses before contacting the server, so
// that a script which forgot `--yes` fails the same way every time, whatever
// the data.
#ifndef SYNCADMIN_CLIENT_CONFIRM_H_
#define SYNCADMIN_CLIENT_CONFIRM_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "syncadmin/v1/sync_admin.pb.h"

namespace syncadmin::client {

// What a dry run said the real run would delete.
class DeletionPreview {
 public:
  // Takes the `would_delete` items of a dry run's event.
  void Add(const v1::SyncEvent& event);

  uint64_t total() const { return metas_ + settings_ + tenants_; }

  // Several lines for the prompt: the counts per kind, then up to
  // `max_listed` of the metas and tenants that would go.
  std::string Describe(size_t max_listed = 10) const;

 private:
  uint64_t metas_ = 0;
  uint64_t settings_ = 0;
  uint64_t tenants_ = 0;
  std::vector<std::string> tenants_listed_;  // "tenant  acme"
  std::vector<std::string> metas_listed_;    // "meta    acme/blog"
};

enum class Answer {
  kConfirmed,
  kDeclined,     // A different answer, or end of input.
  kInterrupted,  // `interrupted` returned true while waiting.
};

// Writes `question` to `out` and reads one line from `in_fd`. The answer
// confirms when it equals `expected` after trimming spaces, or, if
// `also_yes`, when it is "y" or "yes" in any case. While waiting, calls
// `interrupted` every tenth of a second and gives up when it returns true.
Answer Ask(const std::string& question, const std::string& expected,
           bool also_yes, int in_fd, FILE* out,
           const std::function<bool()>& interrupted);

}  // namespace syncadmin::client

#endif  // SYNCADMIN_CLIENT_CONFIRM_H_
