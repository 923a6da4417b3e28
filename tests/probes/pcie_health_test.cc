// pcie_health on fixture nodes (tests/fixtures/nodes/fault-pcie-*.toml) and its agent memory.
#include "probes/pcie_health/pcie_health_probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/scenario.h"
#include "tests/support/test_env.h"
#include "tests/support/ttar.h"

namespace nodehealth {
namespace {

using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;

void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

constexpr const char* kBridge = "/sys/devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:01.0";

TEST(PcieHealthTest, BridgeAboveGpuWithNonFatalErrorsIsUncorrectable) {
  FixtureNode node("fault-pcie-aer.toml");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail) << testing::DescribeResult(r);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "pcie_aer_uncorrectable");
  EXPECT_EQ(f.entity, "pci/0000:17:01.0");
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message,
            "bridge 0000:17:01.0 (above GPU 0000:19:00.0) reported non-fatal uncorrectable PCIe "
            "errors since boot");
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0].source, "/sys/bus/pci/devices/0000:17:01.0/aer_dev_nonfatal");
  EXPECT_EQ(f.evidence[0].observed, "aer_dev_nonfatal: TOTAL_ERR_NONFATAL 2 (TLP 2)");
  EXPECT_EQ(f.evidence[0].expected, "0");
  // The root port's aggregate of the same two messages is measured, not reported again.
  EXPECT_EQ(FindMeasurement(r, "pcie_aer_rootport_messages_total",
                            {{"device", "0000:15:01.0"}, {"severity", "nonfatal"}})
                ->value,
            2);
  EXPECT_EQ(FindMeasurement(r, "pcie_aer_messages_total",
                            {{"device", "0000:17:01.0"}, {"severity", "nonfatal"}})
                ->value,
            2);
  EXPECT_EQ(FindMeasurement(r, "pcie_aer_errors_total",
                            {{"device", "0000:17:01.0"}, {"kind", "TLP"}, {"severity", "nonfatal"}})
                ->value,
            2);
  EXPECT_EQ(
      FindMeasurement(r, "pcie_aer_errors_total",
                      {{"device", "0000:17:01.0"}, {"kind", "DLP"}, {"severity", "nonfatal"}}),
      nullptr);  // kinds appear once they count
  EXPECT_EQ(
      FindMeasurement(r, "pcie_device_info",
                      {{"device", "0000:19:00.0"}, {"entity", "gpu/0000:19:00.0"}, {"role", "GPU"}})
          ->value,
      1);
  EXPECT_EQ(FindMeasurement(r, "pcie_link_width", {{"device", "0000:19:00.0"}})->value, 16);
  EXPECT_EQ(FindMeasurement(r, "pcie_link_generation", {{"device", "0000:19:00.0"}})->value, 5);
}

TEST(PcieHealthTest, RootPortTotalsAloneAreReportedOnTheRootPort) {
  // The function that erred is not one pcie_health reads (no AER files below): the root port's
  // own aggregate is all there is.
  FixtureNode node("fault-pcie-aer.toml");
  WriteFile(node.root() + kBridge + "/aer_dev_nonfatal",
            "Undefined 0\nDLP 0\nSDES 0\nTLP 0\nFCP 0\nCmpltTO 0\nCmpltAbrt 0\nUnxCmplt 0\nRxOF "
            "0\nMalfTLP 0\nECRC 0\nUnsupReq 0\nACSViol 0\nUncorrIntErr 0\nBlockedTLP 0\n"
            "AtomicOpBlocked 0\nTLPBlockedErr 0\nPoisonTLPBlocked 0\nTOTAL_ERR_NONFATAL 0\n");
  ProbeResult r = node.Run(PcieHealthProbe());
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "pcie_aer_uncorrectable");
  EXPECT_EQ(r.findings[0].entity, "pci/0000:15:01.0");
  EXPECT_EQ(r.findings[0].evidence[0].observed,
            "aer_rootport_total_err_nonfatal: 2 messages from the hierarchy below this root port");
}

TEST(PcieHealthTest, MalformedAerFileIsAProbeErrorOnThatDevice) {
  FixtureNode node("fault-pcie-aer.toml");
  WriteFile(node.root() + kBridge + "/0000:19:00.0/aer_dev_fatal", "garbage\n");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* f = FindFinding(r, "probe_error", "gpu/0000:19:00.0");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].source, "/sys/bus/pci/devices/0000:19:00.0/aer_dev_fatal");
  EXPECT_EQ(f->evidence[0].observed, "not \"<name> <count>\": \"garbage\"");
  // What could be read is still judged.
  EXPECT_NE(FindFinding(r, "pcie_aer_uncorrectable", "pci/0000:17:01.0"), nullptr);
}

