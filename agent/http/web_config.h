// The agent's web configuration file (`--web-config FILE`, `[agent] web_config`): TLS and basic
// authentication for /metrics, /report, /healthz and /, in the format of Prometheus'
// exporter-toolkit, which node_exporter and most exporters read with --web.config.file
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md):
//
//   tls_server_config:
//     cert_file: server.crt          # or cert: <PEM text>; relative paths: from this file's dir
//     key_file: server.key           # or key: <PEM text> (unencrypted PEM)
//     client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default), RequestClientCert,
//                                    # RequireAnyClientCert, VerifyClientCertIfGiven
//     client_ca_file: ca.crt         # or client_ca: <PEM text>; required to verify clients
//     min_version: TLS12             # TLS10 .. TLS13 (default TLS12)
//     max_version: TLS13             # (default TLS13)
//   http_server_config:
//     http2: false                   # nodehealth serves HTTP/1.1 only: true is refused
//     headers:                       # exporter-toolkit's five: Content-Security-Policy,
//       X-Content-Type-Options: nosniff   # X-Frame-Options (deny|sameorigin),
//                                    # X-Content-Type-Options (nosniff), X-XSS-Protection,
//                                    # Strict-Transport-Security
//   basic_auth_users:                # user: bcrypt hash ($2a$, $2b$, $2y$; cost 4 .. 16)
//     prometheus: $2y$10$...
//
// Keys exporter-toolkit has and nodehealth does not support (cipher_suites, curve_preferences,
// prefer_server_cipher_suites, client_allowed_sans, rate_limit) and unknown keys are errors, as
// are duplicate keys: a setting that would be silently ignored is a security setting not applied.
//
// Bounds: the file is read with ReadSmallFile and must be at most 64 KiB; before yaml-cpp sees it,
// its nesting is checked (at most 16 flow collections, indentation at most 40 columns, at most 8
// nested block entries on one line). yaml-cpp's parser recurses once per level: before 0.7.0 a
// line of `[[[[...` overflowed its stack (CVE-2017-5950); 0.7.0 stops at a depth of a few hundred
// but reports it as "bad file" at the end of the text. The bound holds whatever the version and
// says what is wrong. Parsing is pure (ParseWebConfig); certificate and key files are read
// later, by the TLS set-up (tls_context.h).
//
// Errors: "web config FILE:LINE: \"tls_server_config.min_version\": ..." naming the file, the line
// where known and the key; the agent prints it and exits 2 (at start) or keeps the running
// configuration (SIGHUP).
//
// Thread safety: pure functions and a value type.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::http {

enum class ClientAuth {
  kNoClientCert,               // no certificate asked for
  kRequestClientCert,          // asked for, not required, not verified
  kRequireAnyClientCert,       // required, not verified
  kVerifyClientCertIfGiven,    // verified against client_ca when sent
  kRequireAndVerifyClientCert  // required and verified: the only one that authenticates
};

// A PEM value: read from a file (`file`, absolute after parsing) or given inline (`pem`).
struct PemSource {
  std::string key;   // the config key it came from, for messages ("tls_server_config.cert_file")
  std::string file;  // empty when inline
  std::string pem;   // inline text
  bool empty() const { return file.empty() && pem.empty(); }
};

struct TlsSettings {
  PemSource cert;
  PemSource key;
  PemSource client_ca;  // empty: none
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  int min_version = 0x0303;  // TLS 1.2 (OpenSSL's TLS1_2_VERSION)
  int max_version = 0x0304;  // TLS 1.3
};

struct WebConfig {
  std::string path;                          // the file, for messages; empty: no file
  std::optional<TlsSettings> tls;            // nullopt: plain HTTP
  std::map<std::string, std::string> users;  // user -> bcrypt hash; empty: no authentication
  std::vector<std::pair<std::string, std::string>> headers;  // added to every response
};

inline constexpr std::size_t kMaxWebConfigBytes = 64 * 1024;

// Parses the text of a web config read from `path` (used for messages and as the directory of
// relative file names).
Expected<WebConfig> ParseWebConfig(std::string_view text, const std::string& path);

// Reads `path` (ReadSmallFile, at most kMaxWebConfigBytes) and parses it.
Expected<WebConfig> LoadWebConfig(const std::string& path);

// nullopt when the YAML text's nesting is within the bounds above, else why not (with the line).
std::optional<std::string> CheckYamlNesting(std::string_view text);

// A bcrypt hash as crypt(3) writes it: "$2a$", "$2b$" or "$2y$", two cost digits, "$", 53
// characters of [./A-Za-z0-9]. Its cost, or nullopt.
std::optional<int> BcryptCost(std::string_view hash);

}  // namespace nodehealth::http
