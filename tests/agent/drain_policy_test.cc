#include "agent/policy/drain_policy.h"

#include <gtest/gtest.h>

#include <optional>

#include "probes/finding_catalog.h"

namespace nodehealth::agent {
namespace {

constexpr double kT0 = 1'800'000'000;  // 2027-01-15, any fixed Unix time does
constexpr char kGpu0[] = "gpu/0000:19:00.0";
constexpr char kHca0[] = "hca/mlx5_0/1";

// Actions are set explicitly, so the tests do not depend on the catalogue's defaults.
Finding MakeF(std::string_view code, std::string entity, Action action,
              std::string message = "msg") {
  Finding f = MakeFinding(code, std::move(entity), std::move(message));
  f.action = action;
  return f;
}

// The verdict follows the findings unless given.
ProbeSnapshot Snap(std::string name, uint64_t run, std::vector<Finding> findings,
                   std::optional<ProbeVerdict> verdict = std::nullopt) {
  ProbeSnapshot s;
  s.result.name = std::move(name);
  s.result.verdict = verdict.value_or(findings.empty() ? ProbeVerdict::kPass : ProbeVerdict::kFail);
  s.result.findings = std::move(findings);
  s.run = run;
  return s;
}

// A probe that could not decide: verdict error with its probe_error finding.
ProbeSnapshot Errored(std::string name, uint64_t run) {
  return Snap(name, run, {MakeF(codes::kProbeError, "node", Action::kDrain, "timed out")},
              ProbeVerdict::kError);
}

PolicyInput Input(std::vector<ProbeSnapshot> probes, double now, std::string boot = "boot-a",
                  std::vector<XidEventRecord> xids = {}) {
  PolicyInput in;
  in.probes = std::move(probes);
  in.new_xids = std::move(xids);
  in.boot_id = std::move(boot);
  in.now = now;
  return in;
}

XidEventRecord Xid(int xid, double time, uint64_t sequence, std::string bus = "0000:19:00.0",
                   std::string boot = "boot-a") {
  XidEventRecord e;
  e.boot_id = std::move(boot);
  e.sequence = sequence;
  e.time = time;
  e.bus_id = std::move(bus);
  e.xid = xid;
  return e;
}

std::vector<std::string> Codes(const DrainDecision& d) {
  std::vector<std::string> out;
  for (const DrainReason& r : d.reasons) out.push_back(r.code + " " + r.entity);
  return out;
}

TEST(DrainPolicyTest, DefaultClasses) {
  EXPECT_TRUE(IsHardByDefault(MakeF(codes::kGpuLost, kGpu0, Action::kReplace)));
  EXPECT_TRUE(IsHardByDefault(MakeF(codes::kGpuRowRemapFailure, kGpu0, Action::kReplace)));
  EXPECT_TRUE(IsHardByDefault(MakeF(codes::kGpuXid, kGpu0, Action::kResetGpu)));
  EXPECT_FALSE(IsHardByDefault(MakeF(codes::kGpuXid, kGpu0, Action::kDrain)));
  EXPECT_FALSE(IsHardByDefault(MakeF(codes::kIbPortDown, kHca0, Action::kDrain)));
  for (std::string_view code : {codes::kRdmaLoopbackBandwidthLow, codes::kMpiAllreduceBandwidthLow,
                                codes::kIbPortErrors, codes::kProbeTimeout, codes::kProbeError,
                                codes::kGpuTemperatureHigh, codes::kGpuClockSlowdown}) {
    EXPECT_TRUE(IsNoisyByDefault(code)) << code;
  }
  EXPECT_FALSE(IsNoisyByDefault(codes::kGpuLost));
  EXPECT_FALSE(IsNoisyByDefault(codes::kIbPortDown));
}

TEST(DrainPolicyTest, HardFaultDrainsAtOnceAndIsHeldWhileTheProbeErrors) {
  const DrainPolicyConfig config;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("gpu_health", 1,
                  {MakeF(codes::kGpuRowRemapFailure, kGpu0, Action::kReplace, "remap failed")})},
            kT0),
      PolicyState{});
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_TRUE(out.decision.recommended);
  EXPECT_EQ(out.decision.action, Action::kReplace);
  EXPECT_EQ(out.decision.reasons[0].code, "gpu_row_remap_failure");
  EXPECT_EQ(out.decision.reasons[0].entity, kGpu0);
  EXPECT_EQ(out.decision.reasons[0].message, "remap failed");
  EXPECT_EQ(out.decision.reasons[0].action, Action::kReplace);
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.state.sticky[0].probe, "gpu_health");
  EXPECT_EQ(out.state.sticky[0].since, kT0);
  EXPECT_EQ(out.state.sticky[0].last_run, 1u);
  EXPECT_TRUE(out.changed);
  EXPECT_EQ(out.decided_at, kT0);

  // Run 2 errors: "cannot tell" keeps the fault (and probe_error starts counting, not draining).
  out = EvaluateDrainPolicy(config, Input({Errored("gpu_health", 2)}, kT0 + 60), out.state);
  EXPECT_EQ(Codes(out.decision),
            std::vector<std::string>{"gpu_row_remap_failure " + std::string(kGpu0)});
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.state.sticky[0].since, kT0);
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.state.pending[0].code, "probe_error");
  EXPECT_FALSE(out.changed);
  EXPECT_EQ(out.decided_at, kT0);

  // No snapshot of the probe at all: still held.
  out = EvaluateDrainPolicy(config, Input({}, kT0 + 120), out.state);
  EXPECT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.action, Action::kReplace);

  // A skipped run is no evidence either.
  out = EvaluateDrainPolicy(config, Input({Snap("gpu_health", 3, {}, ProbeVerdict::kSkip)}, kT0),
                            out.state);
  EXPECT_EQ(out.decision.reasons.size(), 1u);
}

