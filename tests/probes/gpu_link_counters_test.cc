// gpu_health's counters and power limits: one run (measurements, gpu_power_capped) on scenarios
// built from real captures, and GpuCounterMemory's judgement across the agent's rounds, fed with
// real probe runs of two scenarios (a round apart) and with synthetic results.
#include "probes/gpu_health/gpu_link_counters.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/config/profile_loader.h"
#include "probes/gpu_health/gpu_health_probe.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/probe_context.h"
#include "tests/support/fixture_node.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FakeNvmlLegacyLibrary;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;
using testing::ScenarioPath;

using Labels = std::map<std::string, std::string>;

// A scenario that extends `base` with `extra` TOML, written to a temporary file; the fake NVML
// reads the scenario named by NODEHEALTH_FAKE_NVML at each nvmlInit (each FixtureNode::Run).
class ScenarioVariant {
 public:
  ScenarioVariant(const std::string& base, const std::string& extra) {
    path_ = dir_.path() + "/variant.toml";
    std::ofstream out(path_);
    out << "extends = \"" << ScenarioPath(base) << "\"\n" << extra;
  }
  const std::string& path() const { return path_; }

 private:
  testing::TempDir dir_;
  std::string path_;
};

// FixtureNode::Run with the fake NVML answering from `nvml_scenario` (a path) instead of the
// node's own scenario: the same node a round earlier or later.
ProbeResult RunWith(const FixtureNode& node, const std::string& nvml_scenario,
                    const Profile* profile = nullptr) {
  ::setenv("NODEHEALTH_FAKE_NVML", nvml_scenario.c_str(), 1);
  platform::NvmlRuntime nvml(testing::FakeNvmlLibrary());
  ProbeContext context{.fs = node.fs(),
                       .nvml = &nvml,
                       .profile = profile,
                       .inventory = node.inventory(),
                       .deadline = platform::Deadline::In(std::chrono::seconds(10))};
  ProbeResult result = GpuHealthProbe().Run(context);
  EXPECT_FALSE(nvml.wedged());
  return result;
}

// The same node with every NVLink error counter at 0 (${HERE} would name the temporary
// directory, so the path is absolute).
std::string CleanNvlinkCapture() {
  return "[nvml]\nnvlink_errors = \"" + testing::ScenarioDir() +
         "/captures/nvidia-smi-nvlink-e.hgx-h100.clean.txt\"\n";
}

// ----- one run -----

TEST(GpuCountersTest, RealCaptureReplaysAndPowerLimitsAreMeasured) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn) << testing::DescribeResult(r);
  EXPECT_EQ(CountFindings(r, "probe_error"), 0);
  EXPECT_EQ(CountFindings(r, "gpu_power_capped"), 0);
  EXPECT_EQ(FindMeasurement(r, "gpu_pcie_replays_total", {{"gpu", "0000:19:00.0"}})->value, 67);
  EXPECT_EQ(FindMeasurement(r, "gpu_pcie_replays_total", {{"gpu", "0000:cb:00.0"}})->value, 82);
  const auto power = [&](const char* kind) {
    const Measurement* m =
        FindMeasurement(r, "gpu_power_limit_watts", {{"gpu", "0000:19:00.0"}, {"kind", kind}});
    return m ? m->value : -1;
  };
  EXPECT_EQ(power("enforced"), 700);
  EXPECT_EQ(power("requested"), 700);
  EXPECT_EQ(power("default"), 700);
  EXPECT_EQ(power("min"), 200);
  EXPECT_EQ(power("max"), 700);
  // NVLink error counters: NOT_SUPPORTED without a capture, so no series and no error.
  EXPECT_EQ(FindMeasurement(r, "gpu_nvlink_errors_total"), nullptr);
}

