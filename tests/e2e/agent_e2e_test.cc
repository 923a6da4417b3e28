// `nodehealth agent` end to end: the real binary on fixture nodes with the fake NVML, scraped by a
// real Prometheus and linted by promtool, kernel-log records appended to DIR/dev/kmsg while it
// runs (latency of an XID to /metrics and to the drain decision), the state files across a
// restart, a hanging NVML, hostile HTTP clients, a flood of garbage in the kernel log and SIGHUP
// with a broken config. Tests that need Prometheus or promtool skip when they are not installed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/agent_harness.h"
#include "tests/support/background_process.h"
#include "tests/support/fixture_node.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_server.h"

namespace nodehealth::testing {
namespace {

// --- a healthy node, one agent for the suite -------------------------------------------------

class AgentOnHealthyNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new Node(kAzureScenario);
    dirs_ = new AgentDirs();
    agent_ =
        new AgentProcess(*node_, dirs_->state(), dirs_->config(), {"--profile", kAzureProfile});
    if (agent_->ok()) first_report_ = new json(agent_->WaitForReport(15s));
  }
  static void TearDownTestSuite() {
    if (agent_ && agent_->ok()) stop_status_ = agent_->Stop();
    delete agent_;
    delete dirs_;
    delete node_;
    delete first_report_;
    agent_ = nullptr;
    dirs_ = nullptr;
    node_ = nullptr;
    first_report_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(agent_->ok()) << agent_->error();
    ASSERT_TRUE(agent_->process().Running()) << agent_->Tail();
    ASSERT_TRUE(first_report_ && first_report_->is_object()) << "no /report\n" << agent_->Tail();
  }
  static Node* node_;
  static AgentDirs* dirs_;
  static AgentProcess* agent_;
  static json* first_report_;
  static int stop_status_;
};
Node* AgentOnHealthyNodeTest::node_ = nullptr;
AgentDirs* AgentOnHealthyNodeTest::dirs_ = nullptr;
AgentProcess* AgentOnHealthyNodeTest::agent_ = nullptr;
json* AgentOnHealthyNodeTest::first_report_ = nullptr;
int AgentOnHealthyNodeTest::stop_status_ = -1;

TEST_F(AgentOnHealthyNodeTest, PrometheusScrapesTheAgent) {
  if (!PrometheusServer::Available()) {
    GTEST_SKIP() << "Prometheus is not installed (" << kPrometheusBinary
                 << "; Debian package 'prometheus')";
  }
  const std::vector<std::string> gpus = node_->NvidiaGpus();
  ASSERT_EQ(gpus.size(), 8u);
  EXPECT_EQ((*first_report_)["profile"], kAzureProfile);
  EXPECT_EQ((*first_report_)["mode"], "agent");

  PrometheusOptions options;
  options.targets = {{"nodehealth", agent_->host_port()}};
  PrometheusServer prometheus(options);
  ASSERT_TRUE(prometheus.ok()) << prometheus.error();

  auto equals = [](double expected) {
    return [expected](const std::vector<Sample>& s) {
      return s.size() == 1 && s[0].value == expected;
    };
  };
  struct Expectation {
    std::string promql;
    double value;
  };
  const std::vector<Expectation> expectations = {
      {"up{job=\"nodehealth\"}", 1},
      {"nodehealth_gpus{job=\"nodehealth\",source=\"nvml\"}", 8},
      {"nodehealth_gpus{job=\"nodehealth\",source=\"pci\"}", 8},
      {"nodehealth_gpus_expected{job=\"nodehealth\"}", 8},
      {"nodehealth_drain_recommended{job=\"nodehealth\"}", 0},
      {"nodehealth_probe_success{job=\"nodehealth\",probe=\"gpu_health\"}", 1},
      {"count(nodehealth_gpu_xid_events_total{job=\"nodehealth\",xid=\"79\"})", 8},
      {"sum(nodehealth_gpu_xid_events_total{job=\"nodehealth\"})", 0},
      // Eight InfiniBand rails ACTIVE (4) plus the Ethernet mlx5_an0.
      {"count(nodehealth_ib_port_state_id{job=\"nodehealth\"})", 9},
      {"count(nodehealth_ib_port_state_id{job=\"nodehealth\",device=~\"mlx5_ib[0-7]\"} == 4)", 8},
      {"nodehealth_ib_rails_active{job=\"nodehealth\"}", 8},
      {"count(nodehealth_gpu_info{job=\"nodehealth\",driver_version=\"535.183.01\"})", 8},
  };
  for (const Expectation& e : expectations) {
    const QueryResult r = prometheus.WaitForQuery(e.promql, equals(e.value), 20s);
    EXPECT_TRUE(r.ok()) << e.promql << " should be " << e.value << ": " << r.error << "\n"
                        << DescribeSamples(r.samples);
  }
  // Each XID 79 series names one of the GPUs on PCI.
  const QueryResult xid79 =
      prometheus.Query("nodehealth_gpu_xid_events_total{job=\"nodehealth\",xid=\"79\"}");
  ASSERT_TRUE(xid79.ok()) << xid79.error;
  std::vector<std::string> xid_gpus;
  for (const Sample& s : xid79.samples) xid_gpus.push_back(s.labels.at("gpu"));
  std::sort(xid_gpus.begin(), xid_gpus.end());
  EXPECT_EQ(xid_gpus, gpus);

  TargetStatus target;
  ASSERT_TRUE(prometheus.WaitForTargetHealth("nodehealth", "up", 10s, &target))
      << target.health << " " << target.last_error;
  EXPECT_EQ(target.last_error, "");
  EXPECT_EQ(target.scrape_url, "http://" + agent_->host_port() + "/metrics");
}

