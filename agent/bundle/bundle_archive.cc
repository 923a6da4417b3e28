#include "agent/bundle/bundle_archive.h"

#include "agent/bundle/tar_writer.h"

namespace nodehealth::bundle {
namespace {

// Room kept for SUMMARY.txt and MANIFEST.json while data files are admitted: a manifest entry is
// about 400 bytes, a summary a few KiB. Finish makes room itself if this was too little.
constexpr std::uint64_t kMetaReserve = 16u << 10;
constexpr std::uint64_t kReservePerItem = 512;

void Omit(BundleItem& item, std::uint64_t max_bytes) {
  const std::string previous =
      item.status == "ok" ? "" : " (collector status " + item.status + ": " + item.error + ")";
  item.omitted = true;
  item.status = "omitted";
  item.error = "left out: the archive would exceed --max-bytes " + std::to_string(max_bytes) +
               " with its " + std::to_string(item.size_bytes) + " bytes" + previous;
  item.content.clear();
  item.content.shrink_to_fit();
}

}  // namespace

BundleBuilder::BundleBuilder(std::string top, std::uint64_t max_bytes, Redactor* redactor)
    : top_(std::move(top)), max_bytes_(max_bytes), redactor_(redactor) {}

std::uint64_t BundleBuilder::DataBytes() const {
  std::uint64_t total = TarMemberBytes(0);  // the top directory
  for (const BundleItem& item : items_) {
    if (!item.path.empty() && !item.omitted) total += TarMemberBytes(item.content.size());
  }
  return total;
}

void BundleBuilder::Add(BundleItem item) {
  if (item.path.empty()) {
    items_.push_back(std::move(item));
    return;
  }
  if (redactor_ != nullptr) {
    Expected<std::string> redacted = redactor_->File(item.path, item.content);
    if (!redacted) {
      // Unredacted bytes must not go in: the file is listed without its content.
      item.status = "failed";
      item.error = "left out: cannot redact " + item.path + ": " + redacted.error().message;
      item.path.clear();
      item.content.clear();
      items_.push_back(std::move(item));
      return;
    }
    item.content = std::move(*redacted);
  }
  item.size_bytes = item.content.size();
  item.sha256 = Sha256Hex(item.content);
  const std::uint64_t reserve = kMetaReserve + kReservePerItem * (items_.size() + 16);
  const std::uint64_t tar_bytes =
      DataBytes() + TarMemberBytes(item.content.size()) + reserve + kTarTrailerBytes;
  if (GzipBound(tar_bytes) > max_bytes_) Omit(item, max_bytes_);
  items_.push_back(std::move(item));
}

Expected<std::string> BundleBuilder::Finish(const ManifestHeader& header, std::string summary,
                                            std::int64_t mtime) {
  if (redactor_ != nullptr) summary = redactor_->Text(summary);
  BundleItem summary_item;
  summary_item.path = "SUMMARY.txt";
  summary_item.source = "nodehealth";
  summary_item.size_bytes = summary.size();
  summary_item.sha256 = Sha256Hex(summary);
  summary_item.content = std::move(summary);

  std::string manifest;
  for (;;) {
    // The summary is listed too (the manifest cannot list itself); its text stays aside.
    std::string summary_text = std::move(summary_item.content);
    items_.push_back(std::move(summary_item));
    manifest = RenderManifest(header, items_);
    summary_item = std::move(items_.back());
    items_.pop_back();
    summary_item.content = std::move(summary_text);
    if (redactor_ != nullptr) manifest = redactor_->Json(manifest);
    const std::uint64_t tar_bytes = DataBytes() + TarMemberBytes(summary_item.content.size()) +
                                    TarMemberBytes(manifest.size()) + kTarTrailerBytes;
    if (GzipBound(tar_bytes) <= max_bytes_) break;
    // Evict the latest admitted data file and try again.
    auto last = items_.rbegin();
    while (last != items_.rend() && (last->path.empty() || last->omitted)) ++last;
    if (last == items_.rend()) {
      return MakeError("--max-bytes " + std::to_string(max_bytes_) +
                       " is too small for even the manifest and summary (" +
                       std::to_string(GzipBound(tar_bytes)) + " bytes)");
    }
    Omit(*last, max_bytes_);
  }

  TarGzWriter writer(mtime);
  if (Expected<bool> ok = writer.AddDirectory(top_); !ok) return ok.error();
  for (const BundleItem& item : items_) {
    if (item.path.empty() || item.omitted) continue;
    if (Expected<bool> ok = writer.AddFile(top_ + "/" + item.path, item.content); !ok) {
      return ok.error();
    }
  }
  if (Expected<bool> ok = writer.AddFile(top_ + "/SUMMARY.txt", summary_item.content); !ok) {
    return ok.error();
  }
  if (Expected<bool> ok = writer.AddFile(top_ + "/MANIFEST.json", manifest); !ok) {
    return ok.error();
  }
  return writer.Finish();
}

}  // namespace nodehealth::bundle
