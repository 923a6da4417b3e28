// A minimal blocking HTTP/1.1 client for loopback servers: the end-to-end tests use it against the
// agent and Prometheus (slurm-healthcheck no longer asks the agent over TCP: agent_verdict.h).
// Plain TCP, no TLS, no compression (it never sends Accept-Encoding), Content-Length, chunked and
// close-delimited bodies; at most 256 MiB.
//
// `host_port` is "HOST:PORT" ("127.0.0.1:9840", "localhost:9840", "[::1]:9840").
// Ownership: no state; ConnectTcp hands its socket to the caller.
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

// A connected non-blocking TCP socket to `host_port` within `timeout`, or -1 with `error` set.
int ConnectTcp(const std::string& host_port, std::chrono::milliseconds timeout, std::string& error);

// Writes all of `data` to the non-blocking socket `fd` within `timeout`; false with `error` set.
bool SendAllBefore(int fd, std::string_view data, std::chrono::milliseconds timeout,
                   std::string& error);

}  // namespace nodehealth::testing
