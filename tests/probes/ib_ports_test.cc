#include "probes/ib_ports/ib_ports_probe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "probes/gpu_xid/gpu_xid_probe.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;
using testing::ShippedProfile;

constexpr const char* kAzureProfile = "azure-nd96isr-h100-v5";

TEST(IbPortsTest, HealthyAzureNodePassesWithEightRails) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "ib_rails_active")->value, 8);
  EXPECT_EQ(FindMeasurement(r, "ib_rails_expected")->value, 8);
  const std::map<std::string, std::string> port = {{"device", "mlx5_ib0"}, {"port", "1"}};
  EXPECT_EQ(FindMeasurement(r, "ib_port_state_id", port)->value, 4);
  EXPECT_EQ(FindMeasurement(r, "ib_port_physical_state_id", port)->value, 5);
  EXPECT_EQ(FindMeasurement(r, "ib_port_rate_bytes_per_second", port)->value, 50e9);
  EXPECT_EQ(FindMeasurement(r, "ib_port_info",
                            {{"device", "mlx5_an0"}, {"port", "1"}, {"link_layer", "Ethernet"}})
                ->value,
            1);
}

TEST(IbPortsTest, PortDownIsNamedWithItsStates) {
  FixtureNode node("fault-ib-port-down.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_port_down");
  EXPECT_EQ(f.entity, "hca/mlx5_ib3/1");
  EXPECT_EQ(f.action, Action::kDrain);
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0].source, "/sys/class/infiniband/mlx5_ib3/ports/1/state");
  EXPECT_EQ(f.evidence[0].observed, "1: DOWN / 2: Polling");
  EXPECT_EQ(f.evidence[0].expected, "4: ACTIVE / 5: LinkUp");
  EXPECT_NE(f.message.find("no link partner"), std::string::npos) << f.message;
  EXPECT_EQ(FindMeasurement(r, "ib_rails_active")->value, 7);
  // A port that is down is not also judged for its (meaningless) rate.
  EXPECT_EQ(CountFindings(r, "ib_port_rate_degraded"), 0);
}

TEST(IbPortsTest, MissingHcaIsANodeFinding) {
  FixtureNode node("fault-ib-hca-missing.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  // Its PCI function 0108:00:00.0 is still there: source_disagreement (hca_sources_test.cc).
  ASSERT_EQ(r.findings.size(), 2u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_hca_missing");
  EXPECT_EQ(f.entity, "node");
  EXPECT_EQ(f.action, Action::kReboot);
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0].observed,
            "7 ports with link layer InfiniBand (mlx5_ib0/1, mlx5_ib1/1, mlx5_ib2/1, mlx5_ib3/1, "
            "mlx5_ib4/1, mlx5_ib5/1, mlx5_ib6/1)");
  EXPECT_EQ(f.evidence[0].expected, "8");
}

TEST(IbPortsTest, HalfRateRailIsDegraded) {
  FixtureNode node("fault-ib-rate.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_port_rate_degraded");
  EXPECT_EQ(f.entity, "hca/mlx5_ib2/1");
  EXPECT_EQ(f.evidence[0].source, "/sys/class/infiniband/mlx5_ib2/ports/1/rate");
  EXPECT_EQ(f.evidence[0].observed, "200 Gb/sec (4X HDR)");
  EXPECT_EQ(f.evidence[0].expected, "400 Gb/sec");
  EXPECT_EQ(
      FindMeasurement(r, "ib_port_rate_bytes_per_second", {{"device", "mlx5_ib2"}, {"port", "1"}})
          ->value,
      25e9);
}

TEST(IbPortsTest, ErrorCountersAboveInfinibandDiagsThresholdsAreReported) {
  FixtureNode node("fault-ib-errors.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_port_errors");
  EXPECT_EQ(f.entity, "hca/mlx5_ib1/1");
  EXPECT_EQ(f.action, Action::kMonitor);
  // port_xmit_discards is exactly at its threshold of 100: not above it.
  ASSERT_EQ(f.evidence.size(), 2u);
  EXPECT_EQ(f.evidence[0].source, "/sys/class/infiniband/mlx5_ib1/ports/1/counters/link_downed");
  EXPECT_EQ(f.evidence[0].observed, "255 (saturated 8-bit counter: at least this many)");
  EXPECT_EQ(f.evidence[0].expected, "<= 10");
  EXPECT_EQ(f.evidence[1].source, "/sys/class/infiniband/mlx5_ib1/ports/1/counters/symbol_error");
  EXPECT_EQ(f.evidence[1].observed, "1234");
}

