// The PCIe kernel-log parser (kernel_log/pcie_events.h) and the sysfs AER statistics parser
// (pcie_health/aer_stats.h).
#include <gtest/gtest.h>

#include <string>

#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/pcie_events.h"
#include "probes/pcie_health/aer_stats.h"

namespace nodehealth::pcie {
namespace {

// ---- sysfs AER statistics ----

// node_exporter's real sysfs fixture (../shared/fixtures/peer/node_exporter/collector/fixtures/
// sys.ttar, sys/devices/pci0000:00/0000:00:02.1/0000:01:00.0/aer_dev_correctable): the short
// names of Linux 6.x aer.c.
constexpr std::string_view kNodeExporterCorrectable =
    "RxErr 0\nBadTLP 0\nBadDLLP 0\nRollover 0\nTimeout 0\nNonFatalErr 0\nCorrIntErr 0\n"
    "HeaderOF 0\nTOTAL_ERR_COR 0\n";

// procfs's fixture (../shared/fixtures/peer/procfs/testdata/fixtures.ttar,
// fixtures/sys/devices/pci0000:00/0000:00:1f.6/aer_dev_correctable): non-zero values, and a
// TOTAL that is not the sum of the kinds, as the ABI allows.
constexpr std::string_view kProcfsCorrectable =
    "RxErr 1\nBadTLP 2\nBadDLLP 3\nRollover 4\nTimeout 5\nNonFatalErr 6\nCorrIntErr 7\n"
    "HeaderOF 8\nTOTAL_ERR_COR 9\n";

TEST(AerStatsTest, ParsesNodeExporterFixture) {
  Expected<AerStats> stats = ParseAerStats(kNodeExporterCorrectable);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_EQ(stats->kinds.size(), 8u);
  EXPECT_EQ(stats->kinds[0].name, "RxErr");
  EXPECT_EQ(stats->kinds[7].name, "HeaderOF");
  EXPECT_EQ(stats->total_name, "TOTAL_ERR_COR");
  EXPECT_EQ(stats->total, 0u);
  EXPECT_EQ(DescribeNonZeroKinds(*stats), "");
}

TEST(AerStatsTest, ParsesProcfsNonZeroFixture) {
  Expected<AerStats> stats = ParseAerStats(kProcfsCorrectable);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->total, 9u);
  EXPECT_EQ(stats->kinds[4].name, "Timeout");
  EXPECT_EQ(stats->kinds[4].count, 5u);
  EXPECT_EQ(DescribeNonZeroKinds(*stats),
            "RxErr 1, BadTLP 2, BadDLLP 3, Rollover 4, Timeout 5, NonFatalErr 6, CorrIntErr 7, "
            "HeaderOF 8");
}

TEST(AerStatsTest, AcceptsUnnamedBitsAndOldLongNames) {
  // aer.c prints "dev_cor_errs_bit[%d] %llu" for a bit without a name that counted; kernels
  // 4.19-5.x printed long names with spaces ("Receiver Error"): split on the last space.
  Expected<AerStats> stats = ParseAerStats(
      "Receiver Error 2\nBad TLP 0\ndev_cor_errs_bit[3] 1\nRELAY_NUM Rollover 0\n"
      "TOTAL_ERR_COR 3\n");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_EQ(stats->kinds.size(), 4u);
  EXPECT_EQ(stats->kinds[0].name, "Receiver Error");
  EXPECT_EQ(stats->kinds[2].name, "dev_cor_errs_bit[3]");
  EXPECT_EQ(stats->kinds[2].count, 1u);
  EXPECT_EQ(stats->kinds[3].name, "RELAY_NUM Rollover");
  EXPECT_EQ(DescribeNonZeroKinds(*stats), "Receiver Error 2, dev_cor_errs_bit[3] 1");
}

TEST(AerStatsTest, ParsesTheFullU64Range) {
  Expected<AerStats> stats = ParseAerStats("TLP 18446744073709551615\nTOTAL_ERR_FATAL 1\n");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->kinds[0].count, UINT64_MAX);
  EXPECT_FALSE(ParseAerStats("TLP 18446744073709551616\nTOTAL_ERR_FATAL 1\n").ok());
}

