// The agent's HTTP/1.1 request parser (RFC 9112): pure functions on bytes, no I/O, so that the
// event loop (http_server.h) only moves bytes and every oddity of a request is tested on inline
// strings (tests/agent/http_request_test.cc) and fuzzed (tests/fuzz/http_request_fuzz.cc).
//
// What it accepts: a request line `METHOD SP target SP HTTP/1.0|HTTP/1.1`, header fields, an empty
// line; CRLF or a bare LF as line ends (RFC 9112 2.2 allows a recipient to take LF alone); empty
// lines before the request line are skipped (2.2 as well). Targets in origin form
// (`/metrics?x=1`), absolute form (`http://host:9840/metrics`) or `*`. Request bodies are not read:
// a request that announces one is answered and its connection closed (http_server.h).
//
// What it rejects, with the status to answer (the connection is then closed):
//   400  a malformed request line or header field, a field name followed by whitespace before
//        the colon, obs-fold continuation lines, control characters, Content-Length that is not
//        a number or appears twice with different values, Content-Length with
//        Transfer-Encoding (request smuggling), several Host or Authorization fields, HTTP/1.1
//        without Host;
//   431  a head (request line and fields) over `max_head_bytes`, or over `max_fields` fields;
//   505  an HTTP version other than 1.0 and 1.1 (HTTP/2 preface included).
// Bytes that cannot start a request (a TLS ClientHello sent to the plain port, binary garbage)
// are rejected as soon as they arrive, without waiting for a whole line.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodehealth::http {

struct RequestLimits {
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_fields = 64;
};

struct Request {
  std::string method;     // as sent (methods are case-sensitive: "get" is not GET)
  std::string target;     // as sent
  std::string path;       // "/metrics" for "/metrics?x" and "http://h:1/metrics"; "*" for "*"
  std::string query;      // after '?', without it
  int minor_version = 1;  // HTTP/1.<minor_version>
  // Field names lower-cased, values without surrounding whitespace, in the order sent.
  std::vector<std::pair<std::string, std::string>> fields;
  bool keep_alive = true;                    // the client allows another request on this connection
  bool has_body = false;                     // Content-Length above 0, or any Transfer-Encoding
  bool accepts_gzip = false;                 // Accept-Encoding allows gzip (q above 0)
  std::optional<std::string> authorization;  // the Authorization field's value

  // The value of field `lower_case_name`, or nullopt (the first one when repeated).
  std::optional<std::string_view> Field(std::string_view lower_case_name) const;
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  Request request;           // with kComplete
  std::size_t consumed = 0;  // with kComplete: bytes of the head, the next request starts there
  int error_status = 0;      // with kError: 400, 431 or 505
  std::string error;         // with kError: why, for the response body and the debug log
};

// Parses the request at the start of `buffer` (bytes received so far on one connection).
// kIncomplete: wait for more bytes (the head is not complete and nothing is wrong yet).
ParseResult ParseRequest(std::string_view buffer, const RequestLimits& limits = {});

// Whether an Accept-Encoding value allows gzip: "gzip" or "x-gzip" with q above 0, or "*" with q
// above 0 when gzip is not named. Unparseable parts are ignored.
bool AcceptsGzip(std::string_view accept_encoding);

// The user and password of an `Authorization: Basic <base64(user:password)>` value (RFC 7617);
// nullopt for another scheme, bad base64 or no colon.
std::optional<std::pair<std::string, std::string>> ParseBasicCredentials(
    std::string_view authorization);

}  // namespace nodehealth::http
