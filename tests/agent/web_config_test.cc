// The web configuration file (agent/http/web_config.h) and the TLS context built from it
// (tls_context.h): exporter-toolkit's keys, relative paths, every refusal with the file, line and
// key it names, the nesting bound checked before yaml-cpp recurses into the text, and the
// certificate and key errors.
#include "agent/http/web_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/http/http_server.h"
#include "agent/http/tls_context.h"
#include "tests/support/fixture_node.h"
#include "tests/support/tls_test_files.h"

namespace nodehealth::http {
namespace {

const char kHash[] = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

std::string ErrorOf(std::string_view yaml) {
  Expected<WebConfig> c = ParseWebConfig(yaml, "/etc/nodehealth/web.yml");
  return c ? "(parsed)" : c.error().message;
}

TEST(WebConfigTest, ExporterToolkitExample) {
  const std::string yaml = std::string(R"(# comments are fine
tls_server_config:
  cert_file: server.crt
  key_file: /secure/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca/ca.crt
  min_version: TLS13
http_server_config:
  http2: false
  headers:
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: ""
basic_auth_users:
  prometheus: )") + kHash +
                           "\n  'alice@example': " + kHash + "\n";
  Expected<WebConfig> c = ParseWebConfig(yaml, "/etc/nodehealth/web.yml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->tls->cert.file, "/etc/nodehealth/server.crt");
  EXPECT_EQ(c->tls->cert.key, "tls_server_config.cert_file");
  EXPECT_EQ(c->tls->key.file, "/secure/server.key");
  EXPECT_EQ(c->tls->client_ca.file, "/etc/ca/ca.crt");
  EXPECT_EQ(c->tls->client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(c->tls->min_version, 0x0304);
  EXPECT_EQ(c->tls->max_version, 0x0304);
  EXPECT_EQ(c->users.size(), 2u);
  EXPECT_EQ(c->users.at("prometheus"), kHash);
  EXPECT_EQ(c->users.at("alice@example"), kHash);
  const FieldList expected_headers = {{"X-Content-Type-Options", "nosniff"},
                                      {"Strict-Transport-Security", "max-age=31536000"}};
  EXPECT_EQ(c->headers, expected_headers);  // in file order; the blank X-Frame-Options is unset
}

TEST(WebConfigTest, EmptyFilesAndSectionsMeanPlainHttp) {
  for (const char* yaml : {"", "# nothing\n", "tls_server_config:\nbasic_auth_users:\n",
                           "tls_server_config: {}\n", "---\n"}) {
    Expected<WebConfig> c = ParseWebConfig(yaml, "w.yml");
    ASSERT_TRUE(c) << yaml << ": " << c.error().message;
    EXPECT_FALSE(c->tls.has_value()) << yaml;
    EXPECT_TRUE(c->users.empty()) << yaml;
  }
  Expected<WebConfig> c = ParseWebConfig(std::string("basic_auth_users:\n  u: ") + kHash, "w.yml");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->tls.has_value());  // basic auth without TLS is allowed (exporter-toolkit too)
  EXPECT_EQ(c->users.size(), 1u);
}

TEST(WebConfigTest, RefusalsNameTheFileLineAndKey) {
  const std::string f = "web config /etc/nodehealth/web.yml";
  EXPECT_EQ(
      ErrorOf("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS14\n"),
      f + ":4: \"tls_server_config.min_version\": \"TLS14\" is not one of TLS10, TLS11, "
          "TLS12, TLS13");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a.crt\n"),
            f + ":2: \"tls_server_config\": missing key_file (or key)");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  key_file: a.key\n"),
            f + ":2: \"tls_server_config\": missing cert_file (or cert)");
  EXPECT_EQ(
      ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n"),
      f + ":4: \"tls_server_config.client_auth_type\": \"Maybe\" is not one of NoClientCert, "
          "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
          "RequireAndVerifyClientCert");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n"),
            f + ":2: \"tls_server_config.client_ca_file\": is required with this client_auth_type");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n"),
            f + ":2: \"tls_server_config.client_auth_type\": is NoClientCert, but a client CA is "
                "configured: set RequireAndVerifyClientCert");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
                    "  max_version: TLS12\n"),
            f + ":2: \"tls_server_config.min_version\": is above max_version");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  cert: b\n  key_file: c\n"),
            f + ":3: \"tls_server_config.cert\": given together with tls_server_config.cert_file");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: \"\"\n"),
            f + ":2: \"tls_server_config.cert_file\": is empty");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: [a]\n"),
            f + ":2: \"tls_server_config.cert_file\": must be a string");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
            f + ":2: \"tls_server_config.cipher_suites\": is not supported by nodehealth "
                "(OpenSSL's defaults are used)");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  client_allowed_sans: [x]\n"),
            f + ":2: \"tls_server_config.client_allowed_sans\": is not supported by nodehealth "
                "(use client_ca_file with a CA of its own for the scrapers)");
  EXPECT_EQ(ErrorOf("rate_limit:\n  interval: 1s\n"),
            f + ":1: \"rate_limit\": is not supported by nodehealth (the endpoint serves every "
                "client from one event loop)");
  EXPECT_EQ(ErrorOf("tls_server_config: {}\ntls_config: {}\n"),
            f + ":2: \"tls_config\": unknown key");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  cert_file: b\n"),
            f + ":3: \"tls_server_config.cert_file\": appears twice");
  EXPECT_EQ(ErrorOf("http_server_config:\n  http2: true\n"),
            f + ":2: \"http_server_config.http2\": nodehealth serves HTTP/1.1 only: set false");
  EXPECT_EQ(ErrorOf("http_server_config:\n  http2: maybe\n"),
            f + ":2: \"http_server_config.http2\": must be true or false");
  EXPECT_EQ(ErrorOf("http_server_config:\n  headers:\n    Server: nodehealth\n"),
            f + ":3: \"http_server_config.headers.Server\": unknown key");
  EXPECT_EQ(ErrorOf("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
            f + ":3: \"http_server_config.headers.X-Frame-Options\": \"allow\" is not one of deny, "
                "sameorigin");
  EXPECT_EQ(
      ErrorOf("http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a\"\n"),
      f + ":3: \"http_server_config.headers.X-XSS-Protection\": contains a control character");
  EXPECT_EQ(ErrorOf("basic_auth_users:\n  prometheus: hunter2\n"),
            f + ":2: \"basic_auth_users.prometheus\": is not a bcrypt hash ($2a$, $2b$ or $2y$, "
                "e.g. from `htpasswd -nBC 10 \"\"`)");
  EXPECT_EQ(ErrorOf("basic_auth_users:\n  prometheus: "
                    "$2y$31$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n"),
            f + ":2: \"basic_auth_users.prometheus\": bcrypt cost 31 is outside 4..16");
  EXPECT_EQ(ErrorOf(std::string("basic_auth_users:\n  \"a:b\": ") + kHash + "\n"),
            f + ":2: \"basic_auth_users.a:b\": a user name must be non-empty, without ':' or "
                "control characters");
  EXPECT_EQ(ErrorOf(std::string("basic_auth_users:\n  u: ") + kHash + "\n  u: " + kHash + "\n"),
            f + ":3: \"basic_auth_users.u\": appears twice");
  EXPECT_EQ(ErrorOf("basic_auth_users: [a, b]\n"),
            f + ":1: \"basic_auth_users\": must be a mapping of user names to bcrypt hashes");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), f + ":1: \"(top level)\": must be a mapping");
  EXPECT_EQ(ErrorOf("a: 1\n---\nb: 2\n"), f + ":2: more than one document");
  EXPECT_EQ(ErrorOf("---\ntls_server_config:\n...\n"), f + ":3: more than one document");
  // A line that yaml-cpp 0.7's LoadAll loops on for ever (found by the fuzzer): an error now.
  EXPECT_EQ(ErrorOf(",tlkey_fxile: {interval: 1s}\nx: \x10\x10\x10\x10\x10\x10*r\n---\nb\x02 c"),
            f + ":3: more than one document");
  // Garbage that yaml-cpp reads as an empty document is not "no settings".
  EXPECT_EQ(ErrorOf(",tlkey_fxile: {interval: 1s}\nx: \x10\x10*r\n"),
            f + ": not a YAML mapping of settings");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a: b\n"), f + ":2: illegal map value");
}

