#include "agent/http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <set>

#include "agent/config/toml_reader.h"

namespace nodehealth::http {
namespace {

constexpr int kMaxFlowCollections = 16;
constexpr int kMaxIndentColumns = 40;
constexpr int kMaxBlockIndicatorsPerLine = 8;
constexpr int kMinBcryptCost = 4;
// bcrypt's cost is exponential: 16 takes about 6 s per check on the development VM (10 takes
// 0.1 s), and every credential not yet verified waits behind the checks before it.
constexpr int kMaxBcryptCost = 16;

struct WebConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& what) const {
    std::string where = "web config " + path_;
    if (node.IsDefined() && node.Mark().line >= 0)
      where += ":" + std::to_string(node.Mark().line + 1);
    throw WebConfigError{where + ": \"" + key + "\": " + what};
  }

  std::string Scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(node, key, "must be a string");
    return node.Scalar();
  }

  bool Bool(const YAML::Node& node, const std::string& key) const {
    const std::string v = Scalar(node, key);
    if (v == "true" || v == "True" || v == "TRUE") return true;
    if (v == "false" || v == "False" || v == "FALSE") return false;
    Fail(node, key, "must be true or false");
  }

  // Calls `handlers[k]` for each key k of the map `node`; unknown and duplicate keys are errors.
  using Handler = std::function<void(const YAML::Node& value, const std::string& key)>;
  void Walk(const YAML::Node& node, const std::string& prefix,
            const std::map<std::string, Handler>& handlers,
            const std::map<std::string, std::string>& unsupported = {}) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) Fail(node, prefix.empty() ? "(top level)" : prefix, "must be a mapping");
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
      const std::string key = prefix.empty() ? name : prefix + "." + name;
      if (!it->first.IsScalar()) Fail(it->first, prefix, "keys must be strings");
      if (!seen.insert(name).second) Fail(it->first, key, "appears twice");
      if (auto u = unsupported.find(name); u != unsupported.end()) {
        Fail(it->first, key, "is not supported by nodehealth (" + u->second + ")");
      }
      auto h = handlers.find(name);
      if (h == handlers.end()) Fail(it->first, key, "unknown key");
      h->second(it->second, key);
    }
  }

  // Relative file names are taken from the web config's directory, as exporter-toolkit does.
  std::string File(const YAML::Node& node, const std::string& key) const {
    const std::string name = Scalar(node, key);
    if (name.empty()) Fail(node, key, "is empty");
    const std::filesystem::path p(name);
    if (p.is_absolute()) return name;
    return (std::filesystem::path(path_).parent_path() / p).lexically_normal().string();
  }

 private:
  std::string path_;
};