TEST_F(AgentOnHealthyNodeTest, PromtoolAcceptsARealScrape) {
  if (!PromtoolAvailable()) GTEST_SKIP() << "promtool is not installed (" << kPromtoolBinary << ")";
  const HttpResponse metrics = agent_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  ASSERT_NE(metrics.body.find("nodehealth_build_info{"), std::string::npos);
  ASSERT_NE(metrics.body.find("nodehealth_http_responses_total{code=\"200\"}"), std::string::npos);
  EXPECT_EQ(PromtoolCheckMetrics(metrics.body), "");
}

// nodehealth_probe_stuck is 1 only while an abandoned probe run has not returned; on a healthy
// node whose probes take milliseconds no scrape may show one.
TEST_F(AgentOnHealthyNodeTest, NoProbeIsReportedStuckOnAHealthyNode) {
  int scrapes = 0;
  std::map<std::string, int> stuck;  // probe -> scrapes that showed it stuck
  const auto start = Clock::now();
  while (SecondsSince(start) < 3.0) {
    const std::string text = agent_->Metrics();
    ASSERT_FALSE(text.empty());
    ++scrapes;
    for (const Series& s : Matching(ParseMetrics(text), "nodehealth_probe_stuck")) {
      if (s.value != 0) ++stuck[s.labels.at("probe")];
    }
    std::this_thread::sleep_for(100ms);
  }
  std::string shown;
  for (const auto& [probe, n] : stuck) shown += probe + " in " + std::to_string(n) + " ";
  EXPECT_TRUE(stuck.empty()) << "nodehealth_probe_stuck 1 for " << shown << "of " << scrapes
                             << " scrapes";
}

// --- the kernel log ----------------------------------------------------------------------------

