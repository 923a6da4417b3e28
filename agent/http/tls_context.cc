#include "agent/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "agent/config/toml_reader.h"

namespace nodehealth::http {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// The last OpenSSL error as text (and the queue emptied), for messages.
std::string OpenSslError() {
  unsigned long code = 0;
  std::string text;
  while (unsigned long e = ERR_get_error()) code = e;
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

std::string Describe(const PemSource& s, const std::string& web_config) {
  std::string d = "web config " + web_config + ": " + s.key;
  if (!s.file.empty()) d += " (" + s.file + ")";
  return d;
}

Expected<std::string> ReadPem(const PemSource& s, const std::string& web_config) {
  if (s.file.empty()) return s.pem;
  Expected<std::string> text = ReadSmallFile(s.file, "file");
  if (!text) return MakeError(Describe(s, web_config) + ": " + text.error().message);
  return text;
}

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
}

// No passphrase prompts: an encrypted key fails instead of blocking on the terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Every certificate in a PEM text.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  Bio bio = MemoryBio(pem);
  while (bio) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (cert == nullptr) break;
    out.emplace_back(cert, &X509_free);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

// For RequestClientCert and RequireAnyClientCert: a certificate is asked for (and with the latter
// required) but not verified, as Go's crypto/tls does for those policies.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// Picks "http/1.1" when the client offers it; otherwise no ALPN (the client falls back to its
// default). h2 is never chosen: this server speaks HTTP/1.1 only.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

Expected<TlsContext> BuildTlsContext(const TlsSettings& settings, const std::string& web_config) {
  TlsContext ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) return MakeError("cannot create a TLS context: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), settings.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), settings.max_version);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx.get(), NoPassphrase);
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);

  Expected<std::string> cert_pem = ReadPem(settings.cert, web_config);
  if (!cert_pem) return cert_pem.error();
  std::vector<X509Ptr> chain = ReadCertificates(*cert_pem);
  if (chain.empty()) {
    return MakeError(Describe(settings.cert, web_config) + ": no PEM certificate found");
  }
  if (SSL_CTX_use_certificate(ctx.get(), chain.front().get()) != 1) {
    return MakeError(Describe(settings.cert, web_config) + ": " + OpenSslError());
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    // add1: the context takes its own reference.
    if (SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get()) != 1) {
      return MakeError(Describe(settings.cert, web_config) + ": " + OpenSslError());
    }
  }

  Expected<std::string> key_pem = ReadPem(settings.key, web_config);
  if (!key_pem) return key_pem.error();
  Bio key_bio = MemoryBio(*key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr),
             &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    return MakeError(Describe(settings.key, web_config) +
                     ": no private key found (an encrypted key is not supported)");
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return MakeError(Describe(settings.key, web_config) + ": does not match " + settings.cert.key +
                     ": " + OpenSslError());
  }

  if (!settings.client_ca.empty()) {
    Expected<std::string> ca_pem = ReadPem(settings.client_ca, web_config);
    if (!ca_pem) return ca_pem.error();
    std::vector<X509Ptr> cas = ReadCertificates(*ca_pem);
    if (cas.empty()) {
      return MakeError(Describe(settings.client_ca, web_config) + ": no PEM certificate found");
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (const X509Ptr& ca : cas) {
      X509_STORE_add_cert(store, ca.get());  // takes its own reference
      if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()))) {
        sk_X509_NAME_push(names, name);
      }
    }
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
  }
  switch (settings.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Session resumption with client certificates needs a context id (OpenSSL refuses otherwise).
  static const unsigned char kSessionContext[] = "nodehealth";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

}  // namespace nodehealth::http
