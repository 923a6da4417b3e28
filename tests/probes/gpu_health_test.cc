#include "probes/gpu_health/gpu_health_probe.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FakeNvmlLegacyLibrary;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

TEST(GpuHealthTest, HealthyVmPasses) {
  FixtureNode node("h100-vm-cool.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << (r.findings.empty() ? "" : r.findings[0].message);
  const std::map<std::string, std::string> gpu = {{"gpu", "0000:53:00.0"}};
  EXPECT_EQ(FindMeasurement(r, "gpu_temperature_celsius", gpu)->value, 36);
  EXPECT_EQ(
      FindMeasurement(r, "gpu_nvlinks", {{"gpu", "0000:53:00.0"}, {"state", "active"}})->value, 18);
  EXPECT_EQ(FindMeasurement(r, "gpu_recovery_action", gpu)->value, 0);
  EXPECT_EQ(FindMeasurement(r, "gpu_fabric_state", gpu)->value, 3);
  EXPECT_EQ(
      FindMeasurement(r, "gpu_pcie_link_width", {{"gpu", "0000:53:00.0"}, {"state", "current"}})
          ->value,
      16);
  EXPECT_EQ(FindMeasurement(r, "gpu_pcie_link_generation",
                            {{"gpu", "0000:53:00.0"}, {"state", "device_max"}})
                ->value,
            5);
}

TEST(GpuHealthTest, RealVmCaptureWarnsForTheOneGpuWithSlowdownEvents) {
  // GPU 0000:75:00.0 of that capture reports SW power cap, power brake and software thermal
  // slowdown active; the other seven report nothing.
  FixtureNode node("h100-vm.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].entity, "gpu/0000:75:00.0");
  EXPECT_EQ(r.findings[0].message,
            "GPU 0000:75:00.0 clocks are held down: power brake, software thermal slowdown");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "0xa4");
}

TEST(GpuHealthTest, RealCaptureWithPowerBrakeWarnsOnEveryGpu) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
  EXPECT_EQ(CountFindings(r, "gpu_clock_slowdown"), 8);
  const Finding* f = FindFinding(r, "gpu_clock_slowdown", "gpu/0000:19:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_EQ(f->action, Action::kMonitor);
  EXPECT_EQ(f->message, "GPU 0000:19:00.0 clocks are held down: hardware slowdown, power brake");
  EXPECT_EQ(f->evidence[0].observed, "0x88");
  EXPECT_EQ(FindMeasurement(r, "gpu_clock_event_active",
                            {{"gpu", "0000:19:00.0"}, {"reason", "hw_power_brake_slowdown"}})
                ->value,
            1);
}

TEST(GpuHealthTest, DoubleBitEccAndPendingRemap) {
  FixtureNode node("fault-xid48.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* ecc = FindFinding(r, "gpu_ecc_uncorrectable", "gpu/0000:19:00.0");
  ASSERT_NE(ecc, nullptr);
  EXPECT_EQ(ecc->action, Action::kResetGpu);
  EXPECT_EQ(ecc->message, "GPU 0000:19:00.0 has 1 uncorrectable ECC errors since its last reset");
  EXPECT_EQ(ecc->evidence[0].observed, "1");
  EXPECT_EQ(ecc->evidence[0].expected, "<= 0");
  const Finding* remap = FindFinding(r, "gpu_row_remap_pending", "gpu/0000:19:00.0");
  ASSERT_NE(remap, nullptr);
  EXPECT_EQ(remap->action, Action::kResetGpu);
  EXPECT_EQ(remap->evidence[0].observed, "isPending=1");
  EXPECT_EQ(CountFindings(r, "gpu_ecc_uncorrectable"), 1);
  EXPECT_EQ(
      FindMeasurement(r, "gpu_remapped_rows", {{"gpu", "0000:19:00.0"}, {"cause", "uncorrectable"}})
          ->value,
      1);
}

TEST(GpuHealthTest, EccAllowanceFromTheProfile) {
  FixtureNode node("fault-xid48.toml");
  Profile profile;
  profile.name = "lenient";
  profile.gpu.ecc_uncorrectable_max = 1;
  ProbeResult r = node.Run(GpuHealthProbe(), &profile);
  EXPECT_EQ(CountFindings(r, "gpu_ecc_uncorrectable"), 0);
}

TEST(GpuHealthTest, RowRemapFailureMeansReplace) {
  FixtureNode node("fault-ecc-remap-failure.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* f = FindFinding(r, "gpu_row_remap_failure", "gpu/0000:cb:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->action, Action::kReplace);
  EXPECT_EQ(f->message,
            "row remapping failed on GPU 0000:cb:00.0: no spare rows left (0 correctable, 512 "
            "uncorrectable rows remapped)");
}

TEST(GpuHealthTest, PcieWidthAlwaysGenerationOnlyWhenBusy) {
  FixtureNode node("fault-pcie.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* width = FindFinding(r, "gpu_pcie_link_degraded", "gpu/0000:3b:00.0");
  ASSERT_NE(width, nullptr);
  EXPECT_EQ(width->message, "GPU 0000:3b:00.0 PCIe link runs at x8 of x16");
  const Finding* busy = FindFinding(r, "gpu_pcie_link_degraded", "gpu/0000:4c:00.0");
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->message, "GPU 0000:4c:00.0 PCIe link runs at Gen3 of Gen5 while busy");
  EXPECT_EQ(busy->evidence[0].observed, "Gen3 (performance state P0)");
  EXPECT_EQ(FindFinding(r, "gpu_pcie_link_degraded", "gpu/0000:5d:00.0"), nullptr);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0],
            "GPU 0000:5d:00.0 PCIe link at Gen1 of Gen5 while idle: not judged (idle GPUs lower "
            "the link speed)");
  EXPECT_EQ(CountFindings(r, "gpu_pcie_link_degraded"), 2);
}

