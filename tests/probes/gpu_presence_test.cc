#include "probes/gpu_presence/gpu_presence_probe.h"

#include <gtest/gtest.h>

#include "probes/finding_catalog.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FakeNvmlLegacyLibrary;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

Profile EightH100() {
  Profile p;
  p.name = "test-8x-h100";
  p.gpu.count = 8;
  p.gpu.model = "H100";
  return p;
}

const std::vector<std::string> kXe9680Gpus = {"0000:19:00.0", "0000:3b:00.0", "0000:4c:00.0",
                                              "0000:5d:00.0", "0000:9b:00.0", "0000:bb:00.0",
                                              "0000:cb:00.0", "0000:db:00.0"};

TEST(GpuPresenceTest, HealthyNodeSeesEightGpusEverywhere) {
  FixtureNode node("hgx-h100-xe9680.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "pci"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "devnode"}})->value, 8);
  EXPECT_EQ(FindMeasurement(r, "gpus_expected")->value, 8);
}

TEST(GpuPresenceTest, GpuGoneFromPciIsCountedAgainstTheProfile) {
  FixtureNode node("fault-gpu-off-pci.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  // Its /dev/nvidia4 is left behind: source_disagreement (gpu_source_sets_test.cc).
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_NE(FindFinding(r, "source_disagreement", "node"), nullptr);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "gpu_missing");
  EXPECT_EQ(f.entity, "node");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.action, Action::kReboot);
  EXPECT_EQ(f.message, "expected 8 H100 GPUs, found 7 on PCI");
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0].source, "/sys/bus/pci/devices");
  EXPECT_EQ(f.evidence[0].observed,
            "7: 0000:19:00.0, 0000:3b:00.0, 0000:4c:00.0, 0000:5d:00.0, 0000:bb:00.0, "
            "0000:cb:00.0, 0000:db:00.0");
  EXPECT_EQ(f.evidence[0].expected, "8 x H100");
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}})->value, 7);
}

TEST(GpuPresenceTest, GpuOnPciThatNvmlCannotOpenIsNamed) {
  FixtureNode node("fault-gpu-not-opened.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << r.findings[0].message;
  const Finding* f = FindFinding(r, "gpu_missing", "gpu/0000:3b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "GPU 0000:3b:00.0 is on PCI but NVML cannot open it");
  ASSERT_EQ(f->evidence.size(), 2u);
  EXPECT_EQ(f->evidence[0].observed, "present (NVIDIA H100 80GB HBM3)");
  EXPECT_EQ(f->evidence[1].observed,
            "nvmlDeviceGetHandleByPciBusId(0000:3b:00.0): NVML_ERROR_IRQ_ISSUE (11)");
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}})->value, 7);
}

TEST(GpuPresenceTest, LostGpuIsGpuLostNotMissing) {
  FixtureNode node("fault-gpu-lost.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding* f = FindFinding(r, "gpu_lost", "gpu/0000:9b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->action, Action::kReboot);
  EXPECT_EQ(f->evidence[0].observed,
            "nvmlDeviceGetHandleByPciBusId(0000:9b:00.0): NVML_ERROR_GPU_IS_LOST (15)");
}

TEST(GpuPresenceTest, MissingDeviceNodeIsNamedByItsGpu) {
  FixtureNode node("fault-dev-node-missing.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding* f = FindFinding(r, "gpu_missing", "gpu/0000:db:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "GPU 0000:db:00.0 has no device node /dev/nvidia7: jobs cannot open it");
  EXPECT_EQ(f->evidence[0].source, "/dev/nvidia7");
  EXPECT_EQ(f->evidence[0].observed, "absent");
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "devnode"}})->value, 7);
}

TEST(GpuPresenceTest, TruncatedCaptureIsNeverHealthyWithOneGpu) {
  FixtureNode node("fault-truncated-capture.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  EXPECT_EQ(CountFindings(r, "gpu_missing"), 7);
  for (const char* bus : {"0000:64:00.0", "0000:75:00.0", "0000:86:00.0", "0000:97:00.0",
                          "0000:a8:00.0", "0000:b9:00.0", "0000:ca:00.0"}) {
    const Finding* f = FindFinding(r, "gpu_missing", std::string("gpu/") + bus);
    ASSERT_NE(f, nullptr) << bus;
    EXPECT_NE(f->evidence[1].observed.find("NVML_ERROR_UNKNOWN (999)"), std::string::npos);
  }
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}})->value, 1);
}

TEST(GpuPresenceTest, WithoutNvmlComparesPciWithTheProfileAndSaysSo) {
  FixtureNode node("fault-driver-not-loaded.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass);
  EXPECT_TRUE(r.findings.empty());
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("NVML unavailable (nvmlInit: NVML_ERROR_DRIVER_NOT_LOADED (9)"),
            std::string::npos);
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}}), nullptr);
}

TEST(GpuPresenceTest, SkipsOnANodeWithoutGpus) {
  FixtureNode node("no-gpu.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
  EXPECT_EQ(r.skip_reason, "no NVIDIA GPU on PCI and the profile expects none");
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "pci"}})->value, 0);
}

TEST(GpuPresenceTest, ANodeWithoutGpusFailsAProfileThatExpectsThem) {
  FixtureNode node("no-gpu.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding* f = FindFinding(r, "gpu_missing", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "expected 8 H100 GPUs, found 0 on PCI");
}

TEST(GpuPresenceTest, GpusOfAnotherModelDoNotCount) {
  FixtureNode node("h100-vm.toml");
  Profile profile;
  profile.name = "test-a100";
  profile.gpu.count = 8;
  profile.gpu.model = "A100-SXM4-80GB";
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile);
  const Finding* f = FindFinding(r, "gpu_missing", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message.substr(0, 69),
            "expected 8 A100-SXM4-80GB GPUs, found 0 on PCI (other models present:");
}

TEST(GpuPresenceTest, MalformedSysfsIsUndecidedNotHealthy) {
  FixtureNode node("bad-sysfs.toml");
  ProbeResult r = node.Run(GpuPresenceProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_NE(FindFinding(r, "probe_error", "gpu/0000:53:00.0"), nullptr);
  const Finding* unreadable = FindFinding(r, "probe_error", "node");
  ASSERT_NE(unreadable, nullptr);
  EXPECT_NE(unreadable->message.find("0000:00:1f.0/vendor"), std::string::npos);
  EXPECT_NE(r.error.find("cannot tell whether"), std::string::npos);
}

TEST(GpuPresenceTest, WorksWithALegacyNvml) {
  FixtureNode node("h100-vm-cool.toml");
  const Profile profile = EightH100();
  ProbeResult r = node.Run(GpuPresenceProbe(), &profile, FakeNvmlLegacyLibrary());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(FindMeasurement(r, "gpus", {{"source", "nvml"}})->value, 8);
}

TEST(GpuPresenceTest, EvaluatesPlainValuesWithoutNvml) {
  NodeInventory inventory;
  inventory.nvidia_pci = MakeError("cannot list /sys/bus/pci/devices: Permission denied", EACCES);
  ProbeResult r = EvaluateGpuPresence(inventory, nullptr, std::nullopt);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "probe_error");
  EXPECT_EQ(r.error,
            "cannot scan PCI devices: cannot list /sys/bus/pci/devices: Permission denied");
}

}  // namespace
}  // namespace nodehealth
