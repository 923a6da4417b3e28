// NodeInventory: the cheap facts several GPU probes and `--profile auto` need, read once per run
// from the node's files: NVIDIA PCI functions, whether the nvidia kernel module is loaded, and the
// /dev/nvidia* device nodes.
//
// Thread safety: immutable after GatherNodeInventory; shared read-only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/platform/file_system.h"
#include "probes/platform/pci_devices.h"
#include "probes/util/expected.h"

namespace nodehealth {

// A GPU the nvidia kernel driver registered: a directory /proc/driver/nvidia/gpus/<bus id>/ whose
// `information` file has a line "Device Minor: \t <N>" (open-gpu-kernel-modules,
// kernel-open/nvidia/nv-procfs.c, nv_procfs_read_gpu_info).
struct DriverGpu {
  std::string bus_id;
  std::optional<unsigned> minor;  // nullopt when `information` is unreadable or has no minor
};

struct NodeInventory {
  // NVIDIA PCI functions (GPUs, NVSwitches, audio), or why /sys/bus/pci could not be read.
  Expected<platform::PciScan> nvidia_pci = MakeError("not scanned");
  // True when /sys/module/nvidia exists (the kernel module is loaded).
  bool nvidia_module_loaded = false;
  // Minor numbers of /dev/nvidia<N> nodes; nullopt when /dev could not be listed.
  std::optional<std::vector<unsigned>> dev_minors;
  // GPUs in /proc/driver/nvidia/gpus, sorted by bus id; nullopt when that directory cannot be
  // listed (driver not loaded, some VMs and containers).
  std::optional<std::vector<DriverGpu>> driver_gpus;

  // NVIDIA display controllers (GPUs) on PCI, sorted by bus id. Empty when the scan failed.
  std::vector<platform::PciDevice> PciGpus() const;
  // True when the node shows any sign of NVIDIA GPUs: a GPU on PCI, the module, or a device node.
  bool HasNvidiaSigns() const;
};

NodeInventory GatherNodeInventory(const platform::FileSystem& fs);

}  // namespace nodehealth
