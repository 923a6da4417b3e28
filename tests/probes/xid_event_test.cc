#include "probes/kernel_log/xid_event.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(ParseXidMessageTest, CurrentFormatWithUnknownProcess) {
  auto e = ParseXidMessage(
      "NVRM: Xid (PCI:0000:19:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double "
      "bit error (DBE) has been detected on GPU in the framebuffer at physAddr 0x12bac1c3e0");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->bus_id, "0000:19:00.0");
  EXPECT_EQ(e->xid, 48);
  EXPECT_FALSE(e->pid.has_value());
  EXPECT_EQ(e->process, "");
  EXPECT_EQ(e->detail.substr(0, 30), "An uncorrectable double bit er");
}

TEST(ParseXidMessageTest, WithPidAndProcess) {
  auto e = ParseXidMessage(
      "NVRM: Xid (PCI:0000:9b:00): 119, pid=2024380, name=nvidia-smi, Timeout after 6s of waiting "
      "for RPC response from GPU4 GSP! Expected function 103 (GSP_RM_ALLOC) (0x2081 0x4).");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->bus_id, "0000:9b:00.0");
  EXPECT_EQ(e->xid, 119);
  EXPECT_EQ(e->pid, 2024380);
  EXPECT_EQ(e->process, "nvidia-smi");
  EXPECT_EQ(e->detail.substr(0, 13), "Timeout after");
}

TEST(ParseXidMessageTest, OldAndOtherFormats) {
  auto old = ParseXidMessage("NVRM: Xid (0000:01:00): 31, Ch 0000005a, intr 10000000. MMU Fault");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->bus_id, "0000:01:00.0");
  EXPECT_EQ(old->xid, 31);
  EXPECT_EQ(old->detail, "Ch 0000005a, intr 10000000. MMU Fault");
  auto function = ParseXidMessage(
      "NVRM: Xid (PCI:0000:b3:00.0): 79, pid=1234, name=python, GPU has fallen off the bus.");
  ASSERT_TRUE(function.has_value());
  EXPECT_EQ(function->bus_id, "0000:b3:00.0");
  auto domain = ParseXidMessage(
      "NVRM: Xid (PCI:0019:01:00): 149, pid=1, name=x, NETIR_LINK_EVT Fatal XC0 i0 Link 05");
  ASSERT_TRUE(domain.has_value());
  EXPECT_EQ(domain->bus_id, "0019:01:00.0");
  EXPECT_EQ(domain->xid, 149);
}

TEST(ParseXidMessageTest, FallenOffTheBusWithoutAnXid) {
  auto e = ParseXidMessage(
      "NVRM: The NVIDIA GPU 0000:b3:00.0 (PCI ID: 10de:26b5) installed in this system has fallen "
      "off the bus and is not responding to commands.");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->xid, 79);
  EXPECT_TRUE(e->fallen_off_bus_report);
  EXPECT_EQ(e->bus_id, "0000:b3:00.0");
  auto open = ParseXidMessage("NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.");
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->bus_id, "0000:3b:00.0");
  EXPECT_EQ(open->xid, 79);
}

TEST(ParseXidMessageTest, NotAnXid) {
  for (const char* message :
       {"", "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.90.07",
        "nvidia-nvswitch0: SXid (PCI:0000:05:00.0): 22013, Non-fatal, Link 32 DLREQ",
        "Xid (PCI:0000:19:00): 48", "NVRM: Xid (PCI:0000:19:00) 48",
        "NVRM: Xid (PCI:0000:19:00): x48", "NVRM: Xid (",
        "NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d"}) {
    EXPECT_FALSE(ParseXidMessage(message).has_value()) << message;
  }
}

TEST(ParseXidMessageTest, MissingPciTagKeepsTheXid) {
  auto e = ParseXidMessage("NVRM: Xid (garbage): 13, Graphics Exception");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->bus_id, "");
  EXPECT_EQ(e->xid, 13);
}

TEST(RecoveryActionTest, ReadsTheTargetOfXid154) {
  EXPECT_EQ(ParseRecoveryActionChange(
                "GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)"),
            1u);
  EXPECT_EQ(
      ParseRecoveryActionChange("GPU recovery action changed from 0x0 (None) to 0x2 (OS Reboot)"),
      2u);
  EXPECT_EQ(
      ParseRecoveryActionChange(
          "GPU recovery action changed from 0x1 (GPU Reset Required) to 0x4 (Drain and Reset)"),
      4u);
  EXPECT_FALSE(
      ParseRecoveryActionChange("GPU recovery action changed from 0x0 (None) to").has_value());
  EXPECT_FALSE(ParseRecoveryActionChange("something else").has_value());
}

TEST(NvlinkFatalTest, WholeWords) {
  EXPECT_EQ(ParseNvlinkFatal("NETIR_LINK_EVT Fatal XC0 i0 Link 05 (0x004505c6 ...)"), true);
  EXPECT_EQ(ParseNvlinkFatal("SAW_MVB Nonfatal XC0 i0 Link -1 (0x00000004 ...)"), false);
  EXPECT_EQ(ParseNvlinkFatal("RLW_RXPIPE NonFatal XC1"), false);
  EXPECT_FALSE(ParseNvlinkFatal("no severity here").has_value());
}

}  // namespace
}  // namespace nodehealth