TEST(DrainPolicyTest, HardFaultReleasedByANewPassingRun) {
  const DrainPolicyConfig config;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("gpu_presence", 7, {MakeF(codes::kGpuLost, kGpu0, Action::kReplace)})}, kT0),
      PolicyState{});
  ASSERT_TRUE(out.decision.recommended);
  // The same run evaluated again without the finding (cannot happen, but proves nothing): held.
  out = EvaluateDrainPolicy(config, Input({Snap("gpu_presence", 7, {})}, kT0 + 1), out.state);
  EXPECT_TRUE(out.decision.recommended);
  // Run 8 passes.
  out = EvaluateDrainPolicy(config, Input({Snap("gpu_presence", 8, {})}, kT0 + 60), out.state);
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_EQ(out.decision.action, Action::kNone);
  EXPECT_TRUE(out.decision.reasons.empty());
  EXPECT_TRUE(out.state.sticky.empty());
  EXPECT_TRUE(out.changed);
  EXPECT_EQ(out.decided_at, kT0 + 60);
}

TEST(DrainPolicyTest, HardFaultReleasedByRebootButXidHistoryKept) {
  DrainPolicyConfig config;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("gpu_xid", 1, {MakeF(codes::kGpuXid, kGpu0, Action::kResetGpu, "XID 79")}),
             Snap("ib_ports", 1, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)})},
            kT0, "boot-a", {Xid(79, kT0 - 5, 100)}),
      PolicyState{});
  ASSERT_EQ(out.state.sticky.size(), 1u);
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.decision.action, Action::kResetGpu);

  out = EvaluateDrainPolicy(config, Input({}, kT0 + 300, "boot-b"), out.state);
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_TRUE(out.state.sticky.empty());
  EXPECT_TRUE(out.state.pending.empty());
  EXPECT_EQ(out.state.boot_id, "boot-b");
  ASSERT_EQ(out.state.xid_history.size(), 1u);
  EXPECT_EQ(out.state.xid_history[0].sequence, 100u);
}

TEST(DrainPolicyTest, NoisyCodeDrainsOnTheThirdFailingRun) {
  const DrainPolicyConfig config;  // noisy_rounds = 3
  PolicyState state;
  for (uint64_t run = 1; run <= 2; ++run) {
    const PolicyOutput out = EvaluateDrainPolicy(
        config,
        Input({Snap("ib_ports", run, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)})},
              kT0 + run),
        state);
    EXPECT_FALSE(out.decision.recommended) << run;
    ASSERT_EQ(out.state.pending.size(), 1u);
    EXPECT_EQ(out.state.pending[0].probe, "ib_ports");
    EXPECT_EQ(out.state.pending[0].code, "ib_port_errors");
    EXPECT_EQ(out.state.pending[0].entity, kHca0);
    EXPECT_EQ(out.state.pending[0].failing_runs, static_cast<int>(run));
    EXPECT_EQ(out.state.pending[0].needed_runs, 3);
    EXPECT_EQ(out.state.pending[0].last_run, run);
    state = out.state;
  }
  const PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("ib_ports", 3, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain, "errs")})},
            kT0 + 3),
      state);
  ASSERT_TRUE(out.decision.recommended);
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].code, "ib_port_errors");
  EXPECT_EQ(out.decision.reasons[0].entity, kHca0);
  EXPECT_EQ(out.decision.reasons[0].message, "errs");
  EXPECT_EQ(out.decision.action, Action::kDrain);
  EXPECT_EQ(out.state.pending[0].failing_runs, 3);
  EXPECT_TRUE(out.state.sticky.empty());  // noisy faults clear with the finding
}

