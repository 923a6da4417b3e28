#include "probes/gpu_xid/gpu_xid_probe.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

TEST(GpuXidTest, HealthyLogHasNoXids) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass);
  EXPECT_EQ(FindMeasurement(r, "kernel_log_lines")->value, 47);  // records 3964..4010
  EXPECT_EQ(FindMeasurement(r, "kernel_log_sequence_gaps")->value, 0);
}

TEST(GpuXidTest, RealDoubleBitEccIncident) {
  FixtureNode node("fault-xid48.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 3u);
  const Finding* dbe = FindFinding(r, "gpu_xid", "gpu/0000:19:00.0");
  ASSERT_NE(dbe, nullptr);
  EXPECT_EQ(dbe->severity, Severity::kFail);
  EXPECT_EQ(dbe->action, Action::kResetGpu);
  EXPECT_EQ(dbe->message,
            "XID 48 (ROBUST_CHANNEL_GPU_ECC_DBE) on GPU 0000:19:00.0: double-bit ECC error with "
            "row remapping: drain and reset the GPU");
  EXPECT_EQ(dbe->evidence[0].observed.rfind(
                "2024-11-15T12:02:03,470068+00:00 NVRM: Xid (PCI:0000:19:00): 48, pid='<unknown>', "
                "name=<unknown>, An uncorrectable double bit error (DBE)",
                0),
            0u);
  EXPECT_EQ(dbe->evidence.back().source, "NVIDIA XID catalogue");
  EXPECT_EQ(dbe->evidence.back().observed,
            "XID 48: immediate WORKFLOW_XID_48, then WORKFLOW_XID_48");
  // 63: "row remapper event": IGNORE in the catalogue; 94: contained error, restart the app.
  std::map<int, const Finding*> by_xid;
  for (const Finding& f : r.findings) {
    by_xid[std::stoi(f.message.substr(4))] = &f;
  }
  ASSERT_EQ(by_xid.size(), 3u);
  EXPECT_EQ(by_xid[63]->action, Action::kNone);
  EXPECT_EQ(by_xid[63]->severity, Severity::kWarn);
  EXPECT_EQ(by_xid[94]->action, Action::kMonitor);
  EXPECT_EQ(by_xid[94]->message,
            "XID 94 (ROBUST_CHANNEL_CONTAINED_ERROR) on GPU 0000:19:00.0, 9 times: application "
            "fault: restart the application");
  EXPECT_EQ(
      FindMeasurement(r, "gpu_xid_events_total", {{"gpu", "0000:19:00.0"}, {"xid", "94"}})->value,
      9);
}

TEST(GpuXidTest, GspTimeoutsInDmesgCtimeFormat) {
  FixtureNode node("fault-xid119.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.entity, "gpu/0000:9b:00.0");
  EXPECT_EQ(f.action, Action::kResetGpu);
  EXPECT_EQ(f.message, "XID 119 (GSP_RPC_TIMEOUT) on GPU 0000:9b:00.0, 5 times: reset the GPU");
  EXPECT_EQ(f.evidence.size(), 3u);  // first line, last line, catalogue
}

TEST(GpuXidTest, ApplicationFaultStormDoesNotDrain) {
  FixtureNode node("fault-xid13-storm.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
  ASSERT_EQ(r.findings.size(), 2u);
  for (const Finding& f : r.findings) {
    EXPECT_FALSE(ImpliesDrain(f.action)) << f.message;
    EXPECT_EQ(f.entity, "gpu/0000:38:00.0");
  }
  EXPECT_EQ(
      FindMeasurement(r, "gpu_xid_events_total", {{"gpu", "0000:38:00.0"}, {"xid", "13"}})->value,
      629);
  EXPECT_EQ(
      FindMeasurement(r, "gpu_xid_events_total", {{"gpu", "0000:38:00.0"}, {"xid", "43"}})->value,
      7);
}

TEST(GpuXidTest, FallenOffTheBusWithoutXidCountsAs79) {
  FixtureNode node("fault-gpu-lost.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.entity, "gpu/0000:9b:00.0");
  EXPECT_EQ(f.action, Action::kReboot);
  EXPECT_EQ(f.message,
            "GPU 0000:9b:00.0 has fallen off the bus (reported without an XID; treated as XID 79): "
            "restart the node");
}

TEST(GpuXidTest, Xid154FollowsTheLatestRecoveryAction) {
  FixtureNode node("fault-xid154.toml");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  EXPECT_EQ(FindFinding(r, "gpu_xid", "gpu/0000:5d:00.0")->action, Action::kResetGpu);
  EXPECT_EQ(FindFinding(r, "gpu_xid", "gpu/0000:cb:00.0")->action, Action::kReboot);
  const Finding* cleared = FindFinding(r, "gpu_xid", "gpu/0000:db:00.0");
  ASSERT_NE(cleared, nullptr);
  EXPECT_EQ(cleared->action, Action::kNone);
  EXPECT_EQ(cleared->message,
            "XID 154 (GPU_RECOVERY_ACTION_CHANGED) on GPU 0000:db:00.0, 2 times: driver cleared "
            "its recovery action");
}

TEST(GpuXidTest, UnreadableLogIsAProbeError) {
  FixtureNode node("hgx-h100-xe9680.toml");
  std::filesystem::remove(node.root() + "/dev/kmsg");
  ProbeResult r = node.Run(GpuXidProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "probe_error");
  EXPECT_NE(r.error.find("cannot read the kernel log: cannot open"), std::string::npos);
}

TEST(GpuXidTest, SkipsOnANodeWithoutGpus) {
  FixtureNode node("no-gpu.toml");
  EXPECT_EQ(node.Run(GpuXidProbe(), nullptr).verdict, ProbeVerdict::kSkip);
}

TEST(GpuXidTest, TheAgentsWatchGivesTheSameFindingsAsARun) {
  XidTally tally;
  tally.AddLine(
      "6,1201,5000000,-;NVRM: Xid (PCI:0000:19:00): 79, pid='<unknown>', name=<unknown>, "
      "GPU has fallen off the bus.");
  NodeInventory no_gpus;  // an XID says there is a GPU, whatever the inventory saw
  const GpuXidProbe probe;
  ProbeResult r = probe.FromKernelLogWatch(
      {.following = true, .error = "", .tally = tally, .overwritten = 3}, nullptr, no_gpus);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, "gpu_xid");
  EXPECT_EQ(r.findings[0].entity, "gpu/0000:19:00.0");
  EXPECT_EQ(r.notes, std::vector<std::string>{
                         "3 kernel log records were overwritten before they were read"});

  // A log that is not followed hides whatever it holds: never a pass.
  const XidTally empty;
  const FixtureNode node("hgx-h100-xe9680.toml");
  r = probe.FromKernelLogWatch(
      {.following = false, .error = "/dev/kmsg: a FIFO", .tally = empty, .overwritten = 0}, nullptr,
      node.inventory());
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  ASSERT_NE(FindFinding(r, "probe_error", "node"), nullptr);
  EXPECT_EQ(FindFinding(r, "probe_error", "node")->message, "/dev/kmsg: a FIFO");

  r = probe.FromKernelLogWatch({.following = true, .error = "", .tally = empty, .overwritten = 0},
                               nullptr, no_gpus);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
}

TEST(XidTallyTest, MixedFormatsAndGarbage) {
  XidTally tally;
  tally.AddLine(
      "6,10,1,-;NVRM: Xid (PCI:0000:19:00): 79, pid=1, name=x, GPU has fallen off the bus.");
  tally.AddLine(std::string("\xff\xfe\x00garbage NVRM: Xid (", 24));
  tally.AddLine(
      "6,12,2,-;NVRM: Xid (PCI:0000:19:00): 79, pid=2, name=y, GPU has fallen off the bus.");
  tally.AddLine(" DEVICE=+pci:0000:19:00.0");
  ASSERT_EQ(tally.entries().size(), 1u);
  const auto& entry = tally.entries().begin()->second;
  EXPECT_EQ(entry.count, 2u);
  EXPECT_EQ(tally.sequence_gaps(), 1u);  // 10 -> 12
  EXPECT_EQ(tally.lines(), 4u);
  ProbeResult r;
  ReportXids(tally, "/dev/kmsg", r);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].evidence[0].source, "/dev/kmsg");
  EXPECT_EQ(r.findings[0].evidence[1].observed,
            "6,12,2,-;NVRM: Xid (PCI:0000:19:00): 79, pid=2, name=y, GPU has fallen off the bus.");
}

}  // namespace
}  // namespace nodehealth
