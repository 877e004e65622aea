// Propagation helpers for `absl::Status` and `absl::StatusOr<T>`.
//
// The Abseil release we build against has no public equivalents, so these two
// macros keep call sites short without hiding control flow behind anything
// more clever than an early return.
#ifndef SYNCADMIN_CORE_STATUS_MACROS_H_
#define SYNCADMIN_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function if `expr` yields a non-OK status.
#define SYNCADMIN_RETURN_IF_ERROR(expr)               \
  do {                                                \
    const ::absl::Status syncadmin_status_ = (expr);  \
    if (!syncadmin_status_.ok()) return syncadmin_status_; \
  } while (false)

#define SYNCADMIN_CONCAT_INNER_(a, b) a##b
#define SYNCADMIN_CONCAT_(a, b) SYNCADMIN_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an `absl::StatusOr<T>`); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration such as `auto modules`.
#define SYNCADMIN_ASSIGN_OR_RETURN(lhs, rexpr)                             \
  SYNCADMIN_ASSIGN_OR_RETURN_IMPL_(                                        \
      SYNCADMIN_CONCAT_(syncadmin_statusor_, __LINE__), lhs, rexpr)

#define SYNCADMIN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();     \
  lhs = std::move(statusor).value()

#endif  // SYNCADMIN_CORE_STATUS_MACROS_H_