TEST(AgentKernelLogTest, XidReachesMetricsWithinOneSecond) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::vector<std::string> gpus = node.NvidiaGpus();
  ASSERT_EQ(gpus.size(), 8u);
  const std::string gpu = gpus[0];  // 0000:53:00.0
  const std::string entity = "gpu/" + gpu;
  {
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json first = agent.WaitForReport(15s);
    ASSERT_TRUE(first.is_object()) << agent.Tail();
    ASSERT_EQ(first["drain"]["recommended"], false) << first["drain"];
    std::string text = agent.Metrics();
    ASSERT_EQ(Value(text, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "79"}}), 0.0)
        << LinesWith(text, "xid=\"79\"");

    const XidLatency latency = AppendXid79AndMeasure(node, agent, gpu);
    std::cout << "[ latency  ] XID 79 -> /metrics counter " << latency.to_metric * 1000
              << " ms, -> nodehealth_drain_recommended 1 " << latency.to_drain * 1000 << " ms\n";
    ::testing::Test::RecordProperty("xid_to_metric_ms",
                                    std::to_string(static_cast<int>(latency.to_metric * 1000)));
    ::testing::Test::RecordProperty("xid_to_drain_ms",
                                    std::to_string(static_cast<int>(latency.to_drain * 1000)));
    EXPECT_GE(latency.to_metric, 0) << LinesWith(latency.last_metrics, "xid=\"79\"");
    EXPECT_LE(latency.to_metric, 1.0);
    EXPECT_GE(latency.to_drain, 0) << LinesWith(latency.last_metrics, "drain");
    EXPECT_LE(latency.to_drain, 1.0);

    text = agent.Metrics();
    EXPECT_EQ(Value(text, "nodehealth_drain_reason",
                    {{"code", "gpu_xid"}, {"entity", entity}, {"action", "reboot"}}),
              1.0)
        << LinesWith(text, "drain_reason");
    EXPECT_EQ(
        Value(
            text, "nodehealth_finding",
            {{"probe", "gpu_xid"}, {"code", "gpu_xid"}, {"entity", entity}, {"action", "reboot"}}),
        1.0)
        << LinesWith(text, "nodehealth_finding");
    // Only that GPU's XID 79 moved.
    double xid_sum = 0;
    for (const Series& s : Matching(ParseMetrics(text), "nodehealth_gpu_xid_events_total")) {
      xid_sum += s.value;
    }
    EXPECT_EQ(xid_sum, 1.0);

    const HttpResponse report = agent.Get("/report");
    ASSERT_EQ(report.status, 200) << report.error;
    const json r = json::parse(report.body, nullptr, false);
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(r["mode"], "agent");
    EXPECT_EQ(r["drain"]["recommended"], true) << r["drain"];
    EXPECT_EQ(r["drain"]["action"], "reboot") << r["drain"];
    const json* reason = FindReason(r["drain"], "gpu_xid", entity);
    ASSERT_NE(reason, nullptr) << r["drain"];
    EXPECT_NE((*reason)["message"].get<std::string>().find("XID 79"), std::string::npos) << *reason;

    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  const json status = json::parse(ReadFile(dirs.state() + "/status.json"), nullptr, false);
  ASSERT_TRUE(status.is_object()) << ReadFile(dirs.state() + "/status.json");
  EXPECT_EQ(status["schema"], "nodehealth-status/1");
  EXPECT_EQ(status["drain"]["recommended"], true) << status;
  EXPECT_EQ(status["drain"]["action"], "reboot") << status;
  const json* reason = FindReason(status["drain"], "gpu_xid", entity);
  ASSERT_NE(reason, nullptr) << status;
  EXPECT_EQ((*reason)["action"], "reboot");
  EXPECT_TRUE(status["decided_at"].is_string()) << status;
}

TEST(AgentKernelLogTest, StickyAcrossRestart) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::vector<std::string> gpus = node.NvidiaGpus();
  ASSERT_EQ(gpus.size(), 8u);
  const std::string gpu = gpus[0];
  const std::string entity = "gpu/" + gpu;
  uint64_t sequence = 0;
  {
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
    const XidLatency latency = AppendXid79AndMeasure(node, agent, gpu);
    ASSERT_GE(latency.to_drain, 0) << LinesWith(latency.last_metrics, "drain");
    sequence = latency.sequence;
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  // [sequence, time, bus id, xid] per event, whatever boot group it is in.
  auto xid_history = [&] {
    const json state = json::parse(ReadFile(dirs.state() + "/state.json"), nullptr, false);
    json events = json::array();
    if (!state.is_object() || !state.contains("xid_history")) return events;
    for (const json& group : state["xid_history"]) {
      for (const json& e : group.value("events", json::array())) events.push_back(e);
    }
    return events;
  };
  ASSERT_EQ(xid_history().size(), 1u) << xid_history();

  // Restart on the same state dir with the XID still in the kernel log: drain from the first
  // report on, and the re-read record (same sequence) is not remembered twice.
  {
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json first = agent.WaitForReport(15s);
    ASSERT_TRUE(first.is_object()) << agent.Tail();
    EXPECT_EQ(first["drain"]["recommended"], true) << first["drain"];
    EXPECT_NE(FindReason(first["drain"], "gpu_xid", entity), nullptr) << first["drain"];
    std::string text;
    EXPECT_TRUE(agent.WaitForMetrics(
        [&](const std::vector<Series>& all) {
          return Value(all, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "79"}}) ==
                 1.0;
        },
        10s, &text))
        << LinesWith(text, "xid=\"79\"");
    EXPECT_EQ(Value(text, "nodehealth_drain_recommended"), 1.0);
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  const json history = xid_history();
  ASSERT_EQ(history.size(), 1u) << history;
  EXPECT_EQ(history[0][0], sequence) << history;
  EXPECT_EQ(history[0][2], gpu) << history;
  EXPECT_EQ(history[0][3], 79) << history;

  // The ring buffer no longer holds the record (overwritten): the decision still holds.
  WriteFile(node.kmsg(), node.original_kmsg());
  {
    AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
    ASSERT_TRUE(agent.ok()) << agent.error();
    const json first = agent.WaitForReport(15s);
    ASSERT_TRUE(first.is_object()) << agent.Tail();
    EXPECT_EQ(first["drain"]["recommended"], true) << first["drain"];
    EXPECT_NE(FindReason(first["drain"], "gpu_xid", entity), nullptr) << first["drain"];
    EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  }
  EXPECT_EQ(xid_history().size(), 1u) << xid_history();
}

