// A throwaway certificate authority with server and client certificates,
// made with the `openssl` command-line tool, for TLS tests.
#ifndef SYNCADMIN_TESTS_SUPPORT_CERTIFICATES_H_
#define SYNCADMIN_TESTS_SUPPORT_CERTIFICATES_H_

#include <string>

#include "tests/support/temp_dir.h"

namespace syncadmin::testing {

// PEM files in a temporary directory, valid for two days:
//   ca.pem                     the test CA
//   server.pem, server.key     for localhost and 127.0.0.1, signed by it
//   client.pem, client.key     CN "ops-laptop", client auth, signed by it
//   rogue-ca.pem, rogue.pem, rogue.key
//                              a second CA and a client certificate it signed
class TestCertificates {
 public:
  // Generates everything; throws with openssl's output on failure.
  TestCertificates();

  std::string Path(const std::string& name) const {
    return (dir_.path() / name).string();
  }

 private:
  // Makes NAME.pem and NAME.key, signed by CA (its .pem and .key), with
  // `extensions` (an openssl extension file's text).
  void Issue(const std::string& name, const std::string& ca,
             const std::string& common_name, const std::string& extensions);
  void MakeCa(const std::string& name, const std::string& common_name);

  TempDir dir_;
  int next_serial_ = 1001;
};

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_CERTIFICATES_H_