TEST(PcieHealthTest, OversizedAerFileIsAProbeErrorNotATruncatedRead) {
  FixtureNode node("fault-pcie-aer.toml");
  std::string huge;
  for (int i = 0; i < 10000; ++i) huge += "RxErr 0\n";
  WriteFile(node.root() + kBridge + "/0000:19:00.0/aer_dev_correctable",
            huge + "TOTAL_ERR_COR 0\n");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding* f = FindFinding(r, "probe_error", "gpu/0000:19:00.0");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].source, "/sys/bus/pci/devices/0000:19:00.0/aer_dev_correctable");
  EXPECT_EQ(f->evidence[0].expected, "readable");
}

TEST(PcieHealthTest, NodeWithoutAerFilesSkips) {
  FixtureNode node("hgx-h100-xe9680.toml");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip) << testing::DescribeResult(r);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.measurements.empty());
}

TEST(PcieHealthTest, CorrectedLogLinesBelowTheDefaultLimitPass) {
  FixtureNode node("fault-pcie-aer-correctable.toml");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_TRUE(r.findings.empty());
}

TEST(PcieHealthTest, CorrectedLogLinesInsideTheWindowAboveTheProfileLimit) {
  FixtureNode node("fault-pcie-aer-correctable.toml");
  Profile profile;
  profile.name = "test";
  profile.pcie.aer_correctable_max = 11;
  ProbeResult r = node.Run(PcieHealthProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn) << testing::DescribeResult(r);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "pcie_aer_correctable");
  EXPECT_EQ(f.entity, "gpu/0000:3b:00.0");
  EXPECT_EQ(f.action, Action::kMonitor);
  EXPECT_EQ(f.message, "GPU 0000:3b:00.0 logged 12 corrected PCIe errors within 3600 s");
  EXPECT_EQ(f.evidence[0].source, "/dev/kmsg");
  // 12, not 13: the event at 100 s of a 5000 s uptime is outside the hour.
  EXPECT_EQ(f.evidence[0].observed,
            "12 corrected AER lines within 3600 s (RxErr); last: [4650.250010] nvidia "
            "0000:3b:00.0: AER: PCIe Bus Error: severity=Corrected, type=Physical Layer, "
            "(Receiver ID)");
  EXPECT_EQ(f.evidence[0].expected, "at most 11 (a lower bound: kernels rate-limit these lines)");
  // At 12 it is not above the limit.
  profile.pcie.aer_correctable_max = 12;
  EXPECT_TRUE(node.Run(PcieHealthProbe(), &profile).findings.empty());
  // A wider window takes the old event too.
  profile.pcie.aer_window_seconds = 6000;
  ProbeResult wide = node.Run(PcieHealthProbe(), &profile);
  ASSERT_EQ(wide.findings.size(), 1u) << testing::DescribeResult(wide);
  EXPECT_EQ(wide.findings[0].message,
            "GPU 0000:3b:00.0 logged 13 corrected PCIe errors within 6000 s");
}

TEST(PcieHealthTest, PciehpLinkDownIsARetrain) {
  FixtureNode node("fault-pcie-retrain.toml");
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kWarn) << testing::DescribeResult(r);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "pcie_link_retrained");
  EXPECT_EQ(f.entity, "pci/0000:17:00.0");
  EXPECT_EQ(f.evidence[0].observed,
            "1 pciehp Link Down lines; last: [ 4200.118877] pcieport 0000:17:00.0: pciehp: "
            "Slot(18): Link Down");
  EXPECT_EQ(f.evidence[0].expected, "at most 0 within 3600 s");
  Profile profile;
  profile.name = "test";
  profile.pcie.link_retrain_max = 1;
  EXPECT_TRUE(node.Run(PcieHealthProbe(), &profile).findings.empty());
  profile.pcie.link_retrain_max = 0;
  profile.pcie.aer_window_seconds = 600;  // the line is 800 s old
  EXPECT_TRUE(node.Run(PcieHealthProbe(), &profile).findings.empty());
}

