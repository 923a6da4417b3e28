// source_disagreement in the topology probe: the GPUs and InfiniBand functions of hwloc's topology
// against the PCI scan of the same tree (probes/topology/topology_probe.h,
// CompareTopologyWithPci).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "probes/finding_catalog.h"
#include "probes/topology/topology_probe.h"
#include "tests/support/scenario.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::DescribeResult;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;
using topo::Device;
using topo::DeviceKind;
using topo::Topology;

constexpr const char* kEightPci =
    "0000:19:00.0 0000:3b:00.0 0000:4c:00.0 0000:5d:00.0 0000:9b:00.0 0000:bb:00.0 "
    "0000:cb:00.0 0000:db:00.0 (8)";
constexpr const char* kSevenPci =
    "0000:19:00.0 0000:3b:00.0 0000:4c:00.0 0000:5d:00.0 0000:bb:00.0 0000:cb:00.0 "
    "0000:db:00.0 (7)";

ProbeResult RunTopology(const FixtureNode& node, const std::string& xml = "") {
  ProbeContext context{.fs = node.fs(), .inventory = node.inventory(), .topology_xml = xml};
  return TopologyProbe().Run(context);
}

// hwloc's view of the XE9680 fixture: the GPUs it discovered from the tree.
Topology GpusOf(const NodeInventory& inventory) {
  Topology t;
  for (const platform::PciDevice& d : inventory.PciGpus()) {
    t.devices.push_back(Device{.kind = DeviceKind::kGpu,
                               .bus_id = d.bus_id,
                               .vendor = 0x10de,
                               .device_id = d.device,
                               .class_code = d.class_code >> 8});
  }
  return t;
}

Expected<platform::PciScan> NoMellanox() { return platform::PciScan{}; }

platform::PciDevice Mellanox(const std::string& bus_id, uint32_t class_code) {
  platform::PciDevice d;
  d.bus_id = bus_id;
  d.vendor = 0x15b3;
  d.class_code = class_code;
  return d;
}

// The Azure ND H100 v5 fixture is the one family of scenarios with CPU directories, so hwloc runs
// on its tree: 8 GPUs and 8 InfiniBand functions on both sides.
TEST(TopologySourcesTest, AzureTopologyAgreesWithPci) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ASSERT_EQ(node.inventory().PciGpus().size(), 8u);
  Expected<platform::PciScan> mellanox = platform::ScanPciDevices(node.fs(), 0x15b3);
  ASSERT_TRUE(mellanox);
  int infiniband = 0;
  for (const platform::PciDevice& d : mellanox->devices)
    infiniband += (d.class_code >> 8) == 0x0207;
  EXPECT_EQ(infiniband, 8);
  ProbeResult r = RunTopology(node);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << DescribeResult(r);
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 0) << DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "topology_devices", {{"kind", "gpu"}, {"numa", "0"}})->value, 4);
  EXPECT_EQ(FindMeasurement(r, "topology_devices", {{"kind", "hca"}, {"numa", "1"}})->value, 4);
}

// Through the probe: the round's inventory (scanned before the discovery) lacks a GPU that hwloc
// and the probe's own scan after the discovery both show: the GPU came in between, which is a
// difference of moments, not of sources. With an hwloc XML nothing is compared at all.
TEST(TopologySourcesTest, AGpuThatCameDuringTheRunIsNotADisagreement) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  NodeInventory inventory = node.inventory();
  ASSERT_TRUE(inventory.nvidia_pci);
  const std::vector<platform::PciDevice> gpus = inventory.PciGpus();
  ASSERT_EQ(gpus.size(), 8u);
  const std::string came = gpus.front().bus_id;
  std::erase_if(inventory.nvidia_pci->devices,
                [&](const platform::PciDevice& d) { return d.bus_id == came; });
  // The comparison on its own, against the early scan, does see a difference...
  ProbeResult early;
  CompareTopologyWithPci(GpusOf(node.inventory()), inventory, NoMellanox(), early);
  ASSERT_NE(FindFinding(early, "source_disagreement", "gpu/" + came), nullptr)
      << DescribeResult(early);
  // ...which the later scan does not confirm.
  ProbeContext context{.fs = node.fs(), .inventory = inventory};
  ProbeResult r = TopologyProbe().Run(context);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << DescribeResult(r);
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 0) << DescribeResult(r);

  const std::string xml =
      testing::PeerFixturesDir() + "/hwloc/tests/hwloc/xml-v2/24em64t-2n6c2t-pci.xml";
  ProbeContext with_xml{.fs = node.fs(), .inventory = node.inventory(), .topology_xml = xml};
  ProbeResult x = TopologyProbe().Run(with_xml);
  EXPECT_EQ(CountFindings(x, "source_disagreement"), 0) << DescribeResult(x);
  EXPECT_NE(FindMeasurement(x, "topology_devices", {{"kind", "gpu"}}), nullptr);
}

