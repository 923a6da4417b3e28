// source_disagreement in ib_ports: Mellanox PCI functions, /sys/class/infiniband, the uverbs
// devices and /dev/infiniband against each other (probes/ib_ports/hca_sources.h).
#include "probes/ib_ports/hca_sources.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "probes/ib_ports/ib_ports_probe.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::DescribeResult;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

constexpr const char* kEightFunctions =
    "0101:00:00.0 0102:00:00.0 0103:00:00.0 0104:00:00.0 0105:00:00.0 0106:00:00.0 0107:00:00.0 "
    "0108:00:00.0 (8)";

TEST(HcaSourcesTest, RdmaFunctionWithoutItsDeviceIsNamedByItsPciAddress) {
  FixtureNode node("fault-ib-hca-missing.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "source_disagreement");
  EXPECT_EQ(f.entity, "pci/0108:00:00.0");
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message,
            "Mellanox RDMA function 0108:00:00.0 (class 0x020700) has no device in "
            "/sys/class/infiniband");
  const std::vector<Evidence> expected = {
      {"pci", kEightFunctions, ""},
      {"class",
       "mlx5_an0=no PCI link mlx5_ib0=0101:00:00.0 mlx5_ib1=0102:00:00.0 mlx5_ib2=0103:00:00.0 "
       "mlx5_ib3=0104:00:00.0 mlx5_ib4=0105:00:00.0 mlx5_ib5=0106:00:00.0 mlx5_ib6=0107:00:00.0 "
       "(8)",
       ""},
      {"uverbs", "not compared: no readable /sys/class/infiniband_verbs", ""},
      {"devnode", "not compared: /dev/infiniband cannot be listed", ""},
  };
  EXPECT_EQ(f.evidence, expected);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "pci"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "class"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "uverbs"}}), nullptr);
}

TEST(HcaSourcesTest, RdmaDeviceWhosePciFunctionIsGoneIsNamed) {
  FixtureNode node("fault-source-hca-pci-gone.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 1) << DescribeResult(r);
  const Finding* f = FindFinding(r, "source_disagreement", "hca/mlx5_ib2/1");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->message,
            "RDMA device mlx5_ib2 links to PCI function 0103:00:00.0, which is gone from "
            "/sys/bus/pci/devices");
  ASSERT_EQ(f->evidence.size(), 4u);
  EXPECT_EQ(f->evidence[0].observed,
            "0101:00:00.0 0102:00:00.0 0104:00:00.0 0105:00:00.0 0106:00:00.0 0107:00:00.0 "
            "0108:00:00.0 (7)");
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "pci"}})->value, 7);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "class"}})->value, 9);
}

TEST(HcaSourcesTest, RdmaDevicesWithoutUserSpaceVerbsAreNamed) {
  FixtureNode node("fault-source-hca-uverbs.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 2u) << DescribeResult(r);
  const Finding* no_node = FindFinding(r, "source_disagreement", "hca/mlx5_ib5/1");
  ASSERT_NE(no_node, nullptr) << DescribeResult(r);
  EXPECT_EQ(no_node->message,
            "RDMA device mlx5_ib5 has uverbs5 in sysfs but no /dev/infiniband/uverbs5: jobs "
            "cannot open it");
  const Finding* no_verbs = FindFinding(r, "source_disagreement", "hca/mlx5_ib3/1");
  ASSERT_NE(no_verbs, nullptr);
  EXPECT_EQ(no_verbs->message,
            "RDMA device mlx5_ib3 has no uverbs device in /sys/class/infiniband_verbs: jobs "
            "cannot open it");
  ASSERT_EQ(no_verbs->evidence.size(), 4u);
  EXPECT_EQ(no_verbs->evidence[2].observed,
            "uverbs0=mlx5_ib0 uverbs1=mlx5_ib1 uverbs2=mlx5_ib2 uverbs4=mlx5_ib4 uverbs5=mlx5_ib5 "
            "uverbs6=mlx5_ib6 uverbs7=mlx5_ib7 uverbs8=mlx5_an0 (8)");
  EXPECT_EQ(no_verbs->evidence[3].observed,
            "rdma_cm uverbs0 uverbs1 uverbs2 uverbs4 uverbs6 uverbs7 uverbs8 (8)");
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "uverbs"}})->value, 8);
}

HcaSources TwoHealthyHcas() {
  HcaSources s;
  s.pci = std::vector<std::string>{"0000:18:00.0", "0000:29:00.0"};
  s.pci_class = {{"0000:18:00.0", 0x020700}, {"0000:29:00.0", 0x020000}};
  s.devices = {{"mlx5_0", "0000:18:00.0", true, 1}, {"mlx5_1", "0000:29:00.0", true, 1}};
  s.uverbs = std::map<std::string, std::string>{{"uverbs0", "mlx5_0"}, {"uverbs1", "mlx5_1"}};
  s.devnodes = std::set<std::string>{"rdma_cm", "uverbs0", "uverbs1"};
  return s;
}

TEST(HcaSourcesTest, AgreeingSourcesRaiseNothing) {
  ProbeResult r;
  CompareHcaSources(TwoHealthyHcas(), r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "pci"}})->value, 2);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "uverbs"}})->value, 2);
}

TEST(HcaSourcesTest, UverbsNamingAnAbsentDeviceIsANodeFinding) {
  HcaSources s = TwoHealthyHcas();
  (*s.uverbs)["uverbs2"] = "mlx5_9";
  ProbeResult r;
  CompareHcaSources(s, r);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  EXPECT_EQ(r.findings[0].entity, "node");
  EXPECT_EQ(r.findings[0].message,
            "/sys/class/infiniband_verbs/uverbs2 names mlx5_9, which is not in "
            "/sys/class/infiniband");
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
}

// Absent sources compare nothing; a soft device (no PCI link) is no PCI HCA; no RDMA device at all
// compares nothing (ib_ports skips or reports ib_hca_missing).
TEST(HcaSourcesTest, AbsentSourcesAndSoftDevicesAreNotCompared) {
  HcaSources s = TwoHealthyHcas();
  s.uverbs.reset();
  s.devnodes.reset();
  s.devices.push_back({"rxe0", std::nullopt, false, 1});
  ProbeResult r;
  CompareHcaSources(s, r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "ib_hcas", {{"source", "class"}})->value, 3);

  HcaSources none;
  none.pci = std::vector<std::string>{"0000:18:00.0"};
  ProbeResult empty;
  CompareHcaSources(none, empty);
  EXPECT_TRUE(empty.findings.empty());
  EXPECT_TRUE(empty.measurements.empty());
}

// Every shipped scenario through ib_ports: only the ones built for it disagree.
TEST(HcaSourcesTest, NoOtherScenarioRaisesSourceDisagreement) {
  const std::set<std::string> disagreeing = {
      "fault-ib-hca-missing.toml",
      "fault-source-hca-pci-gone.toml",
      "fault-source-hca-uverbs.toml",
  };
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NODEHEALTH_SCENARIO_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".toml") continue;
    FixtureNode node(name);
    ProbeResult r = node.Run(IbPortsProbe(), nullptr);
    const int found = CountFindings(r, "source_disagreement");
    if (disagreeing.contains(name)) {
      EXPECT_GE(found, 1) << name << "\n" << DescribeResult(r);
    } else {
      EXPECT_EQ(found, 0) << name << "\n" << DescribeResult(r);
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

}  // namespace
}  // namespace nodehealth
