// HTTP helpers for end-to-end tests of loopback servers (the agent's /metrics, /report, /healthz;
// Prometheus's API), on top of loopback_http.h: slow clients, free ports, waiting for a
// server to answer.
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

#include "tests/support/loopback_http.h"

namespace nodehealth::testing {

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

// One kept-alive connection, as Prometheus keeps between scrapes: requests are sent on it one
// after the other and each response is read by its Content-Length. Not for chunked responses.
class KeptAliveConnection {
 public:
  explicit KeptAliveConnection(const std::string& host_port,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~KeptAliveConnection();
  KeptAliveConnection(const KeptAliveConnection&) = delete;
  KeptAliveConnection& operator=(const KeptAliveConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  // Sends `raw_request` and reads one response (without a body when `head`).
  HttpResponse Exchange(const std::string& raw_request,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5),
                        bool head = false);

 private:
  int fd_ = -1;
  std::string error_;
  std::string buffer_;  // bytes received beyond the last response
};

}  // namespace nodehealth::testing
