#include "probes/topology/topology_probe.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/platform/regular_file.h"
#include "probes/platform/sysfs_values.h"
#include "probes/topology/fingerprint.h"
#include "probes/topology/topology_discovery.h"

namespace nodehealth {
namespace {

using topo::Device;
using topo::DeviceKind;
using topo::PathClass;
using topo::Topology;

constexpr auto kCacheLifetime = std::chrono::hours(1);

// Live discovery is costly (hwloc walks all of /sys): keep the result for an hour. Recorded trees
// and XML files are read afresh (they are what tests and `--sysroot` runs change). `refresh`
// discovers anew and replaces the cached result.
Expected<Topology> CachedDiscovery(const topo::TopologySource& source, bool& from_cache,
                                   bool refresh = false) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<Topology, std::chrono::steady_clock::time_point>> cache;
  const bool live = source.xml_path.empty() && source.fsroot == "/";
  const std::string key = "live";
  const auto now = std::chrono::steady_clock::now();
  from_cache = false;
  if (!live) return topo::DiscoverTopology(source);
  if (!refresh) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end() && now - it->second.second < kCacheLifetime) {
      from_cache = true;
      return it->second.first;
    }
  }
  Expected<Topology> fresh = topo::DiscoverTopology(source);
  if (fresh) {
    std::lock_guard<std::mutex> lock(mutex);
    cache[key] = {*fresh, now};
  }
  return fresh;
}

// "0-3,8-11" -> {0,1,2,3,8,9,10,11}; nullopt when malformed.
std::optional<std::set<int>> ParseList(std::string_view text) {
  Expected<std::vector<std::pair<int, int>>> ranges = platform::ParseCpuRanges(text);
  if (!ranges) return std::nullopt;
  std::set<int> out;
  for (const auto& [first, last] : *ranges) {
    for (int i = first; i <= last; ++i) out.insert(i);
  }
  return out;
}

std::string Describe(const std::map<int, int>& per_node) {
  std::string out;
  for (const auto& [node, count] : per_node) {
    out +=
        (out.empty() ? "" : ", ") + ("NUMA " + std::to_string(node) + ": " + std::to_string(count));
  }
  return out.empty() ? "none" : out;
}

// Devices of `kind` per CPU NUMA node; a device local to several nodes counts for none.
std::map<int, int> PerNumaNode(const Topology& t, DeviceKind kind, int& unplaced) {
  std::map<int, int> out;
  for (const topo::NumaNode& n : t.numa_nodes) out[n.os_index] = 0;
  unplaced = 0;
  for (const Device* d : t.OfKind(kind)) {
    if (d->numa_nodes.size() == 1) {
      ++out[d->numa_nodes.front()];
    } else {
      ++unplaced;
    }
  }
  return out;
}

void CheckPerNuma(const Topology& t, DeviceKind kind, std::optional<int> expected,
                  ProbeResult& result) {
  if (!expected) return;
  const std::string what = kind == DeviceKind::kGpu ? "GPUs" : "HCAs";
  int unplaced = 0;
  const std::map<int, int> per_node = PerNumaNode(t, kind, unplaced);
  const int total = static_cast<int>(t.OfKind(kind).size());
  const int wanted_total = *expected * static_cast<int>(t.numa_nodes.size());
  if (total != wanted_total) {
    result.notes.push_back(what + " per NUMA node not judged: " + std::to_string(total) +
                           " present, the layout expects " + std::to_string(wanted_total) +
                           " (the presence probes report the count)");
    return;
  }
  bool uneven = unplaced > 0;
  for (const auto& [node, count] : per_node) uneven |= count != *expected;
  if (!uneven) return;
  result.findings.push_back(MakeFinding(
      codes::kTopologyMismatch, "node",
      what + " are not spread " + std::to_string(*expected) + " per NUMA node as the profile says",
      {{"hwloc",
        Describe(per_node) + (unplaced ? ", no single NUMA node: " + std::to_string(unplaced) : ""),
        std::to_string(*expected) + " per NUMA node"}}));
}

