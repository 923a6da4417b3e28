#include "probes/platform/sysfs_values.h"

#include <gtest/gtest.h>

namespace nodehealth::platform {
namespace {

TEST(ParseHexIdTest, ReadsSysfsIds) {
  EXPECT_EQ(*ParseHexId("0x10de\n"), 0x10deu);
  EXPECT_EQ(*ParseHexId("0x030200\n"), 0x030200u);
  EXPECT_EQ(*ParseHexId("0X15B3"), 0x15b3u);
}

TEST(ParseHexIdTest, RejectsWhatIsNotAnId) {
  for (const char* bad :
       {"", "\n", "10de", "0x", "0xzz", "0x10de garbage", "0x123456789", "-0x1"}) {
    Expected<uint32_t> id = ParseHexId(bad);
    EXPECT_FALSE(id.ok()) << bad;
  }
  EXPECT_NE(ParseHexId("0xzz0200\n").error().message.find("malformed hex id"), std::string::npos);
}

TEST(ParseDecimalTest, ReadsIntegersOnly) {
  EXPECT_EQ(*ParseDecimal("-1\n"), -1);
  EXPECT_EQ(*ParseDecimal("16\n"), 16);
  EXPECT_EQ(*ParseDecimal("+4"), 4);
  EXPECT_FALSE(ParseDecimal("sixteen\n").ok());
  EXPECT_FALSE(ParseDecimal("16x").ok());
  EXPECT_FALSE(ParseDecimal("").ok());
}

TEST(ParsePcieLinkSpeedTest, MapsEveryKernelFormToAGeneration) {
  EXPECT_EQ(**ParsePcieLinkSpeed("2.5 GT/s\n"), 1);
  EXPECT_EQ(**ParsePcieLinkSpeed("5.0 GT/s PCIe\n"), 2);
  EXPECT_EQ(**ParsePcieLinkSpeed("5 GT/s"), 2);
  EXPECT_EQ(**ParsePcieLinkSpeed("8.0 GT/s PCIe"), 3);
  EXPECT_EQ(**ParsePcieLinkSpeed("16.0 GT/s PCIe"), 4);
  EXPECT_EQ(**ParsePcieLinkSpeed("32.0 GT/s PCIe\n"), 5);
  EXPECT_EQ(**ParsePcieLinkSpeed("64.0 GT/s PCIe"), 6);
}

TEST(ParsePcieLinkSpeedTest, UnknownSpeedIsNoGenerationNotAnError) {
  Expected<std::optional<int>> speed = ParsePcieLinkSpeed("Unknown\n");
  ASSERT_TRUE(speed.ok());
  EXPECT_FALSE(speed->has_value());
  EXPECT_FALSE(ParsePcieLinkSpeed("Unknown speed").value().has_value());
}

TEST(ParsePcieLinkSpeedTest, RejectsGarbage) {
  for (const char* bad : {"", "32", "32 Gb/s", "3.0 GT/s", "32.0 GT/s PCIe extra", "GT/s"}) {
    EXPECT_FALSE(ParsePcieLinkSpeed(bad).ok()) << bad;
  }
}

TEST(CountCpuListTest, CountsRangesAndSingles) {
  EXPECT_EQ(*CountCpuList("0-95\n"), 96);
  EXPECT_EQ(*CountCpuList("0-3,8-11"), 8);
  EXPECT_EQ(*CountCpuList("5"), 1);
  EXPECT_EQ(*CountCpuList("0,2,4-5"), 4);
  EXPECT_FALSE(CountCpuList("").ok());
  EXPECT_FALSE(CountCpuList("3-1").ok());
  EXPECT_FALSE(CountCpuList("0-x").ok());
}

TEST(NormalizePciBusIdTest, AcceptsEveryFormNvidiaPrints) {
  EXPECT_EQ(*NormalizePciBusId("0000:19:00.0"), "0000:19:00.0");
  EXPECT_EQ(*NormalizePciBusId("00000000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(*NormalizePciBusId("0000:19:00"), "0000:19:00.0");  // kernel-log XID tag
  EXPECT_EQ(*NormalizePciBusId("19:00.0"), "0000:19:00.0");     // lspci without domain
  EXPECT_EQ(*NormalizePciBusId("0019:01:00"), "0019:01:00.0");  // GB200 domain
  EXPECT_EQ(*NormalizePciBusId("00010000:01:00.0"), "00010000:01:00.0");
}

TEST(NormalizePciBusIdTest, RejectsMalformedIds) {
  for (const char* bad : {"", "19", "0000:19", "0000:1900:00.0", "0000:19:00.8", "0000:19:20.0",
                          "g000:19:00.0", "0000:19:00.0.0", "::"}) {
    EXPECT_FALSE(NormalizePciBusId(bad).ok()) << bad;
  }
}

TEST(CompareDottedVersionsTest, ComparesNumerically) {
  EXPECT_EQ(*CompareDottedVersions("535.129.03", "535.129.3"), 0);
  EXPECT_EQ(*CompareDottedVersions("535.54.03", "535.129.03"), -1);
  EXPECT_EQ(*CompareDottedVersions("550.54.15", "535.161.08"), 1);
  EXPECT_EQ(*CompareDottedVersions("12.2", "12.2.0"), 0);
  EXPECT_EQ(*CompareDottedVersions("570.26", "570.124.06"), -1);
  EXPECT_FALSE(CompareDottedVersions("535.x", "535").ok());
  EXPECT_FALSE(CompareDottedVersions("", "1").ok());
  EXPECT_FALSE(CompareDottedVersions("1..2", "1").ok());
}

TEST(ParseProcBusPciDevicesTest, MapsAddressesToVendors) {
  // Lines as the kernel prints them (this VM's /proc/bus/pci/devices), plus a second PCI domain
  // reusing bus 0x19.
  auto table = ParseProcBusPciDevices(
      "0000\t80860d57\t0\t               0\t               0\n"
      "1900\t10de2330\t17\t    214042000000c\tnvidia\n"
      "1900\t15b31021\t18\t               0\tmlx5_core\n"
      "0008\t1af41045\t0\t      4000000004\tvirtio-pci\n");
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->size(), 3u);
  EXPECT_EQ(table->at("19:00.0"), (std::vector<uint32_t>{0x10de, 0x15b3}));
  EXPECT_EQ(table->at("00:01.0"), std::vector<uint32_t>{0x1af4});
  EXPECT_EQ(table->at("00:00.0"), std::vector<uint32_t>{0x8086});
}

TEST(ParseProcBusPciDevicesTest, AnythingElseIsNotThatFile) {
  EXPECT_TRUE(ParseProcBusPciDevices("")->empty());
  EXPECT_FALSE(ParseProcBusPciDevices("garbage\n").has_value());
  EXPECT_FALSE(ParseProcBusPciDevices("1900\t10de23z0\t0\n").has_value());
  EXPECT_FALSE(ParseProcBusPciDevices("19000\t10de2330\t0\n").has_value());
}

}  // namespace
}  // namespace nodehealth::platform