TEST(DrainPolicyTest, SameRunEvaluatedTwiceCountsOnce) {
  const DrainPolicyConfig config;
  const PolicyInput input =
      Input({Snap("ib_ports", 5, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)})}, kT0);
  PolicyOutput out = EvaluateDrainPolicy(config, input, PolicyState{});
  for (int i = 0; i < 4; ++i) out = EvaluateDrainPolicy(config, input, out.state);
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.state.pending[0].failing_runs, 1);
  EXPECT_FALSE(out.decision.recommended);
}

TEST(DrainPolicyTest, RunIdsContinueAfterTheStoredOnes) {
  // A state written before last_run_id existed: the faults' run ids are the highest known.
  const DrainPolicyConfig config;
  PolicyState state;
  state.boot_id = "boot-a";
  state.pending.push_back(PendingFault{"ib_ports", "ib_port_errors", kHca0, 2, 3, 500});
  state.sticky.push_back(
      StickyFault{"gpu_presence", "gpu_lost", kGpu0, "lost", Action::kReplace, kT0 - 100, 480});
  ASSERT_EQ(HighestRunId(state), 500u);
  // The restarted agent numbers its runs after 500.
  const PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("ib_ports", 501, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)}),
             Snap("gpu_presence", 502, {})},
            kT0),
      state);
  EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"ib_port_errors hca/mlx5_0/1"});
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.state.pending[0].failing_runs, 3);
  EXPECT_EQ(out.state.pending[0].last_run, 501u);
  EXPECT_TRUE(out.state.sticky.empty());
  EXPECT_EQ(out.state.last_run_id, 502u);
  EXPECT_EQ(HighestRunId(out.state), 502u);
}

TEST(DrainPolicyTest, ARunIdNotAboveTheFaultsIsNoNewerRun) {
  // Issue 13 item 1(b): a restarted agent that numbered its runs from 1 again released or held
  // faults by coincidence of numbers. Only a run id above the fault's is evidence.
  const DrainPolicyConfig config;
  PolicyState state;
  state.boot_id = "boot-a";
  state.sticky.push_back(
      StickyFault{"gpu_presence", "gpu_lost", kGpu0, "lost", Action::kReboot, kT0 - 100, 5});
  state.pending.push_back(PendingFault{"ib_ports", "ib_port_errors", kHca0, 1, 3, 5});
  for (uint64_t run : {1u, 5u}) {
    const PolicyOutput out = EvaluateDrainPolicy(
        config,
        Input({Snap("gpu_presence", run, {}),
               Snap("ib_ports", run, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)})},
              kT0),
        state);
    EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"gpu_lost " + std::string(kGpu0)})
        << run;
    ASSERT_EQ(out.state.pending.size(), 1u);
    EXPECT_EQ(out.state.pending[0].failing_runs, 1) << run;
    EXPECT_EQ(out.state.last_run_id, 5u) << run;
  }
}

TEST(DrainPolicyTest, AnEventFromTheKernelLogIsReleasedByARebootOnly) {
  // Issue 13 item 1(a): XID 79 is sticky; once the ring buffer wrapped (or the agent restarted
  // and read a log without the line), gpu_xid passes, which says nothing about the GPU.
  const DrainPolicyConfig config;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("gpu_xid", 1, {MakeF(codes::kGpuXid, kGpu0, Action::kReboot, "XID 79")})}, kT0),
      PolicyState{});
  ASSERT_EQ(out.state.sticky.size(), 1u);
  for (uint64_t run = 2; run <= 4; ++run) {
    out = EvaluateDrainPolicy(config, Input({Snap("gpu_xid", run, {})}, kT0 + run), out.state);
    EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"gpu_xid " + std::string(kGpu0)})
        << run;
    EXPECT_EQ(out.decision.action, Action::kReboot);
  }
  out =
      EvaluateDrainPolicy(config, Input({Snap("gpu_xid", 5, {})}, kT0 + 600, "boot-b"), out.state);
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_TRUE(out.state.sticky.empty());
}

