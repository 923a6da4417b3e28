// The mpi_allreduce probe's decisions, with a scripted child runner standing in for mpirun (the
// real program under mpirun is tested in tests/mpi and through `nodehealth burnin`).
#include "probes/mpi_allreduce/mpi_allreduce_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

std::string Output(double busbw_64m, bool correct = true, bool truncated = false) {
  const std::string ok = correct ? "true" : "false";
  return R"({"schema": "nodehealth-allreduce/1", "ranks": 8, "nodes": 1, "datatype": "float",
  "truncated": )" +
         std::string(truncated ? "true" : "false") + R"(, "correct": )" + ok +
         R"(, "results": [
  {"size_bytes": 1048576, "iterations": 100, "latency_seconds": {"avg": 0.0001, "min": 0.00009,
   "max": 0.00011}, "algbw_bytes_per_second": 1.048576e10, "busbw_bytes_per_second": 1.835008e10,
   "correct": true},
  {"size_bytes": 67108864, "iterations": 100, "latency_seconds": {"avg": 0.01, "min": 0.009,
   "max": 0.011}, "algbw_bytes_per_second": 6.7108864e9, "busbw_bytes_per_second": )" +
         std::to_string(busbw_64m) + R"(, "correct": )" + ok + "}]}";
}

struct Script {
  std::vector<platform::ChildResult> replies;
  std::vector<std::vector<std::string>> argvs;
  std::vector<std::map<std::string, std::string>> envs;
};

ChildRunner Scripted(Script& script) {
  return [&script](const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env, platform::Deadline) {
    script.argvs.push_back(argv);
    script.envs.push_back(env);
    platform::ChildResult r = script.replies.at(script.argvs.size() - 1);
    return r;
  };
}

platform::ChildResult Exited(int code, std::string out, std::string err = "") {
  platform::ChildResult r;
  r.started = true;
  r.exit_code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

class MpiAllreduceTest : public ::testing::Test {
 protected:
  MpiAllreduceTest() : node_("no-gpu.toml") {
    profile_.name = "test";
    profile_.gpu.count = 8;
    profile_.mpi_allreduce.bus_bandwidth_gbps_min = 100;  // 12.5e9 B/s at 64 MiB
  }
  ProbeResult Run() { return node_.Run(MpiAllreduceProbe(Scripted(script_)), &profile_); }

  FixtureNode node_;
  Profile profile_;
  Script script_;
};

TEST_F(MpiAllreduceTest, GoodRunPassesWithOneRankPerGpuAndTheMallocEnvironment) {
  script_.replies = {Exited(0, Output(1.3e10))};
  ProbeResult r = Run();
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  ASSERT_EQ(script_.argvs.size(), 1u);
  const std::vector<std::string>& argv = script_.argvs[0];
  EXPECT_EQ(argv[0], "mpirun");
  EXPECT_EQ(argv[1], "-np");
  EXPECT_EQ(argv[2], "8");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--json"), argv.end());
  EXPECT_EQ(script_.envs[0].at("MALLOC_MMAP_MAX_"), "0");
  if (::geteuid() == 0) {
    EXPECT_EQ(script_.envs[0].at("OMPI_ALLOW_RUN_AS_ROOT"), "1");
  }
  EXPECT_EQ(
      FindMeasurement(r, "allreduce_bus_bandwidth_bytes_per_second", {{"size_bytes", "67108864"}})
          ->value,
      1.3e10);
  EXPECT_EQ(FindMeasurement(r, "allreduce_ranks")->value, 8);
}

TEST_F(MpiAllreduceTest, ConfiguredRanksWinOverTheProfile) {
  script_.replies = {Exited(0, Output(1.3e10)), Exited(0, Output(1.3e10))};
  profile_.mpi_allreduce.ranks = 4;
  Run();
  EXPECT_EQ(script_.argvs[0][2], "4");
  const NodeInventory inventory = GatherNodeInventory(node_.fs());
  ProbeContext context{
      .fs = node_.fs(), .profile = &profile_, .inventory = inventory, .mpi_allreduce_ranks = 6};
  MpiAllreduceProbe(Scripted(script_)).Run(context);
  ASSERT_EQ(script_.argvs.size(), 2u);
  EXPECT_EQ(script_.argvs[1][2], "6");
}

TEST_F(MpiAllreduceTest, LowBandwidthIsRerunBeforeItCounts) {
  script_.replies = {Exited(0, Output(9e9)), Exited(0, Output(1.4e10))};
  ProbeResult r = Run();
  EXPECT_EQ(script_.argvs.size(), 2u);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(
      FindMeasurement(r, "allreduce_bus_bandwidth_bytes_per_second", {{"size_bytes", "67108864"}})
          ->value,
      1.4e10);
}

TEST_F(MpiAllreduceTest, LowTwiceIsBandwidthLow) {
  script_.replies = {Exited(0, Output(9e9)), Exited(0, Output(8e9))};
  ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "mpi_allreduce_bandwidth_low");
  EXPECT_EQ(f.entity, "node");
  EXPECT_EQ(f.evidence[0].observed, "72.00 Gb/s");
  EXPECT_EQ(f.evidence[0].expected, ">= 100.00 Gb/s");
}

TEST_F(MpiAllreduceTest, WrongSumsAreWrongResult) {
  script_.replies = {Exited(3, Output(1.3e10, /*correct=*/false))};
  ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "mpi_allreduce_wrong_result");
  EXPECT_EQ(r.findings[0].message, "MPI_Allreduce returned wrong sums at 67108864 bytes");
}

TEST_F(MpiAllreduceTest, CrashIsFailedWithStderr) {
  script_.replies = {Exited(1, "", "mpirun noticed that process rank 3 exited on signal 11")};
  ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "mpi_allreduce_failed");
  EXPECT_EQ(r.findings[0].evidence[0].observed,
            "exit status 1; stderr: mpirun noticed that process rank 3 exited on signal 11");
}

TEST_F(MpiAllreduceTest, TimeoutIsFailed) {
  platform::ChildResult hung;
  hung.started = true;
  hung.timed_out = true;
  hung.seconds = 300;
  script_.replies = {hung};
  ProbeResult r = Run();
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "mpi_allreduce_failed");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "still running after 300 s");
}

TEST_F(MpiAllreduceTest, MissingMpiSkipsWithoutAFloorAndFailsWithOne) {
  platform::ChildResult missing;
  missing.error = "cannot start mpirun: No such file or directory";
  script_.replies = {missing};
  ProbeResult strict = Run();
  ASSERT_EQ(strict.findings.size(), 1u);
  EXPECT_EQ(strict.findings[0].code, "mpi_allreduce_failed");
  profile_.mpi_allreduce.bus_bandwidth_gbps_min.reset();
  script_.argvs.clear();
  ProbeResult lenient = Run();
  EXPECT_EQ(lenient.verdict, ProbeVerdict::kSkip);
  EXPECT_EQ(lenient.skip_reason,
            "cannot run the MPI all-reduce: cannot start mpirun: No such file or directory "
            "(install openmpi-bin and nodehealth-allreduce)");
}

}  // namespace
}  // namespace nodehealth
