// source_disagreement in gpu_presence: PCI, NVML, /proc/driver/nvidia/gpus and /dev/nvidia<N>
// against each other (probes/gpu_presence/source_sets.h).
#include "probes/gpu_presence/source_sets.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include "probes/finding_catalog.h"
#include "probes/gpu_presence/gpu_presence_probe.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::DescribeResult;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

constexpr const char* kSevenPci =
    "0000:19:00.0 0000:3b:00.0 0000:4c:00.0 0000:5d:00.0 0000:bb:00.0 0000:cb:00.0 "
    "0000:db:00.0 (7)";
constexpr const char* kEightPci =
    "0000:19:00.0 0000:3b:00.0 0000:4c:00.0 0000:5d:00.0 0000:9b:00.0 0000:bb:00.0 "
    "0000:cb:00.0 0000:db:00.0 (8)";

std::vector<DriverGpu> DriverGpusOf(const NodeInventory& inventory) {
  std::vector<DriverGpu> gpus;
  unsigned minor = 0;
  for (const platform::PciDevice& d : inventory.PciGpus()) gpus.push_back({d.bus_id, minor++});
  return gpus;
}

TEST(GpuSourceSetsTest, DescribesDeviceNodesAsRanges) {
  EXPECT_EQ(DescribeDevMinors({}), "none (0)");
  EXPECT_EQ(DescribeDevMinors({7, 0, 1, 2, 3, 4, 5, 6}), "nvidia0..nvidia7 (8)");
  EXPECT_EQ(DescribeDevMinors({0, 2, 3, 5, 6, 7}), "nvidia0 nvidia2 nvidia3 nvidia5..nvidia7 (6)");
  EXPECT_EQ(DescribeDevMinors({4, 4}), "nvidia4 (1)");
}

// The example: 8 /dev/nvidia<N>, 7 GPUs on PCI, nothing that maps minors to bus ids.
TEST(GpuSourceSetsTest, EightDeviceNodesForSevenGpusIsANodeDisagreement) {
  FixtureNode node("fault-source-devnode-extra.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail) << DescribeResult(r);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "source_disagreement");
  EXPECT_EQ(f.entity, "node");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message, "8 /dev/nvidia<N> device nodes for 7 GPUs on PCI");
  const std::vector<Evidence> expected = {
      {"pci", kSevenPci, ""},
      {"nvml", "not compared: NVML's GPU list unavailable", ""},
      {"driver", "not compared: no /proc/driver/nvidia/gpus", ""},
      {"devnode", "nvidia0..nvidia7 (8)", ""},
  };
  EXPECT_EQ(f.evidence, expected);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "devnode"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "driver"}}), nullptr);
}

// With NVML's minor numbers the orphaned node is named: GPU 0000:9b:00.0 had minor 4.
TEST(GpuSourceSetsTest, NvmlMinorsNameTheDeviceNodeNoGpuOwns) {
  FixtureNode node("fault-gpu-off-pci.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "source_disagreement", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "8 /dev/nvidia<N> device nodes for 7 GPUs on PCI: no GPU has the minor number of "
            "/dev/nvidia4");
  ASSERT_EQ(f->evidence.size(), 4u);
  EXPECT_EQ(f->evidence[0].observed, kSevenPci);
  EXPECT_EQ(f->evidence[1].observed, kSevenPci);
  EXPECT_EQ(f->evidence[3].observed, "nvidia0..nvidia7 (8)");
}

// NVML listing a GPU PCI does not show stays gpu_missing alone (gpu_presence_probe.cc); the
// driver's entry for the same GPU is not reported a second time.
TEST(GpuSourceSetsTest, NvmlGpuNotOnPciIsGpuMissingOnly) {
  FixtureNode node("fault-source-nvml-not-on-pci.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_missing", "gpu/0000:9b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "NVML reports GPU 0000:9b:00.0 but it is not on PCI (sysfs)");
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 0);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "driver"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "pci"}})->value, 7);
}

