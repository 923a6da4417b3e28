#include "probes/gpu_driver/gpu_driver_probe.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

Profile H100Profile() {
  Profile p;
  p.name = "test-h100";
  p.gpu.count = 8;
  p.gpu.model = "H100";
  p.gpu.driver_version_min = "535.129.03";
  p.gpu.cuda_version_min = "12.2";
  p.gpu.fabric_manager = true;
  return p;
}

TEST(GpuDriverTest, HealthyNodeMatchesItself) {
  FixtureNode node("hgx-h100-xe9680.toml");
  const Profile profile = H100Profile();
  ProbeResult r = node.Run(GpuDriverProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << (r.findings.empty() ? "" : r.findings[0].message);
  const Measurement* info = FindMeasurement(r, "driver_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->labels.at("driver_version"), "535.161.08");
  EXPECT_EQ(info->labels.at("kernel_module_version"), "535.161.08");
  EXPECT_EQ(info->labels.at("kernel_module_flavor"), "proprietary");
  EXPECT_EQ(info->labels.at("cuda_version"), "12.2");
  const Measurement* gpu = FindMeasurement(r, "gpu_info", {{"gpu", "0000:19:00.0"}});
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->labels.at("uuid"), "GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa");
  EXPECT_EQ(gpu->labels.at("name"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu->labels.at("vbios_version"), "96.00.74.00.0D");
}

TEST(GpuDriverTest, ModuleNotLoadedWithGpusOnPci) {
  FixtureNode node("fault-driver-not-loaded.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << r.findings[1].message;
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "gpu_driver_not_loaded");
  EXPECT_EQ(f.entity, "node");
  EXPECT_EQ(f.message, "NVIDIA GPUs are on PCI but the nvidia kernel module is not loaded");
  EXPECT_EQ(f.evidence[0].source, "/sys/module/nvidia");
  EXPECT_EQ(f.evidence[0].observed, "absent");
}

TEST(GpuDriverTest, NvmlInitMismatchMeansRebootAfterUpgrade) {
  FixtureNode node("fault-library-mismatch-init.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "gpu_driver_library_mismatch");
  EXPECT_EQ(f.action, Action::kReboot);
  EXPECT_EQ(f.message,
            "driver/library version mismatch: the loaded kernel module (535.161.08) differs from "
            "the user-space driver; the driver was upgraded without a reboot");
  EXPECT_EQ(f.evidence[0].observed, "nvmlInit: NVML_ERROR_LIB_RM_VERSION_MISMATCH (18)");
  EXPECT_EQ(f.evidence[1].source, "/sys/module/nvidia/version");
  EXPECT_EQ(f.evidence[1].observed, "535.161.08");
}

TEST(GpuDriverTest, LibraryVersionAgainstModuleVersion) {
  FixtureNode node("fault-library-mismatch-version.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  const Finding* f = FindFinding(r, "gpu_driver_library_mismatch", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "kernel module 535.161.08 and user-space driver 550.54.15 differ; reboot to load the "
            "matching module");
  EXPECT_EQ(f->evidence[1].source, "nvml nvmlSystemGetNVMLVersion (12.550.54.15)");
}

TEST(GpuDriverTest, DriverAndCudaBelowTheProfile) {
  FixtureNode node("fault-driver-too-old.toml");
  const Profile profile = H100Profile();
  ProbeResult r = node.Run(GpuDriverProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding* driver = FindFinding(r, "gpu_driver_version_mismatch", "node");
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->message, "driver 525.147.05 is outside the profile's range (>= 535.129.03)");
  EXPECT_EQ(driver->evidence[0].source, "nvml nvmlSystemGetDriverVersion");
  const Finding* cuda = FindFinding(r, "cuda_version_mismatch", "node");
  ASSERT_NE(cuda, nullptr);
  EXPECT_EQ(cuda->message,
            "driver 525.147.05 supports CUDA 12.0, below the profile's minimum 12.2");
  EXPECT_EQ(cuda->evidence[0].observed, "12.0");
  EXPECT_EQ(cuda->evidence[0].expected, ">= 12.2");
  // The installed CUDA 12.0 Update 1 toolkit wants 525.85.12: fine with 525.147.05.
  EXPECT_EQ(CountFindings(r, "cuda_version_mismatch"), 1);
  EXPECT_EQ(CountFindings(r, "gpu_driver_version_mismatch"), 1);  // FM 525.147.05 matches
}

TEST(GpuDriverTest, InstalledToolkitsNeedingANewerDriver) {
  FixtureNode node("fault-cuda-toolkits.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  std::vector<const Finding*> cuda;
  for (const Finding& f : r.findings) {
    if (f.code == "cuda_version_mismatch") cuda.push_back(&f);
  }
  ASSERT_EQ(cuda.size(), 3u);
  // Sorted by directory name: cuda-12.4, cuda-12.8, cuda-13.0.
  EXPECT_EQ(cuda[0]->severity, Severity::kWarn);
  EXPECT_EQ(cuda[0]->action, Action::kMonitor);
  EXPECT_EQ(cuda[0]->message,
            "CUDA 12.4 Update 1 (/usr/local/cuda-12.4/version.json) wants driver >= 550.54.15; "
            "driver 535.161.08 runs it only through minor-version compatibility (no PTX JIT of its "
            "code, no newer features)");
  EXPECT_EQ(cuda[1]->severity, Severity::kWarn);  // 12.8 with compat 570.124.06
  EXPECT_EQ(cuda[1]->evidence.back().source, "/usr/local/cuda-12.8/compat/libcuda.so.570.124.06");
  EXPECT_EQ(cuda[2]->severity, Severity::kFail);
  EXPECT_EQ(cuda[2]->action, Action::kDrain);
  EXPECT_EQ(cuda[2]->message,
            "CUDA 13.0 (/usr/local/cuda-13.0/version.json) needs driver >= 580.65.06; the loaded "
            "driver 535.161.08 cannot run its applications");
  EXPECT_EQ(cuda[2]->evidence[1].source, "NVIDIA minor-version compatibility");
}

TEST(GpuDriverTest, FabricManagerMustMatchTheDriver) {
  FixtureNode node("fault-fabric-manager-mismatch.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  const Finding* f = FindFinding(r, "gpu_driver_version_mismatch", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "Fabric Manager 535.154.05 does not match driver 535.161.08; Fabric Manager refuses to "
            "start unless the versions are equal");
  EXPECT_EQ(f->evidence[0].source, "/var/lib/dpkg/status nvidia-fabricmanager-535");
  EXPECT_EQ(f->evidence[0].observed, "535.154.05-1");
}

TEST(GpuDriverTest, FabricManagerRequiredButAbsent) {
  FixtureNode node("h100-vm.toml");
  std::filesystem::remove(node.root() + "/usr/bin/nv-fabricmanager");
  const Profile profile = H100Profile();
  ProbeResult r = node.Run(GpuDriverProbe(), &profile);
  const Finding* f = FindFinding(r, "gpu_fabric_not_ready", "node");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence[0].source, "/usr/bin/nv-fabricmanager");
}

TEST(GpuDriverTest, GspFirmwareAndVbiosUniformity) {
  FixtureNode node("fault-firmware-mismatch.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  const Finding* gsp = FindFinding(r, "gpu_driver_version_mismatch", "gpu/0000:4c:00.0");
  ASSERT_NE(gsp, nullptr);
  EXPECT_EQ(gsp->message,
            "GSP firmware 535.154.05 on GPU 0000:4c:00.0 differs from driver 535.161.08");
  const Finding* vbios = FindFinding(r, "gpu_vbios_mismatch", "gpu/0000:bb:00.0");
  ASSERT_NE(vbios, nullptr);
  EXPECT_EQ(vbios->severity, Severity::kWarn);
  EXPECT_EQ(vbios->message,
            "NVIDIA H100 80GB HBM3 0000:bb:00.0 has VBIOS 96.00.89.00.01; 7 others have "
            "96.00.74.00.0D");
  EXPECT_EQ(CountFindings(r, "gpu_vbios_mismatch"), 1);
}

TEST(GpuDriverTest, SkipsWithoutGpusOrDriver) {
  FixtureNode node("no-gpu.toml");
  ProbeResult r = node.Run(GpuDriverProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
}

TEST(GpuDriverTest, MalformedVersionFileIsAProbeError) {
  DriverFileFacts files;
  files.problems.push_back("/sys/module/nvidia/version: malformed \"garbage\"");
  NodeInventory inventory;
  inventory.nvidia_pci = platform::PciScan{};
  ProbeResult r = EvaluateGpuDriver(inventory, nullptr, files, std::nullopt);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "probe_error");
}

}  // namespace
}  // namespace nodehealth