TEST(AerStatsTest, RejectsWhatIsNotTheKernelFormat) {
  EXPECT_FALSE(ParseAerStats("").ok());                               // no TOTAL_ line
  EXPECT_FALSE(ParseAerStats("RxErr 0\nBadTLP 0\n").ok());            // no TOTAL_ line
  EXPECT_FALSE(ParseAerStats("RxErr -1\nTOTAL_ERR_COR 0\n").ok());    // negative
  EXPECT_FALSE(ParseAerStats("RxErr 0x10\nTOTAL_ERR_COR 0\n").ok());  // not decimal
  EXPECT_FALSE(ParseAerStats("RxErr\nTOTAL_ERR_COR 0\n").ok());       // no count
  EXPECT_FALSE(ParseAerStats(" 5\nTOTAL_ERR_COR 0\n").ok());          // no name
  EXPECT_FALSE(ParseAerStats("TOTAL_ERR_COR 0\nRxErr 0\n").ok());     // after TOTAL
  EXPECT_FALSE(ParseAerStats(std::string("Rx\x01Err 0\nTOTAL_ERR_COR 0\n")).ok());
  EXPECT_FALSE(ParseAerStats(std::string(100, 'A') + " 0\nTOTAL_ERR_COR 0\n").ok());
  Expected<AerStats> garbage = ParseAerStats(
      "\x7f"
      "ELF\x02\x01\x01");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("not \"<name> <count>\""), std::string::npos)
      << garbage.error().message;
}

TEST(AerStatsTest, TenThousandLinesAreRejectedNotParsed) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "RxErr " + std::to_string(i) + "\n";
  text += "TOTAL_ERR_COR 1\n";
  Expected<AerStats> stats = ParseAerStats(text);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().message, "more than 128 lines");
}

TEST(AerStatsTest, RootportTotalIsOneNumber) {
  // procfs fixtures.ttar, fixtures/sys/devices/pci0000:00/0000:00:03.0/aer_rootport_total_err_cor.
  EXPECT_EQ(*ParseAerRootportTotal("0\n"), 0u);
  EXPECT_EQ(*ParseAerRootportTotal("42\n"), 42u);
  EXPECT_FALSE(ParseAerRootportTotal("").ok());
  EXPECT_FALSE(ParseAerRootportTotal("-1\n").ok());
  EXPECT_FALSE(ParseAerRootportTotal("4 2\n").ok());
}

// ---- kernel log ----

