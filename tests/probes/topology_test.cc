// The topology probe on hwloc's own recorded machines (../shared/fixtures/peer/hwloc, README
// section 4): XML topologies (the xml-v2 copies Debian's hwloc 2.9 reads) and gathered /sys+/proc
// trees replayed through hwloc's filesystem root, plus the Azure ND H100 v5 fixture node.
#include "probes/topology/topology_probe.h"

#include <gtest/gtest.h>

#include <fstream>

#include "probes/topology/fingerprint.h"
#include "probes/topology/topology_discovery.h"
#include "tests/support/run_command.h"
#include "tests/support/scenario.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;
using testing::TempDir;
using topo::Device;
using topo::DeviceKind;
using topo::PathClass;
using topo::Topology;

std::string HwlocXml(const std::string& name) {
  return testing::PeerFixturesDir() + "/hwloc/tests/hwloc/xml-v2/" + name;
}

Topology FromXml(const std::string& name) {
  topo::TopologySource source;
  source.xml_path = HwlocXml(name);
  Expected<Topology> t = topo::DiscoverTopology(source);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? *t : Topology{};
}

// A gathered tarball extracted below a temporary directory; root() is the tree's fsroot.
class GatheredTree {
 public:
  explicit GatheredTree(const std::string& name) {
    const std::string archive =
        testing::PeerFixturesDir() + "/hwloc/tests/hwloc/linux/" + name + ".tar.bz2";
    testing::CommandResult run =
        testing::RunCommand({"/usr/bin/tar", "-xjf", archive, "-C", dir_.path()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    root_ = dir_.path() + "/" + name;
  }
  const std::string& root() const { return root_; }

 private:
  TempDir dir_;
  std::string root_;
};

const Device* ByBus(const Topology& t, const std::string& bus) {
  for (const Device& d : t.devices) {
    if (d.bus_id == bus) return &d;
  }
  return nullptr;
}

ProbeResult RunOnTree(const std::string& root, const Profile* profile, const std::string& xml = "",
                      const std::string& baseline = "") {
  platform::RootedFileSystem fs(root);
  const NodeInventory inventory = GatherNodeInventory(fs);
  ProbeContext context{.fs = fs,
                       .profile = profile,
                       .inventory = inventory,
                       .topology_xml = xml,
                       .topology_baseline = baseline};
  return TopologyProbe().Run(context);
}

TEST(PathClassTest, FollowsNvidiaSmiDefinitions) {
  Device gpu{.bus_id = "0000:19:00.0",
             .numa_nodes = {0},
             .pci_path = {"0000:18:00.0", "0000:17:00.0", "0000:16:01.0", "host:0000:[15-1f]"}};
  Device same_switch{
      .bus_id = "0000:1a:00.0",
      .numa_nodes = {0},
      .pci_path = {"0000:18:01.0", "0000:17:00.0", "0000:16:01.0", "host:0000:[15-1f]"}};
  Device same_bridge{
      .bus_id = "0000:19:00.1",
      .numa_nodes = {0},
      .pci_path = {"0000:18:00.0", "0000:17:00.0", "0000:16:01.0", "host:0000:[15-1f]"}};
  Device other_switch{
      .bus_id = "0000:1c:00.0",
      .numa_nodes = {0},
      .pci_path = {"0000:1b:00.0", "0000:17:02.0", "0000:16:01.0", "host:0000:[15-1f]"}};
  Device same_host{.bus_id = "0000:21:00.0",
                   .numa_nodes = {0},
                   .pci_path = {"0000:16:02.0", "host:0000:[15-1f]"}};
  Device other_host{.bus_id = "0000:41:00.0", .numa_nodes = {0}, .pci_path = {"host:0000:[40-4f]"}};
  Device other_socket{
      .bus_id = "0000:c1:00.0", .numa_nodes = {1}, .pci_path = {"host:0000:[c0-cf]"}};
  EXPECT_EQ(ClassifyPath(gpu, gpu), PathClass::kSelf);
  EXPECT_EQ(ClassifyPath(gpu, same_bridge), PathClass::kPix);
  EXPECT_EQ(ClassifyPath(gpu, same_switch), PathClass::kPix);
  EXPECT_EQ(ClassifyPath(gpu, other_switch), PathClass::kPxb);
  EXPECT_EQ(ClassifyPath(gpu, same_host), PathClass::kPhb);
  EXPECT_EQ(ClassifyPath(gpu, other_host), PathClass::kNode);
  EXPECT_EQ(ClassifyPath(gpu, other_socket), PathClass::kSys);
  EXPECT_EQ(ClassifyPath(other_socket, gpu), PathClass::kSys);
  EXPECT_EQ(topo::ParsePathClass("node"), PathClass::kNode);
  EXPECT_EQ(topo::ParsePathClass("PIX"), PathClass::kPix);
  EXPECT_FALSE(topo::ParsePathClass("NV12"));
}

TEST(TopologyDiscoveryTest, DgxTwoXmlHasSixteenGpusElevenNvSwitchesTwoNumaNodes) {
  const Topology t = FromXml("nvidiaDGX2.xml");
  EXPECT_EQ(t.numa_nodes.size(), 2u);
  EXPECT_EQ(t.packages, 2);
  const auto gpus = t.OfKind(DeviceKind::kGpu);
  ASSERT_EQ(gpus.size(), 16u);
  EXPECT_EQ(t.OfKind(DeviceKind::kNvSwitch).size(), 11u);
  int on_package[2] = {0, 0};
  for (const Device* gpu : gpus) {
    ASSERT_TRUE(gpu->package == 0 || gpu->package == 1) << gpu->bus_id;
    ++on_package[gpu->package];
    EXPECT_EQ(gpu->device_id, 0x1db8u);
  }
  EXPECT_EQ(on_package[0], 8);
  EXPECT_EQ(on_package[1], 8);
  // nvml0/nvml1 share a PLX switch, nvml2 sits behind the other switch of the same root port,
  // nvml4 behind another host bridge of the socket, nvml8 on the other socket.
  const Device& g0 = *ByBus(t, "0000:34:00.0");
  EXPECT_EQ(ClassifyPath(g0, *ByBus(t, "0000:36:00.0")), PathClass::kPix);
  EXPECT_EQ(ClassifyPath(g0, *ByBus(t, "0000:39:00.0")), PathClass::kPxb);
  EXPECT_EQ(ClassifyPath(g0, *ByBus(t, "0000:57:00.0")), PathClass::kNode);
  EXPECT_EQ(ClassifyPath(g0, *gpus[8]), PathClass::kSys);
  EXPECT_EQ(t.numa_distances.at({0, 1}), 21u);
}

TEST(TopologyDiscoveryTest, K40mAndMlx5AreLocalToPackageOneAndShareABridge) {
  const Topology t = FromXml("32em64t-2n8c2t-pci-normalio.xml");
  const Device* k40m = ByBus(t, "0000:84:00.0");
  ASSERT_NE(k40m, nullptr);
  const auto hcas = t.OfKind(DeviceKind::kHca);
  ASSERT_EQ(hcas.size(), 1u);
  EXPECT_EQ(hcas[0]->name, "mlx5_0");
  EXPECT_EQ(hcas[0]->package, 1);
  EXPECT_EQ(k40m->package, 1);
  EXPECT_EQ(hcas[0]->numa_nodes, std::vector<int>{1});
  const topo::NearestHca nearest = FindNearestHca(t, *k40m);
  EXPECT_EQ(nearest.hca, hcas[0]);
  EXPECT_EQ(nearest.path, PathClass::kPix);
  EXPECT_EQ(FindNearestHca(t, *ByBus(t, "0000:83:00.0")).path, PathClass::kPhb);
  EXPECT_EQ(FindNearestHca(t, *ByBus(t, "0000:03:00.0")).path, PathClass::kSys);
}

TEST(TopologyProbeTest, ProfileRejectsAGpuWhoseNearestHcaIsOnTheOtherSocket) {
  FixtureNode node("no-gpu.toml");
  Profile profile;
  profile.name = "k40m";
  profile.topology.numa_nodes = 2;
  profile.topology.gpu_hca_path_max = "PHB";
  ProbeResult r = RunOnTree(node.root(), &profile, HwlocXml("32em64t-2n8c2t-pci-normalio.xml"));
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "topology_mismatch");
  EXPECT_EQ(f.entity, "gpu/0000:03:00.0");
  EXPECT_EQ(f.evidence[0].observed, "SYS to mlx5_0 (0000:04:00.0)");
  EXPECT_EQ(f.evidence[0].expected, "at most PHB");
  EXPECT_EQ(FindMeasurement(r, "topology_gpu_hca_path_class",
                            {{"gpu", "0000:84:00.0"}, {"hca", "mlx5_0"}})
                ->value,
            1);
}

TEST(TopologyProbeTest, Power9GpuMemoryIsNotACpuNumaNode) {
  GatheredTree tree("nvidiagpunumanodes");
  Profile profile;
  profile.name = "p9";
  profile.topology.numa_nodes = 2;
  ProbeResult r = RunOnTree(tree.root(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "topology_cpu_numa_nodes")->value, 2);
  // The kernel lists 8 nodes (0, 8 and the six GPU memory nodes 250-255): none is offline, and
  // CPU lists do not overlap.
  EXPECT_EQ(testing::CountFindings(r, "topology_mismatch"), 0);
}

TEST(TopologyProbeTest, BuggyFirmwareNumaIsAClearFinding) {
  GatheredTree tree("8em64t-2s2ca2c-buggynuma");
  ProbeResult r = RunOnTree(tree.root(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "topology_mismatch");
  EXPECT_EQ(r.findings[0].entity, "node");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "8 CPUs in several nodes (0,1,2,3,4,5,6,7)");
  // hwloc merged the eight identical nodes into one.
  EXPECT_EQ(FindMeasurement(r, "topology_cpu_numa_nodes")->value, 1);
  Profile profile;
  profile.name = "two-sockets";
  profile.topology.numa_nodes = 2;
  ProbeResult with_profile = RunOnTree(tree.root(), &profile);
  EXPECT_EQ(testing::CountFindings(with_profile, "topology_mismatch"), 2);
}

TEST(TopologyProbeTest, OfflineNumaNodeWarnsAndFailsAgainstAProfile) {
  GatheredTree tree("offline-cpu0-node0");
  ProbeResult r = RunOnTree(tree.root(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].severity, Severity::kWarn);
  EXPECT_EQ(r.findings[0].message,
            "NUMA node 0 is possible but offline: its CPUs and memory are missing");
  Profile profile;
  profile.name = "two-sockets";
  profile.topology.numa_nodes = 2;
  ProbeResult strict = RunOnTree(tree.root(), &profile);
  EXPECT_EQ(strict.verdict, ProbeVerdict::kFail);
  EXPECT_EQ(testing::CountFindings(strict, "topology_mismatch"), 2);
}

TEST(TopologyProbeTest, AzureNodeMatchesItsProfileAndAMisplacedHcaIsFound) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = testing::ShippedProfile("azure-nd96isr-h100-v5");
  ProbeResult r = RunOnTree(node.root(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "topology_devices", {{"kind", "gpu"}, {"numa", "0"}})->value, 4);
  EXPECT_EQ(FindMeasurement(r, "topology_devices", {{"kind", "hca"}, {"numa", "1"}})->value, 4);
  // mlx5_ib1 (0102:00:00.0) moved to the other socket's root complex.
  FixtureNode moved("azure-nd96isr-h100-v5.toml");
  {
    std::ofstream(moved.root() + "/sys/bus/pci/devices/0102:00:00.0/numa_node") << "1\n";
    std::ofstream(moved.root() + "/sys/bus/pci/devices/0102:00:00.0/local_cpus")
        << "ffffffff,ffff0000,00000000\n";
  }
  ProbeResult m = RunOnTree(moved.root(), &profile);
  const Finding* spread = FindFinding(m, "topology_mismatch", "node");
  ASSERT_NE(spread, nullptr) << testing::DescribeResult(m);
  EXPECT_EQ(spread->evidence[0].observed, "NUMA 0: 3, NUMA 1: 5");
  EXPECT_EQ(spread->evidence[0].expected, "4 per NUMA node");
}

