// A gzip-compressed POSIX ustar archive (.tar.gz) built in memory: the support bundle's format,
// which `tar -xzf` reads everywhere without options or plug-ins.
//
// Format (POSIX.1-2017 "pax", section ustar Interchange Format): each member is a 512-byte header
// (name, mode, uid, gid, size and mtime as octal text, a checksum that is the sum of the header's
// bytes with the checksum field counted as spaces, type flag, "ustar\0" magic, version "00", and a
// prefix field that holds the leading directories of names longer than 100 bytes) followed by the
// content padded with zeros to a multiple of 512; the archive ends with two zero blocks. The whole
// stream is one gzip member (RFC 1952) written through zlib.
//
// Limits: a name must fit ustar (at most 255 bytes, split at a '/' into prefix <= 155 and name
// <= 100); a member at most 8 GiB - 1 (11 octal digits). Both are errors, never a silent cut.
// Owner is root (0/0, "root"), so an extraction by a normal user keeps the files as theirs.
//
// Thread safety: none; one writer per archive.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth::bundle {

// The bytes a member occupies in the uncompressed tar stream: header plus padded content.
std::uint64_t TarMemberBytes(std::uint64_t content_bytes);
// The two zero blocks that end an archive.
inline constexpr std::uint64_t kTarTrailerBytes = 1024;
// An upper bound of the .tar.gz size for a tar stream of `tar_bytes` (zlib's worst case for
// stored blocks plus the gzip header and trailer): what the size bound is checked against.
std::uint64_t GzipBound(std::uint64_t tar_bytes);

class TarGzWriter {
 public:
  // `mtime` (Unix seconds) stamps every member.
  explicit TarGzWriter(std::int64_t mtime);
  ~TarGzWriter();
  TarGzWriter(const TarGzWriter&) = delete;
  TarGzWriter& operator=(const TarGzWriter&) = delete;

  // A directory member; `name` without the trailing '/' (it is added).
  Expected<bool> AddDirectory(std::string_view name, unsigned mode = 0700);
  Expected<bool> AddFile(std::string_view name, std::string_view content, unsigned mode = 0600);
  // Writes the end-of-archive blocks and the gzip trailer; returns the compressed archive. The
  // writer is spent afterwards.
  Expected<std::string> Finish();

 private:
  Expected<bool> AddMember(std::string_view name, char type, unsigned mode,
                           std::string_view content);
  Expected<bool> Deflate(std::string_view data, int flush);

  std::int64_t mtime_;
  z_stream stream_{};
  bool ready_ = false;
  bool finished_ = false;
  std::string out_;
};

// One gzip member holding `data` (what nvidia-bug-report.sh writes, rewritten after redaction).
Expected<std::string> Gzip(std::string_view data);
// The content of gzip data; an Error when it is not gzip, is damaged or inflates past `max_bytes`.
Expected<std::string> Gunzip(std::string_view data, std::size_t max_bytes);

// Splits `name` into ustar's prefix and name fields; false when it cannot fit.
bool SplitUstarName(std::string_view name, std::string& prefix, std::string& base);

}  // namespace nodehealth::bundle