// The fake, learning from a real H200's `nvidia-smi -q`, measures what the real libnvidia-ml
// measured on such a machine (captures/README.md): the same series with the same values.
TEST(GpuCountersTest, FakeFromARealH200CaptureMeasuresWhatTheRealNvmlDid) {
  std::ifstream in(testing::ScenarioDir() +
                   "/captures/h200-580.159.04.real-nvml-measurements.json");
  const nlohmann::json real = nlohmann::json::parse(in);
  ASSERT_EQ(real["measurements"].size(), 11u);
  FixtureNode node("h200-vm.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  int compared = 0;
  std::set<std::string> families;
  for (const nlohmann::json& m : real["measurements"]) {
    std::map<std::string, std::string> labels = m["labels"];
    const Measurement* ours = FindMeasurement(r, m["name"].get<std::string>(), labels);
    ASSERT_NE(ours, nullptr) << m.dump();
    EXPECT_EQ(ours->value, m["value"].get<double>()) << m.dump();
    families.insert(m["name"].get<std::string>());
    ++compared;
  }
  EXPECT_EQ(compared, 11);
  // And nothing of those families that the real NVML did not report.
  int ours_in_families = 0;
  for (const Measurement& m : r.measurements) ours_in_families += families.count(m.name);
  EXPECT_EQ(ours_in_families, compared);
}

TEST(GpuCountersTest, CappedGpuIsNamedWithBothLimits) {
  FixtureNode node("fault-power-capped.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  ASSERT_EQ(CountFindings(r, "gpu_power_capped"), 1) << testing::DescribeResult(r);
  const Finding* f = FindFinding(r, "gpu_power_capped", "gpu/0000:3b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_EQ(f->action, Action::kMonitor);
  EXPECT_EQ(f->message, "GPU 0000:3b:00.0 is capped at 500 W, below its default power limit 700 W");
  ASSERT_EQ(f->evidence.size(), 1u);
  EXPECT_EQ(f->evidence[0].source, "nvml nvmlDeviceGetEnforcedPowerLimit");
  EXPECT_EQ(f->evidence[0].observed,
            "500 W (default 700 W, min 200 W, max 700 W, requested 500 W)");
  EXPECT_EQ(f->evidence[0].expected, ">= 700 W");
  EXPECT_EQ(
      FindMeasurement(r, "gpu_power_limit_watts", {{"gpu", "0000:3b:00.0"}, {"kind", "enforced"}})
          ->value,
      500);
}

TEST(GpuCountersTest, ProfileRatioAllowsADeliberateCap) {
  FixtureNode node("fault-power-capped.toml");
  Profile profile;
  profile.name = "capped-site";
  profile.gpu.power_limit_min_ratio = 0.7;  // 490 W
  EXPECT_EQ(CountFindings(node.Run(GpuHealthProbe(), &profile), "gpu_power_capped"), 0);
  profile.gpu.power_limit_min_ratio = 0.75;  // 525 W
  ProbeResult r = node.Run(GpuHealthProbe(), &profile);
  const Finding* f = FindFinding(r, "gpu_power_capped", "gpu/0000:3b:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence[0].expected, ">= 525 W (0.75 x default)");
}

TEST(GpuCountersTest, OldDriverWithoutTheFunctionsHasNoDataAndNoError) {
  FixtureNode node("fault-power-capped.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr, FakeNvmlLegacyLibrary());
  EXPECT_EQ(CountFindings(r, "gpu_power_capped"), 0);
  EXPECT_EQ(CountFindings(r, "probe_error"), 0) << testing::DescribeResult(r);
  EXPECT_EQ(FindMeasurement(r, "gpu_power_limit_watts"), nullptr);
  EXPECT_EQ(FindMeasurement(r, "gpu_pcie_replays_total"), nullptr);
  EXPECT_NE(r.verdict, ProbeVerdict::kError);
}

TEST(GpuCountersTest, NotSupportedReplayCallFallsBackToTheField) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ScenarioVariant variant("hgx-h100-xe9680.toml",
                          "[nvml.gpu.\"0000:19:00.0\".errors]\n"
                          "nvmlDeviceGetPcieReplayCounter = \"NVML_ERROR_NOT_SUPPORTED\"\n");
  ProbeResult r = RunWith(node, variant.path());
  EXPECT_EQ(CountFindings(r, "probe_error"), 0);
  EXPECT_EQ(FindMeasurement(r, "gpu_pcie_replays_total", {{"gpu", "0000:19:00.0"}})->value, 67);
}

TEST(GpuCountersTest, AnUnknownErrorFromAPowerCallIsUndecided) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ScenarioVariant variant("hgx-h100-xe9680.toml",
                          "[nvml.gpu.\"0000:19:00.0\".errors]\n"
                          "nvmlDeviceGetEnforcedPowerLimit = \"NVML_ERROR_UNKNOWN\"\n");
  ProbeResult r = RunWith(node, variant.path());
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* f = FindFinding(r, "probe_error", "gpu/0000:19:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message,
            "NVML could not answer for GPU 0000:19:00.0: nvmlDeviceGetEnforcedPowerLimit: "
            "NVML_ERROR_UNKNOWN (999)");
}

TEST(GpuCountersTest, NvlinkErrorCountersAreMeasuredPerLinkAndKind) {
  FixtureNode node("fault-nvlink-errors.toml");
  ProbeResult r = node.Run(GpuHealthProbe(), nullptr);
  const auto count = [&](const char* gpu, const char* link, const char* kind) {
    const Measurement* m = FindMeasurement(r, "gpu_nvlink_errors_total",
                                           {{"gpu", gpu}, {"link", link}, {"kind", kind}});
    return m ? m->value : -1;
  };
  EXPECT_EQ(count("0000:5d:00.0", "7", "replay"), 4);
  EXPECT_EQ(count("0000:5d:00.0", "7", "recovery"), 1);
  EXPECT_EQ(count("0000:5d:00.0", "7", "crc_flit"), 9000);
  EXPECT_EQ(count("0000:5d:00.0", "7", "crc_data"), -1);  // not in the capture: no data
  EXPECT_EQ(count("0000:bb:00.0", "2", "crc_flit"), 30);
  EXPECT_EQ(count("0000:19:00.0", "17", "replay"), 0);
  // One run has no window: measured, not judged.
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);
  EXPECT_EQ(CountFindings(r, "probe_error"), 0);
}

TEST(GpuCountersTest, NvlinkErrorsFromFieldValuesWhereTheCallIsNotSupported) {
  FixtureNode node("fault-nvlink-errors.toml");
  ScenarioVariant variant("fault-nvlink-errors.toml",
                          "[nvml.gpu.\"0000:5d:00.0\"]\nnvlink_errors_fields_only = true\n");
  ProbeResult r = RunWith(node, variant.path());
  const auto count = [&](const char* kind) {
    const Measurement* m = FindMeasurement(
        r, "gpu_nvlink_errors_total", {{"gpu", "0000:5d:00.0"}, {"link", "7"}, {"kind", kind}});
    return m ? m->value : -1;
  };
  EXPECT_EQ(count("replay"), 4);
  EXPECT_EQ(count("recovery"), 1);
  EXPECT_EQ(count("crc"), 9000);
  EXPECT_EQ(count("crc_flit"), -1);
  EXPECT_EQ(CountFindings(r, "probe_error"), 0);
}

// ----- across rounds, from real runs -----

TEST(GpuCounterMemoryTest, NvlinkErrorsGrowingBetweenTwoRoundsFail) {
  FixtureNode node("fault-nvlink-errors.toml");
  ScenarioVariant clean("fault-nvlink-errors.toml", CleanNvlinkCapture());
  GpuCounterMemory memory;
  ProbeResult first = RunWith(node, clean.path());
  memory.AfterRun(nullptr, 1000, first);
  EXPECT_EQ(CountFindings(first, "gpu_nvlink_errors"), 0);
  ProbeResult second = RunWith(node, node.scenario());
  memory.AfterRun(nullptr, 1060, second);
  ASSERT_EQ(CountFindings(second, "gpu_nvlink_errors"), 1) << testing::DescribeResult(second);
  const Finding* f = FindFinding(second, "gpu_nvlink_errors", "gpu/0000:5d:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_EQ(f->action, Action::kDrain);
  EXPECT_EQ(f->message,
            "GPU 0000:5d:00.0 NVLink errors are growing: link 7 replay +4, link 7 recovery +1, "
            "link 7 crc_flit 150/s");
  ASSERT_EQ(f->evidence.size(), 3u);
  EXPECT_EQ(f->evidence[0].source,
            "nvml nvmlDeviceGetNvLinkErrorCounter(link 7, NVML_NVLINK_ERROR_DL_REPLAY)");
  EXPECT_EQ(f->evidence[0].observed, "+4 in 60 s (now 4)");
  EXPECT_EQ(f->evidence[0].expected, "<= 0 within 3600 s");
  EXPECT_EQ(f->evidence[2].source,
            "nvml nvmlDeviceGetNvLinkErrorCounter(link 7, NVML_NVLINK_ERROR_DL_CRC_FLIT)");
  EXPECT_EQ(f->evidence[2].observed, "+9000 in 60 s: 150/s (now 9000)");
  EXPECT_EQ(f->evidence[2].expected, "< 100/s");
  EXPECT_EQ(second.verdict, ProbeVerdict::kFail);
  // 30 CRC errors in a minute on another GPU: a note, not a fault.
  bool noted = false;
  for (const std::string& note : second.notes) {
    noted |= note ==
             "GPU 0000:bb:00.0 NVLink 2 crc_flit errors +30 in 60 s: 0.5/s (now 30), below "
             "100/s: retried by the link, not a fault";
  }
  EXPECT_TRUE(noted);
  EXPECT_EQ(FindFinding(second, "gpu_nvlink_errors", "gpu/0000:bb:00.0"), nullptr);
}

TEST(GpuCounterMemoryTest, PcieReplaysGrowingFastWarn) {
  FixtureNode node("fault-pcie-replay.toml");
  GpuCounterMemory memory;
  ProbeResult first = RunWith(node, ScenarioPath("h100-vm.toml"));
  EXPECT_EQ(FindMeasurement(first, "gpu_pcie_replays_total", {{"gpu", "0000:53:00.0"}})->value,
            120);
  memory.AfterRun(nullptr, 500, first);
  EXPECT_EQ(CountFindings(first, "gpu_pcie_replay_rate"), 0);
  ProbeResult second = RunWith(node, node.scenario());
  memory.AfterRun(nullptr, 560, second);
  ASSERT_EQ(CountFindings(second, "gpu_pcie_replay_rate"), 1) << testing::DescribeResult(second);
  const Finding* f = FindFinding(second, "gpu_pcie_replay_rate", "gpu/0000:53:00.0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_EQ(f->message, "GPU 0000:53:00.0 PCIe link replayed 4880 times per 60 s (+4880 in 60 s)");
  EXPECT_EQ(f->evidence[0].source, "nvml nvmlDeviceGetPcieReplayCounter");
  EXPECT_EQ(f->evidence[0].observed, "+4880 in 60 s (now 5000): 4880 per 60 s");
  EXPECT_EQ(f->evidence[0].expected, "<= 8 per 60 s");
}

// ----- across rounds, synthetic -----

ProbeResult Replays(double value) {
  ProbeResult r;
  r.name = "gpu_health";
  r.verdict = ProbeVerdict::kPass;
  r.measurements.push_back({"gpu_pcie_replays_total", {{"gpu", "0000:19:00.0"}}, value});
  return r;
}

ProbeResult Nvlink(const char* kind, double value) {
  ProbeResult r;
  r.name = "gpu_health";
  r.verdict = ProbeVerdict::kPass;
  r.measurements.push_back(
      {"gpu_nvlink_errors_total", {{"gpu", "0000:19:00.0"}, {"kind", kind}, {"link", "3"}}, value});
  return r;
}

TEST(GpuCounterMemoryTest, ReplayRateIsPerWindowOverWhatTheMemoryHolds) {
  GpuCounterMemory memory;
  ProbeResult r = Replays(100);
  memory.AfterRun(nullptr, 0, r);
  r = Replays(116);  // 16 in 120 s: 8 per 60 s, not above 8
  memory.AfterRun(nullptr, 120, r);
  EXPECT_EQ(CountFindings(r, "gpu_pcie_replay_rate"), 0);
  r = Replays(134);  // 18 in 120 s: 9 per 60 s
  memory.AfterRun(nullptr, 240, r);
  ASSERT_EQ(CountFindings(r, "gpu_pcie_replay_rate"), 1);
  EXPECT_EQ(r.findings[0].evidence[0].observed, "+18 in 120 s (now 134): 9 per 60 s");
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
  // Growth seen over less than a window is not extrapolated: 9 in 10 s counts as 9.
  GpuCounterMemory quick;
  r = Replays(0);
  quick.AfterRun(nullptr, 0, r);
  r = Replays(8);
  quick.AfterRun(nullptr, 10, r);
  EXPECT_EQ(CountFindings(r, "gpu_pcie_replay_rate"), 0);
  r = Replays(9);
  quick.AfterRun(nullptr, 20, r);
  EXPECT_EQ(CountFindings(r, "gpu_pcie_replay_rate"), 1);
}

TEST(GpuCounterMemoryTest, NvlinkReplayHoldsForTheWindowAndResetsOnDecrease) {
  GpuCounterMemory memory;
  ProbeResult r = Nvlink("replay", 10);
  memory.AfterRun(nullptr, 0, r);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);  // first sight: no growth yet
  r = Nvlink("replay", 11);
  memory.AfterRun(nullptr, 60, r);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1);
  // Held while the window ending now still reaches back to the sample before the growth: the
  // sample at 0 stays the window's start sample until one at or before now - 3600 replaces it.
  for (double t = 120; t <= 3660; t += 60) {
    r = Nvlink("replay", 11);
    memory.AfterRun(nullptr, t, r);
    ASSERT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1) << "at " << t;
  }
  r = Nvlink("replay", 11);
  memory.AfterRun(nullptr, 3720, r);  // now the window starts at the sample at 60 (11)
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);
  r = Nvlink("replay", 0);  // GPU reset: the counter restarts
  memory.AfterRun(nullptr, 3780, r);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);
  r = Nvlink("replay", 1);
  memory.AfterRun(nullptr, 3840, r);
  ASSERT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1);
  EXPECT_EQ(r.findings[0].evidence[0].observed, "+1 in 60 s (now 1)");
}

