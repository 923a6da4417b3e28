#include "agent/config/config.h"

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

TEST(ConfigTest, ReadsAgentAndDrainKeys) {
  Expected<Config> c = ParseConfig(R"(
state_dir = "/var/lib/nodehealth"
[agent]
listen = "127.0.0.1:9841"
interval_seconds = 30
jitter = 0.25
active_probes = ["rdma_loopback", "mpi_allreduce"]
active_interval_seconds = 43200
http_threads = 4
[drain]
noisy_rounds = 5
history_seconds = 86400
[drain.codes.ib_port_errors]
action = "drain"
rounds = 2
[drain.codes.gpu_lost]
sticky = false
[drain.codes.topology_mismatch]
[drain.xid.31]
count = 10
window_seconds = 3600
action = "reset_gpu"
[drain.xid.13]
count = 3
)",
                                   "nodehealth.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state_dir, "/var/lib/nodehealth");
  EXPECT_EQ(c->agent.listen, "127.0.0.1:9841");
  EXPECT_EQ(c->agent.interval_seconds, 30);
  EXPECT_EQ(c->agent.jitter_fraction, 0.25);
  EXPECT_EQ(c->agent.active_probes, (std::vector<std::string>{"rdma_loopback", "mpi_allreduce"}));
  EXPECT_EQ(c->agent.active_interval_seconds, 43200);
  EXPECT_EQ(c->agent.http_threads, 4);
  EXPECT_EQ(c->drain.noisy_rounds, 5);
  EXPECT_EQ(c->drain.history_seconds, 86400);
  ASSERT_EQ(c->drain.codes.size(), 3u);
  EXPECT_EQ(c->drain.codes.at("ib_port_errors"),
            (agent::CodeRule{Action::kDrain, 2, std::nullopt}));
  EXPECT_EQ(c->drain.codes.at("gpu_lost"), (agent::CodeRule{std::nullopt, std::nullopt, false}));
  EXPECT_EQ(c->drain.codes.at("topology_mismatch"), agent::CodeRule{});
  ASSERT_EQ(c->drain.xid_windows.size(), 2u);
  EXPECT_EQ(c->drain.xid_windows.at(31), (agent::XidWindowRule{10, 3600, Action::kResetGpu}));
  EXPECT_EQ(c->drain.xid_windows.at(13), (agent::XidWindowRule{3, 3600, Action::kDrain}));
}

