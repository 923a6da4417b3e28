// The nccl_allreduce probe end to end: the real GPU worker with the fake libcuda.so.1 and
// libnccl.so.2, whose all-reduce sums for real and runs at the ring's slowest peer link (so the
// bus bandwidth is exact and a weak pair lowers it as on a real node).
#include "probes/nccl_allreduce/nccl_allreduce_probe.h"

#include <gtest/gtest.h>

#include "tests/probes/gpu_worker_fixture.h"

namespace nodehealth {
namespace {

using testing::DescribeResult;
using testing::FindFinding;
using testing::FindMeasurement;

class NcclAllreduceTest : public testing::GpuWorkerTest {
 protected:
  NcclAllreduceTest() {
    profile_.nccl_allreduce.bus_gigabytes_per_second_min = 300;
    profile_.nccl_allreduce.size_bytes = 1 << 20;
    profile_.nccl_allreduce.iterations = 3;
    profile_.nccl_allreduce.warmup = 1;
    profile_.gpu_bandwidth.peer_gigabytes_per_second_min = 335;
    profile_.gpu_bandwidth.copy_bytes = 64 << 10;
    profile_.gpu_bandwidth.iterations = 2;
  }
  ProbeResult Run() { return GpuWorkerTest::Run(probe_); }
  double Busbw(const ProbeResult& r, const std::string& path, const std::string& size) {
    const Measurement* m = FindMeasurement(r, "nccl_allreduce_bus_bandwidth_bytes_per_second",
                                           {{"path", path}, {"size_bytes", size}});
    return m ? m->value : -1;
  }
  NcclAllreduceProbe probe_;
};

TEST_F(NcclAllreduceTest, HealthyEightGpusPassAtTheRingsRate) {
  Scenario(testing::H100Scenario());
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << DescribeResult(r);
  EXPECT_TRUE(r.findings.empty()) << DescribeResult(r);
  EXPECT_NEAR(Busbw(r, "default", "1048576"), 360e9, 360e9 * 1e-6);
  const Measurement* algbw =
      FindMeasurement(r, "nccl_allreduce_algorithm_bandwidth_bytes_per_second");
  ASSERT_NE(algbw, nullptr);
  EXPECT_NEAR(algbw->value, 360e9 * 8 / 14, 360e9 * 1e-6);  // busbw = algbw * 2(n-1)/n
  EXPECT_EQ(FindMeasurement(r, "nccl_allreduce_ranks")->value, 8);
}

TEST_F(NcclAllreduceTest, AWrongElementNamesTheGpuThatReceivedIt) {
  Scenario(testing::H100Scenario("nccl_wrong_element 3 1000\n"));
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "nccl_allreduce_wrong_result", "gpu/0000:86:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->action, Action::kResetGpu);
  // Element 1000 on 8 ranks: 8 * (1000 mod 4099) + 36 = 8036, one too high.
  EXPECT_EQ(f->evidence[0].observed, "1 wrong; element 1000 = 8037 instead of 8036");
}

TEST_F(NcclAllreduceTest, AWeakPairIsFoundByBisection) {
  // The ring runs 0 -> 1 -> ... -> 7 -> 0; the pair 1 -> 2 at a third of the rate holds it back.
  Scenario(testing::H100Scenario("peer 0000:64:00.0 0000:75:00.0 120\n"));
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f =
      FindFinding(r, "nccl_allreduce_bandwidth_low", "gpu-pair/0000:64:00.0,0000:75:00.0");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  ASSERT_EQ(f->evidence.size(), 2u);
  EXPECT_EQ(f->evidence[0].observed, "120.00 GB/s");  // the all-reduce's bus bandwidth
  EXPECT_EQ(f->evidence[0].expected, ">= 300.00 GB/s");
  EXPECT_EQ(f->evidence[1].observed, "120.00 GB/s");  // the pair's copy
  EXPECT_NEAR(Busbw(r, "default", "1048576"), 120e9, 120e9 * 1e-6);
}

TEST_F(NcclAllreduceTest, ALowResultWithNoGpuStandingOutIsTheNodes) {
  profile_.nccl_allreduce.bus_gigabytes_per_second_min = 400;  // above every link
  Scenario(testing::H100Scenario());
  const ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "nccl_allreduce_bandwidth_low", "node");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_NE(f->message.find("no GPU or pair stands out"), std::string::npos) << f->message;
}

TEST_F(NcclAllreduceTest, OutOfMemoryAtTheSizeMeasuresASmallerOneWithANote) {
  profile_.nccl_allreduce.size_bytes = 16 << 20;  // two 16 MiB buffers do not fit in 24 MiB
  std::string scenario = "peer_gbps 360\n";
  for (const std::string& gpu : testing::kH100Gpus) scenario += "gpu " + gpu + " memory_mib=24\n";
  Scenario(scenario);
  const ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << DescribeResult(r);
  EXPECT_NEAR(Busbw(r, "default", "8388608"), 360e9, 360e9 * 1e-6);
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "the all-reduce of 16777216 bytes did not fit in GPU memory (two buffers "
                      "per GPU): measured at 8388608 bytes"),
            r.notes.end())
      << DescribeResult(r);
}

