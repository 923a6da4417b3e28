#include "probes/platform/pci_devices.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace nodehealth::platform {
namespace {

using nodehealth::testing::FixtureNode;

TEST(ScanPciDevicesTest, FindsTheEightH100sAndFourNvswitchesOfTheXe9680) {
  FixtureNode node("hgx-h100-xe9680.toml");
  Expected<PciScan> scan = ScanPciDevices(node.fs(), kPciVendorNvidia);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_EQ(scan->total_devices, 517);  // every function of the lspci -vvv capture
  EXPECT_TRUE(scan->unreadable.empty());
  std::vector<std::string> gpus;
  int switches = 0;
  for (const PciDevice& d : scan->devices) {
    if (IsDisplayController(d)) gpus.push_back(d.bus_id);
    if (d.device == 0x22a3) {
      ++switches;
      EXPECT_EQ(d.class_code, 0x068000u) << d.bus_id;  // a bridge, not a GPU
    }
  }
  EXPECT_EQ(gpus, (std::vector<std::string>{"0000:19:00.0", "0000:3b:00.0", "0000:4c:00.0",
                                            "0000:5d:00.0", "0000:9b:00.0", "0000:bb:00.0",
                                            "0000:cb:00.0", "0000:db:00.0"}));
  EXPECT_EQ(switches, 4);
  const PciDevice& first = scan->devices.front();
  EXPECT_EQ(first.bus_id, "0000:19:00.0");
  EXPECT_EQ(first.device, 0x2330u);
  EXPECT_EQ(first.numa_node, 0);
  EXPECT_EQ(first.current_link.generation, 5);
  EXPECT_EQ(first.current_link.width, 16);
  EXPECT_EQ(first.max_link.generation, 5);
  EXPECT_EQ(first.driver, "nvidia");
}

TEST(ScanPciDevicesTest, ReportsMalformedAndUnreadableValues) {
  FixtureNode node("bad-sysfs.toml");
  Expected<PciScan> scan = ScanPciDevices(node.fs(), kPciVendorNvidia);
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->unreadable.size(), 1u);
  EXPECT_NE(scan->unreadable[0].find("0000:00:1f.0/vendor"), std::string::npos);
  const PciDevice* garbled = nullptr;
  const PciDevice* width = nullptr;
  for (const PciDevice& d : scan->devices) {
    if (d.bus_id == "0000:53:00.0") garbled = &d;
    if (d.bus_id == "0000:64:00.0") width = &d;
  }
  ASSERT_NE(garbled, nullptr);
  EXPECT_EQ(garbled->class_code, 0u);
  EXPECT_FALSE(IsDisplayController(*garbled));
  ASSERT_FALSE(garbled->problems.empty());
  EXPECT_NE(garbled->problems.front().find("malformed hex id: \"0xzz0200"), std::string::npos);
  ASSERT_NE(width, nullptr);
  EXPECT_FALSE(width->current_link.width.has_value());
  ASSERT_EQ(width->problems.size(), 1u);
  EXPECT_NE(width->problems[0].find("current_link_width"), std::string::npos);
}

TEST(ScanPciDevicesTest, WithoutPciSysfsItIsAnErrorNotAnEmptyNode) {
  nodehealth::testing::TempDir empty;
  RootedFileSystem fs(empty.path());
  Expected<PciScan> scan = ScanPciDevices(fs, kPciVendorNvidia);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace nodehealth::platform