TEST(ConfigTest, AgentAndDrainDefaults) {
  Expected<Config> c = ParseConfig("", "nodehealth.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->state_dir);
  EXPECT_FALSE(c->agent.listen);
  EXPECT_FALSE(c->agent.interval_seconds);
  EXPECT_TRUE(c->agent.active_probes.empty());
  EXPECT_EQ(c->drain, agent::DrainPolicyConfig{});
}

TEST(ConfigTest, AgentAndDrainErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"state_dir = 3\n", "c.toml:1: \"state_dir\" must be a string"},
      {"[agent]\nlisten = 9840\n", "c.toml:2: \"agent.listen\" must be a string"},
      {"[agent]\nport = 9840\n", "c.toml:2: unknown key \"agent.port\""},
      {"[agent]\ninterval_seconds = 0.5\n",
       "c.toml:2: \"agent.interval_seconds\" = 0.5 is outside 1..86400"},
      {"[agent]\njitter = 0.6\n", "c.toml:2: \"agent.jitter\" = 0.6 is outside 0..0.5"},
      {"[agent]\nactive_probes = [\"rdma_magic\"]\n",
       "c.toml:2: \"agent.active_probes\": unknown probe \"rdma_magic\""},
      {"[agent]\nactive_probes = [\"gpu_health\"]\n",
       "c.toml:2: \"agent.active_probes\": \"gpu_health\" is not an active probe"},
      {"[agent]\nactive_interval_seconds = 59\n",
       "c.toml:2: \"agent.active_interval_seconds\" = 59 is outside 60..2.592e+06"},
      {"[agent]\nhttp_threads = 65\n", "c.toml:2: \"agent.http_threads\" = 65 is outside 1..64"},
      {"[agent]\nhttp_threads = 2.0\n", "c.toml:2: \"agent.http_threads\" must be an integer"},
      {"[drain]\nnoisy_rounds = 0\n", "c.toml:2: \"drain.noisy_rounds\" = 0 is outside 1..1000"},
      {"[drain]\nhistory_seconds = 10\n",
       "c.toml:2: \"drain.history_seconds\" = 10 is outside 60..3.16224e+07"},
      {"[drain]\nhistory = 10\n", "c.toml:2: unknown key \"drain.history\""},
      {"[drain.codes.gpu_magic]\nrounds = 2\n", "c.toml:1: unknown finding code \"gpu_magic\""},
      {"[drain.codes.gpu_xid]\naction = \"ignore\"\n",
       "c.toml:2: \"drain.codes.gpu_xid.action\" must be one of none, monitor, drain, reset_gpu, "
       "reboot, replace"},
      {"[drain.codes.gpu_xid]\nrounds = 1001\n",
       "c.toml:2: \"drain.codes.gpu_xid.rounds\" = 1001 is outside 1..1000"},
      {"[drain.codes.gpu_xid]\nsticky = \"yes\"\n",
       "c.toml:2: \"drain.codes.gpu_xid.sticky\" must be true or false"},
      {"[drain.codes.gpu_xid]\nwindow = 1\n",
       "c.toml:2: unknown key \"drain.codes.gpu_xid.window\""},
      {"[drain.codes]\ngpu_xid = \"drain\"\n",
       "c.toml:2: \"drain.codes.gpu_xid\" must be a table ([drain.codes.gpu_xid])"},
      {"[drain.xid.abc]\ncount = 2\n",
       "c.toml:1: \"drain.xid.abc\": \"abc\" is not an XID number (1..1000)"},
      {"[drain.xid.1001]\ncount = 2\n",
       "c.toml:1: \"drain.xid.1001\": \"1001\" is not an XID number (1..1000)"},
      {"[drain.xid.0]\ncount = 2\n",
       "c.toml:1: \"drain.xid.0\": \"0\" is not an XID number (1..1000)"},
      {"[drain.xid.31]\ncount = 0\n", "c.toml:2: \"drain.xid.31.count\" = 0 is outside 1..100000"},
      {"[drain.xid.31]\ncount = 2\nwindow_seconds = 0\n",
       "c.toml:3: \"drain.xid.31.window_seconds\" = 0 is outside 1..2.592e+06"},
      {"[drain.xid.31]\ncount = 2\naction = \"later\"\n",
       "c.toml:3: \"drain.xid.31.action\" must be one of none, monitor, drain, reset_gpu, reboot, "
       "replace"},
      {"[drain.xid.31]\nwindow_seconds = 60\n", "c.toml:1: \"drain.xid.31\" needs a count"},
      {"[drain.xid.31]\ncount = 2\nwindow = 60\n", "c.toml:3: unknown key \"drain.xid.31.window\""},
      {"[drain]\nhistory_seconds = 600\n[drain.xid.31]\ncount = 2\nwindow_seconds = 601\n",
       "c.toml:5: \"drain.xid.31.window_seconds\" is longer than \"drain.history_seconds\""},
      {"[drain]\nhistory_seconds = 600\n[drain.xid.31]\ncount = 2\n",
       "c.toml:3: \"drain.xid.31.window_seconds\" is longer than \"drain.history_seconds\""},
  };
  for (const auto& [text, error] : cases) {
    Expected<Config> c = ParseConfig(text, "c.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message, error) << text;
  }
}

TEST(ConfigTest, ReadsSlurmKeys) {
  Expected<Config> c = ParseConfig(R"(
[slurm]
scontrol = "/opt/slurm/bin/scontrol"
slurm_conf = "/etc/slurm/slurm.conf"
agent_url = "http://127.0.0.1:9841"
agent_timeout_seconds = 2.5
fallback = "none"
check_timeout_seconds = 20
max_drained_fraction = 0.25
max_drained_nodes = 4
)",
                                   "nodehealth.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->slurm.scontrol, "/opt/slurm/bin/scontrol");
  EXPECT_EQ(c->slurm.slurm_conf, "/etc/slurm/slurm.conf");
  EXPECT_EQ(c->slurm.agent_url, "http://127.0.0.1:9841");
  EXPECT_EQ(c->slurm.agent_timeout_seconds, 2.5);
  EXPECT_EQ(c->slurm.fallback, "none");
  EXPECT_EQ(c->slurm.check_timeout_seconds, 20);
  EXPECT_EQ(c->slurm.max_drained_fraction, 0.25);
  EXPECT_EQ(c->slurm.max_drained_nodes, 4);
}

