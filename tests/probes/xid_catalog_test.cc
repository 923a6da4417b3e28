#include "probes/kernel_log/xid_catalog.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(XidCatalogTest, HoldsNvidiasCatalogue) {
  const XidCatalogEntry* dbe = FindXid(48);
  ASSERT_NE(dbe, nullptr);
  EXPECT_EQ(dbe->mnemonic, "ROBUST_CHANNEL_GPU_ECC_DBE");
  EXPECT_EQ(dbe->immediate, XidBucket::kWorkflowXid48);
  EXPECT_TRUE(dbe->applies_h100);
  EXPECT_EQ(FindXid(79)->immediate, XidBucket::kRestartBareMetal);
  EXPECT_EQ(FindXid(13)->investigatory, "WORKFLOW_XID_13");
  EXPECT_NE(FindXid(172), nullptr);
  EXPECT_EQ(FindXid(9999), nullptr);
}

struct Case {
  int xid;
  Action action;
};

TEST(ClassifyXidTest, ApplicationFaultsDoNotDrain) {
  for (const Case c :
       {Case{13, Action::kMonitor}, Case{31, Action::kMonitor}, Case{43, Action::kNone},
        Case{94, Action::kMonitor}, Case{63, Action::kNone}}) {
    EXPECT_EQ(ClassifyXid(c.xid, "", true).action, c.action) << c.xid;
  }
}

TEST(ClassifyXidTest, HardwareXidsFollowTheCatalogue) {
  for (const Case c :
       {Case{48, Action::kResetGpu}, Case{62, Action::kResetGpu}, Case{64, Action::kResetGpu},
        Case{74, Action::kResetGpu}, Case{79, Action::kReboot}, Case{95, Action::kResetGpu},
        Case{109, Action::kResetGpu}, Case{119, Action::kResetGpu}, Case{120, Action::kResetGpu},
        Case{151, Action::kReboot}, Case{54, Action::kDrain}, Case{61, Action::kDrain},
        Case{171, Action::kDrain}, Case{500, Action::kDrain}}) {
    EXPECT_EQ(ClassifyXid(c.xid, "", true).action, c.action) << c.xid;
  }
}

TEST(ClassifyXidTest, MessageDependentXids) {
  EXPECT_EQ(
      ClassifyXid(154, "GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)",
                  true)
          .action,
      Action::kReboot);
  EXPECT_EQ(
      ClassifyXid(154, "GPU recovery action changed from 0x1 (GPU Reset Required) to 0x0 (None)",
                  true)
          .action,
      Action::kNone);
  EXPECT_EQ(ClassifyXid(154, "garbled", true).action, Action::kDrain);
  EXPECT_EQ(ClassifyXid(149, "NETIR_LINK_EVT Fatal XC0", true).action, Action::kResetGpu);
  EXPECT_EQ(ClassifyXid(145, "RLW_RXPIPE Nonfatal XC0", true).action, Action::kMonitor);
  EXPECT_EQ(ClassifyXid(45, "", /*solo=*/true).action, Action::kDrain);
  EXPECT_EQ(ClassifyXid(45, "", /*solo=*/false).action, Action::kNone);
  EXPECT_EQ(ClassifyXid(48, "", false).reason,
            "double-bit ECC error with row remapping: drain and reset the GPU");
}

}  // namespace
}  // namespace nodehealth