TEST(IbPortsTest, ProfileThresholdsOverrideTheDefaults) {
  FixtureNode node("fault-ib-errors.toml");
  Profile profile = ShippedProfile(kAzureProfile);
  profile.infiniband.error_thresholds["symbol_error"] = 5000;
  profile.infiniband.error_thresholds["link_downed"] = 1000;
  profile.infiniband.error_thresholds["port_xmit_discards"] = 99;
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  ASSERT_EQ(r.findings[0].evidence.size(), 1u);
  EXPECT_EQ(r.findings[0].evidence[0].source,
            "/sys/class/infiniband/mlx5_ib1/ports/1/counters/port_xmit_discards");
  EXPECT_EQ(r.findings[0].evidence[0].expected, "<= 99");
}

TEST(IbPortsTest, AzureFlapLogIsLinkFlappingOnTheRightPort) {
  FixtureNode node("fault-ib-flapping.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_link_flapping");
  EXPECT_EQ(f.entity, "hca/mlx5_ib6/1");  // ib6 -> PCI 0107:00:00.0 -> mlx5_ib6
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.evidence[0].observed.substr(0, 23), "6 link-down lines; last");
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "link-down lines without a usable timestamp were all counted (no window)"),
            r.notes.end());
}

TEST(IbPortsTest, LinkDownsOutsideTheWindowDoNotCount) {
  // kmsg records carry microseconds since boot; /proc/uptime says now is 30000 s after boot.
  // With a 6 h window, downs at 100 s and 200 s are old; the two at 29000 s and 29500 s count.
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const std::string kmsg = node.root() + "/dev/kmsg";
  {
    std::ofstream out(kmsg, std::ios::trunc);
    out << "6,10,100000000,-;mlx5_core 0107:00:00.0 ib6: Link down\n"
        << "6,11,200000000,-;mlx5_core 0107:00:00.0 ib6: Link down\n"
        << "6,12,29000000000,-;mlx5_core 0107:00:00.0 ib6: Link down\n"
        << "6,13,29000500000,-;mlx5_core 0107:00:00.0 ib6: Link up\n";
    std::ofstream uptime(node.root() + "/proc/uptime", std::ios::trunc);
    uptime << "30000.00 50000.00\n";
  }
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(CountFindings(r, "ib_link_flapping"), 0) << testing::DescribeResult(r);
  {
    std::ofstream out(kmsg, std::ios::app);
    out << "6,14,29500000000,-;mlx5_core 0107:00:00.0 ib6: Link down\n";
  }
  r = node.Run(IbPortsProbe(), &profile);
  const Finding* f = FindFinding(r, "ib_link_flapping", "hca/mlx5_ib6/1");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].observed.substr(0, 17), "2 link-down lines");
}

