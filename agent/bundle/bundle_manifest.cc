#include "agent/bundle/bundle_manifest.h"

#include <openssl/evp.h>

#include <cmath>

#include <nlohmann/json.hpp>

namespace nodehealth::bundle {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

std::string RenderManifest(const ManifestHeader& header, const std::vector<BundleItem>& items) {
  using Json = nlohmann::ordered_json;
  Json files = Json::array();
  for (const BundleItem& item : items) {
    const bool has_file = !item.path.empty() && !item.omitted;
    Json entry;
    entry["path"] = item.path.empty() ? Json(nullptr) : Json(item.path);
    entry["command"] = item.argv.empty() ? Json(nullptr) : Json(item.argv);
    entry["source"] = item.source.empty() ? Json(nullptr) : Json(item.source);
    entry["status"] = item.status;
    entry["exit_status"] = item.exit_status ? Json(*item.exit_status) : Json(nullptr);
    entry["error"] = item.error;
    // Milliseconds are enough for people and keep the file stable to read.
    entry["duration_seconds"] = std::round(item.duration_seconds * 1000) / 1000;
    // An omitted file keeps its size: how much more --max-bytes it would have needed.
    entry["size_bytes"] = item.path.empty() ? 0 : item.size_bytes;
    entry["sha256"] = has_file ? Json(item.sha256) : Json(nullptr);
    entry["truncated"] = item.truncated;
    entry["timed_out"] = item.timed_out;
    entry["omitted"] = item.omitted;
    files.push_back(std::move(entry));
  }
  Json manifest = {{"schema", "nodehealth-bundle/1"},
                   {"node", header.node},
                   {"nodehealth_version", header.version},
                   {"created_at", header.created_at},
                   {"redacted", header.redacted},
                   {"max_bytes", header.max_bytes},
                   {"timeout_seconds", header.timeout_seconds},
                   {"files", std::move(files)}};
  // Invalid UTF-8 in an error text (a tool's stderr) must not abort the dump.
  return manifest.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace nodehealth::bundle