// A GPU in a 32-bit PCI domain (behind Intel VMD): Debian's hwloc 2.9 leaves it out (the topology
// shows 8 GPUs, PCI 9), so such bus ids are not compared.
TEST(TopologySourcesTest, AGpuInA32BitPciDomainIsNotCompared) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const std::string gpu = node.inventory().PciGpus().front().bus_id;
  const std::filesystem::path devices = std::filesystem::path(node.root()) / "sys/bus/pci/devices";
  std::filesystem::copy(
      devices / gpu, devices / "10000:01:00.0",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  const NodeInventory inventory = GatherNodeInventory(node.fs());
  ASSERT_EQ(inventory.PciGpus().size(), 9u);
  ProbeContext context{.fs = node.fs(), .inventory = inventory};
  ProbeResult r = TopologyProbe().Run(context);
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 0) << DescribeResult(r);
  double topology_gpus = 0;
  for (const Measurement& m : r.measurements) {
    if (m.name == "topology_devices" && m.labels.at("kind") == "gpu") topology_gpus += m.value;
  }
  EXPECT_EQ(topology_gpus, 8);
}

TEST(TopologySourcesTest, GpuOnPciThatTheTopologyLacksIsNamed) {
  FixtureNode node("hgx-h100-xe9680.toml");
  Topology t = GpusOf(node.inventory());
  ASSERT_EQ(t.devices.size(), 8u);
  t.devices.erase(t.devices.begin() + 4);  // 0000:9b:00.0
  ProbeResult r;
  CompareTopologyWithPci(t, node.inventory(), NoMellanox(), r);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "source_disagreement");
  EXPECT_EQ(f.entity, "gpu/0000:9b:00.0");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.message, "GPU 0000:9b:00.0 is on PCI but hwloc's topology does not show it");
  const std::vector<Evidence> expected = {{"pci", kEightPci, ""}, {"topology", kSevenPci, ""}};
  EXPECT_EQ(f.evidence, expected);
}

TEST(TopologySourcesTest, TopologyGpuThatPciDoesNotShowIsNamed) {
  FixtureNode node("fault-gpu-off-pci.toml");
  FixtureNode full("hgx-h100-xe9680.toml");
  const Topology t = GpusOf(full.inventory());
  ProbeResult r;
  CompareTopologyWithPci(t, node.inventory(), NoMellanox(), r);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "source_disagreement");
  EXPECT_EQ(f.entity, "gpu/0000:9b:00.0");
  EXPECT_EQ(f.message, "hwloc's topology shows GPU 0000:9b:00.0 but it is not on PCI");
  const std::vector<Evidence> expected = {{"pci", kSevenPci, ""}, {"topology", kEightPci, ""}};
  EXPECT_EQ(f.evidence, expected);
}