TEST(GpuSourceSetsTest, DriverListingAGpuThatPciDoesNotShowNamesIt) {
  FixtureNode node("fault-source-driver-not-on-pci.toml");
  ASSERT_TRUE(node.inventory().driver_gpus.has_value());
  ASSERT_EQ(node.inventory().driver_gpus->size(), 8u);
  EXPECT_EQ((*node.inventory().driver_gpus)[4].bus_id, "0000:9b:00.0");
  EXPECT_EQ((*node.inventory().driver_gpus)[4].minor, 4u);
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "source_disagreement");
  EXPECT_EQ(f.entity, "gpu/0000:9b:00.0");
  EXPECT_EQ(f.message,
            "the nvidia driver lists GPU 0000:9b:00.0 in /proc/driver/nvidia/gpus but it is not "
            "on PCI");
  const std::vector<Evidence> expected = {
      {"pci", kSevenPci, ""},
      {"nvml", kSevenPci, ""},
      {"driver", kEightPci, ""},
      {"devnode", "nvidia0..nvidia7 (8)", ""},
  };
  EXPECT_EQ(f.evidence, expected);
}

TEST(GpuSourceSetsTest, GpuTheDriverDidNotRegisterIsNamed) {
  FixtureNode node("hgx-h100-xe9680.toml");
  NodeInventory inventory = node.inventory();
  std::vector<DriverGpu> driver = DriverGpusOf(inventory);
  ASSERT_EQ(driver.size(), 8u);
  inventory.driver_gpus = driver;
  ProbeResult healthy = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  EXPECT_TRUE(healthy.findings.empty()) << DescribeResult(healthy);
  EXPECT_EQ(FindMeasurement(healthy, "gpus", {{"source", "driver"}})->value, 8);

  driver.erase(driver.begin() + 1);  // 0000:3b:00.0, minor 1
  inventory.driver_gpus = driver;
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  // The driver names 7 GPUs and their minors; /dev/nvidia1, which none of them owns, is left for
  // the one GPU whose minor is unknown: no node disagreement.
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "source_disagreement", "gpu/0000:3b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "GPU 0000:3b:00.0 is on PCI but the nvidia driver did not register it "
            "(/proc/driver/nvidia/gpus)");
  EXPECT_EQ(f->evidence[2].observed,
            "0000:19:00.0 0000:4c:00.0 0000:5d:00.0 0000:9b:00.0 0000:bb:00.0 0000:cb:00.0 "
            "0000:db:00.0 (7)");
}

TEST(GpuSourceSetsTest, DriverMinorWithoutItsDeviceNodeIsNamed) {
  FixtureNode node("hgx-h100-xe9680.toml");
  NodeInventory inventory = node.inventory();
  inventory.driver_gpus = DriverGpusOf(inventory);
  inventory.dev_minors = std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6};
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "source_disagreement", "gpu/0000:db:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(
      f->message,
      "GPU 0000:db:00.0 has minor number 7 but there is no /dev/nvidia7: jobs cannot open it");
  EXPECT_EQ(f->evidence[3].observed, "nvidia0..nvidia6 (7)");
}

// NVML's view of the 8 GPUs of the XE9680, minors 0..7; `unopened` is the one NVML cannot open.
GpuPresenceNvmlView EightGpusInNvml(const std::string& unopened) {
  GpuPresenceNvmlView view;
  view.startup.loaded = true;
  view.startup.init_return = platform::nvml::kSuccess;
  const std::vector<std::string> bus_ids = {"0000:19:00.0", "0000:3b:00.0", "0000:4c:00.0",
                                            "0000:5d:00.0", "0000:9b:00.0", "0000:bb:00.0",
                                            "0000:cb:00.0", "0000:db:00.0"};
  view.list.count = 8;
  for (unsigned i = 0; i < 8; ++i) {
    NvmlGpu gpu;
    gpu.index = i;
    if (bus_ids[i] == unopened) {
      gpu.handle_return = platform::nvml::kErrorUnknown;
      view.pci_lookup[unopened] = platform::nvml::kErrorUnknown;
    } else {
      // Never dereferenced: the evaluation only asks whether the GPU was opened.
      gpu.handle = reinterpret_cast<platform::nvml::Device>(static_cast<std::uintptr_t>(i + 1));
      gpu.bus_id = bus_ids[i];
      gpu.name = "NVIDIA H100 80GB HBM3";
      gpu.minor = i;
    }
    view.list.gpus.push_back(gpu);
  }
  return view;
}

