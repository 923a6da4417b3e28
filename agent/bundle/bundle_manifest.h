// The support bundle's inventory: one BundleItem per thing a collector tried (a command, a file,
// a sysfs view, a metadata request), whether or not it produced a file, and MANIFEST.json, which
// lists them all with what support needs to trust the files: where each came from, how it ended,
// how long it took, its size and SHA-256, and whether it was cut short or left out.
//
// MANIFEST.json, schema "nodehealth-bundle/1":
//   node, nodehealth_version, created_at (RFC 3339 UTC), redacted (bool), max_bytes,
//   timeout_seconds, files: [ { path (below the archive's top directory, null when no file),
//   command (argv, or null), source (path or URL read, or null), status, exit_status (int or
//   null), error (text, "" when none), duration_seconds, size_bytes (also of an omitted file),
//   sha256 (hex, null when no file in the archive), truncated, timed_out, omitted } ]
// status: "ok", "failed" (non-zero exit or unreadable), "timed_out", "not_installed", "skipped"
// (not applicable or turned off), "omitted" (left out by --max-bytes).
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::bundle {

struct BundleItem {
  std::string path;               // archive path below the top directory; empty: no file
  std::vector<std::string> argv;  // the command run, if any
  std::string source;             // the file, directory or URL read, if any
  std::string status = "ok";
  std::optional<int> exit_status;
  std::string error;
  double duration_seconds = 0;
  std::string content;  // the file's bytes (redacted once added to the bundle)
  bool truncated = false;
  bool timed_out = false;
  bool omitted = false;
  // Set when the file is admitted into the archive.
  std::uint64_t size_bytes = 0;
  std::string sha256;
};

struct ManifestHeader {
  std::string node;
  std::string version;
  std::string created_at;
  bool redacted = false;
  std::uint64_t max_bytes = 0;
  double timeout_seconds = 0;
};

std::string RenderManifest(const ManifestHeader& header, const std::vector<BundleItem>& items);

// Lower-case hex SHA-256 of `data` (OpenSSL).
std::string Sha256Hex(std::string_view data);

}  // namespace nodehealth::bundle
