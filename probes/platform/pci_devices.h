// PCI devices as sysfs shows them under /sys/bus/pci/devices. A scan reads one file per device
// (`vendor`) and the rest only for devices of the wanted vendor, because a GPU node has 500+ PCI
// functions and the passive sweep has a budget of milliseconds (bench/README.md).
//
// Thread safety: pure functions over a FileSystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/platform/file_system.h"
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

// Display controllers (class 0x03xxxx): VGA 0x0300, 3D 0x0302. NVSwitch functions are bridges
// (0x0680) and audio functions of consumer cards are 0x0403; neither is a GPU.
bool IsDisplayController(const PciDevice& device);

}  // namespace nodehealth::platform