TEST(AgentKernelLogTest, FloodAndGarbageInKmsg) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::vector<std::string> gpus = node.NvidiaGpus();
  ASSERT_EQ(gpus.size(), 8u);
  const std::string gpu = gpus[1];  // 0000:64:00.0
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  std::string text = agent.Metrics();
  const std::optional<double> lines_before = Value(text, "nodehealth_kernel_log_lines_total");
  ASSERT_TRUE(lines_before.has_value()) << LinesWith(text, "kernel_log");

  auto [seq, usec] = node.LastKmsgRecord();
  std::mt19937 rng(20240611);
  std::string flood;
  int newlines = 0;
  for (int i = 0; i < 50000; ++i) {
    switch (i % 5) {
      case 0: {  // random bytes, NUL and 0xff included
        for (int b = 0; b < 40; ++b) {
          char c = static_cast<char>(rng() & 0xff);
          flood += c == '\n' ? 'x' : c;
        }
        flood += Bytes("\0\xff");
        break;
      }
      case 1:
        flood += "6," + std::to_string(++seq) + "," + std::to_string(++usec) + ",-;ordinary line " +
                 std::to_string(i);
        break;
      case 2:
        flood += Bytes("\xff\xfe\0\0garbage;;;,,,");
        break;
      case 3:  // an XID-looking line that is not one
        flood += "4," + std::to_string(++seq) + "," + std::to_string(++usec) +
                 ",-;NVRM: Xid (PCI:0000:zz:00): notanumber, junk" + Bytes("\0");
        break;
      default:
        flood += "6," + std::to_string(++seq) + "," + std::to_string(++usec) +
                 ",c;continuation \xff\xff";
        break;
    }
    flood += '\n';
    ++newlines;
    if (i == 25000) {
      flood += std::string(200 * 1024, 'A') + '\n';  // an overlong line
      ++newlines;
      seq += 500;  // records lost: a sequence gap
    }
  }
  flood += XidRecord(++seq, ++usec, gpu, 48,
                     "An uncorrectable double bit error (DBE) has been detected on GPU in the "
                     "framebuffer at partition 0, subpartition 0.");
  ++newlines;
  AppendToFile(node.kmsg(), flood);
  const auto start = Clock::now();

  const bool counted = agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_gpu_xid_events_total", {{"gpu", gpu}, {"xid", "48"}}) == 1.0;
      },
      10s, &text);
  const double seconds = SecondsSince(start);
  std::cout << "[ latency  ] XID 48 after " << newlines << " flood lines -> /metrics "
            << seconds * 1000 << " ms\n";
  EXPECT_TRUE(counted) << LinesWith(text, "xid=\"48\"") << agent.Tail();
  ASSERT_TRUE(agent.process().Running()) << agent.Tail();
  text = agent.Metrics();
  ASSERT_FALSE(text.empty());
  const std::optional<double> gaps = Value(text, "nodehealth_kernel_log_sequence_gaps_total");
  EXPECT_TRUE(gaps && *gaps >= 1) << LinesWith(text, "kernel_log");
  EXPECT_EQ(Value(text, "nodehealth_kernel_log_lines_total"), *lines_before + newlines)
      << LinesWith(text, "kernel_log");
  EXPECT_EQ(Value(text, "nodehealth_kernel_log_events_total", {{"kind", "xid"}}), 1.0)
      << LinesWith(text, "kernel_log_events");
  EXPECT_EQ(Value(text, "nodehealth_kernel_log_up"), 1.0);
  // XID 48 (double-bit ECC) asks for a GPU reset, which drains.
  EXPECT_EQ(Value(text, "nodehealth_drain_reason",
                  {{"code", "gpu_xid"}, {"entity", "gpu/" + gpu}, {"action", "reset_gpu"}}),
            1.0)
      << LinesWith(text, "drain");
  EXPECT_EQ(Value(text, "nodehealth_drain_recommended"), 1.0);
  EXPECT_EQ(agent.Get("/healthz").status, 200);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// --- NVML that never returns ------------------------------------------------------------------

