#include "agent/config/profile_loader.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

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
      {"name = \"x\"\n[infiniband]\nrail_link_layers = [\"RoCE\"]\n",
       "bad.toml:3: \"infiniband.rail_link_layers\" items must be \"InfiniBand\" or \"Ethernet\""},
      {"name = \"x\"\n[infiniband.error_thresholds]\nsymbol_errors = 3\n",
       "bad.toml:3: unknown counter \"infiniband.error_thresholds.symbol_errors\" (names are the "
       "files of counters/, e.g. symbol_error)"},
      {"name = \"x\"\n[rdma_loopback]\ngpudirect = \"sometimes\"\n",
       "bad.toml:3: \"rdma_loopback.gpudirect\" must be \"auto\", \"off\" or \"required\""},
      {"name = \"x\"\n[rdma_loopback]\ndepth = 0\n",
       "bad.toml:3: \"rdma_loopback.depth\" = 0 is outside 1..8192"},
      {"name = \"x\"\n[rdma_loopback]\nbandwith_gbps_min = 390\n",
       "bad.toml:3: unknown key \"rdma_loopback.bandwith_gbps_min\""},
      {"name = \"x\"\n[node]\nmemory_kib = 0\n",
       "bad.toml:3: \"node.memory_kib\" = 0 is outside 1..1099511627776"},
      {"name = \"x\"\n[node]\nmemory_kib = 1915071.5\n",
       "bad.toml:3: \"node.memory_kib\" must be an integer"},
      {"name = \"x\"\n[node]\nmemory_tolerance_percent = 60\n",
       "bad.toml:3: \"node.memory_tolerance_percent\" = 60 is outside 0..50"},
      {"name = \"x\"\n[node]\nmemory_tolerance_percent = 5\n",
       "bad.toml:3: \"node.memory_tolerance_percent\" needs \"node.memory_kib\""},
      {"name = \"x\"\n[node]\ncpu_sockets = 0\n",
       "bad.toml:3: \"node.cpu_sockets\" = 0 is outside 1..1024"},
      {"name = \"x\"\n[node]\nmemory_gib = 2048\n", "bad.toml:3: unknown key \"node.memory_gib\""},
  };
  for (const BadProfile& c : cases) {
    Expected<Profile> p = ParseProfile(c.text, "bad.toml");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.error().message, c.error);
  }
}

TEST(ParseProfileTest, ReadsInfinibandAndRdmaLoopbackKeys) {
  Expected<Profile> p = ParseProfile(R"(
name = "roce"
[infiniband]
port_count = 8
rail_link_layers = ["InfiniBand", "Ethernet"]
link_flap_window_seconds = 3600
link_flap_down_events = 3
[infiniband.error_thresholds]
symbol_error = 100
port_xmit_wait = 1000000
[rdma_loopback]
bandwidth_gbps_min = 390
gpu_bandwidth_gbps_min = 380
message_bytes = 1048576
depth = 64
duration_seconds = 5
parallel = true
gpudirect = "required"
)",
                                     "roce.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->infiniband.rail_link_layers, (std::vector<std::string>{"InfiniBand", "Ethernet"}));
  EXPECT_EQ(p->infiniband.link_flap_window_seconds, 3600);
  EXPECT_EQ(p->infiniband.link_flap_down_events, 3);
  EXPECT_EQ(p->infiniband.error_thresholds.at("symbol_error"), 100u);
  EXPECT_EQ(p->infiniband.error_thresholds.at("port_xmit_wait"), 1000000u);
  EXPECT_EQ(p->rdma_loopback.bandwidth_gbps_min, 390);
  EXPECT_EQ(p->rdma_loopback.gpu_bandwidth_gbps_min, 380);
  EXPECT_EQ(p->rdma_loopback.message_bytes, 1048576u);
  EXPECT_EQ(p->rdma_loopback.depth, 64);
  EXPECT_EQ(p->rdma_loopback.duration_seconds, 5);
  EXPECT_TRUE(p->rdma_loopback.parallel);
  EXPECT_EQ(p->rdma_loopback.gpudirect, "required");
  // Defaults when the sections are absent.
  Expected<Profile> bare = ParseProfile("name = \"bare\"\n", "bare.toml");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->infiniband.rail_link_layers, std::vector<std::string>{"InfiniBand"});
  EXPECT_EQ(bare->infiniband.link_flap_window_seconds, 6 * 3600);
  EXPECT_EQ(bare->rdma_loopback.message_bytes, 8u << 20);
  EXPECT_EQ(bare->rdma_loopback.depth, 128);
  EXPECT_EQ(bare->rdma_loopback.gpudirect, "auto");
}

TEST(ParseProfileTest, ReadsPcieKeys) {
  Expected<Profile> p = ParseProfile(R"(
name = "pcie"
[pcie]
aer_window_seconds = 600
aer_correctable_max = 5
link_retrain_max = 2
)",
                                     "pcie.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->pcie.aer_window_seconds, 600);
  EXPECT_EQ(p->pcie.aer_correctable_max, 5);
  EXPECT_EQ(p->pcie.link_retrain_max, 2);
  Expected<Profile> bare = ParseProfile("name = \"bare\"\n", "bare.toml");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->pcie.aer_window_seconds, 3600);
  EXPECT_EQ(bare->pcie.aer_correctable_max, 100);
  EXPECT_EQ(bare->pcie.link_retrain_max, 0);
  const BadProfile cases[] = {
      {"name = \"x\"\n[pcie]\naer_window_seconds = 0\n",
       "bad.toml:3: \"pcie.aer_window_seconds\" = 0 is outside 1..2.592e+06"},
      {"name = \"x\"\n[pcie]\naer_correctable_max = -1\n",
       "bad.toml:3: \"pcie.aer_correctable_max\" = -1 is outside 0..1000000000"},
      {"name = \"x\"\n[pcie]\nlink_retrain_max = 1.5\n",
       "bad.toml:3: \"pcie.link_retrain_max\" must be an integer"},
      {"name = \"x\"\n[pcie]\naer_window = 60\n", "bad.toml:3: unknown key \"pcie.aer_window\""},
  };
  for (const BadProfile& c : cases) {
    Expected<Profile> bad = ParseProfile(c.text, "bad.toml");
    ASSERT_FALSE(bad.ok()) << c.text;
    EXPECT_EQ(bad.error().message, c.error);
  }
}