TEST(TopologyBaselineTest, SaveThenChangedXmlGivesStructuredDifferences) {
  const Topology before = FromXml("24em64t-2n6c2t-pci.xml");
  TempDir dir;
  const std::string baseline = dir.path() + "/baseline.json";
  std::ofstream(baseline) << topo::WriteFingerprint(before);
  // The same fingerprint read back is equal to what was written.
  Expected<std::string> text = testing::ReadWholeFile(baseline);
  ASSERT_TRUE(text);
  Expected<Topology> reread = topo::ReadFingerprint(*text, baseline);
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ(topo::WriteFingerprint(*reread), *text);
  EXPECT_TRUE(topo::CompareWithBaseline(*reread, before, baseline).empty());

  // The changed machine: mlx4_0's link trained at half speed, GPU 0000:11:00.0 replaced by a card
  // of another vendor.
  Expected<std::string> xml = testing::ReadWholeFile(HwlocXml("24em64t-2n6c2t-pci.xml"));
  ASSERT_TRUE(xml);
  std::string changed = *xml;
  auto replace = [&](const std::string& from, const std::string& to) {
    const std::size_t at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
  };
  replace(
      R"(pci_busid="0000:05:00.0" pci_type="0c06 [15b3:6746] [003c:0049] b0 00" pci_link_speed="2.000000")",
      R"(pci_busid="0000:05:00.0" pci_type="0c06 [15b3:6746] [003c:0049] b0 00" pci_link_speed="1.000000")");
  replace(R"(pci_busid="0000:11:00.0" pci_type="0302 [10de:06d2])",
          R"(pci_busid="0000:11:00.0" pci_type="0302 [1234:06d2])");
  const std::string changed_path = dir.path() + "/changed.xml";
  std::ofstream(changed_path) << changed;

  FixtureNode node("no-gpu.toml");
  ProbeResult r = RunOnTree(node.root(), nullptr, changed_path, baseline);
  ASSERT_EQ(r.findings.size(), 2u) << testing::DescribeResult(r);
  const Finding* link = FindFinding(r, "pcie_link_degraded", "hca/mlx4_0/1");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->evidence[0].source, "topology baseline " + baseline);
  EXPECT_EQ(link->evidence[0].observed, "1.00 GB/s");
  EXPECT_EQ(link->evidence[0].expected, "2.00 GB/s");
  const Finding* gone = FindFinding(r, "topology_mismatch", "gpu/0000:11:00.0");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->message, "gpu 0000:11:00.0 is gone");
  EXPECT_EQ(gone->evidence[0].observed, "absent");
}

TEST(TopologyBaselineTest, UnusableBaselineIsProbeError) {
  TempDir dir;
  const std::string baseline = dir.path() + "/baseline.json";
  std::ofstream(baseline) << "{\"schema\": \"something else\"}";
  FixtureNode node("no-gpu.toml");
  ProbeResult r = RunOnTree(node.root(), nullptr, HwlocXml("24em64t-2n6c2t-pci.xml"), baseline);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_NE(FindFinding(r, "probe_error", "node"), nullptr);
  EXPECT_NE(r.error.find("not a nodehealth topology fingerprint"), std::string::npos) << r.error;
}

TEST(TopologyProbeTest, UnreadableXmlIsProbeErrorNotHealthy) {
  TempDir dir;
  std::ofstream(dir.path() + "/broken.xml") << "<topology version=\"2.0\"><object type=";
  FixtureNode node("no-gpu.toml");
  ProbeResult r = RunOnTree(node.root(), nullptr, dir.path() + "/broken.xml");
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  EXPECT_NE(FindFinding(r, "probe_error", "node"), nullptr);
}

}  // namespace
}  // namespace nodehealth