void AddMeasurements(const Topology& t, ProbeResult& result) {
  result.measurements.push_back({"topology_packages", {}, 1.0 * t.packages});
  result.measurements.push_back({"topology_cores", {}, 1.0 * t.cores});
  result.measurements.push_back({"topology_cpu_numa_nodes", {}, 1.0 * t.numa_nodes.size()});
  result.measurements.push_back({"topology_discovery_seconds", {}, t.discovery_seconds});
  for (DeviceKind kind :
       {DeviceKind::kGpu, DeviceKind::kNvSwitch, DeviceKind::kHca, DeviceKind::kNvme}) {
    int unplaced = 0;
    for (const auto& [node, count] : PerNumaNode(t, kind, unplaced)) {
      if (count == 0) continue;
      result.measurements.push_back(
          {"topology_devices",
           {{"kind", std::string(ToString(kind))}, {"numa", std::to_string(node)}},
           1.0 * count});
    }
    if (unplaced > 0) {
      result.measurements.push_back({"topology_devices",
                                     {{"kind", std::string(ToString(kind))}, {"numa", "none"}},
                                     1.0 * unplaced});
    }
  }
  for (const Device* gpu : t.OfKind(DeviceKind::kGpu)) {
    const topo::NearestHca nearest = FindNearestHca(t, *gpu);
    if (nearest.hca == nullptr) continue;
    result.measurements.push_back(
        {"topology_gpu_hca_path_class",
         {{"gpu", gpu->bus_id},
          {"hca", nearest.hca->name.empty() ? nearest.hca->bus_id : nearest.hca->name}},
         static_cast<double>(static_cast<int>(nearest.path))});
  }
}

// A recorded tree without per-CPU directories (a partial capture) gives hwloc nothing to build a
// topology from; a live node always has them.
bool HasCpuDirectories(const platform::FileSystem& fs) {
  Expected<std::vector<std::string>> names = fs.ListDir("/sys/devices/system/cpu");
  if (!names) return false;
  for (const std::string& name : *names) {
    if (name.size() > 3 && name.starts_with("cpu") && name[3] >= '0' && name[3] <= '9') return true;
  }
  return false;
}

// Bus ids listed in one evidence line; more are counted, not named (as in gpu_presence).
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

// A scan to compare against: readable, no unreadable vendor, every function's class known.
bool CompleteScan(const Expected<platform::PciScan>& scan) {
  if (!scan || !scan->unreadable.empty()) return false;
  return std::none_of(scan->devices.begin(), scan->devices.end(),
                      [](const platform::PciDevice& d) { return d.class_code == 0; });
}

constexpr uint32_t kMellanox = 0x15b3;

// InfiniBand-class functions: 0x0207 (Network/InfiniBand), 0x0c06 (Serial bus/InfiniBand,
// ConnectX-3 and older). `pci_class` is the 16-bit class.
bool IsInfinibandClass(uint32_t pci_class) { return pci_class == 0x0207 || pci_class == 0x0c06; }

// hwloc 2.x leaves out functions whose PCI domain does not fit 16 bits (Intel VMD's 10000:xx)
// unless it was built with 32-bit domains: such bus ids are not compared on either side.
bool HwlocCanShow(std::string_view bus_id) {
  const std::size_t colon = bus_id.find(':');
  return colon != std::string_view::npos && colon <= 4;
}

// One kind of device, seen by PCI and by hwloc: each bus id only one of them shows is a finding.
void CompareSets(std::string_view what, const std::set<std::string>& pci,
                 const std::map<std::string, const Device*>& topology, ProbeResult& result) {
  std::set<std::string> seen;
  for (const auto& [bus_id, device] : topology) seen.insert(bus_id);
  const std::vector<Evidence> evidence = {{"pci", DescribeBusIds(pci), ""},
                                          {"topology", DescribeBusIds(seen), ""}};
  for (const std::string& id : pci) {
    if (seen.contains(id)) continue;
    result.findings.push_back(MakeFinding(
        codes::kSourceDisagreement, what == "GPU" ? GpuEntity(id) : PciEntity(id),
        std::string(what) + " " + id + " is on PCI but hwloc's topology does not show it",
        evidence));
  }
  for (const auto& [id, device] : topology) {
    if (pci.contains(id)) continue;
    const std::string named = device->name.empty() ? id : id + " (" + device->name + ")";
    result.findings.push_back(MakeFinding(
        codes::kSourceDisagreement, topo::DeviceEntity(*device),
        "hwloc's topology shows " + std::string(what) + " " + named + " but it is not on PCI",
        evidence));
  }
}

}  // namespace

