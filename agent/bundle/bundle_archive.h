// Assembles the support bundle: every collector's BundleItem goes through Add (redaction, size,
// SHA-256, the size bound), then Finish adds SUMMARY.txt and MANIFEST.json and compresses it all
// into one .tar.gz with every member under `top`/.
//
// The size bound (`max_bytes`, --max-bytes): checked against GzipBound of the tar stream, an
// upper bound of the compressed size, so the file never exceeds it. An item that would not fit
// (keeping room for the manifest and summary) is left out with omitted = true and status
// "omitted"; smaller items after it are still taken. If the manifest and summary still do not fit
// at the end, the latest data items are left out until they do; when even they alone do not fit,
// Finish fails (the caller exits 2: --max-bytes too small).
//
// Thread safety: none; one builder per bundle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/bundle/bundle_manifest.h"
#include "agent/bundle/bundle_redaction.h"
#include "probes/util/expected.h"

namespace nodehealth::bundle {

class BundleBuilder {
 public:
  // `redactor` may be null (no --redact); it must outlive the builder.
  BundleBuilder(std::string top, std::uint64_t max_bytes, Redactor* redactor);

  void Add(BundleItem item);
  const std::vector<BundleItem>& items() const { return items_; }

  // The compressed archive; `summary` is redacted here like every other file.
  Expected<std::string> Finish(const ManifestHeader& header, std::string summary,
                               std::int64_t mtime);

 private:
  std::uint64_t DataBytes() const;  // tar bytes of the top directory and admitted items

  std::string top_;
  std::uint64_t max_bytes_;
  Redactor* redactor_;
  std::vector<BundleItem> items_;
};

}  // namespace nodehealth::bundle
