#include "probes/topology/topology_model.h"

#include <algorithm>
#include <array>

#include "probes/entity.h"

namespace nodehealth::topo {
namespace {

constexpr std::array<std::string_view, 6> kPathNames = {"X", "PIX", "PXB", "PHB", "NODE", "SYS"};

bool SharesNuma(const Device& a, const Device& b) {
  for (int node : a.numa_nodes) {
    if (std::find(b.numa_nodes.begin(), b.numa_nodes.end(), node) != b.numa_nodes.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view ToString(PathClass path) { return kPathNames[static_cast<int>(path)]; }

std::optional<PathClass> ParsePathClass(std::string_view text) {
  for (std::size_t i = 0; i < kPathNames.size(); ++i) {
    const std::string_view name = kPathNames[i];
    if (name.size() != text.size()) continue;
    bool same = true;
    for (std::size_t j = 0; j < name.size(); ++j) {
      const char c = text[j];
      same &= (c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) == name[j];
    }
    if (same) return static_cast<PathClass>(i);
  }
  return std::nullopt;
}

std::string_view ToString(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kGpu:
      return "gpu";
    case DeviceKind::kNvSwitch:
      return "nvswitch";
    case DeviceKind::kHca:
      return "hca";
    case DeviceKind::kNvme:
      return "nvme";
  }
  return "?";
}

std::vector<const Device*> Topology::OfKind(DeviceKind kind) const {
  std::vector<const Device*> out;
  for (const Device& d : devices) {
    if (d.kind == kind) out.push_back(&d);
  }
  return out;
}

PathClass ClassifyPath(const Device& a, const Device& b) {
  if (a.bus_id == b.bus_id) return PathClass::kSelf;
  // The lowest bridge both paths go through, and how many bridges lie below it on each side.
  for (std::size_t i = 0; i < a.pci_path.size(); ++i) {
    const auto j = std::find(b.pci_path.begin(), b.pci_path.end(), a.pci_path[i]);
    if (j == b.pci_path.end()) continue;
    if (a.pci_path[i].starts_with("host:")) return PathClass::kPhb;
    const std::size_t below_b = static_cast<std::size_t>(j - b.pci_path.begin());
    // A PCIe switch is an upstream port with one downstream port per device: one bridge below the
    // common one on each side is still "one switch".
    return i <= 1 && below_b <= 1 ? PathClass::kPix : PathClass::kPxb;
  }
  return SharesNuma(a, b) ? PathClass::kNode : PathClass::kSys;
}

NearestHca FindNearestHca(const Topology& topology, const Device& gpu) {
  NearestHca best;
  for (const Device& d : topology.devices) {
    if (d.kind != DeviceKind::kHca) continue;
    const PathClass path = ClassifyPath(gpu, d);
    if (best.hca == nullptr || path < best.path) best = {&d, path};
  }
  return best;
}

std::string DeviceEntity(const Device& device) {
  switch (device.kind) {
    case DeviceKind::kGpu:
      return GpuEntity(device.bus_id);
    case DeviceKind::kHca:
      if (!device.name.empty()) return HcaEntity(device.name, 1);
      break;
    default:
      break;
  }
  return PciEntity(device.bus_id);
}

}  // namespace nodehealth::topo