TEST(GpuCounterMemoryTest, CrcRateBetweenTwoRoundsAtTheDcgmLimitFails) {
  GpuCounterMemory memory;
  ProbeResult r = Nvlink("crc_data", 1000);
  memory.AfterRun(nullptr, 0, r);
  r = Nvlink("crc_data", 6999);  // 5999 in 60 s: 99.98/s
  memory.AfterRun(nullptr, 60, r);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0],
            "GPU 0000:19:00.0 NVLink 3 crc_data errors +5999 in 60 s: 99.98/s (now 6999), below "
            "100/s: retried by the link, not a fault");
  r = Nvlink("crc_data", 12999);  // 6000 in the next 60 s: 100/s
  memory.AfterRun(nullptr, 120, r);
  ASSERT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1);
  EXPECT_EQ(r.findings[0].message,
            "GPU 0000:19:00.0 NVLink errors are growing: link 3 crc_data 100/s");
  EXPECT_EQ(r.findings[0].evidence[0].source,
            "nvml nvmlDeviceGetNvLinkErrorCounter(link 3, NVML_NVLINK_ERROR_DL_CRC_DATA)");
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
}

TEST(GpuCounterMemoryTest, SlowCrcNotesAreBounded) {
  GpuCounterMemory memory;
  for (double value : {0.0, 10.0}) {
    ProbeResult r;
    r.name = "gpu_health";
    r.verdict = ProbeVerdict::kPass;
    for (int link = 0; link < 10; ++link) {
      r.measurements.push_back(
          {"gpu_nvlink_errors_total",
           {{"gpu", "0000:19:00.0"}, {"kind", "crc_flit"}, {"link", std::to_string(link)}},
           value});
    }
    memory.AfterRun(nullptr, value * 6, r);
    if (value == 0) continue;
    EXPECT_TRUE(r.findings.empty());
    ASSERT_EQ(r.notes.size(), 9u);
    EXPECT_EQ(r.notes[8], "NVLink CRC errors grew slowly on 2 more links");
  }
}

