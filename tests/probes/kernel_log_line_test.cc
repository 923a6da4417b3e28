#include "probes/kernel_log/kernel_log_line.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(KernelLogLineTest, RawKmsgRecord) {
  KernelLogLine l = ParseKernelLogLine("6,3973,227986636,-;IPv6: ADDRCONF(NETDEV_CHANGE): eth0");
  EXPECT_EQ(l.sequence, 3973u);
  EXPECT_EQ(l.monotonic_usec, 227986636u);
  EXPECT_EQ(l.level, 6);
  EXPECT_EQ(l.message, "IPv6: ADDRCONF(NETDEV_CHANGE): eth0");
}

TEST(KernelLogLineTest, KmsgRecordWithExtraFieldsAndFacility) {
  // Newer kernels append caller ids; the priority includes the facility (kern = 0, user = 8).
  KernelLogLine l =
      ParseKernelLogLine("12,1045,8011231,-,caller=T120;NVRM: Xid (PCI:0000:3b:00): 79");
  EXPECT_EQ(l.sequence, 1045u);
  EXPECT_EQ(l.level, 4);
  EXPECT_EQ(l.message, "NVRM: Xid (PCI:0000:3b:00): 79");
}

TEST(KernelLogLineTest, ContinuationLine) {
  KernelLogLine l = ParseKernelLogLine(" SUBSYSTEM=pci");
  EXPECT_TRUE(l.continuation);
}

TEST(KernelLogLineTest, DmesgMonotonic) {
  KernelLogLine l = ParseKernelLogLine("[  123.456789] nvidia 0000:19:00.0: enabling device");
  EXPECT_EQ(l.monotonic_usec, 123456789u);
  EXPECT_EQ(l.message, "nvidia 0000:19:00.0: enabling device");
}

TEST(KernelLogLineTest, DmesgCtime) {
  KernelLogLine l = ParseKernelLogLine(
      "[Sun Feb 23 16:24:18 2025] NVRM: Xid (PCI:0000:9b:00): 119, pid=2024380, name=nvidia-smi, "
      "x");
  EXPECT_EQ(l.wall_time, "Sun Feb 23 16:24:18 2025");
  EXPECT_EQ(l.message, "NVRM: Xid (PCI:0000:9b:00): 119, pid=2024380, name=nvidia-smi, x");
}

TEST(KernelLogLineTest, DmesgIsoAndDecode) {
  KernelLogLine iso =
      ParseKernelLogLine("2024-11-15T12:02:03,470068+00:00 NVRM: Xid (PCI:0000:19:00): 48, x");
  EXPECT_EQ(iso.wall_time, "2024-11-15T12:02:03,470068+00:00");
  EXPECT_EQ(iso.message, "NVRM: Xid (PCI:0000:19:00): 48, x");
  KernelLogLine decode = ParseKernelLogLine(
      "kern  :warn  : 2025-01-21T02:21:33,498559+00:00 NVRM: Xid (PCI:0000:38:00): 13, y");
  EXPECT_EQ(decode.level, 4);
  EXPECT_EQ(decode.wall_time, "2025-01-21T02:21:33,498559+00:00");
  EXPECT_EQ(decode.message, "NVRM: Xid (PCI:0000:38:00): 13, y");
}

TEST(KernelLogLineTest, JournalAndSyslog) {
  KernelLogLine journal = ParseKernelLogLine(
      "2025-01-02T15:20:12+0800 jmsph-pro-a800-77-123 kernel: docker0: port 1 entered disabled "
      "state");
  EXPECT_EQ(journal.wall_time, "2025-01-02T15:20:12+0800");
  EXPECT_EQ(journal.message, "docker0: port 1 entered disabled state");
  KernelLogLine syslog = ParseKernelLogLine(
      "Aug 17 06:18:01 vm-0 kernel: [ 4567.1] NVRM: Xid (PCI:0001:00:00): 79, GPU has fallen off "
      "the bus.");
  EXPECT_EQ(syslog.wall_time, "Aug 17 06:18:01");
  EXPECT_EQ(syslog.monotonic_usec, 4567100000u);
  EXPECT_EQ(syslog.message, "NVRM: Xid (PCI:0001:00:00): 79, GPU has fallen off the bus.");
  KernelLogLine padded = ParseKernelLogLine("Nov  5 01:02:03 host kernel: hello");
  EXPECT_EQ(padded.message, "hello");
}

TEST(KernelLogLineTest, AnythingElseIsABareMessage) {
  for (const char* line : {"", "NVRM: loading NVIDIA UNIX", "kern:", "[", "[abc] x", "6,1;x",
                           "pci 0000:19:00.0: BAR 0", "1,2,3,4"}) {
    KernelLogLine l = ParseKernelLogLine(line);
    EXPECT_FALSE(l.sequence.has_value()) << line;
    EXPECT_EQ(l.message, line);
  }
}

}  // namespace
}  // namespace nodehealth