TEST(IbPortsTest, DegradedHcaPcieLinkIsPcieLinkDegraded) {
  FixtureNode node("fault-ib-pcie.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "pcie_link_degraded");
  EXPECT_EQ(f.entity, "hca/mlx5_ib4/1");
  ASSERT_EQ(f.evidence.size(), 2u);
  EXPECT_EQ(f.evidence[0].source, "/sys/class/infiniband/mlx5_ib4/device/current_link_width");
  EXPECT_EQ(f.evidence[0].observed, "x8");
  EXPECT_EQ(f.evidence[0].expected, "x16 (max_link_width)");
  EXPECT_EQ(f.evidence[1].observed, "16 GT/s (Gen4)");
  EXPECT_EQ(f.evidence[1].expected, "32 GT/s (Gen5, max_link_speed)");
}

TEST(IbPortsTest, FirmwareMixIsNamedOnTheOddHca) {
  FixtureNode node("fault-ib-firmware.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "ib_firmware_mismatch");
  EXPECT_EQ(f.entity, "hca/mlx5_ib5/1");
  EXPECT_EQ(f.evidence[0].observed, "28.39.1002");
  EXPECT_EQ(f.evidence[0].expected, "28.41.1000");
}

TEST(IbPortsTest, NoInfinibandAndNoneExpectedSkips) {
  FixtureNode node("no-gpu.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
  EXPECT_EQ(r.skip_reason,
            "no /sys/class/infiniband (no RDMA driver loaded) and the profile expects no "
            "InfiniBand ports");
}

TEST(IbPortsTest, NoInfinibandWhenExpectedIsHcaMissing) {
  FixtureNode node("h100-vm.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  const Finding* f = FindFinding(r, "ib_hca_missing", "node");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].observed, "0 ports with link layer InfiniBand");
}

TEST(IbPortsTest, InitStateSaysNoSubnetManager) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  { std::ofstream(node.root() + "/sys/class/infiniband/mlx5_ib0/ports/1/state") << "2: INIT\n"; }
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  const Finding* f = FindFinding(r, "ib_port_down", "hca/mlx5_ib0/1");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_NE(f->message.find("no subnet manager"), std::string::npos) << f->message;
}

TEST(IbPortsTest, MalformedStateIsProbeErrorNotHealthy) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  {
    std::ofstream(node.root() + "/sys/class/infiniband/mlx5_ib0/ports/1/state") << "ACTIVE?\n";
    std::ofstream(node.root() + "/sys/class/infiniband/mlx5_ib1/ports/1/counters/symbol_error")
        << "\x01\x02garbage";
  }
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* state = FindFinding(r, "probe_error", "hca/mlx5_ib0/1");
  ASSERT_NE(state, nullptr) << testing::DescribeResult(r);
  EXPECT_NE(state->message.find("malformed port state: \"ACTIVE?\""), std::string::npos)
      << state->message;
  EXPECT_NE(FindFinding(r, "probe_error", "hca/mlx5_ib1/1"), nullptr);
  // The port whose state cannot be read is not counted as an active rail.
  EXPECT_NE(FindFinding(r, "ib_port_down", "hca/mlx5_ib0/1"), nullptr);
}

TEST(IbPortsTest, EthernetRailsCountWhenTheProfileSaysSo) {
  FixtureNode node("ib-gpud-h100.toml");
  Profile profile = ShippedProfile(kAzureProfile);
  profile.infiniband.port_count = 9;
  ProbeResult infiniband_only = node.Run(IbPortsProbe(), &profile);
  EXPECT_NE(FindFinding(infiniband_only, "ib_hca_missing", "node"), nullptr);
  profile.infiniband.rail_link_layers = {"InfiniBand", "Ethernet"};
  profile.infiniband.rate_gbps = 200;
  ProbeResult both = node.Run(IbPortsProbe(), &profile);
  EXPECT_EQ(CountFindings(both, "ib_hca_missing"), 0) << testing::DescribeResult(both);
  EXPECT_EQ(FindMeasurement(both, "ib_rails_active")->value, 9);
}

}  // namespace
}  // namespace nodehealth

