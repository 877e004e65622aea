// How syncctl reaches syncd: plaintext or TLS (optionally with a client
// certificate), and the bearer token sent with every call.
#ifndef SYNCADMIN_CLIENT_CONNECTION_H_
#define SYNCADMIN_CLIENT_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace CLI {
class App;
}  // namespace CLI

namespace syncadmin::client {

// The connection flags as given on the command line or in SYNCCTL_*.
struct ConnectionFlags {
  bool tls = false;             // TLS, verified against the system's CAs.
  std::string tls_ca;           // PEM CAs to verify the server with.
  std::string tls_cert;         // PEM client certificate (mutual TLS).
  std::string tls_key;          // PEM key of `tls_cert`.
  std::string tls_server_name;  // Name to expect in the server certificate.
  std::string token;            // Bearer token.
  std::string token_file;       // File holding the bearer token.
};

// Registers --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name,
// --token and --token-file (and SYNCCTL_TLS_CA, SYNCCTL_TLS_CERT,
// SYNCCTL_TLS_KEY, SYNCCTL_TLS_SERVER_NAME, SYNCCTL_TOKEN,
// SYNCCTL_TOKEN_FILE) on `app`.
void AddConnectionFlags(CLI::App& app, ConnectionFlags* flags);

// Channel credentials and call metadata resolved from `ConnectionFlags`.
// A default-constructed one is plaintext without a token.
//
// Nothing here touches gRPC before `NewChannel`: creating credentials starts
// gRPC's threads, which must not happen before syncctl has blocked the
// interrupt signals.
class Connection {
 public:
  // Reads the files the flags name. Any TLS flag turns TLS on. Returns
  // kInvalidArgument for flags that do not fit together or a token that
  // cannot be sent, kFailedPrecondition for a file that cannot be read.
  // Messages never contain the token.
  static absl::StatusOr<Connection> FromFlags(const ConnectionFlags& flags);

  // A new channel to `address` with these credentials.
  std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) const;

  // Adds the `authorization: Bearer TOKEN` metadata, if there is a token.
  // Works on plaintext channels too (call credentials would not).
  void Authorize(grpc::ClientContext* context) const;

  // A hint to append to the message of a failed call, or "".
  std::string Hint(const grpc::Status& status, bool answered_by_syncd) const;

  bool tls() const { return tls_; }

 private:
  bool tls_ = false;
  grpc::SslCredentialsOptions tls_options_;
  std::string server_name_;
  std::string authorization_;
};

}  // namespace syncadmin::client

#endif  // SYNCADMIN_CLIENT_CONNECTION_H_