TEST(DrainPolicyTest, PassingRunResetsTheCountAndAnErroredRunDoesNot) {
  const DrainPolicyConfig config;
  const auto failing = [](uint64_t run) {
    return Snap("ib_ports", run, {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain)});
  };
  PolicyOutput out = EvaluateDrainPolicy(config, Input({failing(1)}, kT0), PolicyState{});
  out = EvaluateDrainPolicy(config, Input({failing(2)}, kT0), out.state);
  ASSERT_EQ(out.state.pending.at(0).failing_runs, 2);
  // An errored run neither counts nor resets.
  out = EvaluateDrainPolicy(config, Input({Errored("ib_ports", 3)}, kT0), out.state);
  ASSERT_EQ(out.state.pending.size(), 2u);  // ib_port_errors and the run's own probe_error
  EXPECT_EQ(out.state.pending.at(0).code, "ib_port_errors");
  EXPECT_EQ(out.state.pending.at(0).failing_runs, 2);
  // A passing run clears both.
  out = EvaluateDrainPolicy(config, Input({Snap("ib_ports", 4, {})}, kT0), out.state);
  EXPECT_TRUE(out.state.pending.empty());
  out = EvaluateDrainPolicy(config, Input({failing(5)}, kT0), out.state);
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.state.pending[0].failing_runs, 1);
  EXPECT_FALSE(out.decision.recommended);
}

TEST(DrainPolicyTest, ProbeErrorIsNoisy) {
  const DrainPolicyConfig config;
  PolicyState state;
  PolicyOutput out;
  for (uint64_t run = 1; run <= 3; ++run) {
    out = EvaluateDrainPolicy(config, Input({Errored("gpu_health", run)}, kT0), state);
    EXPECT_EQ(out.decision.recommended, run == 3) << run;
    state = out.state;
  }
  EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"probe_error node"});
}

TEST(DrainPolicyTest, RoundsOverride) {
  DrainPolicyConfig config;
  config.codes["ib_port_errors"].rounds = 1;  // noisy, but drains at once
  config.codes["ib_port_down"].rounds = 2;    // drains at once by default, now on the 2nd run
  const auto input = [](uint64_t run) {
    return Input({Snap("ib_ports", run,
                       {MakeF(codes::kIbPortErrors, kHca0, Action::kDrain),
                        MakeF(codes::kIbPortDown, "hca/mlx5_1/1", Action::kDrain)})},
                 kT0);
  };
  PolicyOutput out = EvaluateDrainPolicy(config, input(1), PolicyState{});
  EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"ib_port_errors hca/mlx5_0/1"});
  ASSERT_EQ(out.state.pending.size(), 1u);
  EXPECT_EQ(out.state.pending[0].needed_runs, 2);
  out = EvaluateDrainPolicy(config, input(2), out.state);
  EXPECT_EQ(Codes(out.decision),
            (std::vector<std::string>{"ib_port_down hca/mlx5_1/1", "ib_port_errors hca/mlx5_0/1"}));
}

TEST(DrainPolicyTest, NoisyRoundsFromConfig) {
  DrainPolicyConfig config;
  config.noisy_rounds = 2;
  const auto input = [](uint64_t run) {
    return Input({Snap("rdma_loopback", run,
                       {MakeF(codes::kRdmaLoopbackBandwidthLow, "hca/mlx5_0/1", Action::kDrain)})},
                 kT0);
  };
  PolicyOutput out = EvaluateDrainPolicy(config, input(1), PolicyState{});
  EXPECT_FALSE(out.decision.recommended);
  out = EvaluateDrainPolicy(config, input(2), out.state);
  EXPECT_TRUE(out.decision.recommended);
}

