#include "probes/gpu_presence/source_sets.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "probes/entity.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

// Bus ids listed in one evidence line; more are counted, not named.
constexpr std::size_t kMaxListed = 16;

std::string DescribeBusIds(const std::set<std::string>& ids) {
  if (ids.empty()) return "none (0)";
  std::string out;
  std::size_t listed = 0;
  for (const std::string& id : ids) {
    if (listed == kMaxListed) {
      out += " ...";
      break;
    }
    if (!out.empty()) out += ' ';
    out += id;
    ++listed;
  }
  return out + " (" + std::to_string(ids.size()) + ")";
}

// What each source saw; an absent optional is a source that could not be read.
struct GpuSources {
  std::set<std::string> pci;
  std::optional<std::set<std::string>> nvml;
  std::optional<std::set<std::string>> driver;
  std::vector<unsigned> devnode;
};

std::vector<Evidence> ListSources(const GpuSources& s) {
  return {
      {"pci", DescribeBusIds(s.pci), ""},
      {"nvml", s.nvml ? DescribeBusIds(*s.nvml) : "not compared: NVML's GPU list unavailable", ""},
      {"driver", s.driver ? DescribeBusIds(*s.driver) : "not compared: no /proc/driver/nvidia/gpus",
       ""},
      {"devnode", DescribeDevMinors(s.devnode), ""},
  };
}

}  // namespace

std::string DescribeDevMinors(std::vector<unsigned> minors) {
  if (minors.empty()) return "none (0)";
  std::sort(minors.begin(), minors.end());
  minors.erase(std::unique(minors.begin(), minors.end()), minors.end());
  std::string out;
  std::size_t listed = 0;
  for (std::size_t i = 0; i < minors.size();) {
    std::size_t j = i;
    while (j + 1 < minors.size() && minors[j + 1] == minors[j] + 1) ++j;
    if (listed == kMaxListed) {
      out += " ...";
      break;
    }
    if (!out.empty()) out += ' ';
    out += "nvidia" + std::to_string(minors[i]);
    // Runs of three or more read as a range; two in a row are listed.
    if (j >= i + 2) {
      out += "..nvidia" + std::to_string(minors[j]);
    } else if (j == i + 1) {
      out += " nvidia" + std::to_string(minors[j]);
    }
    ++listed;
    i = j + 1;
  }
  return out + " (" + std::to_string(minors.size()) + ")";
}

void CompareGpuSources(const NodeInventory& inventory,
                       const std::vector<platform::PciDevice>& pci_gpus, const NvmlGpuList* nvml,
                       ProbeResult& result) {
  if (inventory.driver_gpus) {
    result.measurements.push_back(
        {"gpus", {{"source", "driver"}}, static_cast<double>(inventory.driver_gpus->size())});
  }
  // Without a complete PCI scan or the driver, PCI is no reference: probe_error or
  // gpu_driver_not_loaded say why.
  if (!inventory.nvidia_pci || !inventory.nvidia_pci->unreadable.empty()) return;
  if (std::any_of(inventory.nvidia_pci->devices.begin(), inventory.nvidia_pci->devices.end(),
                  [](const platform::PciDevice& d) { return d.class_code == 0; })) {
    return;
  }
  if (!inventory.nvidia_module_loaded || !inventory.dev_minors) return;

  GpuSources s;
  for (const platform::PciDevice& device : pci_gpus) s.pci.insert(device.bus_id);
  s.devnode = *inventory.dev_minors;
  std::map<std::string, unsigned> minor_of;  // NVML's minor numbers first, then the driver's
  if (nvml) {
    s.nvml.emplace();
    for (const NvmlGpu& gpu : nvml->gpus) {
      if (!gpu.opened() || gpu.bus_id.empty()) continue;
      s.nvml->insert(gpu.bus_id);
      if (gpu.minor) minor_of.emplace(gpu.bus_id, *gpu.minor);
    }
  }
  if (inventory.driver_gpus) {
    s.driver.emplace();
    for (const DriverGpu& gpu : *inventory.driver_gpus) {
      s.driver->insert(gpu.bus_id);
      if (gpu.minor) minor_of.emplace(gpu.bus_id, *gpu.minor);
    }
  }

  std::set<std::string> reported;
  for (const Finding& f : result.findings) {
    if (f.code == codes::kGpuMissing || f.code == codes::kGpuLost) reported.insert(f.entity);
  }
  auto named = [&](const std::string& bus_id) { return reported.contains(GpuEntity(bus_id)); };
  std::vector<Finding> found;
  auto add = [&](std::string entity, std::string message) {
    found.push_back(MakeFinding(codes::kSourceDisagreement, std::move(entity), std::move(message),
                                ListSources(s)));
  };

  if (s.driver) {
    for (const std::string& id : *s.driver) {
      if (s.pci.contains(id) || named(id)) continue;
      add(GpuEntity(id), "the nvidia driver lists GPU " + id +
                             " in /proc/driver/nvidia/gpus but it is not on PCI");
    }
    for (const std::string& id : s.pci) {
      if (s.driver->contains(id) || named(id)) continue;
      add(GpuEntity(id), "GPU " + id +
                             " is on PCI but the nvidia driver did not register it "
                             "(/proc/driver/nvidia/gpus)");
    }
  }

  const std::set<unsigned> dev(s.devnode.begin(), s.devnode.end());
  for (const auto& [id, minor] : minor_of) {
    if (!s.pci.contains(id) || dev.contains(minor) || named(id)) continue;
    add(GpuEntity(id), "GPU " + id + " has minor number " + std::to_string(minor) +
                           " but there is no /dev/nvidia" + std::to_string(minor) +
                           ": jobs cannot open it");
  }
  // Device nodes no known GPU owns ("spare"), against PCI GPUs whose minor number is unknown
  // ("unmapped"): with every minor known the spare nodes are named, otherwise only the counts
  // compare. An unmapped GPU gpu_missing/gpu_lost already names may lack its node; an NVML index
  // that could not be opened and is not one of those GPUs may own one: neither is reported again.
  std::set<unsigned> owned;
  for (const auto& [id, minor] : minor_of) owned.insert(minor);
  std::size_t spare_count = 0;
  std::string spare_nodes;
  for (unsigned minor : dev) {
    if (owned.contains(minor)) continue;
    ++spare_count;
    spare_nodes += (spare_nodes.empty() ? "/dev/nvidia" : ", /dev/nvidia") + std::to_string(minor);
  }
  std::size_t unmapped = 0;
  std::size_t named_unmapped = 0;
  for (const std::string& id : s.pci) {
    if (minor_of.contains(id)) continue;
    ++unmapped;
    if (named(id)) ++named_unmapped;
  }
  std::size_t unopened = 0;
  if (nvml) {
    unopened = static_cast<std::size_t>(std::count_if(
        nvml->gpus.begin(), nvml->gpus.end(), [](const NvmlGpu& g) { return !g.opened(); }));
  }
  const bool disagree =
      spare_count > unmapped
          ? spare_count - unmapped > (unopened > named_unmapped ? unopened - named_unmapped : 0)
          : unmapped - spare_count > named_unmapped;
  if (disagree) {
    std::string message = std::to_string(dev.size()) + " /dev/nvidia<N> device nodes for " +
                          std::to_string(s.pci.size()) + " GPUs on PCI";
    if (unmapped == 0) message += ": no GPU has the minor number of " + spare_nodes;
    add(std::string(kNodeEntity), std::move(message));
  }
  for (Finding& f : found) result.findings.push_back(std::move(f));
}

}  // namespace nodehealth
