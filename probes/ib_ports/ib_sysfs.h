// The RDMA devices and ports of a node as /sys/class/infiniband shows them, read through a
// FileSystem (so --sysroot and fixture trees work).
//
// Layout read (drivers/infiniband/core/sysfs.c):
//   /sys/class/infiniband/<dev>/{board_id,fw_ver,hca_type,node_guid,node_type}
//   /sys/class/infiniband/<dev>/device            -> the PCI function (absent in some fixtures)
//   /sys/class/infiniband/<dev>/ports/<n>/{link_layer,state,phys_state,rate,lid}
//   /sys/class/infiniband/<dev>/ports/<n>/{counters,counters_ext,hw_counters}/<name>
//
// Failure behaviour: a missing attribute is normal (older kernels, iWARP, fixtures) and stays
// empty; an attribute that exists but cannot be read or parsed is recorded in `problems` of its
// device or port, so the probe can say "cannot tell" instead of "healthy". Counter files reading
// "N/A (no PMA)" are listed as unreadable, never as zero.
//
// Thread safety: a pure function over a FileSystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/ib_ports/ib_counters.h"
#include "probes/ib_ports/ib_sysfs_values.h"
#include "probes/platform/file_system.h"
#include "probes/platform/pci_devices.h"
#include "probes/util/expected.h"

namespace nodehealth::ib {

inline constexpr std::string_view kInfinibandClassDir = "/sys/class/infiniband";

struct PortCounter {
  std::string directory;  // "counters", "counters_ext", "hw_counters"
  std::string file;
  uint64_t value = 0;
  const CounterSpec* spec = nullptr;  // nullptr for hw_counters
};

struct Port {
  int number = 0;
  std::string dir;         // node path of the port directory
  std::string link_layer;  // "InfiniBand", "Ethernet", ... (empty when the file is absent)
  std::optional<IdAndName> state;
  std::optional<IdAndName> phys_state;
  std::optional<PortRate> rate;
  std::string rate_text;  // as printed, for evidence
  std::optional<uint32_t> lid;
  std::vector<PortCounter> counters;
  std::vector<std::string> unreadable_counters;  // "counters/symbol_error" reading N/A (no PMA)
  std::vector<std::string> problems;

  bool active() const { return state && state->id == kPortStateActive; }
};

struct Device {
  std::string name;  // "mlx5_0"
  std::string board_id;
  std::string fw_ver;
  std::string hca_type;
  std::string node_guid;
  std::optional<platform::PciDevice> pci;  // when <dev>/device links to a PCI function
  std::vector<Port> ports;
  std::vector<std::string> problems;
};

struct Scan {
  bool class_present = false;   // /sys/class/infiniband exists
  std::vector<Device> devices;  // sorted by name
};

// Error only when /sys/class/infiniband exists but cannot be listed. A node without the directory
// (no RDMA driver loaded) yields class_present = false and no devices.
Expected<Scan> ScanInfiniband(const platform::FileSystem& fs);

}  // namespace nodehealth::ib