TEST(DrainPolicyTest, ActionOverride) {
  const PolicyInput input = Input(
      {Snap("topology", 1, {MakeF(codes::kTopologyMismatch, "node", Action::kDrain)}),
       Snap("gpu_health", 1, {MakeF(codes::kGpuPcieLinkDegraded, kGpu0, Action::kMonitor, "x8")})},
      kT0);
  DrainPolicyConfig config;
  EXPECT_EQ(Codes(EvaluateDrainPolicy(config, input, PolicyState{}).decision),
            std::vector<std::string>{"topology_mismatch node"});

  config.codes["topology_mismatch"].action = Action::kNone;
  PolicyOutput out = EvaluateDrainPolicy(config, input, PolicyState{});
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_TRUE(out.decision.reasons.empty());

  config.codes["gpu_pcie_link_degraded"].action = Action::kReplace;
  out = EvaluateDrainPolicy(config, input, PolicyState{});
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].code, "gpu_pcie_link_degraded");
  EXPECT_EQ(out.decision.reasons[0].action, Action::kReplace);
  EXPECT_EQ(out.decision.action, Action::kReplace);
}

TEST(DrainPolicyTest, ActionOverrideDecidesWhetherAnXidIsHard) {
  DrainPolicyConfig config;
  config.codes["gpu_xid"].action = Action::kReboot;
  PolicyOutput out = EvaluateDrainPolicy(
      config, Input({Snap("gpu_xid", 1, {MakeF(codes::kGpuXid, kGpu0, Action::kDrain)})}, kT0),
      PolicyState{});
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.state.sticky[0].action, Action::kReboot);
  EXPECT_EQ(out.decision.action, Action::kReboot);
}

TEST(DrainPolicyTest, StickyOverride) {
  DrainPolicyConfig config;
  config.codes["ib_port_down"].sticky = true;
  config.codes["gpu_lost"].sticky = false;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({Snap("ib_ports", 1, {MakeF(codes::kIbPortDown, kHca0, Action::kDrain)}),
             Snap("gpu_presence", 1, {MakeF(codes::kGpuLost, kGpu0, Action::kReplace)})},
            kT0),
      PolicyState{});
  EXPECT_EQ(Codes(out.decision), (std::vector<std::string>{"gpu_lost " + std::string(kGpu0),
                                                           "ib_port_down hca/mlx5_0/1"}));
  ASSERT_EQ(out.state.sticky.size(), 1u);
  EXPECT_EQ(out.state.sticky[0].code, "ib_port_down");

  // Both probes error: the sticky port fault is held, the no-longer-sticky gpu_lost is not.
  out = EvaluateDrainPolicy(
      config, Input({Errored("ib_ports", 2), Errored("gpu_presence", 2)}, kT0), out.state);
  EXPECT_EQ(Codes(out.decision), std::vector<std::string>{"ib_port_down hca/mlx5_0/1"});
}

TEST(DrainPolicyTest, NonDrainingFindingsAreIgnored) {
  const PolicyOutput out = EvaluateDrainPolicy(
      DrainPolicyConfig{},
      Input({Snap("gpu_xid", 1, {MakeF(codes::kGpuXid, kGpu0, Action::kMonitor)},
                  ProbeVerdict::kWarn),
             Snap("ib_ports", 1, {MakeF(codes::kIbPortErrors, kHca0, Action::kMonitor)},
                  ProbeVerdict::kWarn)},
            kT0),
      PolicyState{});
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_TRUE(out.state.pending.empty());
  EXPECT_TRUE(out.state.sticky.empty());
}

DrainPolicyConfig XidStormConfig() {
  DrainPolicyConfig config;
  config.xid_windows[31] = XidWindowRule{10, 3600, Action::kDrain};
  return config;
}

TEST(DrainPolicyTest, XidWindowDrainsAtTheCount) {
  const DrainPolicyConfig config = XidStormConfig();
  std::vector<XidEventRecord> nine;
  for (int i = 0; i < 9; ++i) nine.push_back(Xid(31, kT0 - 3000 + i, 10 + i));
  nine.push_back(Xid(13, kT0 - 10, 50));                  // another XID number
  nine.push_back(Xid(31, kT0 - 20, 51, "0000:2a:00.0"));  // another GPU
  PolicyOutput out = EvaluateDrainPolicy(config, Input({}, kT0, "boot-a", nine), PolicyState{});
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_EQ(out.state.xid_history.size(), 11u);

  // The next record of the kernel log: its sequence number follows the ones read before.
  out = EvaluateDrainPolicy(config, Input({}, kT0 + 1, "boot-a", {Xid(31, kT0, 52)}), out.state);
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  const DrainReason& r = out.decision.reasons[0];
  EXPECT_EQ(r.code, "gpu_xid");
  EXPECT_EQ(r.entity, kGpu0);
  EXPECT_EQ(r.action, Action::kDrain);
  EXPECT_EQ(r.message, "XID 31 on GPU 0000:19:00.0 10 times in the last 3600 s (drain at 10)");
  EXPECT_TRUE(out.changed);

  // 700 s later the oldest nine (kT0 - 3000 .. kT0 - 2992) have left the window.
  out = EvaluateDrainPolicy(config, Input({}, kT0 + 700), out.state);
  EXPECT_FALSE(out.decision.recommended);
}

