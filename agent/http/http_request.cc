#include "agent/http/http_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace nodehealth::http {
namespace {

// RFC 9110 5.6.2: tchar.
bool IsTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `each` with every element of a comma-separated list, trimmed, empty ones skipped.
template <class F>
void ForEachListElement(std::string_view list, F each) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = TrimWhitespace(list.substr(0, comma));
    if (!element.empty()) each(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

ParseResult Fail(int status, std::string why) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

// The bytes received so far cannot begin a request line: the method's first bytes must be token
// characters up to the first space. Catches a TLS ClientHello (0x16) or garbage at once.
bool CannotStartRequest(std::string_view rest) {
  for (char c : rest) {
    if (c == ' ') return false;
    if (!IsTokenChar(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// Splits the target into path and query. False when it is not in a form this server serves.
bool SplitTarget(std::string_view target, Request& r) {
  if (target == "*") {
    // assign(1, c), not = "*": GCC 12 at -O3 warns falsely (-Wrestrict, GCC bug 105329) about a
    // one-character literal assigned to a std::string here.
    r.path.assign(1, '*');
    return true;
  }
  std::string_view rest = target;
  if (rest.empty()) return false;
  if (rest.front() != '/') {
    // Absolute form (RFC 9112 3.2.2): a server must accept it. Only http and https.
    std::size_t scheme_end = rest.find("://");
    if (scheme_end == std::string_view::npos) return false;
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
    rest.remove_prefix(scheme_end + 3);
    const std::size_t path_start = rest.find_first_of("/?");
    if (path_start == 0) return false;  // no authority
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  }
  const std::size_t q = rest.find('?');
  r.path = std::string(rest.substr(0, q));
  if (r.path.empty()) r.path.assign(1, '/');
  if (q != std::string_view::npos) r.query = std::string(rest.substr(q + 1));
  return true;
}

bool ValidFieldValue(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

}  // namespace

std::optional<std::string_view> Request::Field(std::string_view lower_case_name) const {
  for (const auto& [name, value] : fields) {
    if (name == lower_case_name) return std::string_view(value);
  }
  return std::nullopt;
}

ParseResult ParseRequest(std::string_view buffer, const RequestLimits& limits) {
  // Empty lines before the request line are skipped (RFC 9112 2.2).
  std::size_t pos = 0;
  while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) ++pos;
  if (pos > 0 && pos >= limits.max_head_bytes) return Fail(431, "request head too large");

  // Lines of the head, each without its line end, up to the empty line that ends it.
  std::vector<std::string_view> lines;
  std::size_t end_of_head = std::string_view::npos;
  std::size_t cursor = pos;
  while (cursor < buffer.size()) {
    const std::size_t nl = buffer.find('\n', cursor);
    if (nl == std::string_view::npos) break;
    std::string_view line = buffer.substr(cursor, nl - cursor);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    cursor = nl + 1;
    if (line.empty()) {
      end_of_head = cursor;
      break;
    }
    lines.push_back(line);
    if (lines.size() > limits.max_fields + 1) return Fail(431, "too many header fields");
  }
  if (end_of_head == std::string_view::npos) {
    if (buffer.size() >= limits.max_head_bytes) return Fail(431, "request head too large");
    const std::string_view first =
        lines.empty() ? buffer.substr(pos) : lines.front();  // partial request line so far
    if (CannotStartRequest(first)) return Fail(400, "not an HTTP request");
    if (lines.empty()) return {};
    // The request line is complete: check it now rather than after the fields.
  }
  if (end_of_head != std::string_view::npos && end_of_head > limits.max_head_bytes) {
    return Fail(431, "request head too large");
  }

  ParseResult result;
  Request& r = result.request;
  {
    const std::string_view line = lines.front();
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
      return Fail(400, "malformed request line");
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!IsToken(method)) return Fail(400, "malformed method");
    if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return u <= 0x20 || u >= 0x7f;
        })) {
      return Fail(400, "malformed request target");
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(version[5]) ||
        version[6] != '.' || !std::isdigit(version[7])) {
      return Fail(400, "malformed HTTP version");
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
      return Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    }
    r.method = std::string(method);
    r.target = std::string(target);
    r.minor_version = version[7] - '0';
    if (!SplitTarget(target, r)) return Fail(400, "unsupported request target");
  }
  if (end_of_head == std::string_view::npos) return {};  // request line fine, fields to come

  int hosts = 0;
  bool close = false;
  bool keep_alive_token = false;
  std::optional<uint64_t> content_length;
  bool transfer_encoding = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return Fail(400, "obsolete line folding");  // RFC 9112 5.2: reject or replace; we reject
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(400, "header field without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      // Includes whitespace between the name and the colon (RFC 9112 5.1: must be rejected).
      return Fail(400, "malformed header field name");
    }
    const std::string_view value = TrimWhitespace(line.substr(colon + 1));
    if (!ValidFieldValue(value)) return Fail(400, "control character in a header field");
    std::string lower = Lower(name);
    if (lower == "host") {
      ++hosts;
    } else if (lower == "connection") {
      ForEachListElement(value, [&](std::string_view token) {
        if (EqualsIgnoreCase(token, "close")) close = true;
        if (EqualsIgnoreCase(token, "keep-alive")) keep_alive_token = true;
      });
    } else if (lower == "content-length") {
      uint64_t length = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return Fail(400, "malformed Content-Length");
      }
      if (content_length && *content_length != length) {
        return Fail(400, "conflicting Content-Length fields");
      }
      content_length = length;
    } else if (lower == "transfer-encoding") {
      transfer_encoding = true;
    } else if (lower == "accept-encoding") {
      r.accepts_gzip = r.accepts_gzip || AcceptsGzip(value);
    } else if (lower == "authorization") {
      if (r.authorization) return Fail(400, "more than one Authorization field");
      r.authorization = std::string(value);
    }
    r.fields.emplace_back(std::move(lower), std::string(value));
  }
  if (r.fields.size() > limits.max_fields) return Fail(431, "too many header fields");
  if (hosts > 1) return Fail(400, "more than one Host field");
  if (hosts == 0 && r.minor_version == 1) return Fail(400, "HTTP/1.1 request without Host");
  if (content_length && transfer_encoding) {
    return Fail(400, "both Content-Length and Transfer-Encoding");
  }
  r.has_body = transfer_encoding || content_length.value_or(0) > 0;
  r.keep_alive = r.minor_version == 1 ? !close : keep_alive_token && !close;
  result.status = ParseStatus::kComplete;
  result.consumed = end_of_head;
  return result;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<bool> gzip;      // named explicitly: its q decides
  std::optional<bool> wildcard;  // "*"
  ForEachListElement(accept_encoding, [&](std::string_view element) {
    const std::size_t semicolon = element.find(';');
    const std::string_view coding = TrimWhitespace(element.substr(0, semicolon));
    bool acceptable = true;
    if (semicolon != std::string_view::npos) {
      std::string_view params = element.substr(semicolon + 1);
      while (!params.empty()) {
        const std::size_t next = params.find(';');
        const std::string_view param = TrimWhitespace(params.substr(0, next));
        if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          // qvalue: "0", "0.000" .. "1": zero means "not acceptable" (RFC 9110 12.4.2).
          const std::string_view q = param.substr(2);
          acceptable = std::any_of(q.begin(), q.end(), [](char c) { return c >= '1' && c <= '9'; });
        }
        if (next == std::string_view::npos) break;
        params.remove_prefix(next + 1);
      }
    }
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      gzip = acceptable;
    } else if (coding == "*") {
      wildcard = acceptable;
    }
  });
  if (gzip) return *gzip;
  return wildcard.value_or(false);
}

namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> DecodeBase64(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> ParseBasicCredentials(
    std::string_view authorization) {
  authorization = TrimWhitespace(authorization);
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos ||
      !EqualsIgnoreCase(authorization.substr(0, space), "basic")) {
    return std::nullopt;
  }
  const std::optional<std::string> decoded =
      DecodeBase64(TrimWhitespace(authorization.substr(space + 1)));
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

}  // namespace nodehealth::http
