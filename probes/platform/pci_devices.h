// PCI devices as sysfs shows them under /sys/bus/pci/devices. A GPU node has 500+ PCI functions
// and reading one sysfs file costs microseconds, so a scan first reads /proc/bus/pci/devices (one
// file listing every function's vendor and device id) and opens sysfs only for functions whose
// vendor may be the wanted one (bench/README.md has the figures). That file has no PCI domain,
// so it only filters: a function it does not list, or lists ambiguously, is read from sysfs.
//
// Thread safety: pure functions over a FileSystem.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/platform/file_system.h"
#include "probes/platform/sysfs_values.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

inline constexpr uint32_t kPciVendorNvidia = 0x10de;
inline constexpr uint32_t kPciVendorMellanox = 0x15b3;

struct PcieLink {
  std::optional<int> generation;  // 1..6; nullopt when sysfs says "Unknown" or lacks the file
  std::optional<int> width;       // lanes
};

struct PciDevice {
  std::string bus_id;  // "0000:19:00.0"
  uint32_t vendor = 0;
  uint32_t device = 0;
  uint32_t class_code = 0;  // 24-bit: 0x030200 = 3D controller
  std::optional<int> numa_node;
  PcieLink current_link;
  PcieLink max_link;
  std::string driver;                 // bound driver ("nvidia"), empty when unbound
  std::vector<std::string> problems;  // attributes that exist but could not be parsed
};

struct PciScan {
  std::vector<PciDevice> devices;  // of the wanted vendor, sorted by bus id
  // Devices whose vendor could not be read or parsed: they might be of the wanted vendor, so a
  // caller must not conclude "none present" while this is non-empty.
  std::vector<std::string> unreadable;
  int total_devices = 0;
};

// Scans /sys/bus/pci/devices for devices of `vendor`. Error only when the directory itself
// cannot be listed (a node without /sys/bus/pci is an error, not "no GPUs").
Expected<PciScan> ScanPciDevices(const FileSystem& fs, uint32_t vendor);

// Reads one PCI function's attributes from its sysfs directory `dir` (which may be reached through
// a class link such as /sys/class/infiniband/mlx5_0/device); `name` is its bus address. `vendor` is
// left 0: callers that need it have read it already.
PciDevice ReadPciDevice(const FileSystem& fs, const std::string& dir, std::string_view name);

// Display controllers (class 0x03xxxx): VGA 0x0300, 3D 0x0302. NVSwitch functions are bridges
// (0x0680) and audio functions of consumer cards are 0x0403; neither is a GPU.
bool IsDisplayController(const PciDevice& device);

}  // namespace nodehealth::platform
