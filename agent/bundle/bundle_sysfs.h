// Text views of the node's sysfs for the support bundle, read through the rooted FileSystem (so
// --sysroot and fixtures work) with its size caps: what `lspci -vvv`, `ibstat` and `dmidecode`
// would show, for nodes without those tools and for the counters ibstat leaves out.
//
//   PciView         one line per device: vendor, device, class, current/max link speed and width
//   InfinibandView  per HCA: fw_ver, board_id, node_guid; per port: state, phys_state, rate,
//                   link_layer and every counters/* and hw_counters/* value
//   DmiView         every attribute of /sys/class/dmi/id; one that cannot be read (several are
//                   root-only) is noted with its error, never fatal
//
// Thread safety: pure functions of the file system.
#pragma once

#include <map>
#include <string>

#include "probes/platform/file_system.h"

namespace nodehealth::bundle {

std::string PciView(const platform::FileSystem& fs);
std::string InfinibandView(const platform::FileSystem& fs);
std::string DmiView(const platform::FileSystem& fs);

// What support asks for first. Empty fields were not found.
struct NodeVersions {
  std::string kernel;          // /proc/version (uname(2) on a live node without it)
  std::string driver;          // /proc/driver/nvidia/version, first line
  std::string driver_module;   // /sys/module/nvidia/version
  std::string driver_nvml;     // the report's driver_info driver_version
  std::string cuda;            // the report's driver_info cuda_version
  std::string fabric_manager;  // first line of `nv-fabricmanager --version`
  std::map<std::string, std::string> hca_firmware;  // device -> fw_ver
};

NodeVersions GatherVersions(const platform::FileSystem& fs, bool live);
std::string RenderVersions(const NodeVersions& versions, const std::string& nodehealth_version);

}  // namespace nodehealth::bundle
