#include "server/security.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/logging.h"
#include "core/validation.h"
#include "grpcpp/security/server_credentials.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "server/trusted_file.h"

namespace syncadmin::server {
namespace {

// Certificates and keys are a few KiB; a larger file is the wrong file.
constexpr size_t kMaxPemBytes = 1 << 20;

std::string Shown(const std::string& path) {
  return core::QuoteForMessage(path, 512);
}

// Certificates are public, so who owns or may write them is not checked.
//
// TODO(hardening): the --tls-client-ca file decides who may connect, so it
// deserves the key's rules too; apply them once it is known that no
// deployment keeps its CA bundle in a directory another user manages.
absl::StatusOr<std::string> ReadCertificateFile(const std::string& path,
                                                absl::string_view flag) {
  return ReadTrustedFile(path, absl::StrCat(flag, " file"), kMaxPemBytes,
                         FileProtection::kAny);
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate of a PEM text, or null.
X509Ptr FirstCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

// Checks that the certificate and key files hold PEM data that belong
// together, so that a mistake is reported here, naming the files, rather
// than as a failed handshake later.
absl::Status CheckKeyPair(const SecurityFlags& flags, const std::string& cert,
                          const std::string& key) {
  X509Ptr certificate = FirstCertificate(cert);
  if (!certificate) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls-cert file ", Shown(flags.tls_cert),
                     " holds no PEM certificate"));
  }
  BioPtr bio = MemoryBio(key);
  KeyPtr private_key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!private_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls-key file ", Shown(flags.tls_key),
                     " holds no PEM private key (or it is encrypted)"));
  }
  if (X509_check_private_key(certificate.get(), private_key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(absl::StrCat(
        "--tls-key file ", Shown(flags.tls_key),
        " does not belong to the certificate in ", Shown(flags.tls_cert)));
  }
  return absl::OkStatus();
}

// The server's private key, and the permission bits it had when read.
struct KeyFile {
  std::string pem;
  mode_t mode = 0;
};

// The key is held to the rules of the tokens file: a user who could change
// it or its directory could also read it, or swap in a key of their own.
absl::StatusOr<KeyFile> ReadKeyFile(const std::string& path) {
  absl::StatusOr<TrustedFile> file = TrustedFile::Open(
      path, "--tls-key file", O_RDONLY, FileProtection::kPrivate);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> pem = file->ReadAll(kMaxPemBytes);
  if (!pem.ok()) return pem.status();
  return KeyFile{*std::move(pem), file->status().st_mode};
}

// Reading is only warned about, since a group may need to read keys
// (Debian's ssl-cert group does).
void WarnIfKeyIsReadableByOthers(const std::string& path, mode_t mode) {
  if ((mode & (S_IRWXG | S_IRWXO)) != 0) {
    log::Warn("tls key readable by group or others",
              {{"file", path}, {"hint", "chmod 600 it"}});
  }
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const SecurityFlags& flags) {
  absl::StatusOr<std::string> cert =
      ReadCertificateFile(flags.tls_cert, "--tls-cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<KeyFile> key = ReadKeyFile(flags.tls_key);
  if (!key.ok()) return key.status();
  if (absl::Status s = CheckKeyPair(flags, *cert, key->pem); !s.ok()) {
    return s;
  }
  WarnIfKeyIsReadableByOthers(flags.tls_key, key->mode);

  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!flags.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca =
        ReadCertificateFile(flags.tls_client_ca, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    if (!FirstCertificate(*ca)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--tls-client-ca file ", Shown(flags.tls_client_ca),
                       " holds no PEM certificate"));
    }
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  options.pem_key_cert_pairs.push_back({std::move(key->pem), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

absl::Status CheckFlagsFitTogether(const SecurityFlags& flags) {
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!flags.tls_client_ca.empty() && flags.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
  }
  return absl::OkStatus();
}

absl::Status CheckListenPolicy(const SecurityFlags& flags, bool tls,
                               bool tokens, absl::string_view listen) {
  if ((tls && tokens) || IsLoopbackAddress(listen)) return absl::OkStatus();
  std::vector<std::string> missing;
  if (!tls) missing.push_back("TLS (--tls-cert, --tls-key)");
  if (!tokens) missing.push_back("tokens (--tokens-file)");
  const std::string what = absl::StrJoin(missing, " and ");
  if (flags.insecure) {
    log::Warn("serving a non-loopback address unprotected (--insecure)",
              {{"address", listen}, {"missing", what}});
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "refusing to listen on ", listen, " without ", what,
      ": only a loopback address may be served unprotected; configure them, "
      "or pass --insecure to serve it anyway"));
}

}  // namespace

