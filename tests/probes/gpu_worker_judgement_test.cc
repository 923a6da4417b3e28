// The pure parts of the GPU burn-in: the worker's command line both ways, its report parser's
// bounds, sizes, NCCL versions, pair entities and the copy judgement's rules.
#include <gtest/gtest.h>

#include "probes/entity.h"
#include "probes/gpu_bandwidth/bandwidth_judgement.h"
#include "probes/gpu_bandwidth/nccl_bench.h"
#include "probes/gpu_bandwidth/worker_options.h"
#include "probes/gpu_bandwidth/worker_report.h"
#include "probes/platform/nccl_library.h"
#include "probes/util/byte_size.h"

namespace nodehealth::gpu_worker {
namespace {

TEST(GpuWorkerOptionsTest, ArgumentsRoundTrip) {
  WorkerOptions o;
  o.cuda_library = "/opt/libcuda.so.1";
  o.copies = true;
  o.copy.bytes = 512u << 20;
  o.copy.iterations = 7;
  o.copy.peer = false;
  o.nccl = true;
  o.nccl_options.sizes = {16ull << 30, 1000};
  const std::vector<std::string> args = WorkerArguments(o);
  Expected<WorkerOptions> back = ParseWorkerOptions(args);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cuda_library, "/opt/libcuda.so.1");
  EXPECT_EQ(back->copy.bytes, 512u << 20);
  EXPECT_EQ(back->copy.iterations, 7);
  EXPECT_FALSE(back->copy.peer);
  EXPECT_EQ(back->nccl_options.sizes, (std::vector<uint64_t>{16ull << 30, 1000}));
  EXPECT_EQ(WorkerArguments(*back), args);
}

TEST(GpuWorkerOptionsTest, BadUsageSaysWhy) {
  EXPECT_EQ(ParseWorkerOptions({}).error().message, "nothing to run: give --copies and/or --nccl");
  EXPECT_EQ(ParseWorkerOptions({"--copies", "--copy-bytes", "0"}).error().message,
            "--copy-bytes: not a size from 1 byte to 1T: '0' (e.g. 256M, 16G)");
  EXPECT_EQ(ParseWorkerOptions({"--nccl", "--nccl-iterations", "0"}).error().message,
            "--nccl-iterations: not a count from 1 to 100000: '0'");
  EXPECT_EQ(ParseWorkerOptions({"--copies", "--bogus"}).error().message,
            "unknown option '--bogus'");
}

TEST(ByteSizeTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseByteSize("16G"), 16ull << 30);
  EXPECT_EQ(*ParseByteSize("1024"), 1024u);
  EXPECT_FALSE(ParseByteSize("2T"));
  EXPECT_FALSE(ParseByteSize("1025G"));
  EXPECT_FALSE(ParseByteSize("G"));
  EXPECT_EQ(FormatByteSize(16ull << 30), "16G");
  EXPECT_EQ(FormatByteSize(1536), "1536");
}

TEST(NcclVersionTest, BothEncodings) {
  EXPECT_EQ(platform::NcclVersionString(22809), "2.28.9");
  EXPECT_EQ(platform::NcclVersionString(2804), "2.8.4");  // before 2.9: major*1000
  EXPECT_EQ(platform::NcclVersionString(0), "unknown");
}

TEST(GpuPairEntityTest, EitherOrderIsOneEntity) {
  EXPECT_EQ(GpuPairEntity("0000:75:00.0", "0000:64:00.0"), "gpu-pair/0000:64:00.0,0000:75:00.0");
  EXPECT_EQ(GpuPairEntity("0000:64:00.0", "0000:75:00.0"), "gpu-pair/0000:64:00.0,0000:75:00.0");
}

TEST(GpuWorkerReportTest, ParsesWhatItWritesAndRefusesTheRest) {
  Report r;
  r.cuda_driver_version = 12080;
  r.devices.push_back({0, "0000:19:00.0", "NVIDIA H100", 0, 1980000, 2619000});
  r.copies.push_back({"peer", "0000:19:00.0", "0000:3b:00.0", 1024, 2, 0.5, 4096});
  Nccl nccl;
  nccl.version = "2.28.9";
  nccl.ranks = 2;
  nccl.results.push_back({1024, 3, 0.1, 10240, 10240, 1, WrongElement{1, "0000:3b:00.0", 5, 7, 6}});
  r.nccl = nccl;
  r.errors.push_back({"cuMemAlloc", "0000:19:00.0", 2, "cuMemAlloc: ..."});
  Expected<Report> back = ParseReport(ToJson(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(ToJson(*back), ToJson(r));
  EXPECT_EQ(back->nccl->results[0].first_wrong->index, 5u);

  EXPECT_EQ(ParseReport("").error().message,
            "no nodehealth-gpu-worker JSON in the GPU worker's output");
  EXPECT_EQ(ParseReport(std::string(200, '[')).error().message,
            "the GPU worker's output nests too deeply");
  EXPECT_EQ(ParseReport(std::string(kMaxOutputBytes + 1, ' ')).error().message,
            "the GPU worker's output is too large");
  EXPECT_FALSE(ParseReport(R"({"schema": "nodehealth-gpu-worker/1", "devices": 3})"));
}

TEST(GpuWorkerReportTest, BusIdsTakeTheEntityForm) {
  EXPECT_EQ(NormalizeBusId("0000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(NormalizeBusId("00000000:3B:00.0"), "0000:3b:00.0");
}

TEST(NcclPatternTest, SumsAreExactIntegers) {
  // Rank r sends (i mod 4099) + r + 1; eight ranks sum to 8 (i mod 4099) + 36.
  float sum = 0;
  for (int rank = 0; rank < 8; ++rank) sum += SentValue(rank, 4098 + 4099 * 1000);
  EXPECT_EQ(sum, ExpectedSum(8, 4098 + 4099 * 1000));
  EXPECT_EQ(ExpectedSum(8, 4098), 8 * 4098 + 36);
}

Copy Figure(std::string direction, std::string gpu, double gbps, std::string peer = "") {
  return {std::move(direction), std::move(gpu), std::move(peer), 1024, 1, 1, gbps * 1e9};
}

TEST(CopyJudgementTest, TwoGpusHaveNoMedianToCompareWith) {
  const std::vector<Copy> copies = {Figure("host_to_device", "a", 55),
                                    Figure("host_to_device", "b", 10)};
  EXPECT_TRUE(JudgeCopies(copies, {}, {}).empty());
  CopyFloors floors;
  floors.host_device = 48e9;
  const std::vector<Finding> f = JudgeCopies(copies, floors, {});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].entity, "gpu/b");
}

TEST(CopyJudgementTest, BestOfKeepsTheBetterFigureOfEach) {
  const std::vector<Copy> best =
      BestOf({Figure("peer", "a", 100, "b"), Figure("peer", "b", 300, "a")},
             {Figure("peer", "a", 200, "b"), Figure("peer", "b", 250, "a")});
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].bytes_per_second, 200e9);
  EXPECT_EQ(best[1].bytes_per_second, 300e9);
}

}  // namespace
}  // namespace nodehealth::gpu_worker
