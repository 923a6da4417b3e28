// Throwaway TLS material and credentials for the endpoint's tests, made in the test itself with
// the OpenSSL API and libxcrypt (nothing is checked in, nothing outlives the test's directory):
//
//   * a CA ("nodehealth test CA"), a server certificate it signed for 127.0.0.1 and localhost
//     (subjectAltName, serverAuth), a client certificate it signed (clientAuth);
//   * a second, unrelated CA and a client certificate it signed ("stranger"), which a server
//     that verifies clients against the first CA must refuse;
//   * bcrypt hashes as `htpasswd -B` writes them.
// Keys are P-256 (fast to make and to use in handshakes); certificates are valid from an hour
// ago for a day.
//
// Thread safety: functions are reentrant. Failure: `TestPki::error` says what failed.
#pragma once

#include <string>

namespace nodehealth::testing {

struct TestPki {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string stranger_cert;  // signed by another CA
  std::string stranger_key;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// Writes the files above into `dir` (which must exist): ca.crt, server.crt, server.key,
// client.crt, client.key, stranger.crt, stranger.key.
TestPki MakeTestPki(const std::string& dir);

// "$2b$<cost>$..." for `password` (crypt_gensalt_rn + crypt_rn); empty on failure.
std::string BcryptHash(const std::string& password, int cost);

}  // namespace nodehealth::testing