int ReadTlsVersion(const Reader& r, const YAML::Node& node, const std::string& key) {
  static const std::map<std::string, int> kVersions = {
      {"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
  const std::string v = r.Scalar(node, key);
  auto it = kVersions.find(v);
  if (it == kVersions.end())
    r.Fail(node, key, "\"" + v + "\" is not one of TLS10, TLS11, TLS12, TLS13");
  return it->second;
}

ClientAuth ReadClientAuth(const Reader& r, const YAML::Node& node, const std::string& key) {
  static const std::map<std::string, ClientAuth> kTypes = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  const std::string v = r.Scalar(node, key);
  auto it = kTypes.find(v);
  if (it == kTypes.end()) {
    r.Fail(node, key,
           "\"" + v +
               "\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
               "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
  }
  return it->second;
}

std::optional<TlsSettings> ReadTls(const Reader& r, const YAML::Node& node,
                                   const std::string& prefix) {
  if (node.IsNull()) return std::nullopt;
  TlsSettings t;
  bool any = false;
  auto pem_file = [&](PemSource& s) {
    return [&](const YAML::Node& v, const std::string& k) {
      if (!s.empty()) r.Fail(v, k, "given together with " + s.key);
      s.key = k;
      s.file = r.File(v, k);
      any = true;
    };
  };
  auto pem_inline = [&](PemSource& s) {
    return [&](const YAML::Node& v, const std::string& k) {
      if (!s.empty()) r.Fail(v, k, "given together with " + s.key);
      s.key = k;
      s.pem = r.Scalar(v, k);
      if (s.pem.empty()) r.Fail(v, k, "is empty");
      any = true;
    };
  };
  bool has_min = false;
  r.Walk(
      node, prefix,
      {
          {"cert_file", pem_file(t.cert)},
          {"cert", pem_inline(t.cert)},
          {"key_file", pem_file(t.key)},
          {"key", pem_inline(t.key)},
          {"client_ca_file", pem_file(t.client_ca)},
          {"client_ca", pem_inline(t.client_ca)},
          {"client_auth_type",
           [&](const YAML::Node& v, const std::string& k) {
             t.client_auth = ReadClientAuth(r, v, k);
             any = true;
           }},
          {"min_version",
           [&](const YAML::Node& v, const std::string& k) {
             t.min_version = ReadTlsVersion(r, v, k);
             has_min = true;
           }},
          {"max_version", [&](const YAML::Node& v,
                              const std::string& k) { t.max_version = ReadTlsVersion(r, v, k); }},
      },
      {
          {"cipher_suites", "OpenSSL's defaults are used"},
          {"curve_preferences", "OpenSSL's defaults are used"},
          {"prefer_server_cipher_suites", "the server's order is always preferred"},
          {"client_allowed_sans", "use client_ca_file with a CA of its own for the scrapers"},
      });
  if (!any && !has_min) return std::nullopt;  // exporter-toolkit: no TLS field set, no TLS
  if (t.cert.empty()) r.Fail(node, prefix, "missing cert_file (or cert)");
  if (t.key.empty()) r.Fail(node, prefix, "missing key_file (or key)");
  if (t.min_version > t.max_version) {
    r.Fail(node, prefix + ".min_version", "is above max_version");
  }
  const bool verifies = t.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        t.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && t.client_ca.empty()) {
    r.Fail(node, prefix + ".client_ca_file", "is required with this client_auth_type");
  }
  if (!t.client_ca.empty() && t.client_auth == ClientAuth::kNoClientCert) {
    // As exporter-toolkit: a CA without a policy would look like client authentication.
    r.Fail(node, prefix + ".client_auth_type",
           "is NoClientCert, but a client CA is configured: set RequireAndVerifyClientCert");
  }
  return t;
}

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

void ReadHeaders(const Reader& r, const YAML::Node& node, const std::string& prefix, WebConfig& c) {
  // exporter-toolkit's list, with the values it restricts (handler.go, extraHTTPHeaders).
  static const std::map<std::string, std::vector<std::string>> kAllowed = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  std::map<std::string, Reader::Handler> handlers;
  for (const auto& [name, values] : kAllowed) {
    handlers[name] = [&r, &c, name = name, values = values](const YAML::Node& v,
                                                            const std::string& k) {
      const std::string value = r.Scalar(v, k);
      if (HasControlCharacter(value)) r.Fail(v, k, "contains a control character");
      if (value.empty()) return;  // unset, as exporter-toolkit says
      if (!values.empty() && std::find(values.begin(), values.end(), value) == values.end()) {
        std::string list;
        for (const std::string& a : values) list += (list.empty() ? "" : ", ") + a;
        r.Fail(v, k, "\"" + value + "\" is not one of " + list);
      }
      c.headers.emplace_back(name, value);
    };
  }
  r.Walk(node, prefix, handlers);
}

void ReadUsers(const Reader& r, const YAML::Node& node, const std::string& prefix, WebConfig& c) {
  if (node.IsNull()) return;
  if (!node.IsMap()) r.Fail(node, prefix, "must be a mapping of user names to bcrypt hashes");
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) r.Fail(it->first, prefix, "user names must be strings");
    const std::string user = it->first.Scalar();
    const std::string key = prefix + "." + user;
    if (!seen.insert(user).second) r.Fail(it->first, key, "appears twice");
    // RFC 7617: the user-id cannot contain a colon; control characters cannot be sent.
    if (user.empty() || user.find(':') != std::string::npos || HasControlCharacter(user)) {
      r.Fail(it->first, key, "a user name must be non-empty, without ':' or control characters");
    }
    const std::string hash = r.Scalar(it->second, key);
    const std::optional<int> cost = BcryptCost(hash);
    if (!cost) {
      r.Fail(it->second, key,
             "is not a bcrypt hash ($2a$, $2b$ or $2y$, e.g. from `htpasswd -nBC 10 \"\"`)");
    }
    if (*cost < kMinBcryptCost || *cost > kMaxBcryptCost) {
      r.Fail(it->second, key,
             "bcrypt cost " + std::to_string(*cost) + " is outside " +
                 std::to_string(kMinBcryptCost) + ".." + std::to_string(kMaxBcryptCost));
    }
    c.users[user] = hash;
  }
}

// The line of a document marker ("---" or "...", at the start of a line, alone or followed by a
// space) that comes after content: the start of a second document. A marker before any content
// only opens the first one.
std::optional<int> SecondDocument(std::string_view text) {
  bool content = false;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool marker = (line.substr(0, 3) == "---" || line.substr(0, 3) == "...") &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
    if (marker && content) return line_number;
    const std::size_t first = line.find_first_not_of(" \t");
    if (!marker && first != std::string_view::npos && line[first] != '#') content = true;
  }
  return std::nullopt;
}