TEST(PcieHealthTest, UncorrectableLogLinesCountWithoutSysfs) {
  // Composed from Linux 6.1 drivers/pci/pcie/aer.c (aer_print_port_info, aer_print_error,
  // __aer_print_error), as the scenario files are.
  FixtureNode node("fault-pcie-retrain.toml");
  std::ofstream(node.root() + "/dev/kmsg", std::ios::app)
      << "[ 4300.000001] pcieport 0000:39:01.0: AER: Uncorrected (Non-Fatal) error message "
         "received from 0000:3b:00.0\n"
      << "[ 4300.000002] nvidia 0000:3b:00.0: AER: PCIe Bus Error: severity=Uncorrected "
         "(Non-Fatal), type=Transaction Layer, (Requester ID)\n"
      << "[ 4300.000003] nvidia 0000:3b:00.0: AER:   device [10de:2330] error "
         "status/mask=00004000/00000000\n"
      << "[ 4300.000004] nvidia 0000:3b:00.0: AER:    [14] CmpltTO                (First)\n";
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail) << testing::DescribeResult(r);
  const Finding* f = FindFinding(r, "pcie_aer_uncorrectable", "gpu/0000:3b:00.0");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->message, "GPU 0000:3b:00.0 reported non-fatal uncorrectable PCIe errors since boot");
  ASSERT_EQ(f->evidence.size(), 1u);
  EXPECT_EQ(f->evidence[0].source, "/dev/kmsg");
  EXPECT_EQ(f->evidence[0].observed,
            "1 uncorrectable AER lines (CmpltTO); last: [ 4300.000002] nvidia 0000:3b:00.0: AER: "
            "PCIe Bus Error: severity=Uncorrected (Non-Fatal), type=Transaction Layer, "
            "(Requester ID)");
  EXPECT_NE(FindFinding(r, "pcie_link_retrained", "pci/0000:17:00.0"), nullptr);
}

