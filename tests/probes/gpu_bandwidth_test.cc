// The gpu_bandwidth probe end to end: the real GPU worker in a child process, the fake libcuda.so.1
// timing each copy from the scenario's rates (so every figure is exact), the probe's judgement.
#include "probes/gpu_bandwidth/gpu_bandwidth_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/probes/gpu_worker_fixture.h"

namespace nodehealth {
namespace {

using testing::DescribeResult;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::kH100Gpus;

class GpuBandwidthTest : public testing::GpuWorkerTest {
 protected:
  GpuBandwidthTest() {
    // Azure NHC nd96isr_h100_v5.conf: check_gpu_bw 48 335. Small copies keep the test fast: the
    // fake's clock, not the copy size, makes the figure.
    profile_.gpu_bandwidth.host_device_gigabytes_per_second_min = 48;
    profile_.gpu_bandwidth.peer_gigabytes_per_second_min = 335;
    profile_.gpu_bandwidth.copy_bytes = 64 << 10;
    profile_.gpu_bandwidth.iterations = 4;
  }
  ProbeResult Run() { return GpuWorkerTest::Run(probe_); }
  GpuBandwidthProbe probe_;
};

double Figure(const ProbeResult& r, const std::string& gpu, const std::string& direction) {
  const Measurement* m = FindMeasurement(r, "gpu_copy_bandwidth_bytes_per_second",
                                         {{"gpu", gpu}, {"direction", direction}});
  return m ? m->value : -1;
}

double Peer(const ProbeResult& r, const std::string& gpu, const std::string& peer) {
  const Measurement* m =
      FindMeasurement(r, "gpu_peer_bandwidth_bytes_per_second", {{"gpu", gpu}, {"peer", peer}});
  return m ? m->value : -1;
}

TEST_F(GpuBandwidthTest, HealthyNodePassesWithEveryFigure) {
  Scenario(testing::H100Scenario());
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << DescribeResult(r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
  // 8 GPUs x 3 directions + 56 ordered pairs.
  EXPECT_EQ(r.measurements.size(), 8u * 3 + 56) << DescribeResult(r);
  for (const std::string& gpu : kH100Gpus) {
    EXPECT_NEAR(Figure(r, gpu, "host_to_device"), 55e9, 55e9 * 1e-6) << gpu;
    EXPECT_NEAR(Figure(r, gpu, "device_to_host"), 55e9, 55e9 * 1e-6) << gpu;
    EXPECT_NEAR(Figure(r, gpu, "device_to_device"), 1500e9, 1500e9 * 1e-6) << gpu;
  }
  EXPECT_NEAR(Peer(r, kH100Gpus[0], kH100Gpus[7]), 360e9, 360e9 * 1e-6);
  EXPECT_NEAR(Peer(r, kH100Gpus[7], kH100Gpus[0]), 360e9, 360e9 * 1e-6);
}

TEST_F(GpuBandwidthTest, OneGpuAtHalfHostToDeviceRateIsNamed) {
  Scenario(testing::H100Scenario("", 1, "h2d_gbps=27.5"));
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_copy_bandwidth_low", "gpu/0000:64:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_EQ(f->action, Action::kResetGpu);
  ASSERT_EQ(f->evidence.size(), 1u);
  EXPECT_EQ(f->evidence[0].observed, "27.50 GB/s");
  EXPECT_EQ(f->evidence[0].expected, ">= 48.00 GB/s");
  EXPECT_NE(f->evidence[0].source.find("host_to_device copy, 4 x 65536 bytes (SM 1980 MHz, "
                                       "memory 2619 MHz)"),
            std::string::npos)
      << f->evidence[0].source;
  // Low once, so measured again before it counted.
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "a copy figure was low: measured twice, the better figure judged"),
            r.notes.end());
}

TEST_F(GpuBandwidthTest, OnePairAtAThirdOfThePeerRateNamesThePair) {
  Scenario(testing::H100Scenario("peer 0000:64:00.0 0000:75:00.0 120\n"));
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_peer_bandwidth_low", "gpu-pair/0000:64:00.0,0000:75:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  ASSERT_EQ(f->evidence.size(), 1u);  // only that direction is slow
  EXPECT_EQ(f->evidence[0].observed, "120.00 GB/s");
  EXPECT_EQ(f->evidence[0].expected, ">= 335.00 GB/s");
  EXPECT_NEAR(Peer(r, "0000:75:00.0", "0000:64:00.0"), 360e9, 360e9 * 1e-6);
}

TEST_F(GpuBandwidthTest, AGpuWhoseEveryLinkIsSlowIsTheFaultNotItsPairs) {
  std::string slow;
  for (const std::string& other : kH100Gpus) {
    if (other == "0000:97:00.0") continue;
    slow += "peer 0000:97:00.0 " + other + " 150\npeer " + other + " 0000:97:00.0 150\n";
  }
  Scenario(testing::H100Scenario(slow));
  const ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_peer_bandwidth_low", "gpu/0000:97:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->evidence.size(), 14u);  // 7 peers, both directions
}

TEST_F(GpuBandwidthTest, AFigureJustAboveTheFloorWarns) {
  Scenario(testing::H100Scenario("peer 0000:53:00.0 0000:64:00.0 340\n"));
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_peer_bandwidth_low", "gpu-pair/0000:53:00.0,0000:64:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_EQ(f->action, Action::kMonitor);
  EXPECT_EQ(f->evidence[0].expected, ">= 351.75 GB/s (floor 335.00 GB/s plus the warning margin)");
}