namespace nodehealth {
namespace {

ProbeResult LinkDownedResult(double value) {
  ProbeResult result;
  result.name = "ib_ports";
  result.measurements.push_back(
      {"ib_port_link_downed_total", {{"device", "mlx5_0"}, {"port", "1"}}, value});
  return result;
}

TEST(LinkDownedGrowthTest, TheAgentFlagsACounterThatGrewInsideTheWindow) {
  ib::CounterWindow window(6 * 3600);
  ProbeResult first = LinkDownedResult(3);
  AddLinkDownedGrowth(window, nullptr, 1000, first);
  EXPECT_TRUE(first.findings.empty());  // one sample: no growth yet
  ProbeResult one_more = LinkDownedResult(4);
  AddLinkDownedGrowth(window, nullptr, 1060, one_more);
  EXPECT_TRUE(one_more.findings.empty());  // +1, the default threshold is 2
  ProbeResult flapping = LinkDownedResult(5);
  AddLinkDownedGrowth(window, nullptr, 1120, flapping);
  ASSERT_EQ(flapping.findings.size(), 1u);
  EXPECT_EQ(flapping.findings[0].code, "ib_link_flapping");
  EXPECT_EQ(flapping.findings[0].entity, "hca/mlx5_0/1");
  EXPECT_EQ(flapping.findings[0].evidence[0].observed, "+2 within 21600 s");
  EXPECT_EQ(flapping.verdict, ProbeVerdict::kFail);
  // Seven hours later with no new downs: the window no longer holds the growth.
  ProbeResult quiet = LinkDownedResult(5);
  AddLinkDownedGrowth(window, nullptr, 1120 + 7 * 3600, quiet);
  EXPECT_TRUE(quiet.findings.empty());
  // A counter reset (driver reload) is not growth.
  ProbeResult reset = LinkDownedResult(0);
  AddLinkDownedGrowth(window, nullptr, 1120 + 7 * 3600 + 60, reset);
  EXPECT_TRUE(reset.findings.empty());
}

TEST(LinkDownedGrowthTest, KernelLogFindingIsNotDuplicatedAndErrorsAreLeftAlone) {
  ib::CounterWindow window(3600);
  ProbeResult a = LinkDownedResult(0);
  AddLinkDownedGrowth(window, nullptr, 0, a);
  ProbeResult b = LinkDownedResult(9);
  b.findings.push_back(MakeFinding("ib_link_flapping", "hca/mlx5_0/1", "from the kernel log"));
  AddLinkDownedGrowth(window, nullptr, 60, b);
  ASSERT_EQ(b.findings.size(), 1u);
  EXPECT_EQ(b.findings[0].message, "from the kernel log");
  ProbeResult errored = LinkDownedResult(20);
  errored.verdict = ProbeVerdict::kError;
  AddLinkDownedGrowth(window, nullptr, 120, errored);
  EXPECT_TRUE(errored.findings.empty());
}

// The agent's round memory (Probe::NewRoundMemory) runs the same growth check over the profile's
// window, and a profile with another window starts a new history.
TEST(LinkDownedGrowthTest, RoundMemoryKeepsItsHistoryUntilTheWindowChanges) {
  const IbPortsProbe probe;
  std::unique_ptr<RoundMemory> memory = probe.NewRoundMemory();
  ASSERT_NE(memory, nullptr);
  Profile short_window;
  short_window.infiniband.link_flap_window_seconds = 600;
  ProbeResult first = LinkDownedResult(3);
  memory->AfterRun(nullptr, 1000, first);
  ProbeResult grown = LinkDownedResult(5);
  memory->AfterRun(nullptr, 1060, grown);
  ASSERT_EQ(grown.findings.size(), 1u);
  EXPECT_EQ(grown.findings[0].code, "ib_link_flapping");
  EXPECT_EQ(grown.findings[0].evidence[0].observed, "+2 within 21600 s");
  // Another window: the history so far no longer counts.
  ProbeResult after_reload = LinkDownedResult(6);
  memory->AfterRun(&short_window, 1120, after_reload);
  EXPECT_TRUE(after_reload.findings.empty());
  ProbeResult grown_again = LinkDownedResult(8);
  memory->AfterRun(&short_window, 1180, grown_again);
  ASSERT_EQ(grown_again.findings.size(), 1u);
  EXPECT_EQ(grown_again.findings[0].evidence[0].observed, "+2 within 600 s");
}

// The agent keeps the link_downed samples across a restart in the same boot (round-memory.json).
TEST(LinkDownedGrowthTest, SavedHistorySurvivesARestart) {
  const IbPortsProbe probe;
  std::unique_ptr<RoundMemory> before = probe.NewRoundMemory();
  ProbeResult first = LinkDownedResult(3);
  before->AfterRun(nullptr, 1000, first);
  ProbeResult one_more = LinkDownedResult(4);
  before->AfterRun(nullptr, 1060, one_more);
  EXPECT_TRUE(one_more.findings.empty());
  const std::string saved = before->SaveHistory();
  EXPECT_EQ(saved, "hca/mlx5_0/1 1000 3\nhca/mlx5_0/1 1060 4\n");
  std::unique_ptr<RoundMemory> after = probe.NewRoundMemory();
  after->RestoreHistory(saved);
  ProbeResult grown = LinkDownedResult(5);  // +2 since the sample at 1000, before the restart
  after->AfterRun(nullptr, 1120, grown);
  ASSERT_EQ(grown.findings.size(), 1u);
  EXPECT_EQ(grown.findings[0].evidence[0].observed, "+2 within 21600 s");
  std::unique_ptr<RoundMemory> fresh = probe.NewRoundMemory();
  ProbeResult alone = LinkDownedResult(5);
  fresh->AfterRun(nullptr, 1120, alone);
  EXPECT_TRUE(alone.findings.empty());
}

TEST(IbPortsSummaryTest, CountsPortsAndActiveRailsAndSaysNothingWhenSkipped) {
  const IbPortsProbe probe;
  ProbeResult result;
  result.measurements = {{"ib_port_info", {{"device", "mlx5_0"}, {"port", "1"}}, 1},
                         {"ib_port_info", {{"device", "mlx5_1"}, {"port", "1"}}, 1},
                         {"ib_rails_active", {}, 1}};
  EXPECT_EQ(probe.Summarize(result), "2 RDMA ports, 1 active rail.");
  result.verdict = ProbeVerdict::kSkip;
  EXPECT_EQ(probe.Summarize(result), "");
  EXPECT_EQ(GpuXidProbe().Summarize(result), "");  // the default: nothing to say
}

}  // namespace
}  // namespace nodehealth
