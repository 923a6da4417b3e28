#include "probes/topology/fingerprint.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "probes/finding_catalog.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::topo {
namespace {

using json = nlohmann::ordered_json;
constexpr std::string_view kSchema = "nodehealth-topology/1";

std::string Hex(uint32_t value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%0*x", digits, value);
  return buffer;
}

uint32_t ParseHex(const json& value) {
  return static_cast<uint32_t>(std::stoul(value.get<std::string>(), nullptr, 16));
}

std::string Join(const std::vector<int>& values) {
  std::string out;
  for (int v : values) {
    if (!out.empty()) out += ',';  // not "," + std::to_string(v): GCC 12 -Wrestrict (bug 105329)
    out += std::to_string(v);
  }
  return out.empty() ? "none" : out;
}

std::string Gbps(double gbytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GB/s", gbytes);
  return buffer;
}

}  // namespace

std::string WriteFingerprint(const Topology& t) {
  json out;
  out["schema"] = kSchema;
  out["packages"] = t.packages;
  out["cores"] = t.cores;
  out["pus"] = t.pus;
  out["numa_nodes"] = json::array();
  for (const NumaNode& n : t.numa_nodes) {
    out["numa_nodes"].push_back(
        {{"os_index", n.os_index}, {"cpus", n.cpus}, {"memory_bytes", n.memory_bytes}});
  }
  out["numa_distances"] = json::array();
  for (const auto& [pair, value] : t.numa_distances) {
    out["numa_distances"].push_back({pair.first, pair.second, value});
  }
  out["devices"] = json::array();
  for (const Device& d : t.devices) {
    out["devices"].push_back({{"bus_id", d.bus_id},
                              {"kind", ToString(d.kind)},
                              {"vendor", Hex(d.vendor, 4)},
                              {"device", Hex(d.device_id, 4)},
                              {"class", Hex(d.class_code, 4)},
                              {"name", d.name},
                              {"numa_nodes", d.numa_nodes},
                              {"package", d.package},
                              {"cpu_list", d.cpu_list},
                              {"pci_path", d.pci_path},
                              {"link_gbytes_per_second", d.link_gbytes_per_second}});
  }
  out["gpu_nearest_hca"] = json::array();
  for (const Device* gpu : t.OfKind(DeviceKind::kGpu)) {
    const NearestHca nearest = FindNearestHca(t, *gpu);
    if (nearest.hca == nullptr) continue;
    out["gpu_nearest_hca"].push_back({{"gpu", gpu->bus_id},
                                      {"hca", nearest.hca->bus_id},
                                      {"hca_name", nearest.hca->name},
                                      {"path", ToString(nearest.path)}});
  }
  return out.dump(2) + "\n";
}

Expected<Topology> ReadFingerprint(std::string_view text, const std::string& origin) {
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text)) {
    return MakeError(origin + ":" + std::to_string(deep->line) + ": " + deep->what);
  }
  const json in = json::parse(text, nullptr, /*allow_exceptions=*/false);
  // Not in.value("schema", ""): it throws when "schema" holds something other than a string.
  const auto schema = in.is_object() ? in.find("schema") : in.end();
  if (!in.is_object() || schema == in.end() || !schema->is_string() ||
      schema->get<std::string>() != kSchema) {
    return MakeError(origin + ": not a nodehealth topology fingerprint (" + std::string(kSchema) +
                     ")");
  }
  try {
    Topology t;
    t.source = "baseline " + origin;
    t.packages = in.at("packages").get<int>();
    t.cores = in.at("cores").get<int>();
    t.pus = in.at("pus").get<int>();
    for (const json& n : in.at("numa_nodes")) {
      t.numa_nodes.push_back({n.at("os_index").get<int>(), n.at("cpus").get<int>(),
                              n.at("memory_bytes").get<uint64_t>()});
    }
    for (const json& d : in.at("numa_distances")) {
      t.numa_distances[{d.at(0).get<int>(), d.at(1).get<int>()}] = d.at(2).get<uint64_t>();
    }
    for (const json& d : in.at("devices")) {
      Device device;
      device.bus_id = d.at("bus_id").get<std::string>();
      const std::string kind = d.at("kind").get<std::string>();
      device.kind = kind == "gpu"        ? DeviceKind::kGpu
                    : kind == "nvswitch" ? DeviceKind::kNvSwitch
                    : kind == "hca"      ? DeviceKind::kHca
                                         : DeviceKind::kNvme;
      device.vendor = ParseHex(d.at("vendor"));
      device.device_id = ParseHex(d.at("device"));
      device.class_code = ParseHex(d.at("class"));
      device.name = d.at("name").get<std::string>();
      device.numa_nodes = d.at("numa_nodes").get<std::vector<int>>();
      device.package = d.at("package").get<int>();
      device.cpu_list = d.value("cpu_list", "");
      device.pci_path = d.at("pci_path").get<std::vector<std::string>>();
      device.link_gbytes_per_second = d.at("link_gbytes_per_second").get<double>();
      t.devices.push_back(std::move(device));
    }
    return t;
  } catch (const std::exception& e) {
    return MakeError(origin + ": malformed topology fingerprint: " + e.what());
  }
}