void CompareTopologyWithPci(const Topology& t, const NodeInventory& inventory,
                            const Expected<platform::PciScan>& mellanox, ProbeResult& result) {
  // No PCI device at all: hwloc's I/O discovery did not run (built without it, or turned off
  // through HWLOC_COMPONENTS), which says nothing about the node's devices.
  if (t.devices.empty()) return;
  if (CompleteScan(inventory.nvidia_pci)) {
    std::set<std::string> pci;
    for (const platform::PciDevice& d : inventory.PciGpus()) {
      if (HwlocCanShow(d.bus_id)) pci.insert(d.bus_id);
    }
    std::map<std::string, const Device*> seen;
    for (const Device* d : t.OfKind(DeviceKind::kGpu)) {
      if (HwlocCanShow(d->bus_id)) seen.emplace(d->bus_id, d);
    }
    CompareSets("GPU", pci, seen, result);
  }
  if (CompleteScan(mellanox)) {
    std::set<std::string> pci;
    for (const platform::PciDevice& d : mellanox->devices) {
      if (IsInfinibandClass(d.class_code >> 8) && HwlocCanShow(d.bus_id)) pci.insert(d.bus_id);
    }
    std::map<std::string, const Device*> seen;
    for (const Device* d : t.OfKind(DeviceKind::kHca)) {
      if (d->vendor == kMellanox && IsInfinibandClass(d->class_code) && HwlocCanShow(d->bus_id)) {
        seen.emplace(d->bus_id, d);
      }
    }
    CompareSets("InfiniBand function", pci, seen, result);
  }
}