TEST_F(NcclAllreduceTest, AnNcclErrorFailsWithNcclsWords) {
  Scenario(testing::H100Scenario("nccl_fail ncclCommInitAll 1\n"));
  const ProbeResult r = Run();
  const Finding* f = FindFinding(r, "nccl_allreduce_failed", "node");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_EQ(f->message,
            "ncclCommInitAll: unhandled cuda error (run with NCCL_DEBUG=INFO for details) (1)");
}

TEST_F(NcclAllreduceTest, AHungGroupIsKilledWithNothingLeftBehind) {
  Scenario(testing::H100Scenario("nccl_hang ncclGroupEnd\n"));
  const auto start = std::chrono::steady_clock::now();
  const ProbeResult r = GpuWorkerTest::Run(probe_, std::chrono::seconds(6));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_NE(FindFinding(r, "probe_timeout", "node"), nullptr) << DescribeResult(r);
  EXPECT_LT(seconds, 6.0);
  EXPECT_EQ(WorkersAlive(), 0);
}

TEST_F(NcclAllreduceTest, TheNetPathRunsWithPeerAndSharedMemoryOff) {
  profile_.nccl_allreduce.net_bus_gigabytes_per_second_min = 18;  // Azure NHC ND A100 v4
  Scenario(testing::H100Scenario("nccl_net_gbps 12\n"));
  const ProbeResult r = Run();
  EXPECT_NEAR(Busbw(r, "default", "1048576"), 360e9, 360e9 * 1e-6);
  EXPECT_NEAR(Busbw(r, "net", "1048576"), 12e9, 12e9 * 1e-6);
  ASSERT_EQ(r.findings.size(), 1u) << DescribeResult(r);
  const Finding* f = FindFinding(r, "nccl_allreduce_bandwidth_low", "node");
  ASSERT_NE(f, nullptr) << DescribeResult(r);
  EXPECT_NE(f->message.find("through the HCAs"), std::string::npos) << f->message;
  EXPECT_NE(f->evidence[0].source.find("NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1"), std::string::npos);
}

TEST_F(NcclAllreduceTest, AMissingNcclSkipsUnlessRequired) {
  Scenario(testing::H100Scenario());
  nccl_library_ = dir_.path() + "/libnccl.so.2";
  ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip) << DescribeResult(r);
  EXPECT_EQ(r.skip_reason.rfind("cannot run the NCCL all-reduce: cannot load " + nccl_library_, 0),
            0u)
      << r.skip_reason;
  profile_.nccl_allreduce.required = true;
  r = Run();
  ASSERT_NE(FindFinding(r, "nccl_allreduce_failed", "node"), nullptr) << DescribeResult(r);
}

}  // namespace
}  // namespace nodehealth
