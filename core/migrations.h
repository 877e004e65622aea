// The service-owned database schema, as an ordered list of migrations.
#ifndef SYNCADMIN_CORE_MIGRATIONS_H_
#define SYNCADMIN_CORE_MIGRATIONS_H_

#include "absl/strings/string_view.h"
#include <vector>

namespace syncadmin::core {

// One schema change. Versions start at 1 and increase by 1. An applied
// migration must never be edited: the store records a checksum of `sql` and
// refuses to start when it changes. Add a new migration instead.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// All migrations in version order.
const std::vector<Migration>& AllMigrations();

}  // namespace syncadmin::core

#endif  // SYNCADMIN_CORE_MIGRATIONS_H_
