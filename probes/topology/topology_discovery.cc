#include "probes/topology/topology_discovery.h"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "probes/platform/regular_file.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::topo {
namespace {

// hwloc declares its attribute structs inside the union: C++ sees them scoped.
using PciAttr = hwloc_obj_attr_u::hwloc_pcidev_attr_s;
using BridgeAttr = hwloc_obj_attr_u::hwloc_bridge_attr_s;

std::mutex& LoadMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string BusId(const PciAttr& pci) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04x:%02x:%02x.%01x", pci.domain, pci.bus, pci.dev,
                pci.func);
  return buffer;
}

std::string BridgeId(hwloc_obj_t bridge) {
  const BridgeAttr& attr = bridge->attr->bridge;
  if (attr.upstream_type == HWLOC_OBJ_BRIDGE_PCI) return BusId(attr.upstream.pci);
  // A host bridge has no bus id of its own: name it by the buses it leads to.
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "host:%04x:[%02x-%02x]", attr.downstream.pci.domain,
                attr.downstream.pci.secondary_bus, attr.downstream.pci.subordinate_bus);
  return buffer;
}

std::optional<DeviceKind> KindOf(hwloc_obj_t pci) {
  const PciAttr& attr = pci->attr->pcidev;
  const unsigned base = attr.class_id >> 8;
  if (attr.vendor_id == 0x10de && base == 0x03) return DeviceKind::kGpu;
  if (attr.vendor_id == 0x10de && attr.class_id == 0x0680) return DeviceKind::kNvSwitch;
  // 0x0207: Network/InfiniBand; 0x0c06: Serial bus/InfiniBand (ConnectX-3 and older).
  if (attr.class_id == 0x0207 || attr.class_id == 0x0c06) return DeviceKind::kHca;
  if (attr.class_id == 0x0108) return DeviceKind::kNvme;
  for (hwloc_obj_t child = pci->io_first_child; child; child = child->next_sibling) {
    if (child->type == HWLOC_OBJ_OS_DEVICE &&
        (child->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS ||
         hwloc_obj_get_info_by_name(child, "NodeGUID") != nullptr)) {
      return DeviceKind::kHca;  // RoCE NICs have Ethernet class but an OpenFabrics device
    }
  }
  return std::nullopt;
}

// RDMA device names the kernel's drivers give (ib_core names), for OS devices whose type hwloc
// could not tell.
bool LooksLikeRdmaDevice(std::string_view name) {
  for (std::string_view prefix : {"mlx4_", "mlx5_", "qib", "hfi1_", "irdma", "i40iw", "bnxt_re",
                                  "efa_", "rxe", "siw", "erdma", "mana_"}) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

// The OS device name that identifies the PCI function: the OpenFabrics device for an HCA
// ("mlx5_0"), the block device for NVMe.
std::string OsDeviceName(hwloc_obj_t pci, DeviceKind kind) {
  for (hwloc_obj_t child = pci->io_first_child; child; child = child->next_sibling) {
    if (child->type != HWLOC_OBJ_OS_DEVICE || child->name == nullptr) continue;
    const hwloc_obj_osdev_type_t type = child->attr->osdev.type;
    // OpenFabrics devices carry NodeGUID; that also identifies them in XML written by hwloc 3,
    // whose OS device type numbers hwloc 2 does not read.
    if (kind == DeviceKind::kHca && (type == HWLOC_OBJ_OSDEV_OPENFABRICS ||
                                     hwloc_obj_get_info_by_name(child, "NodeGUID") != nullptr ||
                                     LooksLikeRdmaDevice(child->name))) {
      return child->name;
    }
    if (kind == DeviceKind::kNvme && type == HWLOC_OBJ_OSDEV_BLOCK) return child->name;
  }
  return "";
}

bool IsGpuMemory(hwloc_obj_t numa) {
  return numa->subtype != nullptr && std::strcmp(numa->subtype, "GPUMemory") == 0;
}

struct TopologyCloser {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};

Device ReadDevice(hwloc_topology_t topology, hwloc_obj_t pci, DeviceKind kind) {
  Device device;
  const PciAttr& attr = pci->attr->pcidev;
  device.kind = kind;
  device.bus_id = BusId(attr);
  device.vendor = attr.vendor_id;
  device.device_id = attr.device_id;
  device.class_code = attr.class_id;
  device.link_gbytes_per_second = attr.linkspeed;
  device.name = OsDeviceName(pci, kind);
  for (hwloc_obj_t up = pci->parent; up != nullptr && up->type == HWLOC_OBJ_BRIDGE;
       up = up->parent) {
    device.pci_path.push_back(BridgeId(up));
  }
  hwloc_obj_t local = hwloc_get_non_io_ancestor_obj(topology, pci);
  if (local != nullptr && local->nodeset != nullptr) {
    hwloc_obj_t numa = nullptr;
    while ((numa = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, numa)) != nullptr) {
      if (!IsGpuMemory(numa) && hwloc_bitmap_isset(local->nodeset, numa->os_index)) {
        device.numa_nodes.push_back(static_cast<int>(numa->os_index));
      }
    }
    if (local->cpuset != nullptr) {
      char* list = nullptr;
      if (hwloc_bitmap_list_asprintf(&list, local->cpuset) >= 0 && list != nullptr) {
        device.cpu_list = list;
      }
      std::free(list);
    }
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(topology, HWLOC_OBJ_PACKAGE, pci);
    if (package != nullptr) device.package = static_cast<int>(package->os_index);
  }
  return device;
}

}  // namespace

