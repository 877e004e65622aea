// Vocabulary shared by the scanner, the store and the engine: operations,
// item actions and kinds, run outcomes, module defaults and tenants.
//
// The numeric values of the enums equal those of the matching enums in
// `proto/syncadmin/v1/sync_admin.proto`, so the server converts them with a
// checked cast.
#ifndef SYNCADMIN_CORE_TYPES_H_
#define SYNCADMIN_CORE_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

namespace syncadmin::core {

// One of the operations a run executes.
enum class Operation {
  kSeedMeta = 1,
  kSeedSettings = 2,
  kHealthCheck = 3,
  kSeedTenant = 4,
  kSeedModule = 5,
  kRemoveTenant = 6,
  kSyncAll = 7,
  kRestore = 8,
};

// What happened to one item of a run.
enum class Action {
  kCreated = 1,
  kExists = 2,
  kDeleted = 3,
  kSkipped = 4,
  kFailed = 5,
  kWouldCreate = 6,
  kWouldDelete = 7,
};

// Which kind of row an item is.
enum class Kind {
  kTenant = 1,
  kMeta = 2,
  kSetting = 3,
};

// How a run ended. `kRunning` only appears in the journal.
enum class Outcome {
  kCommitted = 1,
  kRolledBack = 2,
  kFailed = 3,
  kCancelled = 4,
  kRunning = 5,
};

// Stable snake_case names, used in the journal, logs and JSON output.
absl::string_view OperationName(Operation op);
absl::string_view ActionName(Action action);
absl::string_view KindName(Kind kind);
absl::string_view OutcomeName(Outcome outcome);

// Parses the names above; `std::nullopt` for anything else.
std::optional<Operation> ParseOperationName(absl::string_view name);
std::optional<Outcome> ParseOutcomeName(absl::string_view name);

// One row a run touched, would touch, or found.
struct Item {
  Action action;
  Kind kind;
  std::string tenant;
  std::string module;   // Empty for `Kind::kTenant`.
  std::string message;  // Optional detail for people.
};

// Number of items per (action, kind).
class Counts {
 public:
  void Add(Action action, Kind kind, uint64_t n = 1);
  void Merge(const Counts& other);
  uint64_t Get(Action action, Kind kind) const;
  // Sum over all kinds of one action.
  uint64_t Total(Action action) const;

  // Non-zero entries ordered by action, then kind.
  const std::map<std::pair<Action, Kind>, uint64_t>& entries() const {
    return entries_;
  }

  // JSON object such as {"created":{"meta":3,"setting":3}}, as stored in the
  // journal; `FromJson` accepts the same form and ignores unknown names.
  std::string ToJson() const;
  static Counts FromJson(absl::string_view json);

 private:
  std::map<std::pair<Action, Kind>, uint64_t> entries_;
};

// The defaults a new meta of one module gets, from the module's directory
// name and its optional `module.json`.
struct ModuleDefaults {
  std::string name;
  std::map<std::string, std::string> label;  // Locale -> text.
  std::string icon = "box";
  std::vector<std::string> roles = {"admin"};
  bool enabled = true;
  int32_t order = 0;
  std::string version = "1.0.0";
  std::string stats_key;  // Defaults to the module name.
};

// A row of the tenant registry.
struct Tenant {
  std::string slug;
  std::map<std::string, std::string> name;  // Locale -> display name.
  bool active = true;
  std::string created_at;  // RFC 3339, UTC.
  std::string updated_at;  // RFC 3339, UTC.
  uint64_t meta_count = 0;
  uint64_t setting_count = 0;
};

// Findings of a health check.
struct HealthSummary {
  uint64_t missing_settings = 0;
  uint64_t orphan_metas = 0;
  uint64_t disabled_metas = 0;
  uint64_t inactive_tenants_with_rows = 0;

  bool drift() const {
    return missing_settings > 0 || orphan_metas > 0 ||
           inactive_tenants_with_rows > 0;
  }
};

// A journaled run, as `sync_runs` stores it.
struct RunRecord {
  std::string id;
  Operation operation = Operation::kSyncAll;
  std::string params_json;
  std::string requested_by;
  bool dry_run = false;
  std::string started_at;   // RFC 3339, UTC.
  std::string finished_at;  // Empty while running.
  Outcome outcome = Outcome::kRunning;
  Counts counts;
  std::string error;
};

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_TYPES_H_
