// How syncd protects its port: TLS or mutual TLS, bearer tokens, and the
// rule that an unprotected server listens on loopback only.
#ifndef SYNCADMIN_SERVER_SECURITY_H_
#define SYNCADMIN_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/auth.h"

namespace CLI {
class App;
}  // namespace CLI

namespace syncadmin::server {

// Largest request message syncd accepts; requests are small, so anything
// larger is hostile or a mistake (RESOURCE_EXHAUSTED).
inline constexpr int kMaxReceiveBytes = 1 << 20;

// Largest metadata (all headers of one call) syncd accepts, in bytes.
inline constexpr int kMaxMetadataBytes = 16 * 1024;

struct SecurityFlags {
  std::string tls_cert;       // PEM certificate chain of the server.
  std::string tls_key;        // PEM private key of the server.
  std::string tls_client_ca;  // PEM CAs that client certificates must chain
                              // to; set, client certificates are required.
  std::string tokens_file;    // Bearer tokens; empty turns authentication off.
  bool insecure = false;      // Allow an unprotected non-loopback address.
};

// Registers --tls-cert, --tls-key, --tls-client-ca, --tokens-file and
// --insecure (and their SYNCD_* variables) on `app`.
void AddSecurityFlags(CLI::App& app, SecurityFlags* flags);

// Everything `SetUpSecurity` decided.
struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Always set; authentication is off unless a tokens file was given.
  std::unique_ptr<Authenticator> authenticator;
  bool tls = false;
  bool mutual_tls = false;
};

// Reads the TLS files and the tokens file named by `flags` and checks that
// the server may listen on `listen`: unless it has TLS *and* tokens, the
// address must be loopback (127.0.0.0/8, ::1, localhost, or a Unix socket)
// or `flags.insecure` must be set.
//
// Returns kInvalidArgument for flags that do not fit together (a key without
// a certificate, a client CA without TLS), kFailedPrecondition for a file
// that cannot be read or is not a regular file, a tokens file or TLS key
// that another user could change (`FileProtection::kPrivate`) or a
// malformed tokens file, and kPermissionDenied for an unprotected
// non-loopback address. Each message is one line that names the file or
// address and says what to do.
//
// TODO(security): reload the tokens and TLS files on SIGHUP; today adding or
// revoking a token or renewing a certificate needs a restart.
absl::StatusOr<ServerSecurity> SetUpSecurity(const SecurityFlags& flags,
                                             absl::string_view listen);

// True if the gRPC listen address `address` ("HOST:PORT", "[V6]:PORT",
// "unix:PATH") can only be reached from this machine.
bool IsLoopbackAddress(absl::string_view address);

// Applies syncd's message and metadata size limits to `builder`.
void ApplyLimits(grpc::ServerBuilder& builder);

// `syncd token add NAME ROLE --tokens-file FILE`: generates a token, appends
// its hash to the tokens file and prints the token once.
class TokenCommand {
 public:
  // Registers the `token add` subcommand on `app`; the file comes from
  // `flags->tokens_file` (--tokens-file), which must outlive this object.
  TokenCommand(CLI::App& app, const SecurityFlags* flags);

  // True if the command line asked for `token add`.
  bool parsed() const;

  // Runs it: prints the token on stdout and a note on stderr. Returns the
  // process exit code: 0, 1 if the file cannot be used, 2 on bad usage.
  int Run() const;

 private:
  const SecurityFlags* flags_;
  CLI::App* add_ = nullptr;
  std::string name_;
  std::string role_;
};

}  // namespace syncadmin::server

#endif  // SYNCADMIN_SERVER_SECURITY_H_