TEST(ParseProfileTest, ReadsNodeKeys) {
  Expected<Profile> p = ParseProfile(R"(
name = "sku"
[node]
memory_kib = 1961032704
memory_tolerance_percent = 2.5
cpu_sockets = 2
cpu_cores = 96
cpu_threads = 192
nvme_count = 8
)",
                                     "sku.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->node.memory_kib, 1961032704u);
  EXPECT_EQ(p->node.memory_tolerance_percent, 2.5);
  EXPECT_EQ(p->node.cpu_sockets, 2);
  EXPECT_EQ(p->node.cpu_cores, 96);
  EXPECT_EQ(p->node.cpu_threads, 192);
  EXPECT_EQ(p->node.nvme_count, 8);
  // Absent: nothing expected, and nhc-genconf's 3% once memory_kib is given.
  Expected<Profile> bare = ParseProfile("name = \"bare\"\n[node]\nmemory_kib = 1024\n", "b.toml");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(bare->node.memory_tolerance_percent, 3);
  EXPECT_FALSE(bare->node.cpu_sockets.has_value());
  EXPECT_FALSE(bare->node.nvme_count.has_value());
}

TEST(ParseProfileTest, ReadsTheGpuBurninTables) {
  Expected<Profile> p = ParseProfile(R"(
name = "gpu"
[gpu_bandwidth]
host_device_gigabytes_per_second_min = 48
peer_gigabytes_per_second_min = 335
device_gigabytes_per_second_min = 1200.5
copy_bytes = "512M"
iterations = 10
warn_margin_percent = 3
outlier_fraction = 0.5
required = true
[nccl_allreduce]
bus_gigabytes_per_second_min = 460.0
net_bus_gigabytes_per_second_min = 18
size_bytes = "16G"
iterations = 30
warmup = 2
required = true
)",
                                     "gpu.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->gpu_bandwidth.host_device_gigabytes_per_second_min, 48);
  EXPECT_EQ(p->gpu_bandwidth.peer_gigabytes_per_second_min, 335);
  EXPECT_EQ(p->gpu_bandwidth.device_gigabytes_per_second_min, 1200.5);
  EXPECT_EQ(p->gpu_bandwidth.copy_bytes, 512u << 20);
  EXPECT_EQ(p->gpu_bandwidth.iterations, 10);
  EXPECT_EQ(p->gpu_bandwidth.warn_margin_percent, 3);
  EXPECT_EQ(p->gpu_bandwidth.outlier_fraction, 0.5);
  EXPECT_TRUE(p->gpu_bandwidth.required);
  EXPECT_EQ(p->nccl_allreduce.bus_gigabytes_per_second_min, 460);
  EXPECT_EQ(p->nccl_allreduce.net_bus_gigabytes_per_second_min, 18);
  EXPECT_EQ(p->nccl_allreduce.size_bytes, 16ull << 30);
  EXPECT_EQ(p->nccl_allreduce.iterations, 30);
  EXPECT_EQ(p->nccl_allreduce.warmup, 2);
  EXPECT_TRUE(p->nccl_allreduce.required);

  EXPECT_EQ(ParseProfile("name = \"x\"\n[nccl_allreduce]\nsize_bytes = \"16K\"\n", "x.toml")
                .error()
                .message,
            "x.toml:3: \"nccl_allreduce.size_bytes\" must be a size of at least 1M such as "
            "\"256M\" or \"16G\"");
  EXPECT_EQ(
      ParseProfile("name = \"x\"\n[gpu_bandwidth]\npeer_gbps_min = 3\n", "x.toml").error().message,
      "x.toml:3: unknown key \"gpu_bandwidth.peer_gbps_min\"");
}

TEST(ParseProfileTest, ShippedAzureProfilesCarryNhcsGpuFloors) {
  const Profile h100 = testing::ShippedProfile("azure-nd96isr-h100-v5");
  EXPECT_EQ(h100.gpu_bandwidth.host_device_gigabytes_per_second_min, 48);
  EXPECT_EQ(h100.gpu_bandwidth.peer_gigabytes_per_second_min, 335);
  EXPECT_EQ(h100.nccl_allreduce.bus_gigabytes_per_second_min, 460);
  EXPECT_EQ(h100.nccl_allreduce.size_bytes, 16ull << 30);
  EXPECT_FALSE(h100.nccl_allreduce.net_bus_gigabytes_per_second_min.has_value());
  const Profile a100 = testing::ShippedProfile("azure-nd96asr-a100-v4");
  EXPECT_EQ(a100.gpu_bandwidth.peer_gigabytes_per_second_min, 235);
  EXPECT_EQ(a100.nccl_allreduce.size_bytes, 8ull << 30);
  EXPECT_EQ(a100.nccl_allreduce.net_bus_gigabytes_per_second_min, 18);
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
