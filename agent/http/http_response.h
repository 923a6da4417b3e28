// HTTP/1.1 responses of the agent's server, written as one buffer (status line, header fields and
// body together) so that the event loop hands each response to the kernel in one write: with
// TCP_NODELAY nothing of it waits for the client's delayed ACK (README, bench/README.md: a
// head and a body written apart cost a kept-alive gzip scrape 40 ms under civetweb).
//
// Also gzip (RFC 1952) through zlib, with a prefix compressed once and a small tail per response:
// /metrics is the snapshot's text, compressed once per snapshot, plus the endpoint's own counters,
// compressed per scrape (GzipPrefix).
//
// Thread safety: pure functions; a GzipPrefix is immutable after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodehealth::http {

using FieldList = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::shared_ptr<const std::string> body;  // null: empty
  bool gzip = false;                        // `body` is gzip: Content-Encoding: gzip
  bool vary_accept_encoding = false;        // the body depends on Accept-Encoding
  FieldList fields;                         // more fields (Retry-After, Allow, WWW-Authenticate)
};

// A response with a plain-text body.
Response TextResponse(int status, std::string body, FieldList fields = {});

std::string_view ReasonPhrase(int status);

struct ResponseFraming {
  bool head_request = false;  // HEAD: the fields of GET, no body
  bool keep_alive = true;     // false: "Connection: close"
  int minor_version = 1;      // HTTP/1.0 clients that keep alive get "Connection: keep-alive"
  const FieldList* extra_fields = nullptr;  // the web config's http_server_config.headers
};

// Status line, fields (Date, Content-Type, Content-Length, Cache-Control, Connection, ...) and
// the body, in one string.
std::string RenderResponse(const Response& response, const ResponseFraming& framing);

// The current time as an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string HttpDate();

// gzip of `prefix + tail` where the prefix is compressed once (raw deflate flushed to a byte
// boundary) and each Finish() compresses only its tail and appends the gzip trailer (CRC-32
// combined, length). Level 6, zlib's default.
class GzipPrefix {
 public:
  explicit GzipPrefix(std::string_view prefix);
  std::string Finish(std::string_view tail) const;
  bool ok() const { return ok_; }

 private:
  std::string compressed_;  // raw deflate blocks, none final
  uint32_t crc_ = 0;
  uint64_t length_ = 0;
  bool ok_ = false;
};

// gzip of `data` (one member); empty on a zlib error.
std::string Gzip(std::string_view data);

}  // namespace nodehealth::http
