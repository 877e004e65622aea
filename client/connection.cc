#include "client/connection.h"

#include <fstream>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace syncadmin::client {
namespace {

// PEM files are a few KiB and a token file a line; more is the wrong file.
constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxTokenBytes = 512;

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat(flag, " file \"", path, "\" cannot be read"));
  }
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        flag, " file \"", path, "\" is over ", kMaxFileBytes, " bytes"));
  }
  return text;
}

// The token from --token or --token-file, checked to be sendable as a
// metadata value.
absl::StatusOr<std::string> ResolveToken(const ConnectionFlags& flags) {
  if (!flags.token.empty() && !flags.token_file.empty()) {
    return absl::InvalidArgumentError(
        "give --token or --token-file (SYNCCTL_TOKEN or SYNCCTL_TOKEN_FILE), "
        "not both");
  }
  std::string token = flags.token;
  absl::string_view source = "--token";
  if (!flags.token_file.empty()) {
    absl::StatusOr<std::string> text =
        ReadFile(flags.token_file, "--token-file");
    if (!text.ok()) return text.status();
    token = std::string(absl::StripAsciiWhitespace(*text));
    source = "--token-file";
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token-file file \"", flags.token_file, "\" holds no token"));
    }
  }
  if (token.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token of ", source, " is ", token.size(),
                     " bytes long: at most ", kMaxTokenBytes));
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat("the token of ", source,
                       " contains a space, control or non-ASCII character"));
    }
  }
  return token;
}

absl::StatusOr<grpc::SslCredentialsOptions> TlsOptions(
    const ConnectionFlags& flags) {
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  grpc::SslCredentialsOptions options;
  if (!flags.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(flags.tls_ca, "--tls-ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (!flags.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(flags.tls_cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(flags.tls_key, "--tls-key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return options;
}

}  // namespace

void AddConnectionFlags(CLI::App& app, ConnectionFlags* flags) {
  app.add_flag("--tls", flags->tls,
               "Use TLS, verifying syncd with the system's CAs (implied by "
               "the other --tls-* flags)")
      ->envname("SYNCCTL_TLS");
  app.add_option("--tls-ca", flags->tls_ca,
                 "PEM CA certificates to verify syncd with")
      ->envname("SYNCCTL_TLS_CA");
  app.add_option("--tls-cert", flags->tls_cert,
                 "PEM client certificate, for mutual TLS (with --tls-key)")
      ->envname("SYNCCTL_TLS_CERT");
  app.add_option("--tls-key", flags->tls_key, "PEM key of --tls-cert")
      ->envname("SYNCCTL_TLS_KEY");
  app.add_option("--tls-server-name", flags->tls_server_name,
                 "Name syncd's certificate must carry, if not the host of "
                 "--addr")
      ->envname("SYNCCTL_TLS_SERVER_NAME");
  app.add_option("--token", flags->token,
                 "Bearer token (prefer SYNCCTL_TOKEN or --token-file: "
                 "command lines are visible to other users)")
      ->envname("SYNCCTL_TOKEN");
  app.add_option("--token-file", flags->token_file,
                 "File holding the bearer token")
      ->envname("SYNCCTL_TOKEN_FILE");
}

absl::StatusOr<Connection> Connection::FromFlags(const ConnectionFlags& flags) {
  Connection connection;
  absl::StatusOr<std::string> token = ResolveToken(flags);
  if (!token.ok()) return token.status();
  if (!token->empty()) {
    connection.authorization_ = absl::StrCat("Bearer ", *token);
  }

  connection.tls_ = flags.tls || !flags.tls_ca.empty() ||
                    !flags.tls_cert.empty() || !flags.tls_key.empty() ||
                    !flags.tls_server_name.empty();
  if (connection.tls_) {
    auto options = TlsOptions(flags);
    if (!options.ok()) return options.status();
    connection.tls_options_ = *std::move(options);
    connection.server_name_ = flags.tls_server_name;
  }
  return connection;
}

std::shared_ptr<grpc::Channel> Connection::NewChannel(
    const std::string& address) const {
  grpc::ChannelArguments args;
  if (!server_name_.empty()) args.SetSslTargetNameOverride(server_name_);
  return grpc::CreateCustomChannel(address,
                                   tls_ ? grpc::SslCredentials(tls_options_)
                                        : grpc::InsecureChannelCredentials(),
                                   args);
}

void Connection::Authorize(grpc::ClientContext* context) const {
  if (!authorization_.empty()) {
    context->AddMetadata("authorization", authorization_);
  }
}

std::string Connection::Hint(const grpc::Status& status,
                             bool answered_by_syncd) const {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
      authorization_.empty()) {
    return " (give a token with --token-file, SYNCCTL_TOKEN or --token)";
  }
  // syncd's own UNAVAILABLE is about its database: no hint about reaching
  // syncd applies. A plaintext client that reaches a TLS server sees the
  // connection closed during the handshake, not refused.
  if (answered_by_syncd) return "";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !tls_ &&
      status.error_message().find("Connection refused") == std::string::npos) {
    return " (if syncd serves TLS, give --tls-ca or --tls)";
  }
  return "";
}

}  // namespace syncadmin::client
