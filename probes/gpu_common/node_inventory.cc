#include "probes/gpu_common/node_inventory.h"

#include <charconv>

namespace nodehealth {

std::vector<platform::PciDevice> NodeInventory::PciGpus() const {
  std::vector<platform::PciDevice> gpus;
  if (!nvidia_pci) return gpus;
  for (const platform::PciDevice& device : nvidia_pci->devices) {
    if (platform::IsDisplayController(device)) gpus.push_back(device);
  }
  return gpus;
}

bool NodeInventory::HasNvidiaSigns() const {
  return !PciGpus().empty() || nvidia_module_loaded || (dev_minors && !dev_minors->empty());
}

NodeInventory GatherNodeInventory(const platform::FileSystem& fs) {
  NodeInventory inventory;
  inventory.nvidia_pci = platform::ScanPciDevices(fs, platform::kPciVendorNvidia);
  inventory.nvidia_module_loaded = fs.Exists("/sys/module/nvidia");
  if (Expected<std::vector<std::string>> names = fs.ListDir("/dev")) {
    std::vector<unsigned> minors;
    for (const std::string& name : *names) {
      // "nvidia0".."nvidia<N>"; not nvidiactl, nvidia-uvm, nvidia-nvswitch0, nvidia-caps.
      if (name.size() <= 6 || name.compare(0, 6, "nvidia") != 0) continue;
      unsigned minor = 0;
      const char* first = name.data() + 6;
      const char* last = name.data() + name.size();
      auto [ptr, ec] = std::from_chars(first, last, minor);
      if (ec == std::errc() && ptr == last) minors.push_back(minor);
    }
    inventory.dev_minors = std::move(minors);
  }
  return inventory;
}

}  // namespace nodehealth
