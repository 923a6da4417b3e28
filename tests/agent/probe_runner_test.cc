#include "agent/engine/probe_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/fixture_node.h"

namespace nodehealth {
namespace {

using namespace std::chrono_literals;

// A probe that takes `work` and ignores its deadline, as a probe stuck in a blocking read would.
class SlowProbe final : public Probe {
 public:
  SlowProbe(std::string_view name, std::chrono::milliseconds work) : work_(work) {
    info_.name = name;
    info_.kind = ProbeKind::kPassive;
    info_.timeout = 1s;
  }
  const ProbeInfo& info() const override { return info_; }
  ProbeResult Run(const ProbeContext&) const override {
    std::this_thread::sleep_for(work_);
    ProbeResult r;
    r.measurements.push_back({"done", {}, 1});
    return r;
  }

 private:
  ProbeInfo info_;
  std::chrono::milliseconds work_;
};

TEST(RunProbesTest, KeepsOrderAndAbandonsAProbePastItsDeadline) {
  nodehealth::testing::TempDir dir;
  platform::RootedFileSystem fs(dir.path());
  NodeInventory inventory;
  ProbeContext context{.fs = fs, .inventory = inventory, .deadline = platform::Deadline::In(10s)};
  // Static: the abandoned run outlives the test and still calls the probe.
  static const SlowProbe stuck("stuck", 3000ms);
  const SlowProbe quick("quick", 10ms);
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = RunProbes({{&stuck, 300ms}, {&quick, 300ms}}, context);
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

TEST(RunProbesTest, TheRunDeadlineCapsEveryProbe) {
  nodehealth::testing::TempDir dir;
  platform::RootedFileSystem fs(dir.path());
  NodeInventory inventory;
  ProbeContext context{.fs = fs, .inventory = inventory, .deadline = platform::Deadline::In(200ms)};
  // Static: the abandoned run outlives the test and still calls the probe.
  static const SlowProbe stuck("stuck", 3000ms);
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = RunProbes({{&stuck, 60s}}, context);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.2);
  EXPECT_EQ(outcome.abandoned, 1);
}

}  // namespace
}  // namespace nodehealth