TEST(DrainPolicyTest, XidWindowIgnoresEventsOutsideTheWindow) {
  const DrainPolicyConfig config = XidStormConfig();
  std::vector<XidEventRecord> events;
  for (int i = 0; i < 9; ++i) events.push_back(Xid(31, kT0 - 100 + i, 1 + i));
  events.push_back(Xid(31, kT0 - 3601, 99));  // just outside
  const PolicyOutput out =
      EvaluateDrainPolicy(config, Input({}, kT0, "boot-a", events), PolicyState{});
  EXPECT_FALSE(out.decision.recommended);
  EXPECT_EQ(out.state.xid_history.size(), 10u);
}

TEST(DrainPolicyTest, XidWindowWithoutBusIdIsOnTheNode) {
  DrainPolicyConfig config;
  config.xid_windows[13] = XidWindowRule{2, 60, Action::kReboot};
  const PolicyOutput out = EvaluateDrainPolicy(
      config, Input({}, kT0, "boot-a", {Xid(13, kT0 - 1, 0, ""), Xid(13, kT0 - 2, 0, "")}),
      PolicyState{});
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].entity, "node");
  EXPECT_EQ(out.decision.reasons[0].action, Action::kReboot);
  EXPECT_EQ(out.decision.reasons[0].message,
            "XID 13 on an unnamed GPU 2 times in the last 60 s (drain at 2)");
}

TEST(DrainPolicyTest, DuplicateXidEventsCountOnce) {
  const DrainPolicyConfig config = XidStormConfig();
  std::vector<XidEventRecord> events;
  for (int i = 0; i < 5; ++i) events.push_back(Xid(31, kT0 - 100 + i, 1 + i));
  PolicyOutput out = EvaluateDrainPolicy(config, Input({}, kT0, "boot-a", events), PolicyState{});
  // The kernel log read again after a restart: the same five, plus the same sequence numbers from
  // another boot (different events) and two without sequence numbers (always new).
  std::vector<XidEventRecord> again = events;
  again.push_back(Xid(31, kT0 - 50, 1, "0000:19:00.0", "boot-0"));
  again.push_back(Xid(31, kT0 - 40, 0));
  again.push_back(Xid(31, kT0 - 30, 0));
  out = EvaluateDrainPolicy(config, Input({}, kT0, "boot-a", again), out.state);
  EXPECT_EQ(out.state.xid_history.size(), 8u);
  EXPECT_FALSE(out.decision.recommended);  // 8 < 10; 13 if duplicates counted
  // Duplicates inside one batch count once too.
  out = EvaluateDrainPolicy(
      config, Input({}, kT0, "boot-a", {Xid(31, kT0 - 5, 77), Xid(31, kT0 - 5, 77)}), out.state);
  EXPECT_EQ(out.state.xid_history.size(), 9u);
}

TEST(DrainPolicyTest, XidHistoryPrunedByAgeAndLimitOldestFirst) {
  DrainPolicyConfig config;
  config.history_seconds = 1000;
  config.history_limit = 3;
  PolicyOutput out = EvaluateDrainPolicy(
      config,
      Input({}, kT0, "boot-a",
            {Xid(31, kT0 - 10, 5), Xid(31, kT0 - 2000, 1), Xid(31, kT0 - 999, 2),
             Xid(31, kT0 - 30, 4), Xid(31, kT0 - 40, 3)}),
      PolicyState{});
  ASSERT_EQ(out.state.xid_history.size(), 3u);
  EXPECT_EQ(out.state.xid_history[0].sequence, 3u);  // kT0 - 999 and kT0 - 2000 went
  EXPECT_EQ(out.state.xid_history[1].sequence, 4u);
  EXPECT_EQ(out.state.xid_history[2].sequence, 5u);
  out = EvaluateDrainPolicy(config, Input({}, kT0 + 975), out.state);
  ASSERT_EQ(out.state.xid_history.size(), 1u);
  EXPECT_EQ(out.state.xid_history[0].sequence, 5u);
}

