#include "agent/policy/kernel_xid_events.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/policy/report_support.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::agent {
namespace {

using nodehealth::testing::TempDir;

constexpr double kNow = 1'800'000'000;  // any fixed Unix time

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(KernelRecordTimeTest, MapsTimeSinceBootToUnixTime) {
  const KernelClock clock{kNow, 100'000.5};
  EXPECT_EQ(KernelRecordTime(99'000'500'000, clock), kNow - 1000);  // 1000 s ago
  EXPECT_EQ(KernelRecordTime(100'000'500'000, clock), kNow);        // logged just now
  EXPECT_EQ(KernelRecordTime(0, clock), kNow - 100'000.5);          // at boot
}

TEST(KernelRecordTimeTest, UnknownTimesCountAsNow) {
  EXPECT_EQ(KernelRecordTime(std::nullopt, KernelClock{kNow, 100.0}), kNow);      // text capture
  EXPECT_EQ(KernelRecordTime(5'000'000, KernelClock{kNow, std::nullopt}), kNow);  // no uptime
  // Past the uptime: the clocks disagree, so the record cannot be placed; "now" can only drain
  // sooner.
  EXPECT_EQ(KernelRecordTime(200'000'000, KernelClock{kNow, 100.0}), kNow);
}

TEST(ReadKernelXidEventsTest, EveryXidWithItsTimeSequenceAndGpu) {
  TempDir root;
  Write(root.path() + "/proc/uptime", "100000.00 190000.00\n");
  Write(root.path() + "/dev/kmsg",
        "6,1001,5000000,-;NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.183.01\n"
        "4,2001,99000000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=4242, name=python, Ch "
        "00000008, intr 00000000. MMU Fault: ENGINE GRAPHICS\n"
        " SUBSYSTEM=pci\n"  // a continuation line: not a record
        "4,2002,99900000000,-;NVRM: Xid (PCI:0000:64:00): 13, pid=4243, name=python, "
        "Graphics Exception\n"
        "3,2003,99990000000,-;NVRM: The NVIDIA GPU 0000:75:00.0 (PCI ID: 10de:2330) installed "
        "in this system has fallen off the bus and is not responding to commands.\n"
        "4,2004,99995000000,-;nvidia-nvswitch0: SXid (PCI:0000:05:00.0): 22013, Non-fatal\n");
  const platform::RootedFileSystem fs(root.path());
  const double before = UnixNow();
  Expected<std::vector<XidEventRecord>> events =
      ReadKernelXidEvents(fs, "boot-a", platform::Deadline::In(std::chrono::seconds(5)));
  const double after = UnixNow();
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 3u);
  const auto expect = [&](const XidEventRecord& e, int xid, const char* bus_id, uint64_t sequence,
                          double seconds_ago) {
    EXPECT_EQ(e.xid, xid);
    EXPECT_EQ(e.bus_id, bus_id);
    EXPECT_EQ(e.sequence, sequence);
    EXPECT_EQ(e.boot_id, "boot-a");
    EXPECT_GE(e.time, before - seconds_ago);
    EXPECT_LE(e.time, after - seconds_ago);
  };
  expect((*events)[0], 31, "0000:53:00.0", 2001, 1000);
  expect((*events)[1], 13, "0000:64:00.0", 2002, 100);
  expect((*events)[2], 79, "0000:75:00.0", 2003, 10);  // fallen off the bus, without an XID
}

TEST(ReadKernelXidEventsTest, WindowsCountOnlyRecentEvents) {
  // Three XID 31 on one GPU: two in the last 10 minutes, one two hours ago.
  TempDir root;
  Write(root.path() + "/proc/uptime", "100000.00 190000.00\n");
  Write(root.path() + "/dev/kmsg",
        "4,1,92800000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=1, name=a, MMU Fault\n"
        "4,2,99700000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=2, name=b, MMU Fault\n"
        "4,3,99800000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=3, name=c, MMU Fault\n");
  const platform::RootedFileSystem fs(root.path());
  Expected<std::vector<XidEventRecord>> events =
      ReadKernelXidEvents(fs, "", platform::Deadline::In(std::chrono::seconds(5)));
  ASSERT_TRUE(events) << events.error().message;
  DrainPolicyConfig config;
  config.xid_windows[31] = XidWindowRule{3, 600, Action::kDrain};
  EXPECT_TRUE(XidWindowReasons(config, *events, UnixNow()).empty());
  config.xid_windows[31] = XidWindowRule{2, 600, Action::kResetGpu};
  const std::vector<DrainReason> reasons = XidWindowReasons(config, *events, UnixNow());
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].code, "gpu_xid");
  EXPECT_EQ(reasons[0].entity, "gpu/0000:53:00.0");
  EXPECT_EQ(reasons[0].action, Action::kResetGpu);
  EXPECT_EQ(reasons[0].message,
            "XID 31 on GPU 0000:53:00.0 2 times in the last 600 s (drain at 2)");
}

TEST(ReadKernelClockTest, OnlyAFiniteUptimeCounts) {
  TempDir root;
  const platform::RootedFileSystem fs(root.path());
  EXPECT_EQ(ReadKernelClock(fs).uptime, std::nullopt);  // no /proc/uptime
  for (const auto& [text, uptime] :
       std::vector<std::pair<std::string, std::optional<double>>>{{"12345.67 890.12\n", 12345.67},
                                                                  {"0.00 0.00\n", 0.0},
                                                                  {"nan 1\n", std::nullopt},
                                                                  {"inf 1\n", std::nullopt},
                                                                  {"-5.0 1\n", std::nullopt},
                                                                  {"uptime\n", std::nullopt},
                                                                  {"", std::nullopt}}) {
    Write(root.path() + "/proc/uptime", text);
    EXPECT_EQ(ReadKernelClock(fs).uptime, uptime) << text;
  }
}

TEST(ReadKernelXidEventsTest, NoKernelLogIsAnError) {
  TempDir root;
  const platform::RootedFileSystem fs(root.path());
  Expected<std::vector<XidEventRecord>> events =
      ReadKernelXidEvents(fs, "", platform::Deadline::In(std::chrono::seconds(5)));
  ASSERT_FALSE(events);
  EXPECT_NE(events.error().message.find("kmsg"), std::string::npos) << events.error().message;
}

}  // namespace
}  // namespace nodehealth::agent