// Whether the text holds anything but blank lines, comments and document markers.
bool HasContent(std::string_view text) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (line == "---" || line == "..." || line == "---\r" || line == "...\r") continue;
    return true;
  }
  return false;
}

}  // namespace

std::optional<int> BcryptCost(std::string_view hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return std::nullopt;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return std::nullopt;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return std::nullopt;
  }
  for (char c : hash.substr(7)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return std::nullopt;
  }
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

std::optional<std::string> CheckYamlNesting(std::string_view text) {
  // Conservative on purpose: no YAML scanning (quotes and comments would have to be tracked
  // exactly as yaml-cpp does, or a quoted "]]]" would hide real nesting). Each bound holds for
  // any text, so yaml-cpp never sees more than about 16 flow levels plus ~60 block levels.
  const auto flow =
      std::count_if(text.begin(), text.end(), [](char c) { return c == '[' || c == '{'; });
  if (flow > kMaxFlowCollections) {
    return "more than " + std::to_string(kMaxFlowCollections) +
           " flow collections ('[' or '{'); a web config needs none";
  }
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::size_t indent = 0;
    while (indent < line.size() && (line[indent] == ' ' || line[indent] == '\t')) ++indent;
    if (indent == line.size() || line[indent] == '#') continue;
    if (indent > static_cast<std::size_t>(kMaxIndentColumns)) {
      return "line " + std::to_string(line_number) + " is indented more than " +
             std::to_string(kMaxIndentColumns) + " columns";
    }
    int indicators = 0;
    for (std::size_t i = indent; i < line.size(); ++i) {
      const bool indicator = line[i] == '-' || line[i] == '?';
      const bool followed_by_space =
          i + 1 == line.size() || line[i + 1] == ' ' || line[i + 1] == '\t' || line[i + 1] == '\r';
      if (indicator && followed_by_space && (i == indent || line[i - 1] == ' ')) ++indicators;
    }
    if (indicators > kMaxBlockIndicatorsPerLine) {
      return "line " + std::to_string(line_number) + " nests more than " +
             std::to_string(kMaxBlockIndicatorsPerLine) + " block entries";
    }
  }
  return std::nullopt;
}

Expected<WebConfig> ParseWebConfig(std::string_view text, const std::string& path) {
  if (text.size() > kMaxWebConfigBytes) {
    return MakeError("web config " + path + ": larger than " +
                     std::to_string(kMaxWebConfigBytes / 1024) + " KiB");
  }
  if (std::optional<std::string> why = CheckYamlNesting(text)) {
    return MakeError("web config " + path + ": " + *why);
  }
  if (std::optional<int> line = SecondDocument(text)) {
    return MakeError("web config " + path + ":" + std::to_string(*line) +
                     ": more than one document");
  }
  YAML::Node document;
  try {
    // YAML::Load, not LoadAll: yaml-cpp 0.7's LoadAll never returns on some malformed input
    // (found by tests/fuzz/web_config_fuzz); a second document is refused above instead.
    document = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return MakeError("web config " + path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  WebConfig c;
  c.path = path;
  if ((document.IsNull() || !document.IsDefined()) && HasContent(text)) {
    // yaml-cpp 0.7 reads some garbage as an empty document: never take text for "no settings".
    return MakeError("web config " + path + ": not a YAML mapping of settings");
  }
  const Reader r(path);
  try {
    r.Walk(document, "",
           {
               {"tls_server_config",
                [&](const YAML::Node& v, const std::string& k) { c.tls = ReadTls(r, v, k); }},
               {"http_server_config",
                [&](const YAML::Node& v, const std::string& k) {
                  r.Walk(v, k,
                         {
                             {"http2",
                              [&](const YAML::Node& w, const std::string& j) {
                                if (r.Bool(w, j)) {
                                  r.Fail(w, j, "nodehealth serves HTTP/1.1 only: set false");
                                }
                              }},
                             {"headers", [&](const YAML::Node& w,
                                             const std::string& j) { ReadHeaders(r, w, j, c); }},
                         });
                }},
               {"basic_auth_users",
                [&](const YAML::Node& v, const std::string& k) { ReadUsers(r, v, k, c); }},
           },
           {{"rate_limit", "the endpoint serves every client from one event loop"}});
  } catch (const WebConfigError& e) {
    return MakeError(e.message);
  } catch (const YAML::Exception& e) {
    return MakeError("web config " + path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return c;
}

Expected<WebConfig> LoadWebConfig(const std::string& path) {
  Expected<std::string> text = ReadSmallFile(path, "web config");
  if (!text) return text.error();
  return ParseWebConfig(*text, path);
}

}  // namespace nodehealth::http
