#include "tests/support/certificates.h"

#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/processes.h"

namespace syncadmin::testing {
namespace {

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult result = RunCommand(argv, {}, 60);
  if (result.exit_code != 0) {
    throw std::runtime_error(
        absl::StrCat("openssl ", args[0], " failed: ", result.out, result.err));
  }
}

}  // namespace

TestCertificates::TestCertificates() {
  MakeCa("ca", "syncadmin test ca");
  MakeCa("rogue-ca", "someone else's ca");
  Issue("server", "ca", "localhost",
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::string client_extensions =
      "basicConstraints=CA:FALSE\n"
      "keyUsage=critical,digitalSignature,keyEncipherment\n"
      "extendedKeyUsage=clientAuth\n";
  Issue("client", "ca", "ops-laptop", client_extensions);
  Issue("rogue", "rogue-ca", "ops-laptop", client_extensions);
}

void TestCertificates::MakeCa(const std::string& name,
                              const std::string& common_name) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
           absl::StrCat("/CN=", common_name), "-keyout", Path(name + ".key"),
           "-out", Path(name + ".pem"), "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

void TestCertificates::Issue(const std::string& name, const std::string& ca,
                             const std::string& common_name,
                             const std::string& extensions) {
  dir_.WriteFile(name + ".ext", extensions);
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-subj", absl::StrCat("/CN=", common_name), "-keyout",
           Path(name + ".key"), "-out", Path(name + ".csr")});
  Openssl({"x509", "-req", "-in", Path(name + ".csr"), "-CA", Path(ca + ".pem"),
           "-CAkey", Path(ca + ".key"), "-set_serial",
           absl::StrCat(next_serial_++), "-days", "2", "-extfile",
           Path(name + ".ext"), "-out", Path(name + ".pem")});
}

}  // namespace syncadmin::testing
