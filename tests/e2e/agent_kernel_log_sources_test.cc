// The agent against kernel-log sources that are no log (issue 13 items 6 and 7): an endless device
// at DIR/dev/kmsg, an empty one, an empty file, and a file appended without pause. None may wedge
// the agent, keep SIGTERM waiting, or pass for a clean log.
#include <atomic>
#include <filesystem>
#include <thread>

#include "tests/e2e/agent_harness.h"

namespace nodehealth::testing {
namespace {

const json* Probe(const json& report, const std::string& name) {
  if (!report.contains("probes")) return nullptr;
  for (const json& p : report["probes"]) {
    if (p.value("name", "") == name) return &p;
  }
  return nullptr;
}

// SIGTERM, then the seconds until the agent exited (its status in `status`).
double StopSeconds(AgentProcess& agent, int& status) {
  const auto start = Clock::now();
  status = agent.Stop();
  return SecondsSince(start);
}

// /dev/zero and /dev/urandom never end: reading them as the backlog held the start for ever (main
// thread at 100 %, no round, SIGTERM ignored). Now they are refused as no kernel log.
TEST(AgentKernelLogSourceTest, AnEndlessDeviceIsRefusedAndNeverWedgesTheAgent) {
  for (const char* device : {"/dev/zero", "/dev/urandom"}) {
    Node node(kAzureScenario);
    AgentDirs dirs;
    std::filesystem::remove(node.kmsg());
    std::filesystem::create_symlink(device, node.kmsg());
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json report = agent.WaitForReport(15s);
    ASSERT_TRUE(report.is_object()) << device << ": no round\n" << agent.Tail();
    const json* xid = Probe(report, "gpu_xid");
    ASSERT_NE(xid, nullptr) << report;
    EXPECT_EQ((*xid)["verdict"], "error") << *xid;
    EXPECT_NE((*xid)["error"].get<std::string>().find("is not the kernel log: character device 1:"),
              std::string::npos)
        << (*xid)["error"];
    EXPECT_EQ(agent.Get("/healthz").status, 200);
    EXPECT_EQ(Value(agent.Metrics(), "nodehealth_kernel_log_up"), 0.0);
    int status = -1;
    EXPECT_LT(StopSeconds(agent, status), 5.0) << device;
    EXPECT_EQ(status, 0) << agent.Tail();
  }
}

// A file that grows without pause (a flood no real kernel makes) keeps the agent's rounds,
// /healthz and SIGTERM working, and its events reach the metrics batch by batch.
TEST(AgentKernelLogSourceTest, AFileAppendedWithoutPauseKeepsTheAgentResponsive) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto [seq, usec] = node.LastKmsgRecord();
    std::string chunk;
    while (!stop) {
      chunk.clear();
      for (int i = 0; i < 4000; ++i) {
        chunk += "6," + std::to_string(++seq) + "," + std::to_string(usec += 10) +
                 ",-;flood: " + std::string(200, 'x') + "\n";
      }
      AppendToFile(node.kmsg(), chunk);
    }
  });
  const double rounds_before = Value(agent.Metrics(), "nodehealth_agent_rounds_total").value_or(0);
  std::this_thread::sleep_for(4s);
  std::string text;
  const bool progressed = agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_agent_rounds_total").value_or(0) >= rounds_before + 2 &&
               Value(all, "nodehealth_kernel_log_lines_total").value_or(0) > 100000;
      },
      10s, &text);
  EXPECT_EQ(agent.Get("/healthz").status, 200);
  int status = -1;
  const double stop_seconds = StopSeconds(agent, status);  // while the flood goes on
  stop = true;
  writer.join();
  EXPECT_TRUE(progressed) << LinesWith(text, "rounds_total") << LinesWith(text, "lines_total");
  EXPECT_LT(stop_seconds, 5.0);
  EXPECT_EQ(status, 0) << agent.Tail();
}

// An empty log (/dev/null as some containers have it, an empty file) is not a clean one: gpu_xid
// cannot decide and the log is not "up" until records arrive. It passed silently.
TEST(AgentKernelLogSourceTest, AnEmptyLogIsSaidUntilRecordsArrive) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  WriteFile(node.kmsg(), "");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  json report = agent.WaitForReport(15s);
  ASSERT_TRUE(report.is_object()) << agent.Tail();
  const json* xid = Probe(report, "gpu_xid");
  ASSERT_NE(xid, nullptr) << report;
  EXPECT_EQ((*xid)["verdict"], "error") << *xid;
  EXPECT_EQ((*xid)["error"], "the kernel log " + node.kmsg() +
                                 " is empty; a real one always holds records since boot (in a "
                                 "container, /dev/kmsg may be hidden behind an empty file)");
  EXPECT_EQ(report["policy"]["kernel_log"]["following"], false);
  EXPECT_EQ(Value(agent.Metrics(), "nodehealth_kernel_log_up"), 0.0);

  WriteFile(node.kmsg(), node.original_kmsg());  // the records arrive
  std::string text;
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_kernel_log_up") == 1.0 &&
               Value(all, "nodehealth_probe_success", {{"probe", "gpu_xid"}}) == 1.0;
      },
      10s, &text))
      << LinesWith(text, "kernel_log_up") << LinesWith(text, "gpu_xid");
  report = agent.WaitForReport(5s);
  EXPECT_EQ(Probe(report, "gpu_xid")->value("verdict", ""), "pass") << *Probe(report, "gpu_xid");
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();

  // /dev/null: refused for what it is.
  std::filesystem::remove(node.kmsg());
  std::filesystem::create_symlink("/dev/null", node.kmsg());
  AgentProcess again(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(again.ok()) << again.error();
  report = again.WaitForReport(15s);
  ASSERT_TRUE(report.is_object()) << again.Tail();
  EXPECT_EQ(Probe(report, "gpu_xid")->value("error", ""),
            node.kmsg() +
                " is not the kernel log: character device 1:3 (/dev/null), not /dev/kmsg (1:11)");
  EXPECT_EQ(again.Stop(), 0) << again.Tail();
}

}  // namespace
}  // namespace nodehealth::testing
