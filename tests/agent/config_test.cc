#include "agent/config.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(ConfigTest, ReadsEveryKey) {
  Expected<Config> c = ParseConfig(R"(
profile = "azure-nd96isr-h100-v5"
nvml_library = "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"
topology_baseline = "/var/lib/nodehealth/topology.json"
[mpi_allreduce]
ranks = 8
[probes]
skip = ["gpu_xid"]
[probes.timeout_seconds]
gpu_health = 15
gpu_driver = 2.5
[actions]
gpu_clock_slowdown = "drain"
probe_error = "monitor"
)",
                                   "nodehealth.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->profile, "azure-nd96isr-h100-v5");
  EXPECT_EQ(c->topology_baseline, "/var/lib/nodehealth/topology.json");
  EXPECT_EQ(c->mpi_allreduce_ranks, 8);
  EXPECT_EQ(c->skip, std::vector<std::string>{"gpu_xid"});
  EXPECT_EQ(c->probe_timeout_seconds.at("gpu_health"), 15);
  EXPECT_EQ(c->probe_timeout_seconds.at("gpu_driver"), 2.5);
  EXPECT_EQ(c->action_overrides.at("gpu_clock_slowdown"), Action::kDrain);
  EXPECT_EQ(c->action_overrides.at("probe_error"), Action::kMonitor);
}

TEST(ConfigTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"[probes]\nskip = [\"gpu_magic\"]\n",
       "c.toml:2: \"probes.skip\": unknown probe \"gpu_magic\""},
      {"[actions]\ngpu_magic = \"drain\"\n", "c.toml:2: unknown finding code \"gpu_magic\""},
      {"[actions]\ngpu_xid = \"ignore\"\n",
       "c.toml:2: \"actions.gpu_xid\" must be one of none, monitor, drain, reset_gpu, reboot, "
       "replace"},
      {"[probes.timeout_seconds]\ngpu_health = 0\n",
       "c.toml:2: \"probes.timeout_seconds.gpu_health\" = 0 is outside 0.01..3600"},
      {"listen = \"0.0.0.0:9840\"\n", "c.toml:1: unknown key \"listen\""},
      {"[mpi_allreduce]\nranks = 0\n", "c.toml:2: \"mpi_allreduce.ranks\" = 0 is outside 1..4096"},
  };
  for (const auto& [text, error] : cases) {
    Expected<Config> c = ParseConfig(text, "c.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message, error);
  }
}

TEST(ConfigTest, MissingDefaultFileIsFineMissingExplicitFileIsNot) {
  EXPECT_TRUE(LoadConfig("/nonexistent/nodehealth.toml", /*optional=*/true).ok());
  Expected<Config> explicit_missing = LoadConfig("/nonexistent/nodehealth.toml", false);
  ASSERT_FALSE(explicit_missing.ok());
  EXPECT_EQ(explicit_missing.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace nodehealth
