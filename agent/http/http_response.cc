#include "agent/http/http_response.h"

#include <zlib.h>

#include <ctime>

namespace nodehealth::http {

Response TextResponse(int status, std::string body, FieldList fields) {
  Response r;
  r.status = status;
  r.body = std::make_shared<const std::string>(std::move(body));
  r.fields = std::move(fields);
  return r;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string HttpDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(text, n);
}

std::string RenderResponse(const Response& response, const ResponseFraming& framing) {
  const std::size_t body_size = response.body ? response.body->size() : 0;
  std::string out;
  out.reserve(256 + (framing.head_request ? 0 : body_size));
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += ReasonPhrase(response.status);
  out += "\r\nDate: ";
  out += HttpDate();
  out += "\r\nContent-Type: ";
  out += response.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body_size);
  out += "\r\nCache-Control: no-store\r\n";
  if (response.gzip) out += "Content-Encoding: gzip\r\n";
  if (response.vary_accept_encoding) out += "Vary: Accept-Encoding\r\n";
  if (!framing.keep_alive) {
    out += "Connection: close\r\n";
  } else if (framing.minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  for (const FieldList* list : {&response.fields, framing.extra_fields}) {
    if (list == nullptr) continue;
    for (const auto& [name, value] : *list) {
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
  }
  out += "\r\n";
  if (!framing.head_request && response.body) out += *response.body;
  return out;
}

namespace {

// Raw deflate (no zlib or gzip wrapper) of `data`, ending with `flush`: Z_SYNC_FLUSH leaves the
// stream open at a byte boundary, Z_FINISH writes the final block.
bool RawDeflate(std::string_view data, int flush, std::string& out) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  const std::size_t start = out.size();
  std::size_t room = deflateBound(&z, static_cast<uLong>(data.size())) + 64;
  bool ok = false;
  while (true) {
    out.resize(start + z.total_out + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + start + z.total_out);
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) break;
    // Done when the input is used up and deflate left output room (nothing pending).
    if (flush == Z_FINISH ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out > 0)) {
      ok = true;
      break;
    }
    room = 4096;
  }
  out.resize(start + z.total_out);
  deflateEnd(&z);
  return ok;
}

void AppendLittleEndian32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

GzipPrefix::GzipPrefix(std::string_view prefix) {
  // Bodies here are well under 4 GiB (zlib's uInt); a larger one is refused rather than cut.
  if (prefix.size() > UINT32_MAX / 2) return;
  ok_ = RawDeflate(prefix, Z_SYNC_FLUSH, compressed_);
  crc_ = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(prefix.data()), static_cast<uInt>(prefix.size())));
  length_ = prefix.size();
}

std::string GzipPrefix::Finish(std::string_view tail) const {
  if (!ok_ || tail.size() > UINT32_MAX / 2) return {};
  // RFC 1952: magic, CM=8 (deflate), no flags, no mtime, XFL 0, OS 3 (Unix).
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  out += compressed_;
  // A fresh compressor for the tail: its blocks refer back only to its own bytes, so they may
  // follow the prefix's flushed blocks in one deflate stream.
  if (!RawDeflate(tail, Z_FINISH, out)) return {};
  const uint32_t tail_crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(tail.data()), static_cast<uInt>(tail.size())));
  AppendLittleEndian32(
      out, static_cast<uint32_t>(crc32_combine(crc_, tail_crc, static_cast<z_off_t>(tail.size()))));
  AppendLittleEndian32(out, static_cast<uint32_t>((length_ + tail.size()) & 0xffffffffu));
  return out;
}

std::string Gzip(std::string_view data) { return GzipPrefix(data).Finish({}); }

}  // namespace nodehealth::http
