#include "probes/gpu_common/node_inventory.h"

#include <algorithm>
#include <charconv>
#include <string_view>

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

namespace {

constexpr std::string_view kDriverGpus = "/proc/driver/nvidia/gpus";
// More entries than any node has GPUs: a bound on the files read per run.
constexpr std::size_t kMaxDriverGpus = 64;

// "Device Minor: \t 3" in /proc/driver/nvidia/gpus/<bus id>/information.
std::optional<unsigned> ParseDeviceMinor(std::string_view text) {
  constexpr std::string_view kKey = "Device Minor:";
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    unsigned minor = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), minor);
    if (ec != std::errc() || ptr != line.data() + line.size() || line.empty()) return std::nullopt;
    return minor;
  }
  return std::nullopt;
}

}  // namespace

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
  if (Expected<std::vector<std::string>> names = fs.ListDir(kDriverGpus)) {
    std::sort(names->begin(), names->end());
    std::vector<DriverGpu> gpus;
    for (const std::string& name : *names) {
      if (gpus.size() >= kMaxDriverGpus) break;
      DriverGpu gpu{.bus_id = name, .minor = std::nullopt};
      if (Expected<std::string> text =
              fs.ReadFile(std::string(kDriverGpus) + "/" + name + "/information", 16 * 1024)) {
        gpu.minor = ParseDeviceMinor(*text);
      }
      gpus.push_back(std::move(gpu));
    }
    inventory.driver_gpus = std::move(gpus);
  }
  return inventory;
}

}  // namespace nodehealth