TEST_F(GpuBandwidthTest, WithoutFloorsTheSlowGpuIsFoundAgainstTheOthers) {
  profile_.gpu_bandwidth = {};
  profile_.gpu_bandwidth.copy_bytes = 64 << 10;
  Scenario(testing::H100Scenario("", 5, "d2h_gbps=30"));
  const ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_copy_bandwidth_low", "gpu/0000:a8:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->evidence[0].observed, "30.00 GB/s");
  EXPECT_EQ(f->evidence[0].expected, ">= 75% of the node's median 55.00 GB/s");
}

TEST_F(GpuBandwidthTest, EachCuInitErrorFailsWithWhatItMeans) {
  const std::vector<std::pair<int, std::string>> cases = {
      {100, "cuInit: CUDA_ERROR_NO_DEVICE (100): CUDA sees no GPU"},
      {34,
       "cuInit: CUDA_ERROR_STUB_LIBRARY (34): the libcuda.so.1 found is the CUDA toolkit's stub"},
      {803,
       "cuInit: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (803): the user-space driver library does "
       "not match"},
      {999, "cuInit: CUDA_ERROR_UNKNOWN (999): the driver could not initialise the GPUs"},
      {46, "cuInit: CUDA_ERROR_DEVICE_UNAVAILABLE (46): a GPU is busy"},
  };
  for (const auto& [code, message] : cases) {
    Scenario(testing::H100Scenario("cuInit " + std::to_string(code) + "\n"));
    const ProbeResult r = Run();
    EXPECT_EQ(r.verdict, ProbeVerdict::kFail) << code;
    ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
    const Finding* f = FindFinding(r, "gpu_copy_failed", "node");
    ASSERT_NE(f, nullptr) << DescribeResult(r);
    EXPECT_EQ(f->message.rfind(message, 0), 0u) << f->message;
    EXPECT_TRUE(r.measurements.empty());
  }
}

TEST_F(GpuBandwidthTest, ACudaCallFailingOnOneGpuNamesThatGpu) {
  // The second GPU's pinned host buffer cannot be allocated; the others are measured.
  Scenario(testing::H100Scenario("fail cuMemHostAlloc 2 after=1\n"));
  const ProbeResult r = Run();
  const Finding* f = FindFinding(r, "gpu_copy_failed", "gpu/0000:64:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->message, "cuMemHostAlloc: CUDA_ERROR_OUT_OF_MEMORY (2) on GPU 0000:64:00.0");
  EXPECT_EQ(Figure(r, "0000:64:00.0", "host_to_device"), -1);
  EXPECT_NEAR(Figure(r, "0000:53:00.0", "host_to_device"), 55e9, 55e9 * 1e-6);
}

TEST_F(GpuBandwidthTest, AHungCopyIsKilledAtTheDeadlineWithNothingLeftBehind) {
  Scenario(testing::H100Scenario("hang cuStreamSynchronize\n"));
  const auto start = std::chrono::steady_clock::now();
  const ProbeResult r = GpuWorkerTest::Run(probe_, std::chrono::seconds(6));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.verdict, ProbeVerdict::kError) << DescribeResult(r);
  const Finding* f = FindFinding(r, "probe_timeout", "node");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_NE(f->message.find("killed with its process group"), std::string::npos);
  EXPECT_LT(seconds, 6.0);  // the worker is gone before the probe's own deadline
  EXPECT_EQ(WorkersAlive(), 0);
}

TEST_F(GpuBandwidthTest, AMissingCudaLibrarySkipsUnlessTheProfileRequiresTheTest) {
  Scenario(testing::H100Scenario());
  cuda_library_ = dir_.path() + "/no-such-libcuda.so.1";
  ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip) << DescribeResult(r);
  EXPECT_EQ(r.skip_reason.rfind("cannot load the CUDA driver: cannot load " + cuda_library_, 0), 0u)
      << r.skip_reason;
  profile_.gpu_bandwidth.required = true;
  r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_NE(FindFinding(r, "gpu_copy_failed", "node"), nullptr) << DescribeResult(r);
}

// The CUDA toolkit's driver stub (installed where the toolkit is, never a driver): a real
// libcuda.so whose every call fails with CUDA_ERROR_STUB_LIBRARY, as on a node whose linker
// path finds the toolkit's stubs/ directory before the driver's library.
TEST_F(GpuBandwidthTest, TheToolkitsStubLibraryIsNamedAsSuch) {
  cuda_library_ = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (::access(cuda_library_.c_str(), R_OK) != 0) GTEST_SKIP() << "no CUDA toolkit stub here";
  ::unsetenv("NODEHEALTH_FAKE_GPU_SCENARIO");
  const ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_copy_failed", "node");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->message,
            "cuInit: CUDA_ERROR_STUB_LIBRARY (34): the libcuda.so.1 found is the CUDA toolkit's "
            "stub, not the driver's library");
}

TEST_F(GpuBandwidthTest, ANodeWithoutGpusSkips) {
  testing::FixtureNode no_gpu("no-gpu.toml");
  ProbeContext context{.fs = no_gpu.fs(), .inventory = no_gpu.inventory()};
  const ProbeResult r = probe_.Run(context);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
  EXPECT_EQ(r.skip_reason, "no NVIDIA GPU on PCI");
}

}  // namespace
}  // namespace nodehealth
