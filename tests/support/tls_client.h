// A small blocking HTTPS client for the endpoint's tests (OpenSSL): one request with
// "Connection: close", or a raw exchange, over TLS 1.2/1.3, verifying the server against a CA
// file (or not), with an optional client certificate. Every call ends within its timeout.
//
// Thread safety: reentrant. Failure: `HttpResponse::error` says what failed (the TLS alert text
// for a refused handshake); `handshake_failed` tells a refused handshake from a later failure.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "tests/support/loopback_http.h"

namespace nodehealth::testing {

struct TlsClientOptions {
  std::string ca_file = "";    // empty: the server certificate is not verified
  std::string cert_file = "";  // client certificate (with key_file), or empty
  std::string key_file = "";
  std::string server_name = "127.0.0.1";
};

struct TlsResponse : testing::HttpResponse {
  bool handshake_failed = false;
};

// GET `path` with "Connection: close" and `headers`; reads the response to the end.
TlsResponse TlsGet(const std::string& host_port, const std::string& path,
                   const TlsClientOptions& options,
                   const std::map<std::string, std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// "Authorization: Basic ..." for user:password.
std::string BasicAuthorization(const std::string& user, const std::string& password);

// Parses a whole HTTP/1.x response (status, lower-case headers, body by Content-Length or to
// the end) into `out`; false when there is no status line.
bool ParseHttpResponse(const std::string& raw, testing::HttpResponse& out);

}  // namespace nodehealth::testing