TEST(TopologySourcesTest, InfinibandFunctionsAreComparedByBusId) {
  FixtureNode node("no-gpu.toml");
  Topology t;
  t.devices.push_back(Device{.kind = DeviceKind::kHca,
                             .bus_id = "0000:4b:00.0",
                             .vendor = 0x15b3,
                             .class_code = 0x0207,
                             .name = "mlx5_1"});
  platform::PciScan scan;
  scan.devices.push_back(Mellanox("0000:1a:00.0", 0x020700));
  // A RoCE (Ethernet-class) function is not an InfiniBand function on either side.
  scan.devices.push_back(Mellanox("0000:2a:00.0", 0x020000));
  ProbeResult r;
  CompareTopologyWithPci(t, node.inventory(), scan, r);
  ASSERT_EQ(r.findings.size(), 2u) << DescribeResult(r);
  const std::vector<Evidence> expected = {{"pci", "0000:1a:00.0 (1)", ""},
                                          {"topology", "0000:4b:00.0 (1)", ""}};
  const Finding* on_pci = FindFinding(r, "source_disagreement", "pci/0000:1a:00.0");
  ASSERT_NE(on_pci, nullptr);
  EXPECT_EQ(on_pci->message,
            "InfiniBand function 0000:1a:00.0 is on PCI but hwloc's topology does not show it");
  EXPECT_EQ(on_pci->evidence, expected);
  const Finding* in_topology = FindFinding(r, "source_disagreement", "hca/mlx5_1/1");
  ASSERT_NE(in_topology, nullptr);
  EXPECT_EQ(in_topology->message,
            "hwloc's topology shows InfiniBand function 0000:4b:00.0 (mlx5_1) but it is not on "
            "PCI");
  EXPECT_EQ(in_topology->evidence, expected);

  // An incomplete scan is no reference: nothing compared.
  scan.unreadable.push_back("0000:3a:00.0");
  ProbeResult incomplete;
  CompareTopologyWithPci(t, node.inventory(), scan, incomplete);
  EXPECT_TRUE(incomplete.findings.empty()) << DescribeResult(incomplete);
}

TEST(TopologySourcesTest, AnIncompleteGpuScanComparesNothing) {
  FixtureNode node("hgx-h100-xe9680.toml");
  NodeInventory inventory = node.inventory();
  Topology t = GpusOf(inventory);
  t.devices.pop_back();
  ProbeResult complete;
  CompareTopologyWithPci(t, inventory, NoMellanox(), complete);
  EXPECT_EQ(CountFindings(complete, "source_disagreement"), 1) << DescribeResult(complete);
  inventory.nvidia_pci->unreadable.push_back("0000:aa:00.0");
  ProbeResult r;
  CompareTopologyWithPci(t, inventory, NoMellanox(), r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
  inventory.nvidia_pci = MakeError("cannot list /sys/bus/pci/devices");
  CompareTopologyWithPci(t, inventory, NoMellanox(), r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
}

// A topology without any PCI device is hwloc without its I/O discovery: nothing is compared.
TEST(TopologySourcesTest, ATopologyWithoutDevicesComparesNothing) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ASSERT_EQ(node.inventory().PciGpus().size(), 8u);
  ProbeResult r;
  CompareTopologyWithPci(Topology{}, node.inventory(), NoMellanox(), r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
}

// Every shipped scenario through the probe: only the ones built for it disagree.
TEST(TopologySourcesTest, NoOtherScenarioRaisesSourceDisagreement) {
  // A recorded tree is hwloc's and the PCI scan's same /sys/bus/pci/devices, so no scenario can
  // disagree; none is built to. Only scenarios with CPU directories ([cpu_topology], the Azure
  // family) get as far as hwloc, the others are skipped.
  const std::set<std::string> disagreeing = {};
  int checked = 0;
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NODEHEALTH_SCENARIO_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".toml") continue;
    FixtureNode node(name);
    ProbeResult r = RunTopology(node);
    const int found = CountFindings(r, "source_disagreement");
    if (r.verdict != ProbeVerdict::kSkip) ++compared;
    if (disagreeing.contains(name)) {
      EXPECT_GE(found, 1) << name << "\n" << DescribeResult(r);
    } else {
      EXPECT_EQ(found, 0) << name << "\n" << DescribeResult(r);
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
  EXPECT_GE(compared, 10);
}

}  // namespace
}  // namespace nodehealth