TEST(GpuCounterMemoryTest, ProfileAllowanceAndWindow) {
  Profile profile;
  profile.name = "lenient";
  profile.gpu.nvlink_error_max = 2;
  profile.gpu.nvlink_error_window_seconds = 60;
  GpuCounterMemory memory;
  ProbeResult r = Nvlink("recovery", 0);
  memory.AfterRun(&profile, 0, r);
  r = Nvlink("recovery", 2);
  memory.AfterRun(&profile, 60, r);
  EXPECT_EQ(CountFindings(r, "gpu_nvlink_errors"), 0);
  r = Nvlink("recovery", 5);
  memory.AfterRun(&profile, 120, r);
  ASSERT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1);
  EXPECT_EQ(r.findings[0].evidence[0].observed, "+5 in 120 s (now 5)");
  EXPECT_EQ(r.findings[0].evidence[0].expected, "<= 2 within 60 s");
}

TEST(GpuCounterMemoryTest, SkippedRunsAreNotJudged) {
  GpuCounterMemory memory;
  ProbeResult r = Replays(0);
  memory.AfterRun(nullptr, 0, r);
  r = Replays(1000);
  r.verdict = ProbeVerdict::kSkip;
  memory.AfterRun(nullptr, 60, r);
  EXPECT_TRUE(r.findings.empty());
}

