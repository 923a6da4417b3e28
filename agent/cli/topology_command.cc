#include "agent/cli/topology_command.h"

#include <unistd.h>

#include <ostream>

#include "exporters/atomic_file.h"
#include "probes/topology/fingerprint.h"
#include "probes/topology/topology_discovery.h"

namespace nodehealth {
namespace {

using topo::Device;
using topo::DeviceKind;

std::string Pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

std::string Numa(const Device& d) {
  if (d.numa_nodes.empty()) return "N/A";
  std::string out;
  for (int n : d.numa_nodes) {
    if (!out.empty()) out += ',';  // not "," + std::to_string(n): GCC 12 -Wrestrict (bug 105329)
    out += std::to_string(n);
  }
  return out;
}

}  // namespace

std::string RenderTopologyMatrix(const topo::Topology& t) {
  std::vector<const Device*> rows = t.OfKind(DeviceKind::kGpu);
  const std::vector<const Device*> hcas = t.OfKind(DeviceKind::kHca);
  const std::size_t gpus = rows.size();
  rows.insert(rows.end(), hcas.begin(), hcas.end());
  auto label = [&](std::size_t i) {
    return i < gpus ? "GPU" + std::to_string(i) : "NIC" + std::to_string(i - gpus);
  };
  std::string out = Pad("", 8);
  for (std::size_t i = 0; i < rows.size(); ++i) out += Pad(label(i), 8);
  out += Pad("CPU Affinity", 16) + "NUMA Affinity\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out += Pad(label(i), 8);
    for (const Device* column : rows) {
      out += Pad(std::string(ToString(topo::ClassifyPath(*rows[i], *column))), 8);
    }
    out += Pad(rows[i]->cpu_list.empty() ? "N/A" : rows[i]->cpu_list, 16) + Numa(*rows[i]) + "\n";
  }
  out +=
      "\nLegend:\n\n"
      "  X    = Self\n"
      "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes\n"
      "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host "
      "Bridges within a NUMA node\n"
      "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)\n"
      "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host "
      "Bridge)\n"
      "  PIX  = Connection traversing at most a single PCIe bridge\n"
      "  (NVLink is not shown: this matrix is the PCIe view from hwloc)\n";
  out += "\nGPU Legend:\n\n";
  for (std::size_t i = 0; i < gpus; ++i) out += "  " + label(i) + ": " + rows[i]->bus_id + "\n";
  if (!hcas.empty()) {
    out += "\nNIC Legend:\n\n";
    for (std::size_t i = gpus; i < rows.size(); ++i) {
      out += "  " + label(i) + ": " + (rows[i]->name.empty() ? rows[i]->bus_id : rows[i]->name) +
             " (" + rows[i]->bus_id + ")\n";
    }
  }
  out += "\n" + std::to_string(t.packages) + " packages, " + std::to_string(t.cores) + " cores, " +
         std::to_string(t.numa_nodes.size()) + " CPU NUMA nodes, " +
         std::to_string(t.OfKind(DeviceKind::kNvSwitch).size()) + " NVSwitches, " +
         std::to_string(t.OfKind(DeviceKind::kNvme).size()) + " NVMe (" + t.source + ")\n";
  return out;
}

int RunTopologyCommand(const TopologyOptions& options, std::ostream& out, std::ostream& err) {
  topo::TopologySource source;
  source.fsroot = options.sysroot;
  source.xml_path = options.topology_xml;
  Expected<topo::Topology> topology = topo::DiscoverTopology(source);
  if (!topology) {
    err << "nodehealth: cannot discover the topology: " << topology.error().message << "\n";
    return 2;
  }
  const std::string fingerprint = topo::WriteFingerprint(*topology);
  if (!options.save_path.empty()) {
    Expected<bool> written = WriteFileAtomically(options.save_path, fingerprint);
    if (!written) {
      err << "nodehealth: " << written.error().message << "\n";
      return 2;
    }
    out << "topology baseline written to " << options.save_path << " (" << topology->devices.size()
        << " devices)\n";
    return 0;
  }
  std::string format = options.format;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "json";
  out << (format == "json" ? fingerprint : RenderTopologyMatrix(*topology));
  return 0;
}

}  // namespace nodehealth
