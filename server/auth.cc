#include "server/auth.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace syncadmin::server {
namespace {

constexpr absl::string_view kScheme = "bearer ";

// RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
// "/" ) *"=".
bool IsBearerToken(absl::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return false;
  size_t i = 0;
  for (; i < token.size(); ++i) {
    const char c = token[i];
    const bool token_char =
        absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!token_char) break;
  }
  if (i == 0) return false;
  for (; i < token.size(); ++i) {
    if (token[i] != '=') return false;
  }
  return true;
}

}  // namespace

Authenticator::Authenticator(TokenTable tokens)
    : enabled_(true), tokens_(std::move(tokens)) {}

absl::StatusOr<Principal> Authenticator::Authenticate(
    absl::Span<const absl::string_view> authorization) const {
  if (!enabled_) return Principal{std::string(kAnonymous), Role::kAdmin};

  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "no credentials: send the metadata 'authorization: Bearer TOKEN'");
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("the call has ", authorization.size(),
                     " authorization headers: exactly one is allowed"));
  }
  const absl::string_view value = authorization[0];
  if (value.size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "the authorization header is not of the form 'Bearer TOKEN'");
  }
  const absl::string_view token = value.substr(kScheme.size());
  if (token.size() > kMaxTokenBytes) {
    return absl::UnauthenticatedError(
        absl::StrCat("the bearer token is ", token.size(),
                     " bytes long: at most ", kMaxTokenBytes, " are allowed"));
  }
  if (!IsBearerToken(token)) {
    return absl::UnauthenticatedError(
        "the bearer token is malformed: it must be 1 or more characters "
        "from A-Z a-z 0-9 - . _ ~ + / followed by optional '='");
  }
  const TokenEntry* entry = tokens_.Find(token);
  if (entry == nullptr) {
    return absl::UnauthenticatedError("the bearer token is not valid");
  }
  return Principal{entry->name, entry->role};
}

absl::Status Authorize(const Principal& caller, Role needed,
                       absl::string_view what) {
  if (static_cast<int>(caller.role) >= static_cast<int>(needed)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(what, " needs the ", RoleName(needed), " role; ",
                   caller.name, " has ", RoleName(caller.role)));
}

}  // namespace syncadmin::server