TEST(GpuCounterMemoryTest, HistorySurvivesARestart) {
  GpuCounterMemory before;
  ProbeResult r = Nvlink("replay", 10);
  before.AfterRun(nullptr, 0, r);
  r = Replays(100);
  before.AfterRun(nullptr, 0, r);
  const std::string saved = before.SaveHistory();
  EXPECT_NE(saved.find("nvlink 0000:19:00.0|3|replay 0 10\n"), std::string::npos) << saved;
  EXPECT_NE(saved.find("pcie 0000:19:00.0 0 100\n"), std::string::npos) << saved;

  GpuCounterMemory after;
  after.RestoreHistory(saved);
  EXPECT_EQ(after.SaveHistory(), saved);  // kept as is until the first run sizes the windows
  r = Nvlink("replay", 12);
  after.AfterRun(nullptr, 60, r);
  ASSERT_EQ(CountFindings(r, "gpu_nvlink_errors"), 1);
  EXPECT_EQ(r.findings[0].evidence[0].observed, "+2 in 60 s (now 12)");
  r = Replays(200);
  after.AfterRun(nullptr, 60, r);
  EXPECT_EQ(CountFindings(r, "gpu_pcie_replay_rate"), 1);

  GpuCounterMemory damaged;
  damaged.RestoreHistory("nvlink garbage\npcie 0000:19:00.0 x 5\nbogus line\n\n");
  r = Replays(5);
  damaged.AfterRun(nullptr, 60, r);
  EXPECT_TRUE(r.findings.empty());
}