TEST(PcieEventsTest, RootPortLineNewAndOldForms) {
  // 6.0+: "%s%s error message received from %04x:%02x:%02x.%d".
  auto e = ParsePcieLogEvent(
      "pcieport 0000:00:01.0: AER: Corrected error message received from 0000:01:00.0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kAerReceived);
  EXPECT_EQ(e->device, "0000:00:01.0");
  EXPECT_EQ(e->source, "0000:01:00.0");
  EXPECT_EQ(e->severity, AerSeverity::kCorrected);
  EXPECT_FALSE(e->multiple);
  // Before: "%s%s error received: %04x:%02x:%02x.%d".
  e = ParsePcieLogEvent(
      "pcieport 0000:00:01.0: AER: Multiple Uncorrected (Non-Fatal) error received: "
      "0000:01:00.0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kAerReceived);
  EXPECT_EQ(e->severity, AerSeverity::kNonFatal);
  EXPECT_TRUE(e->multiple);
  EXPECT_EQ(e->source, "0000:01:00.0");
  e = ParsePcieLogEvent(
      "pcieport 0000:c0:01.1: AER: Uncorrected (Fatal) error message received from 0000:C1:00.0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->severity, AerSeverity::kFatal);
  EXPECT_EQ(e->source, "0000:c1:00.0");
}

TEST(PcieEventsTest, BusErrorLineBothSpellings) {
  auto e = ParsePcieLogEvent(
      "nvidia 0000:1b:00.0: AER: PCIe Bus Error: severity=Corrected, type=Physical Layer, "
      "(Receiver ID)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kAerBusError);
  EXPECT_EQ(e->device, "0000:1b:00.0");
  EXPECT_EQ(e->severity, AerSeverity::kCorrected);
  // The newer mainline spelling.
  e = ParsePcieLogEvent(
      "nvidia 0000:1b:00.0: AER: PCIe Bus Error: severity=Uncorrectable (Non-Fatal), "
      "type=Transaction Layer, (Requester ID)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->severity, AerSeverity::kNonFatal);
  e = ParsePcieLogEvent(
      "nvme 0000:18:00.0: AER: PCIe Bus Error: severity=Correctable, type=Data Link Layer, "
      "(Transmitter ID)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->severity, AerSeverity::kCorrected);
  e = ParsePcieLogEvent(
      "pcieport 0000:00:03.0: AER: PCIe Bus Error: severity=Uncorrected (Fatal), "
      "type=Inaccessible, (Unregistered Agent ID)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->severity, AerSeverity::kFatal);
  // Kernels before 5.0 had no "AER: " prefix.
  e = ParsePcieLogEvent(
      "pcieport 0000:00:03.0: PCIe Bus Error: severity=Corrected, type=Physical Layer, "
      "(Receiver ID)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kAerBusError);
}

TEST(PcieEventsTest, ErrorBitLines) {
  // "   [%2d] %-22s%s": the name padded to 22 columns, then " (First)" or nothing.
  auto e = ParsePcieLogEvent("nvidia 0000:3b:00.0: AER:    [ 0] RxErr                  (First)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kAerErrorBit);
  EXPECT_EQ(e->bit, 0);
  EXPECT_EQ(e->name, "RxErr");
  e = ParsePcieLogEvent("nvidia 0000:3b:00.0: AER:    [14] CmpltTO                ");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->bit, 14);
  EXPECT_EQ(e->name, "CmpltTO");
  e = ParsePcieLogEvent("nvidia 0000:3b:00.0: AER:    [31] Unknown Error Bit      (First)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "Unknown Error Bit");
  EXPECT_FALSE(ParsePcieLogEvent("nvidia 0000:3b:00.0: AER:    [32] RxErr"));
  EXPECT_FALSE(ParsePcieLogEvent("nvidia 0000:3b:00.0: AER:    [] RxErr"));
  // The status line between them is not an event.
  EXPECT_FALSE(ParsePcieLogEvent(
      "nvidia 0000:3b:00.0: AER:   device [10de:2330] error status/mask=00000001/00002000"));
}

TEST(PcieEventsTest, PciehpLinkDownAndUp) {
  auto e = ParsePcieLogEvent("pcieport 0000:17:00.0: pciehp: Slot(18): Link Down");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kLinkDown);
  EXPECT_EQ(e->device, "0000:17:00.0");
  EXPECT_EQ(e->name, "18");
  e = ParsePcieLogEvent("pcieport 0000:17:00.0: pciehp: Slot(18): Link Up");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kLinkUp);
  e = ParsePcieLogEvent("pcieport 0000:17:00.0: Slot(2-1): Link Down");  // no dev_fmt prefix
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "2-1");
  EXPECT_FALSE(ParsePcieLogEvent("pcieport 0000:17:00.0: pciehp: Slot(18): Card present"));
}

TEST(PcieEventsTest, WorksBehindEveryKernelLogPrefix) {
  const KernelLogLine line =
      ParseKernelLogLine("4,2291,4200118877,-;pcieport 0000:17:00.0: pciehp: Slot(18): Link Down");
  auto e = ParsePcieLogEvent(line.message);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, PcieLogKind::kLinkDown);
  const KernelLogLine dmesg = ParseKernelLogLine(
      "[ 3000.250010] nvidia 0000:3b:00.0: AER: PCIe Bus Error: severity=Corrected, "
      "type=Physical Layer, (Receiver ID)");
  ASSERT_TRUE(ParsePcieLogEvent(dmesg.message));
}

TEST(PcieEventsTest, GarbageAndLookalikesAreNotEvents) {
  EXPECT_FALSE(ParsePcieLogEvent(""));
  EXPECT_FALSE(ParsePcieLogEvent("AER: Corrected error message received from 0000:01:00.0"));
  EXPECT_FALSE(ParsePcieLogEvent(
      "pcieport 0000:00:01: AER: Corrected error message received from 0000:01:00.0"));
  EXPECT_FALSE(ParsePcieLogEvent(
      "pcieport 0000:00:01.0: AER: Corrected error message received from nowhere"));
  EXPECT_FALSE(ParsePcieLogEvent(
      "pcieport 0000:00:01.0: AER: Sometimes error message received from 0000:01:00.0"));
  EXPECT_FALSE(ParsePcieLogEvent(
      "pcieport 0000:00:01.0: AER: PCIe Bus Error: severity=Unknown, type=Physical Layer"));
  EXPECT_FALSE(ParsePcieLogEvent("mlx5_core 0000:18:00.0 ib0: Link down"));
  EXPECT_FALSE(ParsePcieLogEvent("NVRM: Xid (PCI:0000:19:00): 79, GPU has fallen off the bus."));
  EXPECT_FALSE(ParsePcieLogEvent(std::string("x 0000:00:01.0: AER: \xff\xfe\x00 junk", 30)));
  EXPECT_FALSE(ParsePcieLogEvent("pcieport 0000:17:00.0: pciehp: Slot(: Link Down"));
}

TEST(PcieEventsTest, HugeLinesAreRejected) {
  std::string line =
      "pcieport 0000:00:01.0: AER: Corrected error message received from 0000:01:00.0";
  line += std::string(1 << 20, ' ');
  EXPECT_FALSE(ParsePcieLogEvent(line));
  std::string name = "nvidia 0000:3b:00.0: AER:    [ 0] " + std::string(3000, 'A');
  EXPECT_FALSE(ParsePcieLogEvent(name));  // a 3000-character error name is no error name
}

}  // namespace
}  // namespace nodehealth::pcie
