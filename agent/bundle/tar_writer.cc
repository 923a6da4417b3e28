#include "agent/bundle/tar_writer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace nodehealth::bundle {
namespace {

constexpr std::size_t kBlock = 512;
// The largest size the 12-byte field holds as 11 octal digits.
constexpr std::uint64_t kMaxMemberBytes = (std::uint64_t{1} << 33) - 1;

// `value` as zero-padded octal filling `width - 1` bytes, then NUL (the ustar convention).
bool PutOctal(char* field, std::size_t width, std::uint64_t value) {
  std::array<char, 32> digits{};
  const int n = std::snprintf(digits.data(), digits.size(), "%0*llo", static_cast<int>(width - 1),
                              static_cast<unsigned long long>(value));
  if (n < 0 || static_cast<std::size_t>(n) != width - 1) return false;
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
  return true;
}

void PutText(char* field, std::size_t width, std::string_view text) {
  std::memcpy(field, text.data(), std::min(width, text.size()));
}

}  // namespace

std::uint64_t TarMemberBytes(std::uint64_t content_bytes) {
  return kBlock + (content_bytes + kBlock - 1) / kBlock * kBlock;
}

std::uint64_t GzipBound(std::uint64_t tar_bytes) {
  // compressBound is zlib's own worst case (stored blocks); +18 for the gzip header and trailer
  // in place of zlib's 6 bytes, and a block of slack for the stream being fed in pieces.
  return compressBound(static_cast<uLong>(tar_bytes)) + 18 + kBlock;
}

bool SplitUstarName(std::string_view name, std::string& prefix, std::string& base) {
  if (name.empty()) return false;
  if (name.size() <= 100) {
    prefix.clear();
    base = std::string(name);
    return true;
  }
  // The prefix ends at a '/', which neither field keeps; the longest prefix that fits leaves the
  // shortest name.
  for (std::size_t slash = std::min<std::size_t>(name.size() - 1, 155);; --slash) {
    if (name[slash] == '/' && name.size() - slash - 1 <= 100 && name.size() - slash - 1 > 0) {
      prefix = std::string(name.substr(0, slash));
      base = std::string(name.substr(slash + 1));
      return true;
    }
    if (slash == 0) return false;
  }
}

TarGzWriter::TarGzWriter(std::int64_t mtime) : mtime_(mtime) {
  // windowBits 15 + 16: a gzip wrapper instead of zlib's (zlib.h, deflateInit2).
  ready_ = deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                        Z_DEFAULT_STRATEGY) == Z_OK;
}

TarGzWriter::~TarGzWriter() {
  if (ready_) deflateEnd(&stream_);
}

Expected<bool> TarGzWriter::Deflate(std::string_view data, int flush) {
  if (!ready_ || finished_) return MakeError("archive writer is not usable");
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream_.avail_in = static_cast<uInt>(data.size());
  std::array<char, 65536> chunk;
  for (;;) {
    stream_.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream_.avail_out = static_cast<uInt>(chunk.size());
    const int rc = deflate(&stream_, flush);
    if (rc == Z_STREAM_ERROR) return MakeError("zlib deflate failed");
    out_.append(chunk.data(), chunk.size() - stream_.avail_out);
    if (flush == Z_FINISH ? rc == Z_STREAM_END : stream_.avail_in == 0 && stream_.avail_out != 0) {
      return true;
    }
  }
}

Expected<bool> TarGzWriter::AddMember(std::string_view name, char type, unsigned mode,
                                      std::string_view content) {
  std::string prefix;
  std::string base;
  if (!SplitUstarName(name, prefix, base)) {
    return MakeError("archive member name does not fit ustar: " + std::string(name));
  }
  if (content.size() > kMaxMemberBytes) {
    return MakeError("archive member too large for ustar: " + std::string(name));
  }
  std::array<char, kBlock> header{};
  char* h = header.data();
  PutText(h + 0, 100, base);
  PutOctal(h + 100, 8, mode & 07777);
  PutOctal(h + 108, 8, 0);  // uid
  PutOctal(h + 116, 8, 0);  // gid
  PutOctal(h + 124, 12, content.size());
  PutOctal(h + 136, 12, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime_, 0)));
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);  // magic with its NUL
  std::memcpy(h + 263, "00", 2);     // version, no NUL
  PutText(h + 265, 32, "root");
  PutText(h + 297, 32, "root");
  PutText(h + 345, 155, prefix);
  // The checksum is computed with its own field as eight spaces, then stored as six octal
  // digits, NUL and a space (what GNU tar and libarchive write and expect).
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : header) sum += static_cast<unsigned char>(c);
  std::snprintf(h + 148, 7, "%06o", sum);
  h[154] = '\0';
  h[155] = ' ';

  if (Expected<bool> ok = Deflate(std::string_view(h, kBlock), Z_NO_FLUSH); !ok) return ok;
  if (!content.empty()) {
    if (Expected<bool> ok = Deflate(content, Z_NO_FLUSH); !ok) return ok;
    const std::size_t pad = (kBlock - content.size() % kBlock) % kBlock;
    if (pad > 0) {
      const std::array<char, kBlock> zeros{};
      if (Expected<bool> ok = Deflate(std::string_view(zeros.data(), pad), Z_NO_FLUSH); !ok) {
        return ok;
      }
    }
  }
  return true;
}

Expected<bool> TarGzWriter::AddDirectory(std::string_view name, unsigned mode) {
  return AddMember(std::string(name) + "/", '5', mode, {});
}

Expected<bool> TarGzWriter::AddFile(std::string_view name, std::string_view content,
                                    unsigned mode) {
  return AddMember(name, '0', mode, content);
}

Expected<std::string> Gzip(std::string_view data) {
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return MakeError("zlib deflateInit2 failed");
  }
  std::string out(compressBound(static_cast<uLong>(data.size())) + 32, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) return MakeError("zlib deflate failed");
  return out;
}

Expected<std::string> Gunzip(std::string_view data, std::size_t max_bytes) {
  z_stream s{};
  // 15 + 32: a gzip or zlib header, detected (zlib.h, inflateInit2).
  if (inflateInit2(&s, 15 + 32) != Z_OK) return MakeError("zlib inflateInit2 failed");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 65536> chunk;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    s.next_out = reinterpret_cast<Bytef*>(chunk.data());
    s.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&s, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&s);
      return MakeError(std::string("not gzip data, or damaged: ") + (s.msg ? s.msg : "zlib error"));
    }
    out.append(chunk.data(), chunk.size() - s.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&s);
      return MakeError("inflates to more than " + std::to_string(max_bytes) + " bytes");
    }
    if (rc == Z_OK && s.avail_in == 0 && s.avail_out != 0) {
      inflateEnd(&s);
      return MakeError("gzip data ends early");
    }
  }
  inflateEnd(&s);
  return out;
}

Expected<std::string> TarGzWriter::Finish() {
  const std::array<char, kTarTrailerBytes> zeros{};
  if (Expected<bool> ok = Deflate(std::string_view(zeros.data(), zeros.size()), Z_FINISH); !ok) {
    return ok.error();
  }
  finished_ = true;
  return std::move(out_);
}

}  // namespace nodehealth::bundle
