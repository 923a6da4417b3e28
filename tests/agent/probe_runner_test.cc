#include "agent/engine/probe_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/fixture_node.h"

namespace nodehealth {
namespace {

using namespace std::chrono_literals;

// A probe that takes `work` and ignores its deadline, as a probe stuck in a blocking read or a hung
// NVML call would. Counts its runs.
class SlowProbe final : public Probe {
 public:
  SlowProbe(std::string_view name, std::chrono::milliseconds work) : work_(work) {
    info_.name = name;
    info_.kind = ProbeKind::kPassive;
    info_.timeout = 1s;
  }
  const ProbeInfo& info() const override { return info_; }
  ProbeResult Run(const ProbeContext&) const override {
    ++runs;
    std::this_thread::sleep_for(work_);
    ProbeResult r;
    r.measurements.push_back({"done", {}, 1});
    return r;
  }
  mutable std::atomic<int> runs{0};

 private:
  ProbeInfo info_;
  std::chrono::milliseconds work_;
};

TEST(ProbeRunnerTest, KeepsOrderAndAbandonsAProbePastItsDeadline) {
  nodehealth::testing::TempDir dir;
  auto environment = std::make_shared<RunEnvironment>(
      dir.path(), std::make_shared<platform::NvmlRuntime>("libnvidia-ml-absent.so"));
  // Static: the abandoned run outlives the test and still calls the probe.
  static const SlowProbe stuck("stuck", 3000ms);
  const SlowProbe quick("quick", 10ms);
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = ProbeRunner().Run({{&stuck, 300ms}, {&quick, 300ms}}, environment,
                                         platform::Deadline::In(10s));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ASSERT_EQ(outcome.results.size(), 2u);
  EXPECT_EQ(outcome.abandoned, 1);
  // 300 ms deadline + 500 ms grace, not the probe's 3 s.
  EXPECT_LT(took, 1.5);
  EXPECT_GE(took, 0.75);
  const ProbeResult& abandoned = outcome.results[0];
  EXPECT_EQ(abandoned.name, "stuck");
  EXPECT_EQ(abandoned.verdict, ProbeVerdict::kError);
  ASSERT_EQ(abandoned.findings.size(), 1u);
  EXPECT_EQ(abandoned.findings[0].code, "probe_timeout");
  EXPECT_EQ(abandoned.findings[0].entity, "node");
  EXPECT_EQ(outcome.results[1].name, "quick");
  EXPECT_EQ(outcome.results[1].verdict, ProbeVerdict::kPass);
  EXPECT_GT(outcome.results[1].duration.count(), 0.009);
}

TEST(ProbeRunnerTest, TheRunDeadlineCapsEveryProbe) {
  nodehealth::testing::TempDir dir;
  auto environment = std::make_shared<RunEnvironment>(
      dir.path(), std::make_shared<platform::NvmlRuntime>("libnvidia-ml-absent.so"));
  // Static: the abandoned run outlives the test and still calls the probe.
  static const SlowProbe stuck("stuck", 3000ms);
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome =
      ProbeRunner().Run({{&stuck, 60s}}, environment, platform::Deadline::In(200ms));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.2);
  EXPECT_EQ(outcome.abandoned, 1);
}

TEST(ProbeRunnerTest, AStuckProbeIsNotStartedAgainAndDoesNotDelayTheNextRound) {
  nodehealth::testing::TempDir dir;
  auto environment = std::make_shared<RunEnvironment>(
      dir.path(), std::make_shared<platform::NvmlRuntime>("libnvidia-ml-absent.so"));
  static const SlowProbe stuck("stuck", 2500ms);  // outlives its abandoned runs
  const SlowProbe quick("quick", 5ms);
  ProbeRunner runner;
  std::vector<ProbeResult> first =
      runner.Run({{&stuck, 100ms}, {&quick, 100ms}}, environment).results;
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].name, "stuck");
  EXPECT_EQ(first[0].verdict, ProbeVerdict::kError);
  ASSERT_EQ(first[0].findings.size(), 1u);
  EXPECT_EQ(first[0].findings[0].code, "probe_timeout");
  EXPECT_EQ(first[1].verdict, ProbeVerdict::kPass);
  EXPECT_GT(first[1].finished_at, 1.7e9);
  EXPECT_EQ(runner.Stuck(), std::vector<std::string>{"stuck"});

  const auto start = std::chrono::steady_clock::now();
  std::vector<ProbeResult> second =
      runner.Run({{&stuck, 100ms}, {&quick, 100ms}}, environment).results;
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 0.3);  // the stuck probe was not waited for again
  EXPECT_EQ(stuck.runs.load(), 1);
  ASSERT_EQ(second[0].findings.size(), 1u);
  EXPECT_EQ(second[0].findings[0].code, "probe_timeout");
  EXPECT_NE(second[0].findings[0].message.find("previous run has not returned"), std::string::npos);
  EXPECT_EQ(quick.runs.load(), 2);

  std::this_thread::sleep_for(2600ms);  // the stuck run returns: it may run again
  EXPECT_TRUE(runner.Stuck().empty());
  runner.Run({{&stuck, 100ms}}, environment);
  EXPECT_EQ(stuck.runs.load(), 2);
}

}  // namespace
}  // namespace nodehealth
