// `nodehealth bundle [--output FILE]`: one .tar.gz an operator attaches to a cloud support request
// for a bad node (docs/bundle.md): a fresh passive check report, the agent's state and
// status files, the kernel log (whole and filtered), nvidia-smi -q, nvidia-bug-report.sh, lspci,
// ibstat, ibv_devinfo, sysfs views of PCI, InfiniBand and DMI, the hwloc topology, GPU serials,
// versions, the config and profile in use, the cloud's instance metadata, SUMMARY.txt and
// MANIFEST.json (bundle_manifest.h).
//
// Bounds: each tool has a deadline (`tool_timeout_seconds`, nvidia-bug-report.sh its own), all of
// them inside the bundle's `timeout_seconds`; each output and file is capped; the archive stays
// within `max_bytes` (bundle_archive.h). A collector that fails is in the manifest, never fatal.
//
// Output: written to a temporary name beside the target (mode 0600: it holds serial numbers) and
// renamed when complete; any failure removes it. stdout gets the path, size and SHA-256.
// Exit: 0 written (whatever collectors failed), 2 bad usage or the archive cannot be written.
//
// Thread safety: one run per process (the check inside arms nothing process-wide).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "agent/bundle/bundle_cloud.h"
#include "agent/engine/check_run.h"

namespace nodehealth::bundle {

struct BundleOptions {
  // --profile, --config, --sysroot, --nvml-library, --topology-xml for the check.
  CheckOptions check;
  std::optional<std::string> output;
  std::optional<std::string> state_dir;
  bool redact = false;
  double timeout_seconds = 300;
  double tool_timeout_seconds = 30;
  double bug_report_timeout_seconds = 120;
  std::uint64_t max_bytes = 256u << 20;
  std::string azure_imds_endpoint = kDefaultAzureImdsEndpoint;
  std::string gcp_metadata_endpoint = kDefaultGcpMetadataEndpoint;
  bool no_cloud_metadata = false;
  std::string version;  // nodehealth's
};

struct BundleResult {
  int exit_code = 0;
  // An abandoned probe thread or a wedged NVML call: end with std::_Exit (check_run.h).
  bool must_exit_immediately = false;
};

BundleResult RunBundle(const BundleOptions& options, std::ostream& out, std::ostream& err);

}  // namespace nodehealth::bundle