// ----- profile keys -----

TEST(GpuCounterProfileTest, ReadsTheKeysWithRanges) {
  Expected<Profile> p = ParseProfile(R"(
name = "x"
[gpu]
power_limit_min_ratio = 0.9
pcie_replay_max = 20
pcie_replay_window_seconds = 120
nvlink_error_max = 1
nvlink_error_window_seconds = 60
nvlink_crc_per_second_max = 50
)",
                                     "x.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->gpu.power_limit_min_ratio, 0.9);
  EXPECT_EQ(p->gpu.pcie_replay_max, 20);
  EXPECT_EQ(p->gpu.pcie_replay_window_seconds, 120);
  EXPECT_EQ(p->gpu.nvlink_error_max, 1);
  EXPECT_EQ(p->gpu.nvlink_error_window_seconds, 60);
  EXPECT_EQ(p->gpu.nvlink_crc_per_second_max, 50);
  Expected<Profile> bare = ParseProfile("name = \"bare\"\n", "bare.toml");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->gpu.power_limit_min_ratio, 1.0);
  EXPECT_EQ(bare->gpu.pcie_replay_max, 8);
  EXPECT_EQ(bare->gpu.pcie_replay_window_seconds, 60);
  EXPECT_EQ(bare->gpu.nvlink_error_max, 0);
  EXPECT_EQ(bare->gpu.nvlink_error_window_seconds, 3600);
  EXPECT_EQ(bare->gpu.nvlink_crc_per_second_max, 100);
  for (const char* bad :
       {"power_limit_min_ratio = 1.5", "pcie_replay_max = -1", "pcie_replay_window_seconds = 0",
        "nvlink_error_window_seconds = 0", "nvlink_crc_per_second_max = 0"}) {
    Expected<Profile> e = ParseProfile(std::string("name = \"x\"\n[gpu]\n") + bad + "\n", "b.toml");
    EXPECT_FALSE(e.ok()) << bad;
  }
}

}  // namespace
}  // namespace nodehealth