void AddSecurityFlags(CLI::App& app, SecurityFlags* flags) {
  app.add_option("--tls-cert", flags->tls_cert,
                 "PEM certificate chain; serve TLS (with --tls-key)")
      ->envname("SYNCD_TLS_CERT");
  app.add_option("--tls-key", flags->tls_key, "PEM private key of --tls-cert")
      ->envname("SYNCD_TLS_KEY");
  app.add_option("--tls-client-ca", flags->tls_client_ca,
                 "PEM CA certificates; require client certificates signed "
                 "by them (mutual TLS)")
      ->envname("SYNCD_TLS_CLIENT_CA");
  app.add_option("--tokens-file", flags->tokens_file,
                 "Bearer tokens with roles (see `syncd token add`); without "
                 "it, authentication is off")
      ->envname("SYNCD_TOKENS_FILE");
  app.add_flag("--insecure", flags->insecure,
               "Allow a non-loopback address without TLS and tokens")
      ->envname("SYNCD_INSECURE");
}

absl::StatusOr<ServerSecurity> SetUpSecurity(const SecurityFlags& flags,
                                             absl::string_view listen) {
  if (absl::Status s = CheckFlagsFitTogether(flags); !s.ok()) return s;
  ServerSecurity security;
  security.tls = !flags.tls_cert.empty();
  security.mutual_tls = !flags.tls_client_ca.empty();
  if (absl::Status s = CheckListenPolicy(flags, security.tls,
                                         !flags.tokens_file.empty(), listen);
      !s.ok()) {
    return s;
  }

  if (security.tls) {
    auto credentials = TlsCredentials(flags);
    if (!credentials.ok()) return credentials.status();
    security.credentials = *std::move(credentials);
  } else {
    security.credentials = grpc::InsecureServerCredentials();
  }

  if (flags.tokens_file.empty()) {
    security.authenticator = std::make_unique<Authenticator>();
  } else {
    absl::StatusOr<TokenTable> tokens = LoadTokenFile(flags.tokens_file);
    if (!tokens.ok()) return tokens.status();
    if (tokens->entries().empty()) {
      log::Warn("tokens file has no tokens: every call will be refused",
                {{"file", flags.tokens_file}});
    }
    security.authenticator =
        std::make_unique<Authenticator>(*std::move(tokens));
  }
  return security;
}

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  absl::ConsumePrefix(&address, "ipv4:") ||
      absl::ConsumePrefix(&address, "ipv6:") ||
      absl::ConsumePrefix(&address, "dns:///");

  absl::string_view host = address;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return false;
    host = host.substr(0, close);
  } else if (const size_t colon = host.rfind(':');
             colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;

  const std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

void ApplyLimits(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxMetadataBytes);
}

TokenCommand::TokenCommand(CLI::App& app, const SecurityFlags* flags)
    : flags_(flags) {
  CLI::App* token = app.add_subcommand("token", "Manage bearer tokens");
  token->require_subcommand(1);
  add_ = token->add_subcommand(
      "add",
      "Create a token for NAME with ROLE, append its hash to --tokens-file "
      "and print the token (once)");
  add_->add_option("NAME", name_, "Holder of the token, recorded as who asked")
      ->required();
  add_->add_option("ROLE", role_, "viewer, operator or admin")
      ->required()
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
}

bool TokenCommand::parsed() const { return add_->parsed(); }

int TokenCommand::Run() const {
  if (flags_->tokens_file.empty()) {
    std::fprintf(stderr,
                 "syncd token add: --tokens-file FILE (or SYNCD_TOKENS_FILE) "
                 "is required\n");
    return 2;
  }
  const std::optional<Role> role = ParseRole(role_);
  if (!role) return 2;  // CLI11 has checked it already.
  if (absl::Status s = ValidateHolderName(name_); !s.ok()) {
    std::fprintf(stderr, "syncd token add: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  absl::StatusOr<std::string> token =
      AddToken(flags_->tokens_file, name_, *role);
  if (!token.ok()) {
    std::fprintf(stderr, "syncd token add: %s\n",
                 std::string(token.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", token->c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "syncd: added a token for %s (%s) to %s. It is shown only "
               "this once; syncd reads the file when it starts.\n",
               name_.c_str(), role_.c_str(), flags_->tokens_file.c_str());
  return 0;
}

}  // namespace syncadmin::server
