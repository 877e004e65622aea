// Who is calling, and may they: bearer-token authentication and role checks.
//
// Independent of the transport: the service calls `Authenticate` with the
// values of the call's `authorization` metadata at the top of every handler,
// so the same check protects TLS and plaintext (loopback) servers alike. (An
// `AuthMetadataProcessor` would only work with TLS: gRPC 1.51 aborts the
// process if one is set on insecure credentials.)
#ifndef SYNCADMIN_SERVER_AUTH_H_
#define SYNCADMIN_SERVER_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/token_file.h"

namespace syncadmin::server {

// The caller of an rpc: the token holder's name (recorded in the journal and
// logs as who asked) and role.
struct Principal {
  std::string name;
  Role role = Role::kViewer;
};

// Name of every caller while authentication is off.
inline constexpr absl::string_view kAnonymous = "anonymous";

// Checks bearer tokens against a token table. Immutable; thread-safe.
class Authenticator {
 public:
  // Authentication off: every caller is `kAnonymous` with the admin role.
  // Only for servers reachable from loopback alone, or started --insecure.
  Authenticator() = default;

  // Authentication on: only holders of a token in `tokens` get in.
  explicit Authenticator(TokenTable tokens);

  bool enabled() const { return enabled_; }
  const TokenTable& tokens() const { return tokens_; }

  // Identifies the caller from the values of its `authorization` metadata
  // (normally one, "Bearer TOKEN"; the scheme is case-insensitive). Returns
  // kUnauthenticated when there is none, more than one, a value that is not
  // a well-formed bearer token of at most `kMaxTokenBytes`, or a token that
  // is not in the table. Messages never contain the token.
  absl::StatusOr<Principal> Authenticate(
      absl::Span<const absl::string_view> authorization) const;

 private:
  bool enabled_ = false;
  TokenTable tokens_;
};

// OK if `caller` has at least `needed`; else kPermissionDenied naming the
// holder, their role, the role needed and `what` (e.g. "RemoveTenant").
absl::Status Authorize(const Principal& caller, Role needed,
                       absl::string_view what);

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_AUTH_H_
