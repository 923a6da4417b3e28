#include "tests/support/tls_test_files.h"

#include <crypt.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

namespace nodehealth::testing {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256"), &EVP_PKEY_free); }

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

enum class Kind { kCa, kServer, kClient };

// A certificate for `key` named `common_name`, signed by `issuer` with `issuer_key` (itself when
// issuer is null: a self-signed CA).
CertPtr MakeCertificate(Kind kind, const char* common_name, EVP_PKEY* key, X509* issuer,
                        EVP_PKEY* issuer_key, long serial) {
  CertPtr cert(X509_new(), &X509_free);
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : x;
  bool ok = true;
  switch (kind) {
    case Kind::kCa:
      ok = AddExtension(x, signer, NID_basic_constraints, "critical,CA:TRUE") &&
           AddExtension(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
           AddExtension(x, signer, NID_subject_key_identifier, "hash");
      break;
    case Kind::kServer:
      ok = AddExtension(x, signer, NID_basic_constraints, "critical,CA:FALSE") &&
           AddExtension(x, signer, NID_key_usage, "critical,digitalSignature") &&
           AddExtension(x, signer, NID_ext_key_usage, "serverAuth") &&
           AddExtension(x, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
           AddExtension(x, signer, NID_authority_key_identifier, "keyid");
      break;
    case Kind::kClient:
      ok = AddExtension(x, signer, NID_basic_constraints, "critical,CA:FALSE") &&
           AddExtension(x, signer, NID_key_usage, "critical,digitalSignature") &&
           AddExtension(x, signer, NID_ext_key_usage, "clientAuth") &&
           AddExtension(x, signer, NID_authority_key_identifier, "keyid");
      break;
  }
  if (!ok || X509_sign(x, issuer_key, EVP_sha256()) == 0) return CertPtr(nullptr, &X509_free);
  return cert;
}

bool WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = cert ? PEM_write_X509(f, cert) == 1
                       : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

TestPki MakeTestPki(const std::string& dir) {
  TestPki pki;
  KeyPtr ca_key = NewKey(), server_key = NewKey(), client_key = NewKey();
  KeyPtr other_ca_key = NewKey(), stranger_key = NewKey();
  if (!ca_key || !server_key || !client_key || !other_ca_key || !stranger_key) {
    pki.error = "cannot make P-256 keys";
    return pki;
  }
  CertPtr ca =
      MakeCertificate(Kind::kCa, "nodehealth test CA", ca_key.get(), nullptr, ca_key.get(), 1);
  CertPtr other_ca = MakeCertificate(Kind::kCa, "nodehealth other CA", other_ca_key.get(), nullptr,
                                     other_ca_key.get(), 2);
  if (!ca || !other_ca) {
    pki.error = "cannot make the CAs";
    return pki;
  }
  CertPtr server =
      MakeCertificate(Kind::kServer, "127.0.0.1", server_key.get(), ca.get(), ca_key.get(), 3);
  CertPtr client =
      MakeCertificate(Kind::kClient, "prometheus", client_key.get(), ca.get(), ca_key.get(), 4);
  CertPtr stranger = MakeCertificate(Kind::kClient, "prometheus", stranger_key.get(),
                                     other_ca.get(), other_ca_key.get(), 5);
  if (!server || !client || !stranger) {
    pki.error = "cannot make the certificates";
    return pki;
  }
  pki.ca_cert = dir + "/ca.crt";
  pki.server_cert = dir + "/server.crt";
  pki.server_key = dir + "/server.key";
  pki.client_cert = dir + "/client.crt";
  pki.client_key = dir + "/client.key";
  pki.stranger_cert = dir + "/stranger.crt";
  pki.stranger_key = dir + "/stranger.key";
  const bool ok = WritePem(pki.ca_cert, ca.get(), nullptr) &&
                  WritePem(pki.server_cert, server.get(), nullptr) &&
                  WritePem(pki.server_key, nullptr, server_key.get()) &&
                  WritePem(pki.client_cert, client.get(), nullptr) &&
                  WritePem(pki.client_key, nullptr, client_key.get()) &&
                  WritePem(pki.stranger_cert, stranger.get(), nullptr) &&
                  WritePem(pki.stranger_key, nullptr, stranger_key.get());
  if (!ok) pki.error = "cannot write the PEM files in " + dir;
  ERR_clear_error();
  return pki;
}

std::string BcryptHash(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    return {};
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(password.c_str(), salt, data.get(), sizeof *data);
  if (hash == nullptr || hash[0] == '*') return {};
  return hash;
}

}  // namespace nodehealth::testing