TEST(AgentNvmlTest, HungNvmlKeepsMetricsFast) {
  // fault-nvml-hang: nvmlDeviceGetRemappedRows never returns on GPU 0000:4c:00.0. --timeout 2
  // caps each passive probe's deadline, so the first round gives up on gpu_health after 2 s.
  Node node("fault-nvml-hang.toml");
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", "none", "--timeout", "2"});
  ASSERT_TRUE(agent.ok()) << agent.error();

  int slow = 0;
  int requests = 0;
  double worst = 0;
  const auto start = Clock::now();
  while (SecondsSince(start) < 5.0) {
    const auto t = Clock::now();
    const HttpResponse r = agent.Get("/metrics", 2s);
    const double took = SecondsSince(t);
    ++requests;
    worst = std::max(worst, took);
    EXPECT_EQ(r.status, 200) << r.error;
    if (took > 0.2) ++slow;
    std::this_thread::sleep_for(50ms);
  }
  std::cout << "[ latency  ] /metrics with NVML hung: " << requests << " requests, slowest "
            << worst * 1000 << " ms\n";
  EXPECT_EQ(slow, 0) << slow << " of " << requests << " scrapes took over 200 ms (slowest " << worst
                     << " s)";
  EXPECT_EQ(agent.Get("/healthz").status, 200);

  // The first round abandons gpu_health at its deadline; later rounds see NVML still stuck in
  // that call and say which one. Both are probe_timeout on the node, action drain.
  std::string text;
  const Labels timeout_finding = {
      {"probe", "gpu_health"}, {"code", "probe_timeout"}, {"entity", "node"}, {"action", "drain"}};
  EXPECT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_finding", timeout_finding) == 1.0;
      },
      10s, &text))
      << LinesWith(text, "nodehealth_finding") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_probe_success", {{"probe", "gpu_health"}}), 0.0)
      << LinesWith(text, "probe_success");
  // Issue 13 item 9: the probe whose NVML call hangs is stuck (the runner saw its thread
  // return at the deadline and said 0, so the probe-stuck alert never fired); the others are not.
  EXPECT_EQ(Value(text, "nodehealth_probe_stuck", {{"probe", "gpu_health"}}), 1.0)
      << LinesWith(text, "probe_stuck");
  EXPECT_EQ(Value(text, "nodehealth_probe_stuck", {{"probe", "ib_ports"}}), 0.0)
      << LinesWith(text, "probe_stuck");
  // Probes that do not touch NVML still decide.
  EXPECT_EQ(Value(text, "nodehealth_probe_success", {{"probe", "ib_ports"}}), 1.0);
  EXPECT_EQ(Value(text, "nodehealth_probe_success", {{"probe", "gpu_xid"}}), 1.0);

  json health;
  const auto report_by = Clock::now() + 5s;
  do {
    const HttpResponse report = agent.Get("/report");
    ASSERT_EQ(report.status, 200) << report.error;
    const json r = json::parse(report.body, nullptr, false);
    ASSERT_TRUE(r.is_object());
    for (const json& p : r["probes"]) {
      if (p["name"] == "gpu_health") health = p;
    }
    if (health.value("error", "").find("nvmlDeviceGetRemappedRows") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < report_by);
  EXPECT_EQ(health["verdict"], "error") << health;
  EXPECT_NE(health.value("error", "").find("nvmlDeviceGetRemappedRows"), std::string::npos)
      << health;
  ASSERT_TRUE(health["findings"].is_array() && health["findings"].size() == 1u) << health;
  EXPECT_EQ(health["findings"][0]["code"], "probe_timeout");

  // probe_timeout drains after failing rounds in a row (the policy's noisy_rounds, 3).
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_drain_recommended") == 1.0;
      },
      10s, &text))
      << LinesWith(text, "drain") << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_drain_reason",
                  {{"code", "probe_timeout"}, {"entity", "node"}, {"action", "drain"}}),
            1.0)
      << LinesWith(text, "drain");

  const auto stop_start = Clock::now();
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  EXPECT_LT(SecondsSince(stop_start), 6.0) << "SIGTERM with NVML hung";
}