TEST(GpuHealthTest, PcieGenerationBelowTheProfile) {
  FixtureNode node("h100-vm.toml");
  Profile profile;
  profile.name = "gen6";
  profile.gpu.pcie_generation = 6;
  ProbeResult r = node.Run(GpuHealthProbe(), &profile);
  EXPECT_EQ(CountFindings(r, "gpu_pcie_link_degraded"), 8);
  const Finding* f = FindFinding(r, "gpu_pcie_link_degraded", "gpu/0000:ca:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "GPU 0000:ca:00.0 PCIe link can reach only Gen5, profile expects Gen6");
}

TEST(GpuHealthTest, NvlinksDownFromARealStatusCapture) {
  FixtureNode node("fault-nvlink.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* all = FindFinding(r, "gpu_nvlink_down", "gpu/0000:cb:00.0");  // GPU 6
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->action, Action::kReboot);
  EXPECT_EQ(all->message.substr(0, 73),
            "GPU 0000:cb:00.0 has 0 of 18 NVLinks active (inactive: 0, 1, 2, 3, 4, 5, ");
  const Finding* one = FindFinding(r, "gpu_nvlink_down", "gpu/0000:bb:00.0");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->message, "GPU 0000:bb:00.0 has 17 of 18 NVLinks active (inactive: 17)");
  ASSERT_EQ(one->evidence.size(), 1u);
  EXPECT_EQ(one->evidence[0].source, "nvml nvmlDeviceGetNvLinkState");
  EXPECT_EQ(one->evidence[0].observed, "17 active");
  EXPECT_EQ(one->evidence[0].expected, "18 active");
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_down"), 2);
}

TEST(GpuHealthTest, NvlinkCountFromTheProfile) {
  FixtureNode node("h100-vm.toml");
  Profile profile;
  profile.name = "twenty";
  profile.gpu.nvlink_count = 20;
  ProbeResult r = node.Run(GpuHealthProbe(), &profile);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_down"), 8);
}

TEST(GpuHealthTest, HotGpuAndThermalSlowdown) {
  FixtureNode node("fault-thermal.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* hot = FindFinding(r, "gpu_temperature_high", "gpu/0000:97:00.0");
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(hot->message, "GPU 0000:97:00.0 is at 92 C, at or above its slowdown threshold");
  EXPECT_EQ(hot->evidence[0].expected, "< 90 C (slowdown)");
  const Finding* slow = FindFinding(r, "gpu_clock_slowdown", "gpu/0000:97:00.0");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->message,
            "GPU 0000:97:00.0 clocks are held down: hardware slowdown, hardware thermal slowdown");
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
}