TEST(WebConfigTest, NestingIsBoundedBeforeYamlCppSeesIt) {
  // yaml-cpp recurses once per flow level: before 0.7.0, 60,000 of them overflowed its stack;
  // Debian's 0.7.0 stops itself and says "bad file" at line 2. The bound says what is wrong.
  const std::string deep = "basic_auth_users: " + std::string(60000, '[') + "\n";
  EXPECT_EQ(ErrorOf(deep),
            "web config /etc/nodehealth/web.yml: more than 16 flow collections ('[' or '{'); a web "
            "config needs none");
  std::string braces;
  for (int i = 0; i < 17; ++i) braces += "{a: ";
  EXPECT_NE(ErrorOf(braces).find("more than 16 flow collections"), std::string::npos);
  // Block nesting: entries on one line, and indentation.
  EXPECT_EQ(ErrorOf("basic_auth_users:\n  - - - - - - - - - x\n"),
            "web config /etc/nodehealth/web.yml: line 2 nests more than 8 block entries");
  EXPECT_EQ(ErrorOf("a:\n" + std::string(41, ' ') + "b: c\n"),
            "web config /etc/nodehealth/web.yml: line 2 is indented more than 40 columns");
  // Within the bounds, yaml-cpp decides (and our reader refuses the shape).
  EXPECT_EQ(ErrorOf("basic_auth_users: [[[[x]]]]\n"),
            "web config /etc/nodehealth/web.yml:1: \"basic_auth_users\": must be a mapping of user "
            "names to bcrypt hashes");
  EXPECT_EQ(ErrorOf(std::string(kMaxWebConfigBytes + 1, '#')),
            "web config /etc/nodehealth/web.yml: larger than 64 KiB");
}

