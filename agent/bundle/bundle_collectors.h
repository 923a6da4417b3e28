// The support bundle's collectors: each runs one tool or reads one source under a deadline and
// returns BundleItems (bundle_manifest.h) that say how it went. Nothing here is fatal: a missing
// tool is "not_installed", a hung one is killed with its process group at its deadline
// (platform::RunChild) and "timed_out", an unreadable file "failed" with the reason; the bundle
// carries on with the next collector.
//
// Bounds: every tool's output is capped (`max_output`, truncated = true when reached); files are
// read through platform::ReadRegularFile (regular files only: never a FIFO or a device) or the
// rooted FileSystem, both with size caps; the kernel log through platform::ReadKernelLog.
//
// Thread safety: reentrant; RunChild reads `environ`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/bundle/bundle_manifest.h"
#include "probes/platform/deadline.h"
#include "probes/platform/file_system.h"
#include "probes/platform/nvml_runtime.h"

namespace nodehealth::bundle {

// The executable `name` in $PATH (or `name` itself when it contains '/'), or "" when none.
std::string FindProgram(std::string_view name);

// Runs `argv` (argv[0] searched in $PATH) and stores its stdout at `path`; its stderr (first
// 4 KiB) goes into the item's error when it failed. Status "not_installed" without a file when
// argv[0] is not found.
BundleItem RunTool(std::string path, std::vector<std::string> argv, platform::Deadline deadline,
                   std::size_t max_output = 16u << 20);

// A copy of a regular file of the machine running nodehealth (config, profile, state files).
BundleItem CopyFile(std::string path, const std::string& host_path, std::size_t max_bytes,
                    std::string_view what);

// A file made by nodehealth itself (a sysfs view, the report).
BundleItem TextItem(std::string path, std::string source, std::string content);

// kernel/kmsg.txt (the whole buffer: <root>/dev/kmsg, else `dmesg` on a live node) and
// kernel/filtered.txt (NVRM / Xid, mlx5 and PCIe AER lines of it).
std::vector<BundleItem> CollectKernelLog(const platform::FileSystem& fs, bool live,
                                         platform::Deadline deadline, std::size_t max_bytes);

// nvidia-bug-report.sh into a temporary directory; its .log.gz becomes the item's content.
BundleItem CollectNvidiaBugReport(platform::Deadline deadline, std::size_t max_bytes);

// topology/topology.xml: a copy of --topology-xml, else `lstopo-no-graphics --of xml` (with
// `--input <sysroot>` for a recorded node).
BundleItem CollectTopologyXml(const std::string& sysroot, const std::string& topology_xml,
                              platform::Deadline deadline);

// One GPU as NVML names it.
struct GpuIdentity {
  unsigned index = 0;
  std::string bus_id;
  std::string serial;
  std::string uuid;
  std::string name;
  std::string vbios;
};

// gpus.json from NVML through `nvml` (a hung call is abandoned at the deadline and leaves the
// runtime wedged: the caller then ends the process with std::_Exit); `gpus` receives what was
// read.
BundleItem CollectGpuIdentities(platform::NvmlRuntime& nvml, platform::Deadline deadline,
                                std::vector<GpuIdentity>& gpus);

// True for kernel-log lines support asks for first: the NVIDIA driver (NVRM, Xid), mlx5 and PCIe
// AER.
bool IsFilteredKernelLine(std::string_view line);

}  // namespace nodehealth::bundle
