// A minimal blocking HTTP/1.1 client for end-to-end tests of loopback servers (the agent's
// /metrics, /report, /healthz; Prometheus's API): plain TCP, no TLS, no compression (it never
// sends Accept-Encoding), Content-Length and chunked bodies.
//
// `host_port` is "HOST:PORT" ("127.0.0.1:9400", "localhost:9400", "[::1]:9400").
// Ownership: no state; ConnectSlowClient hands its socket to the caller.
// Thread safety: every function is reentrant.
// Failure: nothing throws; a failure (cannot connect, timeout, malformed response) sets
// `HttpResponse::error` and keeps whatever was received. Every call ends within its timeout.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace nodehealth::testing {

struct HttpResponse {
  int status = 0;                              // 0: no status line received
  std::map<std::string, std::string> headers;  // names lower-case; a repeated one joined by ", "
  std::string body;                            // de-chunked
  std::string error;                           // empty on success
  bool timed_out = false;                      // the timeout ended the exchange
  std::string raw;                             // every byte received
  bool ok() const { return error.empty(); }
};

// GET `path` (with its query string) with Connection: close; reads the response to its end.
HttpResponse HttpGet(const std::string& host_port, const std::string& path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5),
                     const std::map<std::string, std::string>& extra_headers = {});

// Sends `raw_request` as is and reads until the server closes or the timeout; parses a response
// when there is one (`raw` has the bytes either way). A peer that resets the connection after
// answering is not an error.
HttpResponse HttpRaw(const std::string& host_port, const std::string& raw_request,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Opens a connection, sends `initial_bytes` (may be empty, or a partial request) and returns the
// socket, which the caller keeps open (a slow client) and closes; -1 when it cannot connect.
int ConnectSlowClient(const std::string& host_port, const std::string& initial_bytes = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

// True when the peer has closed `fd` (EOF or reset) within `timeout`; data it sent is discarded.
bool WaitForPeerClose(int fd, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed); -1 on error.
int FreeLoopbackPort();

// "127.0.0.1:PORT".
std::string LoopbackHostPort(int port);

// Polls GET `path` (short intervals, each attempt bounded) until it answers 200; false at the
// timeout. `last` (optional) receives the last response.
bool WaitForHttp(const std::string& host_port, const std::string& path,
                 std::chrono::milliseconds timeout, HttpResponse* last = nullptr);

// Percent-encodes everything except RFC 3986 unreserved characters (for query values).
std::string UrlEncode(std::string_view text);

}  // namespace nodehealth::testing