void PrepareHwlocEnvironment(const std::string& sysroot) {
  if (sysroot.empty() || sysroot == "/") {
    ::unsetenv("HWLOC_FSROOT");
  } else {
    ::setenv("HWLOC_FSROOT", sysroot.c_str(), 1);
  }
}

Expected<Topology> DiscoverTopology(const TopologySource& source) {
  std::lock_guard<std::mutex> lock(LoadMutex());
  const auto started = std::chrono::steady_clock::now();
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return MakeError("hwloc_topology_init failed", errno);
  std::unique_ptr<hwloc_topology, TopologyCloser> topology(raw);
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  for (const char* plugin : {"nvml", "cuda", "opencl", "rsmi", "levelzero", "gl", "pci"}) {
    hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, plugin);
  }
  Topology out;
  std::string xml;  // hwloc reads it in hwloc_topology_load: alive until then
  if (!source.xml_path.empty()) {
    // Read here, not by hwloc from the path: hwloc's open(2) would wait for ever on a FIFO, and
    // its own XML importer recurses once per nested element (nesting_depth.h).
    Expected<std::string> text =
        platform::ReadRegularFile(source.xml_path, kMaxXmlBytes, "hwloc XML topology");
    if (!text) return text.error();
    if (std::optional<DepthViolation> deep = CheckXmlDepth(*text)) {
      return MakeError(source.xml_path + ":" + std::to_string(deep->line) + ": " + deep->what);
    }
    xml = std::move(*text);
    // The size counts the terminating NUL, as hwloc_topology_export_xmlbuffer() gives it.
    if (hwloc_topology_set_xmlbuffer(raw, xml.c_str(), static_cast<int>(xml.size() + 1)) != 0) {
      return MakeError("hwloc cannot read the XML topology " + source.xml_path, errno);
    }
    out.source = "xml " + source.xml_path;
  } else {
    const char* current = std::getenv("HWLOC_FSROOT");
    const std::string wanted = source.fsroot == "/" ? "" : source.fsroot;
    if ((current ? std::string(current) : "") != wanted) PrepareHwlocEnvironment(source.fsroot);
    // A recorded tree is another machine: this CPU's CPUID must not be mixed into it.
    if (!wanted.empty()) {
      hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
    }
    out.source = wanted.empty() ? "live" : "fsroot " + wanted;
  }
  if (hwloc_topology_load(raw) != 0) {
    return MakeError("hwloc_topology_load failed (" + out.source + ")", errno);
  }
  out.packages = hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_PACKAGE);
  out.cores = hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_CORE);
  out.pus = hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_PU);
  hwloc_obj_t numa = nullptr;
  std::vector<hwloc_obj_t> cpu_numa;
  while ((numa = hwloc_get_next_obj_by_type(raw, HWLOC_OBJ_NUMANODE, numa)) != nullptr) {
    if (IsGpuMemory(numa)) continue;
    cpu_numa.push_back(numa);
    out.numa_nodes.push_back({static_cast<int>(numa->os_index),
                              numa->cpuset ? hwloc_bitmap_weight(numa->cpuset) : 0,
                              numa->attr->numanode.local_memory});
  }
  // NUMA latencies (the kernel's SLIT distances) between CPU NUMA nodes.
  unsigned count = 1;
  hwloc_distances_s* distances = nullptr;
  if (hwloc_distances_get_by_type(raw, HWLOC_OBJ_NUMANODE, &count, &distances,
                                  HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) == 0 &&
      count > 0) {
    for (unsigned i = 0; i < distances->nbobjs; ++i) {
      for (unsigned j = 0; j < distances->nbobjs; ++j) {
        if (IsGpuMemory(distances->objs[i]) || IsGpuMemory(distances->objs[j])) continue;
        out.numa_distances[{static_cast<int>(distances->objs[i]->os_index),
                            static_cast<int>(distances->objs[j]->os_index)}] =
            distances->values[i * distances->nbobjs + j];
      }
    }
    hwloc_distances_release(raw, distances);
  }
  hwloc_obj_t pci = nullptr;
  while ((pci = hwloc_get_next_pcidev(raw, pci)) != nullptr) {
    if (std::optional<DeviceKind> kind = KindOf(pci))
      out.devices.push_back(ReadDevice(raw, pci, *kind));
  }
  std::sort(out.devices.begin(), out.devices.end(),
            [](const Device& a, const Device& b) { return a.bus_id < b.bus_id; });
  out.discovery_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace nodehealth::topo