// --- hostile HTTP clients ---------------------------------------------------------------------

TEST(AgentHttpTest, BadRequests) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  const std::string hp = agent.host_port();

  // Three clients that send half a request line and wait: they hold three of the four workers.
  std::vector<int> slow_clients;
  for (int i = 0; i < 3; ++i) {
    const int fd = ConnectSlowClient(hp, "GET /metrics HT");
    ASSERT_GE(fd, 0);
    slow_clients.push_back(fd);
  }
  const auto slow_since = Clock::now();
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 5; ++i) {
    const auto t = Clock::now();
    const HttpResponse r = HttpGet(hp, "/metrics", 2s);
    const double took = SecondsSince(t);
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_LT(took, 0.5) << "/metrics with 3 slow clients";
  }

  const HttpResponse missing = HttpGet(hp, "/no/such/path");
  EXPECT_EQ(missing.status, 404) << missing.error;
  const HttpResponse post = HttpRaw(
      hp, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.status, 405) << post.error << post.raw;
  const HttpResponse head =
      HttpRaw(hp, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200) << head.error << head.raw;
  const HttpResponse head_metrics =
      HttpRaw(hp, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head_metrics.status, 200) << head_metrics.error << head_metrics.raw;
  EXPECT_TRUE(head_metrics.body.empty());
  EXPECT_GT(std::atoi(head_metrics.headers.count("content-length")
                          ? head_metrics.headers.at("content-length").c_str()
                          : "0"),
            1000);

  // 64 KiB of headers (max_request_size is 16 KiB).
  std::string huge = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 64; ++i) {
    huge += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  }
  huge += "Connection: close\r\n\r\n";
  auto t = Clock::now();
  const HttpResponse big = HttpRaw(hp, huge, 6s);
  double took = SecondsSince(t);
  std::cout << "[ http     ] 64 KiB of headers: status " << big.status << " after " << took * 1000
            << " ms\n";
  EXPECT_LT(took, 6.0);
  EXPECT_TRUE((big.status >= 400 && big.status < 500) || (big.status == 0 && !big.timed_out))
      << "status " << big.status << " error " << big.error << " after " << took << " s";

  // Binary garbage.
  std::string garbage = Bytes("\x00\xff\x01\x02 \x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
  std::mt19937 rng(7);
  for (int i = 0; i < 512; ++i) garbage += static_cast<char>(rng() & 0xff);
  garbage += "\r\n\r\n";
  t = Clock::now();
  const HttpResponse junk = HttpRaw(hp, garbage, 6s);
  took = SecondsSince(t);
  std::cout << "[ http     ] binary garbage: status " << junk.status << " after " << took * 1000
            << " ms\n";
  EXPECT_LT(took, 6.0);
  EXPECT_TRUE((junk.status >= 400 && junk.status < 500) || (junk.status == 0 && !junk.timed_out))
      << "status " << junk.status << " error " << junk.error << " after " << took << " s";

  // The slow clients are cut off after request_timeout_ms (5 s).
  for (int fd : slow_clients) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(7s - (Clock::now() - slow_since));
    EXPECT_TRUE(WaitForPeerClose(fd, std::max(left, std::chrono::milliseconds(1))))
        << "a slow client still connected after " << SecondsSince(slow_since) << " s";
    ::close(fd);
  }
  std::cout << "[ http     ] slow clients closed by the agent after " << SecondsSince(slow_since)
            << " s\n";

  EXPECT_TRUE(agent.process().Running()) << agent.Tail();
  EXPECT_EQ(HttpGet(hp, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(hp, "/healthz").body, "ok\n");
  EXPECT_EQ(HttpGet(hp, "/metrics").status, 200);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// --- configuration ----------------------------------------------------------------------------

TEST(AgentConfigTest, SighupWithBrokenConfig) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string valid = "[agent]\ninterval_seconds = 1\n";
  WriteFile(dirs.config(), valid);
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  std::string text = agent.Metrics();
  ASSERT_EQ(Value(text, "nodehealth_config_last_reload_successful"), 1.0)
      << LinesWith(text, "config");
  // The harness's --interval 1 (the command line wins over the config).
  EXPECT_EQ(Value(text, "nodehealth_agent_round_interval_seconds"), 1.0)
      << LinesWith(text, "interval");

  WriteFile(dirs.config(), Bytes("this is = = not toml [[[\n\0\xff\n"));
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  const auto start = Clock::now();
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_config_last_reload_successful") == 0.0;
      },
      10s, &text))
      << LinesWith(text, "config") << agent.Tail();
  std::cout << "[ latency  ] SIGHUP (broken) -> reload_successful 0 after "
            << SecondsSince(start) * 1000 << " ms\n";
  // Still serving, still running rounds with the old settings.
  const double rounds = Value(text, "nodehealth_agent_rounds_total").value_or(-1);
  EXPECT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_agent_rounds_total").value_or(-1) > rounds &&
               Value(all, "nodehealth_config_last_reload_successful") == 0.0;
      },
      10s, &text))
      << LinesWith(text, "rounds") << LinesWith(text, "config");
  EXPECT_EQ(agent.Get("/healthz").status, 200);
  EXPECT_EQ(agent.Get("/report").status, 200);
  EXPECT_TRUE(agent.process().Running());

  WriteFile(dirs.config(), valid);
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_config_last_reload_successful") == 1.0;
      },
      10s, &text))
      << LinesWith(text, "config") << agent.Tail();
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

