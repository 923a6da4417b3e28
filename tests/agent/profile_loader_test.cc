#include "agent/profile_loader.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(ParseProfileTest, ReadsEveryKey) {
  Expected<Profile> p = ParseProfile(R"(
name = "test-node"
description = "a test"
sources = ["here", "there"]
[match]
dmi_sys_vendor = "Microsoft Corporation"
dmi_product_name = ["Virtual Machine", "VM*"]
cpu_count = 96
gpu_pci_device_ids = ["0x2330", 0x2335]
infiniband = true
[gpu]
count = 8
model = "H100"
driver_version_min = "535.129.03"
driver_version_max = "580.999"
cuda_version_min = "12.2"
pcie_generation = 5
pcie_width = 16
nvlink_count = 18
fabric_manager = true
ecc_uncorrectable_max = 0
temperature_max_celsius = 85
[infiniband]
port_count = 8
rate_gbps = 400
[topology]
numa_nodes = 2
)",
                                     "test.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->name, "test-node");
  EXPECT_EQ(p->sources.size(), 2u);
  EXPECT_EQ(p->match.dmi_sys_vendor, std::vector<std::string>{"Microsoft Corporation"});
  EXPECT_EQ(p->match.dmi_product_name.size(), 2u);
  EXPECT_EQ(p->match.cpu_count, 96);
  EXPECT_EQ(p->match.gpu_pci_device_ids, (std::vector<uint32_t>{0x2330, 0x2335}));
  EXPECT_EQ(p->match.infiniband, true);
  EXPECT_EQ(p->gpu.count, 8);
  EXPECT_EQ(p->gpu.model, "H100");
  EXPECT_EQ(p->gpu.driver_version_min, "535.129.03");
  EXPECT_EQ(p->gpu.cuda_version_min, "12.2");
  EXPECT_EQ(p->gpu.pcie_generation, 5);
  EXPECT_EQ(p->gpu.nvlink_count, 18);
  EXPECT_EQ(p->gpu.fabric_manager, true);
  EXPECT_EQ(p->gpu.ecc_uncorrectable_max, 0);
  EXPECT_EQ(p->gpu.temperature_max_celsius, 85);
  EXPECT_EQ(p->infiniband.port_count, 8);
  EXPECT_EQ(p->infiniband.rate_gbps, 400.0);
  EXPECT_EQ(p->topology.numa_nodes, 2);
  EXPECT_EQ(p->path, "test.toml");
}

struct BadProfile {
  const char* text;
  const char* error;  // exact message
};

TEST(ParseProfileTest, ErrorsNameTheLineAndTheKey) {
  const BadProfile cases[] = {
      {"name = \"x\"\n[gpu]\ncuont = 8\n", "bad.toml:3: unknown key \"gpu.cuont\""},
      {"name = \"x\"\n[gpu]\ncount = \"eight\"\n", "bad.toml:3: \"gpu.count\" must be an integer"},
      {"name = \"x\"\n[gpu]\ncount = 800\n", "bad.toml:3: \"gpu.count\" = 800 is outside 0..64"},
      {"name = \"x\"\n[gpu]\ndriver_version_min = \"R535\"\n",
       "bad.toml:3: \"gpu.driver_version_min\" = \"R535\" is not a dotted numeric version"},
      {"name = \"x\"\n[match]\ngpu_pci_device_ids = [\"2330\"]\n",
       "bad.toml:3: \"match.gpu_pci_device_ids\" items must look like \"0x2330\""},
      {"name = \"x\"\ngpu = 8\n", "bad.toml:2: \"gpu\" must be a table ([gpu])"},
      {"description = \"no name\"\n", "bad.toml:1: missing required key \"name\""},
      {"name = \"Has Spaces\"\n",
       "bad.toml:1: name \"Has Spaces\" may use only a-z, 0-9, '-', '_' and '.'"},
      {"name = \"x\"\n[infiniband]\nrate_gbps = nan\n",
       "bad.toml:3: \"infiniband.rate_gbps\" = nan is outside 1..10000"},
  };
  for (const BadProfile& c : cases) {
    Expected<Profile> p = ParseProfile(c.text, "bad.toml");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.error().message, c.error);
  }
}

TEST(ParseProfileTest, TomlSyntaxErrorsNameTheLine) {
  Expected<Profile> p = ParseProfile("name = \"x\"\n[gpu\ncount = 8\n", "broken.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.substr(0, 14), "broken.toml:2:");
}

TEST(LoadProfileFileTest, MissingFile) {
  Expected<Profile> p = LoadProfileFile("/nonexistent/profile.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message,
            "cannot open profile /nonexistent/profile.toml: No such file or directory");
}

}  // namespace
}  // namespace nodehealth