TEST(GpuHealthTest, DriverRecoveryActions) {
  FixtureNode node("fault-recovery-action.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* reboot = FindFinding(r, "gpu_recovery_action", "gpu/0000:53:00.0");
  ASSERT_NE(reboot, nullptr);
  EXPECT_EQ(reboot->action, Action::kReboot);
  EXPECT_EQ(reboot->message, "the driver asks for a node reboot on GPU 0000:53:00.0");
  const Finding* drain_reset = FindFinding(r, "gpu_recovery_action", "gpu/0000:64:00.0");
  ASSERT_NE(drain_reset, nullptr);
  EXPECT_EQ(drain_reset->action, Action::kResetGpu);
  const Finding* reset = FindFinding(r, "gpu_recovery_action", "gpu/0000:75:00.0");
  ASSERT_NE(reset, nullptr);
  EXPECT_EQ(reset->message, "NVML reports that GPU 0000:75:00.0 needs a reset");
}

TEST(GpuHealthTest, FabricNotReady) {
  FixtureNode node("fault-fabric-manager-mismatch.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* f = FindFinding(r, "gpu_fabric_not_ready", "gpu/0000:19:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "GPU 0000:19:00.0 fabric registration is in progress: CUDA cannot use it until "
            "Fabric Manager completes it");
  EXPECT_EQ(f->action, Action::kDrain);
  EXPECT_EQ(f->evidence[0].source, "nvml nvmlDeviceGetGpuFabricInfo");
  EXPECT_EQ(f->evidence[0].observed, "in progress");
  EXPECT_EQ(f->evidence[0].expected, "completed, NVML_SUCCESS");
}

TEST(GpuHealthTest, RetiredPagesOnPreAmpereGpus) {
  FixtureNode node("fault-retired-pages.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const Finding* limit = FindFinding(r, "gpu_retired_pages_limit", "gpu/0000:53:00.0");
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->action, Action::kReplace);
  EXPECT_EQ(limit->message, "GPU 0000:53:00.0 has retired 65 memory pages");
  EXPECT_EQ(limit->evidence[0].observed, "60 single-bit + 5 double-bit");
  EXPECT_EQ(FindFinding(r, "gpu_retired_pages_pending", "gpu/0000:53:00.0"), nullptr);
  ASSERT_NE(FindFinding(r, "gpu_retired_pages_pending", "gpu/0000:64:00.0"), nullptr);
  ASSERT_NE(FindFinding(r, "gpu_retired_pages_limit", "gpu/0000:64:00.0"), nullptr);
  EXPECT_EQ(
      FindMeasurement(r, "gpu_retired_pages", {{"gpu", "0000:64:00.0"}, {"cause", "dbe"}})->value,
      61);
}

TEST(GpuHealthTest, LostGpuIsReportedOnceAndNothingElseAboutIt) {
  FixtureNode node("fault-gpu-lost.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  // The lost GPU cannot be opened, so gpu_presence names it; gpu_health judges the other seven.
  EXPECT_EQ(FindFinding(r, "gpu_clock_slowdown", "gpu/0000:9b:00.0"), nullptr);
  EXPECT_EQ(CountFindings(r, "gpu_clock_slowdown"), 7);
}

TEST(GpuHealthTest, UnknownNvmlErrorIsUndecided) {
  FixtureNode node("fault-nvml-unknown-error.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* f = FindFinding(r, "probe_error", "gpu/0000:86:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "NVML could not answer for GPU 0000:86:00.0: nvmlDeviceGetTotalEccErrors: "
            "NVML_ERROR_UNKNOWN (999)");
}

TEST(GpuHealthTest, TruncatedCaptureIsUndecidedNotHealthy) {
  FixtureNode node("fault-truncated-capture.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* f = FindFinding(r, "probe_error", "gpu/0000:53:00.0");
  ASSERT_NE(f, nullptr);
  bool clocks = false;
  for (const Evidence& e : f->evidence) {
    clocks |= e.observed == "nvmlDeviceGetCurrentClocksEventReasons: NVML_ERROR_UNKNOWN (999)";
  }
  EXPECT_TRUE(clocks) << f->message;
}

TEST(GpuHealthTest, WithoutNvmlItCannotDecide) {
  FixtureNode node("fault-driver-not-loaded.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "probe_error");
  EXPECT_EQ(r.error,
            "GPU health cannot be read without NVML: nvmlInit: NVML_ERROR_DRIVER_NOT_LOADED (9)");
}

TEST(GpuHealthTest, LegacyNvmlJudgesWhatItSupports) {
  FixtureNode node("h100-vm-cool.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr, FakeNvmlLegacyLibrary());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass);
  // No remapped rows, NVLink or fabric entry points: nothing measured, nothing claimed.
  EXPECT_EQ(FindMeasurement(r, "gpu_row_remap_pending"), nullptr);
  EXPECT_EQ(FindMeasurement(r, "gpu_nvlinks"), nullptr);
  EXPECT_EQ(FindMeasurement(r, "gpu_fabric_state"), nullptr);
  EXPECT_NE(FindMeasurement(r, "gpu_temperature_celsius", {{"gpu", "0000:53:00.0"}}), nullptr);
}

}  // namespace
}  // namespace nodehealth