std::vector<Finding> CompareWithBaseline(const Topology& baseline, const Topology& current,
                                         const std::string& baseline_path) {
  std::vector<Finding> out;
  const std::string source = "topology baseline " + baseline_path;
  auto mismatch = [&](std::string entity, std::string message, std::string observed,
                      std::string expected) {
    out.push_back(MakeFinding(codes::kTopologyMismatch, std::move(entity), std::move(message),
                              {{source, std::move(observed), std::move(expected)}}));
  };
  auto count = [&](const char* what, int now, int then) {
    if (now != then) {
      mismatch("node",
               std::string(what) + " changed from " + std::to_string(then) + " to " +
                   std::to_string(now),
               std::to_string(now), std::to_string(then));
    }
  };
  count("CPU packages", current.packages, baseline.packages);
  count("cores", current.cores, baseline.cores);
  count("hardware threads", current.pus, baseline.pus);
  count("CPU NUMA nodes", static_cast<int>(current.numa_nodes.size()),
        static_cast<int>(baseline.numa_nodes.size()));
  std::map<int, int> cpus_now;
  for (const NumaNode& n : current.numa_nodes) cpus_now[n.os_index] = n.cpus;
  for (const NumaNode& n : baseline.numa_nodes) {
    const auto it = cpus_now.find(n.os_index);
    if (it != cpus_now.end() && it->second != n.cpus) {
      mismatch("node",
               "NUMA node " + std::to_string(n.os_index) + " has " + std::to_string(it->second) +
                   " CPUs, the baseline " + std::to_string(n.cpus),
               std::to_string(it->second) + " CPUs", std::to_string(n.cpus) + " CPUs");
    }
  }
  if (!baseline.numa_distances.empty() && !current.numa_distances.empty() &&
      baseline.numa_distances != current.numa_distances) {
    for (const auto& [pair, value] : baseline.numa_distances) {
      const auto it = current.numa_distances.find(pair);
      if (it == current.numa_distances.end() || it->second == value) continue;
      mismatch("node",
               "NUMA distance " + std::to_string(pair.first) + "->" + std::to_string(pair.second) +
                   " changed (a BIOS setting such as sub-NUMA clustering?)",
               std::to_string(it->second), std::to_string(value));
    }
  }

  std::map<std::string, const Device*> now;
  for (const Device& d : current.devices) now[d.bus_id] = &d;
  for (const Device& before : baseline.devices) {
    const auto it = now.find(before.bus_id);
    const std::string what = std::string(ToString(before.kind)) + " " + before.bus_id +
                             (before.name.empty() ? "" : " (" + before.name + ")");
    if (it == now.end()) {
      mismatch(DeviceEntity(before), what + " is gone", "absent", "present");
      continue;
    }
    const Device& after = *it->second;
    now.erase(it);
    if (after.numa_nodes != before.numa_nodes) {
      mismatch(DeviceEntity(after), what + " moved to another NUMA node",
               "NUMA " + Join(after.numa_nodes), "NUMA " + Join(before.numa_nodes));
    }
    const std::string up_after = after.pci_path.empty() ? "none" : after.pci_path.front();
    const std::string up_before = before.pci_path.empty() ? "none" : before.pci_path.front();
    if (up_after != up_before) {
      mismatch(DeviceEntity(after), what + " sits behind another PCIe bridge",
               "upstream " + up_after, "upstream " + up_before);
    }
    if (before.kind != DeviceKind::kGpu && before.link_gbytes_per_second > 0 &&
        after.link_gbytes_per_second + 1e-6 < before.link_gbytes_per_second) {
      out.push_back(MakeFinding(
          codes::kPcieLinkDegraded, DeviceEntity(after),
          what + " has a slower PCIe link than in the baseline",
          {{source, Gbps(after.link_gbytes_per_second), Gbps(before.link_gbytes_per_second)}}));
    }
  }
  for (const auto& [bus, device] : now) {
    Finding added =
        MakeFinding(codes::kTopologyMismatch, DeviceEntity(*device),
                    std::string(ToString(device->kind)) + " " + bus + " is not in the baseline",
                    {{source, "present", "absent"}});
    added.severity = Severity::kWarn;
    added.action = Action::kMonitor;
    out.push_back(std::move(added));
  }

  // Each GPU's nearest HCA, when both discoveries know the GPU.
  for (const Device* gpu : baseline.OfKind(DeviceKind::kGpu)) {
    const Device* gpu_now = nullptr;
    for (const Device& d : current.devices) gpu_now = d.bus_id == gpu->bus_id ? &d : gpu_now;
    if (gpu_now == nullptr) continue;
    const NearestHca before = FindNearestHca(baseline, *gpu);
    const NearestHca after = FindNearestHca(current, *gpu_now);
    if (before.hca == nullptr || after.hca == nullptr || after.path <= before.path) continue;
    mismatch(DeviceEntity(*gpu_now),
             "GPU " + gpu->bus_id + " is further from its nearest HCA than in the baseline",
             std::string(ToString(after.path)) + " to " + after.hca->bus_id,
             std::string(ToString(before.path)) + " to " + before.hca->bus_id);
  }
  return out;
}

}  // namespace nodehealth::topo