TEST(DrainPolicyTest, DecidedAtMovesOnlyWhenTheDecisionChanges) {
  const DrainPolicyConfig config;
  PolicyOutput out = EvaluateDrainPolicy(config, Input({}, kT0), PolicyState{});
  EXPECT_FALSE(out.changed);
  EXPECT_EQ(out.decided_at, kT0);  // the first decision is made now
  out = EvaluateDrainPolicy(
      config,
      Input({Snap("topology", 1, {MakeF(codes::kTopologyMismatch, "node", Action::kDrain, "a")})},
            kT0 + 10),
      out.state);
  EXPECT_TRUE(out.changed);
  EXPECT_EQ(out.decided_at, kT0 + 10);
  // Same reason, another message: the same decision.
  out = EvaluateDrainPolicy(
      config,
      Input({Snap("topology", 2, {MakeF(codes::kTopologyMismatch, "node", Action::kDrain, "b")})},
            kT0 + 20),
      out.state);
  EXPECT_FALSE(out.changed);
  EXPECT_EQ(out.decided_at, kT0 + 10);
  EXPECT_EQ(out.state.decided_at, kT0 + 10);
  EXPECT_EQ(out.decision.reasons.at(0).message, "b");
  // A second reason with the same action.
  out = EvaluateDrainPolicy(
      config,
      Input({Snap("topology", 3, {MakeF(codes::kTopologyMismatch, "node", Action::kDrain)}),
             Snap("ib_ports", 1, {MakeF(codes::kIbPortDown, kHca0, Action::kDrain)})},
            kT0 + 30),
      out.state);
  EXPECT_TRUE(out.changed);
  EXPECT_EQ(out.decided_at, kT0 + 30);
  EXPECT_EQ(out.state.decision, out.decision);
}

TEST(DrainPolicyTest, ReasonsSortedByActionThenCodeThenEntity) {
  const PolicyOutput out = EvaluateDrainPolicy(
      DrainPolicyConfig{},
      Input({Snap("ib_ports", 1,
                  {MakeF(codes::kIbPortDown, "hca/mlx5_1/1", Action::kDrain),
                   MakeF(codes::kIbPortDown, "hca/mlx5_0/1", Action::kDrain),
                   MakeF(codes::kIbHcaMissing, "hca/mlx5_3", Action::kDrain)}),
             Snap("gpu_driver", 1, {MakeF(codes::kCudaVersionMismatch, "node", Action::kDrain)}),
             Snap("gpu_presence", 1,
                  {MakeF(codes::kGpuLost, "gpu/0000:2a:00.0", Action::kReplace),
                   MakeF(codes::kGpuMissing, "node", Action::kReplace)}),
             Snap("gpu_xid", 1, {MakeF(codes::kGpuXid, kGpu0, Action::kResetGpu)})},
            kT0),
      PolicyState{});
  EXPECT_EQ(Codes(out.decision), (std::vector<std::string>{
                                     "gpu_lost gpu/0000:2a:00.0",
                                     "gpu_missing node",
                                     "gpu_xid gpu/0000:19:00.0",
                                     "cuda_version_mismatch node",
                                     "ib_hca_missing hca/mlx5_3",
                                     "ib_port_down hca/mlx5_0/1",
                                     "ib_port_down hca/mlx5_1/1",
                                 }));
  EXPECT_EQ(out.decision.action, Action::kReplace);
}

TEST(DrainPolicyTest, IdenticalReasonsListedOnceWithTheHighestAction) {
  const Finding link = MakeF(codes::kPcieLinkDegraded, "pci/0000:18:00.0", Action::kDrain, "x8");
  Finding worse = link;
  worse.action = Action::kReboot;
  const PolicyOutput out = EvaluateDrainPolicy(
      DrainPolicyConfig{},
      Input({Snap("topology", 1, {link, link}), Snap("gpu_health", 1, {worse})}, kT0),
      PolicyState{});
  ASSERT_EQ(out.decision.reasons.size(), 1u);
  EXPECT_EQ(out.decision.reasons[0].action, Action::kReboot);
  EXPECT_EQ(out.decision.reasons[0].message, "x8");
}

}  // namespace
}  // namespace nodehealth::agent
