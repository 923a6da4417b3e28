// XIDs delivered as NVML events (nvmlEventSetWait_v2) reach the agent: counted on their own
// always, and fed to the tally and the drain decision when the kernel log cannot be read, so that
// one XID never counts twice. The fake NVML hands out the "<bus id> <xid>" lines appended to the
// file named by NODEHEALTH_FAKE_NVML_EVENTS.
#include <gtest/gtest.h>

#include "tests/e2e/agent_harness.h"

namespace nodehealth::testing {
namespace {

TEST(AgentNvmlEventsTest, WithoutAKernelLogNvmlXidEventsDrainTheNode) {
  Node node(kAzureScenario);
  std::filesystem::remove(node.kmsg());  // as in a container without /dev/kmsg
  AgentDirs dirs;
  const std::string events = dirs.dir.path() + "/nvml-events";
  WriteFile(events, "");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile},
                     {{"NODEHEALTH_FAKE_NVML_EVENTS", events}});
  ASSERT_TRUE(agent.ok()) << agent.error();
  std::string text;
  ASSERT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_nvml_xid_events_registered") == 1.0;
      },
      10s, &text))
      << LinesWith(text, "nvml_xid") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_kernel_log_up"), 0.0);
  EXPECT_EQ(Value(text, "nodehealth_drain_recommended"), 0.0);

  const std::string gpu = node.NvidiaGpus().at(2);
  AppendToFile(events, gpu + " 79\n");
  ASSERT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_drain_recommended") == 1.0;
      },
      5s, &text))
      << LinesWith(text, "xid") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_nvml_xid_events_total", {{"gpu", gpu}, {"xid", "79"}}), 1.0);
  EXPECT_EQ(Value(text, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "79"}}), 1.0);
  EXPECT_EQ(Value(text, "nodehealth_drain_reason",
                  {{"code", "gpu_xid"}, {"entity", "gpu/" + gpu}, {"action", "reboot"}}),
            1.0);
  EXPECT_EQ(agent.Stop(), 0);
}

TEST(AgentNvmlEventsTest, WithTheKernelLogNvmlEventsAreCountedButNotTwice) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string events = dirs.dir.path() + "/nvml-events";
  WriteFile(events, "");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile},
                     {{"NODEHEALTH_FAKE_NVML_EVENTS", events}});
  ASSERT_TRUE(agent.ok()) << agent.error();
  std::string text;
  ASSERT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_nvml_xid_events_registered") == 1.0;
      },
      10s, &text))
      << agent.Tail();
  const std::string gpu = node.NvidiaGpus().at(0);
  // The driver reports the XID both ways: once in the log, once as an event.
  const auto [seq, usec] = node.LastKmsgRecord();
  AppendToFile(node.kmsg(), XidRecord(seq + 1, usec + 1000, gpu, 48, "An uncorrectable ECC error"));
  AppendToFile(events, gpu + " 48\n");
  ASSERT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_nvml_xid_events_total", {{"gpu", gpu}, {"xid", "48"}}) == 1.0;
      },
      5s, &text))
      << LinesWith(text, "xid") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "48"}}), 1.0);
  EXPECT_EQ(Value(text, "nodehealth_kernel_log_events_total", {{"kind", "xid"}}), 1.0);
  EXPECT_EQ(agent.Stop(), 0);
  const json state = json::parse(ReadFile(dirs.state() + "/state.json"), nullptr, false);
  ASSERT_TRUE(state.is_object());
  int xid48 = 0;
  for (const json& group : state["xid_history"]) {  // [sequence, time, bus id, xid] per event
    for (const json& e : group["events"]) xid48 += e[3] == 48 ? 1 : 0;
  }
  EXPECT_EQ(xid48, 1);
}

}  // namespace
}  // namespace nodehealth::testing