// node_exporter's real sysfs fixture (../shared/fixtures/peer/node_exporter/collector/fixtures/
// sys.ttar, Apache-2.0): NVMe controller 0000:01:00.0 (class 0x010802) below 0000:00:02.1, with
// the kernel's aer_dev_* files, all 0, and /sys/bus/pci/devices links into /sys/devices.
TEST(PcieHealthTest, NodeExporterTreeIsReadAndClean) {
  FixtureNode node("no-gpu.toml");
  const std::string archive =
      testing::PeerFixturesDir() + "/node_exporter/collector/fixtures/sys.ttar";
  std::ifstream in(archive, std::ios::binary);
  ASSERT_TRUE(in) << archive;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Expected<std::vector<testing::TtarEntry>> entries = testing::ParseTtar(text);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  int aer_files = 0;
  for (const testing::TtarEntry& e : *entries) {
    if (!e.path.starts_with("sys/devices/pci") && !e.path.starts_with("sys/bus/pci/devices/")) {
      continue;
    }
    const std::filesystem::path to = std::filesystem::path(node.root()) / e.path;
    std::error_code ec;
    std::filesystem::create_directories(to.parent_path(), ec);
    if (e.kind == testing::TtarEntry::Kind::kDirectory) {
      std::filesystem::create_directories(to, ec);
    } else if (e.kind == testing::TtarEntry::Kind::kSymlink) {
      std::filesystem::remove_all(to, ec);
      std::filesystem::create_symlink(e.target, to, ec);
    } else {
      WriteFile(to.string(), e.content);
      aer_files += e.path.find("/aer_dev_") != std::string::npos;
    }
  }
  ASSERT_GT(aer_files, 0);
  // The class entry is a link into the device's directory on a live node; the archive keeps a
  // copy of it instead.
  std::error_code ec;
  std::filesystem::create_directories(node.root() + "/sys/class/nvme", ec);
  std::filesystem::create_symlink("../../devices/pci0000:00/0000:00:02.1/0000:01:00.0/nvme/nvme0",
                                  node.root() + "/sys/class/nvme/nvme0", ec);
  ProbeResult r = node.Run(PcieHealthProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_TRUE(r.findings.empty()) << testing::DescribeResult(r);
  EXPECT_EQ(
      FindMeasurement(
          r, "pcie_device_info",
          {{"device", "0000:01:00.0"}, {"entity", "pci/0000:01:00.0"}, {"role", "NVMe nvme0"}})
          ->value,
      1);
  EXPECT_NE(
      FindMeasurement(r, "pcie_device_info", {{"device", "0000:00:02.1"}, {"role", "bridge"}}),
      nullptr);
  EXPECT_EQ(FindMeasurement(r, "pcie_aer_messages_total",
                            {{"device", "0000:01:00.0"}, {"severity", "fatal"}})
                ->value,
            0);
  EXPECT_EQ(FindMeasurement(r, "pcie_link_width", {{"device", "0000:01:00.0"}})->value, 4);
  EXPECT_EQ(FindMeasurement(r, "pcie_link_generation", {{"device", "0000:01:00.0"}})->value, 3);
}

// ---- the agent's memory ----

ProbeResult Round(uint64_t corrected, int width, int generation, const char* role = "HCA mlx5_0",
                  const char* entity = "hca/mlx5_0/1") {
  ProbeResult r;
  r.name = "pcie_health";
  const std::string dev = "0000:18:00.0";
  r.measurements.push_back({"pcie_device_info",
                            {{"device", dev},
                             {"entity", entity},
                             {"role", role},
                             {"speed_varies", std::string(role) == "GPU" ? "true" : "false"}},
                            1});
  r.measurements.push_back({"pcie_aer_messages_total",
                            {{"device", dev}, {"severity", "correctable"}},
                            static_cast<double>(corrected)});
  r.measurements.push_back({"pcie_link_width", {{"device", dev}}, 1.0 * width});
  r.measurements.push_back({"pcie_link_generation", {{"device", dev}}, 1.0 * generation});
  return r;
}

Profile PcieProfile(int64_t correctable_max, double window) {
  Profile p;
  p.name = "test";
  p.pcie.aer_correctable_max = correctable_max;
  p.pcie.aer_window_seconds = window;
  return p;
}

TEST(PcieHistoryTest, CorrectableGrowthAboveTheLimitInsideTheWindow) {
  PcieHistory memory;
  const Profile profile = PcieProfile(100, 3600);
  const std::vector<std::pair<double, uint64_t>> rounds = {
      {0, 1000}, {600, 1040}, {1200, 1080}, {1800, 1101}};
  std::vector<std::size_t> findings;
  for (const auto& [time, value] : rounds) {
    ProbeResult r = Round(value, 16, 5);
    memory.AfterRun(&profile, time, r);
    findings.push_back(r.findings.size());
    if (!r.findings.empty()) {
      EXPECT_EQ(r.verdict, ProbeVerdict::kWarn);
      EXPECT_EQ(r.findings[0].code, "pcie_aer_correctable");
      EXPECT_EQ(r.findings[0].entity, "hca/mlx5_0/1");
      EXPECT_EQ(r.findings[0].evidence[0].source,
                "/sys/bus/pci/devices/0000:18:00.0/aer_dev_correctable");
      EXPECT_EQ(r.findings[0].evidence[0].observed, "TOTAL_ERR_COR +101 within 3600 s (now 1101)");
      EXPECT_EQ(r.findings[0].evidence[0].expected, "at most +100");
    }
  }
  // +40, +80, +100 (not above), +101 (above) since the first sample.
  EXPECT_EQ(findings, (std::vector<std::size_t>{0, 0, 0, 1}));
  // Two hours later the growth of the last hour is what counts: none.
  ProbeResult later = Round(1101, 16, 5);
  memory.AfterRun(&profile, 1800 + 7200, later);
  EXPECT_TRUE(later.findings.empty());
}

TEST(PcieHistoryTest, CounterDecreaseRestartsTheHistory) {
  PcieHistory memory;
  const Profile profile = PcieProfile(100, 3600);
  ProbeResult a = Round(1000, 16, 5);
  memory.AfterRun(&profile, 0, a);
  ProbeResult b = Round(5, 16, 5);  // the device was removed and added again
  memory.AfterRun(&profile, 60, b);
  EXPECT_TRUE(b.findings.empty());
  ProbeResult c = Round(106, 16, 5);  // +101 since the reset
  memory.AfterRun(&profile, 120, c);
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].evidence[0].observed, "TOTAL_ERR_COR +101 within 3600 s (now 106)");
}