namespace {

// CompareTopologyWithPci's findings that hold against the PCI scans from before the discovery and
// against a scan from after it: a device that came or went in between is a difference of moments,
// not of sources (gpu_presence and ib_ports see the change itself).
std::vector<Finding> StableDisagreements(const Topology& t, const ProbeContext& context,
                                         const Expected<platform::PciScan>& mellanox_before) {
  ProbeResult before;
  CompareTopologyWithPci(t, context.inventory, mellanox_before, before);
  if (before.findings.empty()) return {};
  NodeInventory now = context.inventory;
  now.nvidia_pci = platform::ScanPciDevices(context.fs, platform::kPciVendorNvidia);
  ProbeResult after;
  CompareTopologyWithPci(t, now, platform::ScanPciDevices(context.fs, kMellanox), after);
  std::vector<Finding> out;
  for (Finding& f : after.findings) {
    const bool held = std::any_of(
        before.findings.begin(), before.findings.end(),
        [&](const Finding& b) { return b.entity == f.entity && b.message == f.message; });
    if (held) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

std::vector<Finding> CheckKernelNuma(const platform::FileSystem& fs, bool numa_expected) {
  std::vector<Finding> out;
  constexpr std::string_view kDir = "/sys/devices/system/node";
  Expected<std::string> online_text = fs.ReadFile(std::string(kDir) + "/online", 4096);
  if (!online_text) return out;  // no NUMA support in the kernel: nothing to judge
  std::optional<std::set<int>> online = ParseList(*online_text);
  if (!online) return out;
  if (Expected<std::string> possible_text = fs.ReadFile(std::string(kDir) + "/possible", 4096)) {
    if (std::optional<std::set<int>> possible = ParseList(*possible_text)) {
      std::string offline;
      for (int node : *possible) {
        if (!online->count(node)) offline += (offline.empty() ? "" : ",") + std::to_string(node);
      }
      if (!offline.empty()) {
        Finding f = MakeFinding(
            codes::kTopologyMismatch, "node",
            "NUMA node " + offline +
                " is possible but offline: its CPUs and "
                "memory are missing",
            {{std::string(kDir) + "/online", std::string(platform::TrimSpace(*online_text)),
              std::string(platform::TrimSpace(*possible_text)) + " (possible)"}});
        if (!numa_expected) {  // no profile to say the node needs it: a warning
          f.severity = Severity::kWarn;
          f.action = Action::kMonitor;
        }
        out.push_back(std::move(f));
      }
    }
  }
  // Every CPU belongs to exactly one NUMA node; firmware with a broken SRAT lists CPUs twice.
  std::map<int, std::vector<int>> owners;
  for (int node : *online) {
    Expected<std::string> cpus =
        fs.ReadFile(std::string(kDir) + "/node" + std::to_string(node) + "/cpulist", 65536);
    if (!cpus) continue;
    if (std::optional<std::set<int>> list = ParseList(*cpus)) {
      for (int cpu : *list) owners[cpu].push_back(node);
    }
  }
  int shared = 0;
  std::set<int> nodes;
  for (const auto& [cpu, in] : owners) {
    if (in.size() < 2) continue;
    ++shared;
    nodes.insert(in.begin(), in.end());
  }
  if (shared > 0) {
    std::string list;
    for (int node : nodes) list += (list.empty() ? "" : ",") + std::to_string(node);
    out.push_back(MakeFinding(
        codes::kTopologyMismatch, "node",
        std::to_string(shared) + " CPUs are listed in more than one NUMA node (nodes " + list +
            "): the firmware's NUMA table (ACPI SRAT) is wrong, so memory placement is meaningless",
        {{std::string(kDir) + "/node*/cpulist",
          std::to_string(shared) + " CPUs in several nodes (" + list + ")",
          "each CPU in one node"}}));
  }
  return out;
}

ProbeResult EvaluateTopology(const Topology& t, const Profile* profile, const Topology* baseline,
                             const std::string& baseline_path) {
  ProbeResult result;
  result.name = "topology";
  AddMeasurements(t, result);
  if (profile) {
    const TopologyExpectations& expect = profile->topology;
    if (expect.numa_nodes && static_cast<int>(t.numa_nodes.size()) != *expect.numa_nodes) {
      result.findings.push_back(MakeFinding(
          codes::kTopologyMismatch, "node",
          std::to_string(t.numa_nodes.size()) + " CPU NUMA nodes, the profile expects " +
              std::to_string(*expect.numa_nodes),
          {{"hwloc (" + t.source + ")", std::to_string(t.numa_nodes.size()),
            std::to_string(*expect.numa_nodes)}}));
    }
    CheckPerNuma(t, DeviceKind::kGpu, expect.gpus_per_numa_node, result);
    CheckPerNuma(t, DeviceKind::kHca, expect.hcas_per_numa_node, result);
    if (expect.gpu_hca_path_max) {
      const PathClass max = *topo::ParsePathClass(*expect.gpu_hca_path_max);
      for (const Device* gpu : t.OfKind(DeviceKind::kGpu)) {
        const topo::NearestHca nearest = FindNearestHca(t, *gpu);
        if (nearest.hca == nullptr || nearest.path <= max) continue;
        const std::string hca = nearest.hca->name.empty()
                                    ? nearest.hca->bus_id
                                    : nearest.hca->name + " (" + nearest.hca->bus_id + ")";
        result.findings.push_back(MakeFinding(
            codes::kTopologyMismatch, DeviceEntity(*gpu),
            "GPU " + gpu->bus_id + " reaches its nearest HCA " + hca + " only through " +
                std::string(ToString(nearest.path)),
            {{"hwloc (" + t.source + ")", std::string(ToString(nearest.path)) + " to " + hca,
              "at most " + *expect.gpu_hca_path_max}}));
      }
    }
  }
  if (baseline != nullptr) {
    for (Finding& f : topo::CompareWithBaseline(*baseline, t, baseline_path)) {
      result.findings.push_back(std::move(f));
    }
  }
  FinalizeVerdict(result);
  return result;
}

const ProbeInfo& TopologyProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "topology",
      .kind = ProbeKind::kPassive,
      .summary =
          "hwloc view of packages, NUMA nodes, GPUs, NVSwitches, HCAs and NVMe: placement "
          "and GPU-to-HCA paths against the profile and the node's saved baseline",
      .reads = {"hwloc (/sys, /proc or --topology-xml)", "/sys/devices/system/node",
                "the topology baseline", "NVIDIA and Mellanox functions in sysfs PCI"},
      .codes = {codes::kTopologyMismatch, codes::kPcieLinkDegraded, codes::kSourceDisagreement,
                codes::kProbeError, codes::kProbeTimeout},
      .timeout = std::chrono::seconds(20),
      .measurements =
          {
              GaugeMeasurement("topology_packages", "", "CPU packages (sockets) hwloc found"),
              GaugeMeasurement("topology_cores", "", "CPU cores hwloc found"),
              GaugeMeasurement("topology_cpu_numa_nodes", "", "NUMA nodes with CPUs hwloc found"),
              GaugeMeasurement("topology_discovery_seconds", "seconds",
                               "how long hwloc's topology discovery took"),
              GaugeMeasurement("topology_devices", "",
                               "PCI devices of a kind (gpu, hca, ...) on a NUMA node (none: not "
                               "placed)",
                               {"kind", "numa"}),
              GaugeMeasurement("topology_gpu_hca_path_class", "",
                               "PCIe path between a GPU and its nearest HCA: 0 X, 1 PIX, 2 PXB, 3 "
                               "PHB, 4 NODE, 5 SYS",
                               {"gpu", "hca"}),
          },
      .subject = ProbeSubject::kNode,
  };
  return kInfo;
}

ProbeResult TopologyProbe::Run(const ProbeContext& context) const {
  topo::TopologySource source;
  source.xml_path = context.topology_xml;
  source.fsroot = context.fs.HostPath("/");
  while (source.fsroot.size() > 1 && source.fsroot.back() == '/') source.fsroot.pop_back();
  if (source.xml_path.empty() && !HasCpuDirectories(context.fs)) {
    ProbeResult result;
    result.name = "topology";
    MarkSkipped(result, "no /sys/devices/system/cpu/cpu<N> under " + source.fsroot +
                            ": a partial tree with nothing for hwloc to read");
    return result;
  }
  // The PCI scan is the same node's only when hwloc discovers the topology itself; an XML file is
  // another moment or machine. The scans bracket the discovery: the round's inventory (NVIDIA) and
  // the Mellanox scan before it, a fresh scan after it when they disagree.
  const bool compare_with_pci = source.xml_path.empty();
  const Expected<platform::PciScan> mellanox =
      compare_with_pci ? platform::ScanPciDevices(context.fs, kMellanox)
                       : Expected<platform::PciScan>(MakeError("not scanned"));
  bool from_cache = false;
  Expected<Topology> topology = CachedDiscovery(source, from_cache);
  if (topology && from_cache && compare_with_pci) {
    // A cached topology may predate a device that fell off the bus: compare a fresh one.
    ProbeResult scratch;
    CompareTopologyWithPci(*topology, context.inventory, mellanox, scratch);
    if (!scratch.findings.empty()) topology = CachedDiscovery(source, from_cache, true);
  }
  if (!topology) {
    ProbeResult result;
    result.name = "topology";
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot discover the topology: " + topology.error().message,
                  {{"hwloc", topology.error().message, "a topology"}});
    return result;
  }
  std::optional<Topology> baseline;
  std::vector<std::string> notes;
  if (!context.topology_baseline.empty()) {
    Expected<std::string> text = platform::ReadRegularFile(
        context.topology_baseline, topo::kMaxFingerprintBytes, "topology baseline");
    Expected<Topology> loaded = text ? topo::ReadFingerprint(*text, context.topology_baseline)
                                     : Expected<Topology>(text.error());
    if (!loaded) {
      ProbeResult result = EvaluateTopology(*topology, context.profile, nullptr, "");
      MarkUndecided(result, codes::kProbeError, "node",
                    "the topology baseline is unusable: " + loaded.error().message,
                    {{context.topology_baseline, loaded.error().message, "a saved fingerprint"}});
      return result;
    }
    baseline = std::move(*loaded);
  }
  ProbeResult result = EvaluateTopology(*topology, context.profile, baseline ? &*baseline : nullptr,
                                        context.topology_baseline);
  const bool numa_expected = context.profile && context.profile->topology.numa_nodes;
  for (Finding& f : CheckKernelNuma(context.fs, numa_expected))
    result.findings.push_back(std::move(f));
  if (compare_with_pci) {
    for (Finding& f : StableDisagreements(*topology, context, mellanox)) {
      result.findings.push_back(std::move(f));
    }
  }
  if (from_cache) result.notes.push_back("topology from the cached discovery (refreshed hourly)");
  if (!baseline)
    result.notes.push_back("no topology baseline configured (nodehealth topology save)");
  result.verdict = ProbeVerdict::kPass;
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