// A GPU NVML cannot open (bound to vfio-pci, or failed to initialise) is gpu_missing; its device
// node may be there or not, so a node more or less is not reported again.
TEST(GpuSourceSetsTest, ANodeMoreOrLessForAGpuAlreadyNamedIsNotReportedAgain) {
  FixtureNode node("hgx-h100-xe9680.toml");
  NodeInventory inventory = node.inventory();
  for (const std::vector<unsigned>& minors :
       {std::vector<unsigned>{0, 2, 3, 4, 5, 6, 7}, std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7},
        std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7, 8}}) {
    inventory.dev_minors = minors;
    ProbeResult r = EvaluateGpuPresence(inventory, nullptr, EightGpusInNvml("0000:3b:00.0"));
    if (minors.size() < 9) {
      ASSERT_EQ(r.findings.size(), 1u) << minors.size() << "\n" << DescribeResult(r);
      EXPECT_NE(FindFinding(r, "gpu_missing", "gpu/0000:3b:00.0"), nullptr);
    } else {
      // Two nodes no known GPU owns (nvidia1, nvidia8) for one GPU without a minor: one too many.
      ASSERT_EQ(r.findings.size(), 2u) << DescribeResult(r);
      const Finding* f = FindFinding(r, "source_disagreement", "node");
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->message, "9 /dev/nvidia<N> device nodes for 8 GPUs on PCI");
      EXPECT_EQ(f->evidence[1].observed,
                "0000:19:00.0 0000:4c:00.0 0000:5d:00.0 0000:9b:00.0 0000:bb:00.0 0000:cb:00.0 "
                "0000:db:00.0 (7)");
      EXPECT_EQ(f->evidence[3].observed, "nvidia0..nvidia8 (9)");
    }
  }
  // With every GPU opened, the spare node is named.
  inventory.dev_minors = std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7, 9};
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, EightGpusInNvml(""));
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  EXPECT_EQ(r.findings[0].message,
            "9 /dev/nvidia<N> device nodes for 8 GPUs on PCI: no GPU has the minor number of "
            "/dev/nvidia9");
}

// Without the kernel module, /dev and NVML are empty for a reason gpu_driver reports.
TEST(GpuSourceSetsTest, NothingIsComparedWithoutTheDriverModule) {
  FixtureNode node("hgx-h100-xe9680.toml");
  NodeInventory inventory = node.inventory();
  inventory.nvidia_module_loaded = false;
  inventory.dev_minors = std::vector<unsigned>{};
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 0) << DescribeResult(r);
}

// A malformed or unreadable `information` file leaves the minor unknown: counts are compared, no
// crash, no invented minor.
TEST(GpuSourceSetsTest, MalformedDriverInformationLeavesTheMinorUnknown) {
  FixtureNode node("hgx-h100-xe9680.toml");
  const std::filesystem::path dir = std::filesystem::path(node.root()) / "proc/driver/nvidia/gpus";
  for (const char* bus : {"0000:19:00.0", "0000:3b:00.0", "0000:4c:00.0"}) {
    std::filesystem::create_directories(dir / bus);
  }
  std::ofstream(dir / "0000:19:00.0/information") << "Device Minor: \t 0\n";
  std::ofstream(dir / "0000:3b:00.0/information") << "Device Minor: \t one\nDevice Minor: 1x\n";
  // 0000:4c:00.0 has no information file at all.
  const NodeInventory inventory = GatherNodeInventory(node.fs());
  ASSERT_TRUE(inventory.driver_gpus.has_value());
  ASSERT_EQ(inventory.driver_gpus->size(), 3u);
  EXPECT_EQ((*inventory.driver_gpus)[0].minor, 0u);
  EXPECT_EQ((*inventory.driver_gpus)[1].minor, std::nullopt);
  EXPECT_EQ((*inventory.driver_gpus)[2].minor, std::nullopt);
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  // Five PCI GPUs the driver does not list; the device nodes agree by count (8 = 8).
  EXPECT_EQ(CountFindings(r, "source_disagreement"), 5) << DescribeResult(r);
  EXPECT_EQ(FindFinding(r, "source_disagreement", "node"), nullptr);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "driver"}})->value, 3);
}

// Every shipped scenario through the probe: only the ones built for it disagree.
TEST(GpuSourceSetsTest, NoOtherScenarioRaisesSourceDisagreement) {
  const std::set<std::string> disagreeing = {
      "fault-source-devnode-extra.toml",
      "fault-source-driver-not-on-pci.toml",
      "fault-gpu-off-pci.toml",
  };
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NODEHEALTH_SCENARIO_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".toml") continue;
    // The NVML hangs are the NVML runtime's tests; here they would only cost their timeouts.
    if (name.find("hang") != std::string::npos || name.find("slow") != std::string::npos) continue;
    FixtureNode node(name);
    ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
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