TEST(PcieHistoryTest, LinkWidthOrSpeedChangeIsARetrainButNotAnIdleGpuSpeedDrop) {
  PcieHistory memory;
  const Profile profile = PcieProfile(100, 3600);
  ProbeResult a = Round(0, 16, 5);
  memory.AfterRun(&profile, 0, a);
  ProbeResult b = Round(0, 16, 5);
  memory.AfterRun(&profile, 60, b);
  EXPECT_TRUE(b.findings.empty());
  ProbeResult c = Round(0, 8, 5);
  memory.AfterRun(&profile, 120, c);
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].code, "pcie_link_retrained");
  EXPECT_EQ(c.findings[0].entity, "hca/mlx5_0/1");
  EXPECT_EQ(c.findings[0].evidence[0].observed,
            "1 changes within 3600 s; last: x16 Gen5 -> x8 Gen5");
  EXPECT_EQ(c.findings[0].evidence[0].expected, "at most 0");

  PcieHistory gpu_memory;
  ProbeResult g1 = Round(0, 16, 5, "GPU", "gpu/0000:18:00.0");
  gpu_memory.AfterRun(&profile, 0, g1);
  ProbeResult g2 = Round(0, 16, 1, "GPU", "gpu/0000:18:00.0");  // idle: Gen1 on purpose
  gpu_memory.AfterRun(&profile, 60, g2);
  EXPECT_TRUE(g2.findings.empty());
  ProbeResult g3 = Round(0, 8, 1, "GPU", "gpu/0000:18:00.0");  // a lane lost is not
  gpu_memory.AfterRun(&profile, 120, g3);
  ASSERT_EQ(g3.findings.size(), 1u);
  EXPECT_EQ(g3.findings[0].entity, "gpu/0000:18:00.0");
  EXPECT_EQ(g3.findings[0].evidence[0].source,
            "/sys/bus/pci/devices/0000:18:00.0/current_link_width");
}

TEST(PcieHistoryTest, SavedHistoryKeepsTheWindowInAFreshMemory) {
  const Profile profile = PcieProfile(100, 3600);
  PcieHistory before;
  ProbeResult a = Round(1000, 16, 5);
  before.AfterRun(&profile, 0, a);
  ProbeResult b = Round(1060, 8, 5);  // one retrain
  before.AfterRun(&profile, 600, b);
  const std::string saved = before.SaveHistory();
  ASSERT_FALSE(saved.empty());

  PcieHistory after;  // the agent restarted in the same boot
  after.RestoreHistory(saved);
  ProbeResult c = Round(1101, 8, 5);  // +101 since the sample at 0, kept across the restart
  after.AfterRun(&profile, 1200, c);
  ASSERT_NE(FindFinding(c, "pcie_aer_correctable", "hca/mlx5_0/1"), nullptr)
      << testing::DescribeResult(c);
  const Finding* retrain = FindFinding(c, "pcie_link_retrained", "hca/mlx5_0/1");
  ASSERT_NE(retrain, nullptr) << testing::DescribeResult(c);  // the retrain at 600 s is in the hour

  // Without the restore, the fresh memory sees one sample and nothing.
  PcieHistory fresh;
  ProbeResult d = Round(1101, 8, 5);
  fresh.AfterRun(&profile, 1200, d);
  EXPECT_TRUE(d.findings.empty());
}

TEST(PcieHistoryTest, DamagedHistoryIsIgnored) {
  const Profile profile = PcieProfile(100, 3600);
  for (const std::string& text :
       {std::string(""), std::string("garbage"), std::string("pcie_health/1\n[links]\nx y z\n"),
        std::string("pcie_health/2\n[corrected]\n0000:18:00.0 0 0\n"),
        std::string("pcie_health/1\n[corrected]\n0000:18:00.0 nan 5\n0000:18:00.0 1 x\n")}) {
    PcieHistory memory;
    memory.RestoreHistory(text);
    ProbeResult r = Round(1000, 16, 5);
    memory.AfterRun(&profile, 10, r);
    EXPECT_TRUE(r.findings.empty()) << text;
  }
}

TEST(PcieHistoryTest, ErrorAndSkipResultsAreLeftAlone) {
  PcieHistory memory;
  const Profile profile = PcieProfile(0, 3600);
  ProbeResult a = Round(0, 16, 5);
  memory.AfterRun(&profile, 0, a);
  ProbeResult b = Round(50, 8, 5);
  b.verdict = ProbeVerdict::kError;
  memory.AfterRun(&profile, 60, b);
  EXPECT_TRUE(b.findings.empty());
}

}  // namespace
}  // namespace nodehealth
