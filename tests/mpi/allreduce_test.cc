// nodehealth-allreduce: option parsing, and the real program under mpirun with two ranks over
// shared memory (Open MPI's vader BTL), as root where the test runs as root.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mpi-tests/allreduce_options.h"
#include "tests/support/run_command.h"

namespace nodehealth::allreduce {
namespace {

using json = nlohmann::json;

TEST(AllreduceOptionsTest, ParsesSizesIterationsAndTypes) {
  Expected<Options> o = ParseOptions({"--sizes", "8,1K,64M", "--iterations", "50", "--warmup", "0",
                                      "--datatype", "double", "--time-limit", "30", "--json"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->sizes, (std::vector<uint64_t>{8, 1024, 64u << 20}));
  EXPECT_EQ(o->iterations_small, 50);
  EXPECT_EQ(o->iterations_large, 50);
  EXPECT_EQ(o->warmup_large, 0);
  EXPECT_EQ(o->datatype, DataType::kDouble);
  EXPECT_EQ(o->time_limit_seconds, 30);
  EXPECT_TRUE(o->json);
  // OSU's defaults when nothing is said.
  Expected<Options> d = ParseOptions({});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->iterations_small, 1000);
  EXPECT_EQ(d->iterations_large, 100);
  EXPECT_EQ(d->warmup_small, 200);
  EXPECT_EQ(d->warmup_large, 10);
  EXPECT_EQ(d->large_from_bytes, 8192u);
}

TEST(AllreduceOptionsTest, RejectsBadUsage) {
  EXPECT_EQ(ParseOptions({"--sizes", "3"}).error().message,
            "size 3 is not a multiple of the float size");
  EXPECT_EQ(ParseOptions({"--sizes", "1X"}).error().message, "malformed message size: \"1X\"");
  EXPECT_EQ(ParseOptions({"--iterations", "0"}).error().message,
            "--iterations must be a positive integer, not \"0\"");
  EXPECT_EQ(ParseOptions({"--datatype", "half"}).error().message,
            "--datatype must be float, double or int32");
  EXPECT_EQ(ParseOptions({"--bogus"}).error().message, "unknown option \"--bogus\"");
  EXPECT_EQ(ParseOptions({"--sizes"}).error().message, "--sizes needs a value");
}

TEST(AllreduceOptionsTest, HelpIsNotAnUnknownOption) {
  for (const char* flag : {"--help", "-h"}) {
    Expected<Options> o = ParseOptions({"--sizes", "8", flag, "--bogus"});
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_TRUE(o->help);
  }
  EXPECT_FALSE(ParseOptions({})->help);
}

TEST(AllreduceProgramTest, HelpPrintsUsageAndExitsZeroWithoutMpirun) {
  testing::CommandResult run =
      testing::RunCommand({NODEHEALTH_ALLREDUCE, "--help"}, {}, std::chrono::seconds(20));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, std::string(Usage()));
  EXPECT_EQ(run.out.rfind("usage: mpirun -np N nodehealth-allreduce [options]\n", 0), 0u);
  EXPECT_NE(run.out.find("  --datatype TYPE     float, double or int32 (float)\n"),
            std::string::npos);
  EXPECT_EQ(run.err, "");
}

TEST(AllreduceOptionsTest, BusBandwidthIsNcclTestsDefinition) {
  EXPECT_DOUBLE_EQ(BusBandwidth(100, 2), 100);
  EXPECT_DOUBLE_EQ(BusBandwidth(100, 8), 175);
  EXPECT_DOUBLE_EQ(BusBandwidth(100, 1), 0);
}

TEST(AllreduceProgramTest, TwoRanksOverSharedMemoryGiveCheckedResults) {
  testing::CommandResult run = testing::RunCommand(
      {MPIEXEC, "-np", "2", "--oversubscribe", "--mca", "btl", "self,vader", NODEHEALTH_ALLREDUCE,
       "--sizes", "8,4K,1M", "--iterations", "20", "--warmup", "2", "--json"},
      {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}},
      std::chrono::seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json j = json::parse(run.out);
  EXPECT_EQ(j["schema"], "nodehealth-allreduce/1");
  EXPECT_EQ(j["ranks"], 2);
  EXPECT_EQ(j["nodes"], 1);
  EXPECT_EQ(j["correct"], true);
  EXPECT_EQ(j["truncated"], false);
  ASSERT_EQ(j["results"].size(), 3u);
  const uint64_t sizes[] = {8, 4096, 1u << 20};
  for (std::size_t i = 0; i < 3; ++i) {
    const json& r = j["results"][i];
    EXPECT_EQ(r["size_bytes"], sizes[i]);
    EXPECT_EQ(r["iterations"], 20);
    EXPECT_EQ(r["correct"], true);
    const double avg = r["latency_seconds"]["avg"];
    EXPECT_GT(avg, 0);
    EXPECT_LE(r["latency_seconds"]["min"].get<double>(), avg);
    EXPECT_GE(r["latency_seconds"]["max"].get<double>(), avg);
    // algbw = size / avg latency; with two ranks busbw = algbw (2(n-1)/n = 1).
    EXPECT_NEAR(r["algbw_bytes_per_second"].get<double>(), sizes[i] / avg, 1e-5 * sizes[i] / avg);
    EXPECT_DOUBLE_EQ(r["busbw_bytes_per_second"].get<double>(),
                     r["algbw_bytes_per_second"].get<double>());
  }
}

}  // namespace
}  // namespace nodehealth::allreduce
