// nodehealth's own HTTP/1.1 server: one thread, one epoll loop, non-blocking sockets. It replaces
// civetweb's thread per connection, under which four idle or trickling clients held all four
// workers and Prometheus' scrapes failed (issue 13, item 14). Here no client can hold anything
// but its own connection slot, and slots are bounded with a policy that keeps prompt clients in.
//
// Per connection:
//   * a request deadline: a new connection must complete its TLS handshake and send a whole
//     request head within `request_timeout` (5 s) of being accepted; on a kept-alive connection,
//     within `request_timeout` of the first byte of the next request. Late: 408 and close.
//   * an idle deadline: a kept-alive connection without a request in progress is closed after
//     `idle_timeout` (60 s; Prometheus reconnects when it has closed one).
//   * a write deadline: a response the client does not take within `write_timeout` (10 s) is
//     abandoned and the connection closed.
//   * requests are parsed by http_request.h (head at most 16 KiB, 64 fields); GET and HEAD only
//     (405 with Allow), pipelined requests answered in order, keep-alive whenever the client
//     allows it (HTTP/1.1 unless "Connection: close"; HTTP/1.0 with "Connection: keep-alive"),
//     except after a request that carries a body (not read: answered, then closed) or an error.
//   * every response is one buffer written at once (head and body together), TCP_NODELAY set:
//     a kept-alive scrape never waits for the client's delayed ACK (item 16).
//
// The bound: at most `max_connections` (256) open connections. When a new one arrives at the
// bound, one is closed to make room, in this order: one already answered and closing; else the
// kept-alive connection idle the longest (closing an idle connection is allowed by HTTP, and
// clients retry on a new one); else the connection that has waited the longest without
// completing a request (handshake or head); else the one whose response has made no progress for
// the longest, if over a second (a reader that stalls on purpose); else (all are being answered,
// or wait for their credential check) the new one. A client that connects, sends its request
// promptly and reads its answer is therefore never the one closed while slower ones are open.
//
// TLS (web_config.h, tls_context.h): OpenSSL on the same non-blocking sockets, handshakes inside
// the request deadline. A plain-text request to the TLS port gets a plain "400: Client sent an
// HTTP request to an HTTPS server" (Go's answer, which Prometheus users know) and is closed.
// Basic authentication (basic_auth.h): bcrypt on a worker thread, cached; 401 with
// `WWW-Authenticate: Basic realm="nodehealth"` for a missing or wrong credential, 503 with
// Retry-After when the check queue is full.
//
// Ownership: the server owns its thread, sockets and contexts. The handler must not block: it runs
// on the loop thread (the agent's handler copies a snapshot).
// Thread safety: Start, SetSecurity, Stats, port and the destructor may be called from any thread
// (one at a time); the handler is only called on the loop thread.
// Failure: Start returns an Error when the address cannot be parsed or bound. Later socket errors
// close the connection concerned, never the server. The destructor stops the loop and returns
// within about 100 ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/http/http_request.h"
#include "agent/http/http_response.h"
#include "agent/http/listen_socket.h"
#include "agent/http/tls_context.h"
#include "probes/util/expected.h"

namespace nodehealth::http {

// What applies to requests: TLS for new connections, users, extra response fields. Immutable;
// SetSecurity swaps it whole.
struct ServerSecurity {
  TlsContext tls;                            // null: plain HTTP
  std::map<std::string, std::string> users;  // empty: no authentication
  FieldList headers;                         // http_server_config.headers
};

// Builds it from a parsed web config (reads the certificate files): the agent's start and SIGHUP.
Expected<std::shared_ptr<const ServerSecurity>> BuildServerSecurity(const WebConfig& config);

struct ServerOptions {
  std::string listen = "0.0.0.0:9840";
  std::size_t max_connections = 256;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds auth_timeout{10000};  // a request waiting for its bcrypt check
  std::size_t auth_queue = 32;
  RequestLimits limits;
};

// Counters since start; read at any time (a scrape shows them as nodehealth_http_*).
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  uint64_t closed_evicted = 0;          // closed to make room at max_connections
  uint64_t closed_request_timeout = 0;  // no complete request (or TLS handshake) in time
  uint64_t closed_idle = 0;             // kept-alive connection idle past idle_timeout
  uint64_t closed_write_timeout = 0;
  uint64_t closed_bad_request = 0;  // 400/431/505, or not HTTP at all
  uint64_t tls_handshake_failures = 0;
  uint64_t auth_failures = 0;         // 401 answers
  uint64_t auth_busy = 0;             // 503 answers: the check queue was full
  uint64_t auth_checks = 0;           // bcrypt checks run (the cache spares repeated ones)
  std::map<int, uint64_t> responses;  // by status code
};

using RequestHandler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  static Expected<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                     std::shared_ptr<const ServerSecurity> security,
                                                     RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // New connections use the new TLS context; every request from now on the new users and fields.
  void SetSecurity(std::shared_ptr<const ServerSecurity> security);
  ServerStats Stats() const;

  class Loop;  // the event loop (http_server.cc)

 private:
  HttpServer() = default;
  std::unique_ptr<Loop> loop_;
};

}  // namespace nodehealth::http
