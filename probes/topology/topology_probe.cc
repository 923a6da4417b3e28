#include "probes/topology/topology_probe.h"

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

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
// and XML files are read afresh (they are what tests and `--sysroot` runs change).
Expected<Topology> CachedDiscovery(const topo::TopologySource& source, bool& from_cache) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<Topology, std::chrono::steady_clock::time_point>> cache;
  const bool live = source.xml_path.empty() && source.fsroot == "/";
  const std::string key = "live";
  const auto now = std::chrono::steady_clock::now();
  from_cache = false;
  if (!live) return topo::DiscoverTopology(source);
  {
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
                "the topology baseline"},
      .codes = {codes::kTopologyMismatch, codes::kPcieLinkDegraded, codes::kProbeError,
                codes::kProbeTimeout},
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
  bool from_cache = false;
  Expected<Topology> topology = CachedDiscovery(source, from_cache);
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
  if (from_cache) result.notes.push_back("topology from the cached discovery (refreshed hourly)");
  if (!baseline)
    result.notes.push_back("no topology baseline configured (nodehealth topology save)");
  result.verdict = ProbeVerdict::kPass;
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
