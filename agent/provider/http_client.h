// One HTTP exchange through libcurl (Debian 12's libcurl4-openssl), for the calls nodehealth makes
// to its cloud: the instance metadata services (plain HTTP to a link-local address, by design of
// both clouds) and the management APIs (HTTPS).
//
//   * every exchange has a deadline (connect and total) and a response-size bound; a larger body
//     ends the transfer with an error, never an unbounded buffer;
//   * only http and https, no redirects (a redirect could carry the bearer token elsewhere), no
//     proxy for metadata endpoints (`use_proxy = false`: a proxy must never see a metadata token
//     request, and the endpoints are link-local anyway);
//   * `ca_file`, when set, replaces the system's trust store (tests use a throwaway CA);
//   * headers are sent exactly as given; the caller adds Authorization, and nothing here logs a
//     header or a body.
//
// Configured URLs are checked when the config is read (agent/config/endpoint_policy.h).
//
// Thread safety: HttpExchange is reentrant (one easy handle per call; libcurl's global init runs
// once, on first use, under a std::call_once). Failure: nothing throws; `error` says what failed.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::provider {

struct HttpCall {
  std::string method = "GET";  // GET, PUT, POST
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent in this order
  std::string body;                                          // sent when not empty (or PUT/POST)
  std::chrono::milliseconds timeout{10000};                  // the whole exchange
  std::chrono::milliseconds connect_timeout{3000};
  std::size_t max_response_bytes = 1u << 20;
  std::string ca_file;    // empty: the system's trust store
  bool use_proxy = true;  // false: ignore http_proxy/https_proxy for this call
};

struct HttpResult {
  long status = 0;                             // 0: no HTTP status received
  std::map<std::string, std::string> headers;  // names lower-case; the last of a repeated one
  std::string body;
  std::string error;       // empty when a status was received
  bool timed_out = false;  // the deadline ended the exchange
  double seconds = 0;
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

HttpResult HttpExchange(const HttpCall& call);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string UrlEncode(const std::string& value);

}  // namespace nodehealth::provider