// --- a node without GPUs ----------------------------------------------------------------------

TEST(AgentNoGpuTest, NoGpuObserveOnly) {
  Node node("no-gpu.toml");
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", "none"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const json r = agent.WaitForReport(15s);
  ASSERT_TRUE(r.is_object()) << agent.Tail();
  EXPECT_EQ(r["mode"], "agent");
  EXPECT_EQ(r["node"], "cpu-01");
  EXPECT_TRUE(r["profile"].is_null()) << r["profile"];
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(r["drain"]["recommended"], false);
  EXPECT_EQ(r["drain"]["action"], "none");
  std::vector<std::string> names;
  for (const json& p : r["probes"]) {
    names.push_back(p["name"]);
    // sku_inventory applies to every node: without a profile it measures and passes.
    EXPECT_EQ(p["verdict"], p["name"] == "sku_inventory" ? "pass" : "skip") << p;
  }
  const std::vector<std::string> expected = {"gpu_presence", "gpu_driver",   "gpu_health",
                                             "gpu_xid",      "ib_ports",     "topology",
                                             "pcie_health",  "sku_inventory"};
  EXPECT_EQ(names, expected);

  const std::string text = agent.Metrics();
  EXPECT_EQ(Value(text, "nodehealth_drain_recommended"), 0.0);
  EXPECT_EQ(Value(text, "nodehealth_gpus", {{"source", "pci"}}), 0.0)
      << LinesWith(text, "nodehealth_gpus");
  EXPECT_TRUE(Matching(ParseMetrics(text), "nodehealth_finding").empty())
      << LinesWith(text, "nodehealth_finding");
  EXPECT_TRUE(Matching(ParseMetrics(text), "nodehealth_gpu_xid_events_total").empty())
      << LinesWith(text, "xid_events");
  for (const char* probe : {"gpu_presence", "gpu_driver", "gpu_health", "gpu_xid"}) {
    EXPECT_EQ(Value(text, "nodehealth_probe_success", {{"probe", probe}}), 1.0) << probe;
  }
  EXPECT_EQ(agent.Get("/healthz").status, 200);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

}  // namespace
}  // namespace nodehealth::testing
