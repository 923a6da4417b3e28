// Unit tests of the agent's parts that need no server: the
// kernel-event classifier, sd_notify over a real datagram socket, the listen-address syntax, and
// the snapshot's metric families.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "agent/daemon/agent_snapshot.h"
#include "agent/daemon/http_endpoint.h"
#include "agent/daemon/sd_notify.h"
#include "exporters/metric_families.h"
#include "probes/kernel_log/kernel_events.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::agent {
namespace {

using namespace std::chrono_literals;

TEST(KernelEventsTest, ClassifiesTheKindsTheAgentCounts) {
  const auto kind = [](std::string_view message) -> std::string {
    const std::optional<KernelEvent> e = ClassifyKernelMessage(message);
    return e ? std::string(ToString(e->kind)) : "none";
  };
  const std::optional<KernelEvent> xid = ClassifyKernelMessage(
      "NVRM: Xid (PCI:0000:19:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the "
      "bus.");
  ASSERT_TRUE(xid && xid->xid);
  EXPECT_EQ(xid->xid->xid, 79);
  EXPECT_EQ(xid->xid->bus_id, "0000:19:00.0");
  EXPECT_EQ(kind("NVRM: GPU at PCI:0000:19:00: GPU-1234 NVLink: fatal error detected on link 5"),
            "nvlink_error");
  EXPECT_EQ(kind("nvidia-nvswitch3: SXid (PCI:0000:86:00.0): 12028, Non-fatal, Link 32 egress"),
            "nvlink_error");
  EXPECT_EQ(kind("mlx5_core 0000:5c:00.0: mlx5_health_try_recover:105: health compromised"),
            "mlx5_error");
  EXPECT_EQ(kind("mlx5_core 0000:18:00.0 ib0: Link down"), "link_down");
  EXPECT_EQ(kind("ib3: Gained carrier"), "link_up");
  EXPECT_EQ(kind("mlx5_core 0000:18:00.0: firmware version: 28.39.1002"), "none");
  EXPECT_EQ(kind("NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.183.01"), "none");
  EXPECT_EQ(kind(std::string_view("\xff\x00garbage", 9)), "none");
}

TEST(SdNotifyTest, SendsToTheSocketSystemdGives) {
  nodehealth::testing::TempDir dir;
  const std::string path = dir.path() + "/notify";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(SdNotify("READY=1"));  // not under systemd: a no-op
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(SdNotify("READY=1\nSTATUS=first round"));
  char buffer[128] = {};
  const ssize_t n = ::recv(fd, buffer, sizeof buffer - 1, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "READY=1\nSTATUS=first round");
  ::unsetenv("NOTIFY_SOCKET");
  ::close(fd);

  ::setenv("WATCHDOG_USEC", "20000000", 1);
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(WatchdogPeriod(), std::chrono::microseconds(20000000));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_EQ(WatchdogPeriod(), std::nullopt);
  ::setenv("WATCHDOG_USEC", "garbage", 1);
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(WatchdogPeriod(), std::nullopt);
  ::unsetenv("WATCHDOG_USEC");
}

TEST(HttpEndpointTest, ListenAddresses) {
  const auto parsed = [](const std::string& listen) -> std::string {
    Expected<http::ListenAddress> a = http::ParseListenAddress(listen);
    return a ? a->host + " " + std::to_string(a->port) : "error: " + a.error().message;
  };
  EXPECT_EQ(parsed("0.0.0.0:9840"), "0.0.0.0 9840");
  EXPECT_EQ(parsed("127.0.0.1:0"), "127.0.0.1 0");
  EXPECT_EQ(parsed("[::]:9840"), ":: 9840");
  EXPECT_EQ(parsed("[::1]:9840"), "::1 9840");
  EXPECT_EQ(parsed(":9840"), " 9840");  // every IPv4 address
  EXPECT_EQ(parsed("9840"),
            "error: --listen \"9840\" is not ADDR:PORT (e.g. 0.0.0.0:9840, "
            "[::]:9840): no port");
  EXPECT_EQ(parsed("host:9840"),
            "error: --listen \"host:9840\" is not ADDR:PORT (e.g. "
            "0.0.0.0:9840, [::]:9840): \"host\" is not a numeric IPv4 address");
  EXPECT_EQ(parsed("127.0.0.1:99999"),
            "error: --listen \"127.0.0.1:99999\" is not ADDR:PORT (e.g. "
            "0.0.0.0:9840, [::]:9840): the port must be a number 0..65535");
  EXPECT_EQ(parsed("::1:9840"),
            "error: --listen \"::1:9840\" is not ADDR:PORT (e.g. 0.0.0.0:9840, "
            "[::]:9840): an IPv6 address needs brackets");
  EXPECT_EQ(parsed("0.0.0.0:"),
            "error: --listen \"0.0.0.0:\" is not ADDR:PORT (e.g. 0.0.0.0:9840, "
            "[::]:9840): the port must be a number 0..65535");
  EXPECT_EQ(parsed("[::1:9840"),
            "error: --listen \"[::1:9840\" is not ADDR:PORT (e.g. 0.0.0.0:9840, "
            "[::]:9840): unbalanced brackets");
}

TEST(AgentSnapshotTest, PreCreatesCriticalXidCountersAndShowsTheDecision) {
  Report report;
  report.version = "1.2.3";
  ProbeResult xid;
  xid.name = "gpu_xid";
  xid.measurements.push_back({"gpu_xid_events_total", {{"gpu", "0000:19:00.0"}, {"xid", "79"}}, 2});
  report.probes.push_back(xid);
  PolicyOutput policy;
  policy.decision.recommended = true;
  policy.decision.action = Action::kReboot;
  policy.decision.reasons.push_back({"gpu_xid", "gpu/0000:19:00.0", "XID 79", Action::kReboot});
  policy.decided_at = 1800000000;
  policy.state.decided_at = policy.decided_at;  // as EvaluateDrainPolicy leaves them
  KernelLogView log;
  log.following = true;
  log.events[static_cast<std::size_t>(KernelEventKind::kXid)] = 2;
  AgentCounters counters;
  counters.rounds = 3;
  counters.round_interval_seconds = 600;
  counters.scheduled_probes = {"gpu_health"};
  const std::vector<std::string> gpus = {"0000:19:00.0", "0000:3b:00.0"};
  std::shared_ptr<const AgentSnapshot> snapshot = BuildAgentSnapshot({.report = report,
                                                                      .policy = policy,
                                                                      .kernel_log = log,
                                                                      .gpu_bus_ids = gpus,
                                                                      .counters = counters});
  ASSERT_TRUE(snapshot->has_results);

  const auto sample = [&](std::string_view name,
                          const nodehealth::MetricLabels& labels) -> std::optional<double> {
    for (const prometheus::MetricFamily& family : snapshot->families) {
      if (family.name != name) continue;
      for (const prometheus::ClientMetric& metric : family.metric) {
        nodehealth::MetricLabels got;
        for (const auto& label : metric.label) got[label.name] = label.value;
        if (got != labels) continue;
        return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                              : metric.gauge.value;
      }
    }
    return std::nullopt;
  };
  // The measured count wins over the pre-created zero; other GPUs and XIDs start at zero.
  EXPECT_EQ(sample("nodehealth_gpu_xid_events_total", {{"gpu", "0000:19:00.0"}, {"xid", "79"}}), 2);
  EXPECT_EQ(sample("nodehealth_gpu_xid_events_total", {{"gpu", "0000:3b:00.0"}, {"xid", "79"}}), 0);
  EXPECT_EQ(sample("nodehealth_gpu_xid_events_total", {{"gpu", "0000:3b:00.0"}, {"xid", "48"}}), 0);
  EXPECT_EQ(sample("nodehealth_gpu_xid_events_total", {{"gpu", "0000:3b:00.0"}, {"xid", "13"}}),
            std::nullopt);  // not critical: appears with its first event
  EXPECT_EQ(sample("nodehealth_drain_reason",
                   {{"code", "gpu_xid"}, {"entity", "gpu/0000:19:00.0"}, {"action", "reboot"}}),
            1);
  EXPECT_EQ(sample("nodehealth_drain_action_level", {}), 4);
  EXPECT_EQ(sample("nodehealth_drain_decision_timestamp_seconds", {}), 1800000000);
  EXPECT_EQ(sample("nodehealth_kernel_log_events_total", {{"kind", "xid"}}), 2);
  EXPECT_EQ(sample("nodehealth_kernel_log_events_total", {{"kind", "mlx5_error"}}), 0);
  EXPECT_EQ(sample("nodehealth_agent_rounds_total", {}), 3);
  EXPECT_EQ(sample("nodehealth_agent_round_interval_seconds", {}), 600);
  EXPECT_EQ(sample("nodehealth_probe_stuck", {{"probe", "gpu_health"}}), 0);
  EXPECT_NE(snapshot->report_json.find("\"decided_at\": \"2027-01-15T08:00:00"), std::string::npos);
}

}  // namespace
}  // namespace nodehealth::agent