TEST(WebConfigTest, BcryptCost) {
  EXPECT_EQ(BcryptCost(kHash), 10);
  EXPECT_EQ(BcryptCost("$2a$04$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"), 4);
  EXPECT_EQ(BcryptCost("$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"),
            std::nullopt);
  EXPECT_EQ(BcryptCost("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z"),
            std::nullopt);
  EXPECT_EQ(BcryptCost("$2y$1a$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"),
            std::nullopt);
  EXPECT_EQ(BcryptCost("$6$rounds=5000$abc$def"), std::nullopt);
}

// A YAML block scalar's lines, four spaces in.
std::string Indented(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out += "    " + text.substr(start, end - start);
    start = end;
  }
  return out;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(WebConfigTest, TlsContextFromRealFiles) {
  testing::TempDir dir;
  const testing::TestPki pki = testing::MakeTestPki(dir.path());
  ASSERT_TRUE(pki.ok()) << pki.error;
  const std::string web = dir.path() + "/web.yml";
  // Relative names, from the web config's directory.
  Write(web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  Expected<WebConfig> c = LoadWebConfig(web);
  ASSERT_TRUE(c) << c.error().message;
  Expected<std::shared_ptr<const ServerSecurity>> security = BuildServerSecurity(*c);
  ASSERT_TRUE(security) << security.error().message;
  EXPECT_NE((*security)->tls, nullptr);

  // Inline PEM works the same.
  std::ifstream cert_in(pki.server_cert), key_in(pki.server_key);
  const std::string cert((std::istreambuf_iterator<char>(cert_in)), {});
  const std::string key((std::istreambuf_iterator<char>(key_in)), {});
  Expected<WebConfig> inline_config = ParseWebConfig(
      "tls_server_config:\n  cert: |\n" + Indented(cert) + "  key: |\n" + Indented(key), web);
  ASSERT_TRUE(inline_config) << inline_config.error().message;
  EXPECT_TRUE(BuildServerSecurity(*inline_config)) << "inline PEM";

  // Errors name the web config, the key and the file.
  const auto error_of = [&](const std::string& yaml) {
    Write(web, yaml);
    Expected<WebConfig> parsed = LoadWebConfig(web);
    if (!parsed) return parsed.error().message;
    Expected<std::shared_ptr<const ServerSecurity>> built = BuildServerSecurity(*parsed);
    return built ? std::string("(built)") : built.error().message;
  };
  const std::string w = "web config " + web + ": ";
  EXPECT_EQ(error_of("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n"),
            w + "tls_server_config.cert_file (" + dir.path() + "/missing.crt): cannot open file " +
                dir.path() + "/missing.crt: No such file or directory");
  EXPECT_EQ(
      error_of("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n"),
      w + "tls_server_config.cert_file (" + dir.path() + "/server.key): no PEM certificate found");
  EXPECT_EQ(error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n"),
            w + "tls_server_config.key_file (" + dir.path() +
                "/server.crt): no private key found (an encrypted key is not supported)");
  const std::string mismatch =
      error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n");
  EXPECT_EQ(mismatch.rfind(w + "tls_server_config.key_file (" + dir.path() +
                               "/client.key): does not match tls_server_config.cert_file: ",
                           0),
            0u)
      << mismatch;
  EXPECT_EQ(
      error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
               "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n"),
      w + "tls_server_config.client_ca_file (" + dir.path() +
          "/server.key): no PEM certificate found");
  EXPECT_EQ(LoadWebConfig(dir.path() + "/absent.yml").error().message,
            "cannot open web config " + dir.path() + "/absent.yml: No such file or directory");
}

}  // namespace
}  // namespace nodehealth::http