TEST(ConfigTest, SlurmDefaultsAndLimits) {
  Expected<Config> c = ParseConfig("", "nodehealth.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->slurm.scontrol);
  EXPECT_FALSE(c->slurm.slurm_conf);
  EXPECT_FALSE(c->slurm.agent_url);
  EXPECT_EQ(c->slurm.agent_timeout_seconds, 5);
  EXPECT_EQ(c->slurm.fallback, "check");
  EXPECT_EQ(c->slurm.check_timeout_seconds, 30);
  EXPECT_EQ(c->slurm.max_drained_fraction, 0.1);
  EXPECT_EQ(c->slurm.max_drained_nodes, 0);

  // The ends of every range are allowed; an integer works where a number is expected.
  Expected<Config> edges = ParseConfig(R"(
[slurm]
agent_timeout_seconds = 0.1
fallback = "check"
check_timeout_seconds = 30
max_drained_fraction = 1
max_drained_nodes = 0
)",
                                       "nodehealth.toml");
  ASSERT_TRUE(edges.ok()) << edges.error().message;
  EXPECT_EQ(edges->slurm.agent_timeout_seconds, 0.1);
  EXPECT_EQ(edges->slurm.fallback, "check");
  EXPECT_EQ(edges->slurm.check_timeout_seconds, 30);
  EXPECT_EQ(edges->slurm.max_drained_fraction, 1.0);
  EXPECT_EQ(edges->slurm.max_drained_nodes, 0);

  Expected<Config> other_edges = ParseConfig(
      "[slurm]\nagent_timeout_seconds = 10\ncheck_timeout_seconds = 1\n"
      "max_drained_fraction = 0.001\nmax_drained_nodes = 1000000\n",
      "nodehealth.toml");
  ASSERT_TRUE(other_edges.ok()) << other_edges.error().message;
  EXPECT_EQ(other_edges->slurm.agent_timeout_seconds, 10);
  EXPECT_EQ(other_edges->slurm.check_timeout_seconds, 1);
  EXPECT_EQ(other_edges->slurm.max_drained_fraction, 0.001);
  EXPECT_EQ(other_edges->slurm.max_drained_nodes, 1000000);
}

TEST(ConfigTest, SlurmErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"[slurm]\nfallback = \"maybe\"\n",
       "c.toml:2: \"slurm.fallback\" must be \"check\" or \"none\""},
      {"[slurm]\nfallback = \"\"\n", "c.toml:2: \"slurm.fallback\" must be \"check\" or \"none\""},
      {"[slurm]\nfallback = false\n", "c.toml:2: \"slurm.fallback\" must be a string"},
      {"[slurm]\nmax_drained_fraction = 0\n",
       "c.toml:2: \"slurm.max_drained_fraction\" must be above 0"},
      {"[slurm]\nmax_drained_fraction = 0.0\n",
       "c.toml:2: \"slurm.max_drained_fraction\" must be above 0"},
      {"[slurm]\nmax_drained_fraction = 1.5\n",
       "c.toml:2: \"slurm.max_drained_fraction\" = 1.5 is outside 0..1"},
      {"[slurm]\nmax_drained_fraction = -0.1\n",
       "c.toml:2: \"slurm.max_drained_fraction\" = -0.1 is outside 0..1"},
      {"[slurm]\nmax_drained_fraction = \"10%\"\n",
       "c.toml:2: \"slurm.max_drained_fraction\" must be a number"},
      {"[slurm]\ncheck_timeout_seconds = 50\n",
       "c.toml:2: \"slurm.check_timeout_seconds\" = 50 is outside 1..30"},
      {"[slurm]\ncheck_timeout_seconds = 0.5\n",
       "c.toml:2: \"slurm.check_timeout_seconds\" = 0.5 is outside 1..30"},
      {"[slurm]\nagent_timeout_seconds = 0\n",
       "c.toml:2: \"slurm.agent_timeout_seconds\" = 0 is outside 0.1..10"},
      {"[slurm]\nagent_timeout_seconds = 11\n",
       "c.toml:2: \"slurm.agent_timeout_seconds\" = 11 is outside 0.1..10"},
      {"[slurm]\nmax_drained_nodes = -1\n",
       "c.toml:2: \"slurm.max_drained_nodes\" = -1 is outside 0..1000000"},
      {"[slurm]\nmax_drained_nodes = 2.0\n",
       "c.toml:2: \"slurm.max_drained_nodes\" must be an integer"},
      {"[slurm]\nscontrol = 1\n", "c.toml:2: \"slurm.scontrol\" must be a string"},
      {"[slurm]\nslurm_conf = [\"/etc/slurm/slurm.conf\"]\n",
       "c.toml:2: \"slurm.slurm_conf\" must be a string"},
      {"[slurm]\nagent_url = 9840\n", "c.toml:2: \"slurm.agent_url\" must be a string"},
      {"[slurm]\nretries = 2\n", "c.toml:2: unknown key \"slurm.retries\""},
      {"[slurm]\nmax_drained_fraction = 0.1\nmax_drained = 3\n",
       "c.toml:3: unknown key \"slurm.max_drained\""},
      {"slurm = \"on\"\n", "c.toml:1: \"slurm\" must be a table ([slurm])"},
      {"[agent.slurm]\nfallback = \"none\"\n", "c.toml:1: unknown key \"agent.slurm\""},
  };
  for (const auto& [text, error] : cases) {
    Expected<Config> c = ParseConfig(text, "c.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message, error) << text;
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
