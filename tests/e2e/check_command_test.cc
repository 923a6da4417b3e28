// `nodehealth check` as operators and scripts run it: the real binary, real fixture trees, the
// fake NVML through --nvml-library, and the exit codes of docs/contract.md.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <sstream>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/run_command.h"
#include "tests/support/scenario.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using nlohmann::json;
using testing::FakeNvmlLibrary;
using testing::FixtureNode;
using testing::NodehealthBinary;
using testing::RunCommand;
using testing::SourceDir;

struct Check {
  testing::CommandResult run;
  json report;
};

// Runs `nodehealth check --sysroot <node> --nvml-library <fake> --format json ARGS`.
Check RunCheckOn(const FixtureNode& node, std::vector<std::string> args = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  std::vector<std::string> argv = {
      NodehealthBinary(), "check",
      "--sysroot",        node.root(),
      "--nvml-library",   FakeNvmlLibrary(),
      "--format",         "json",
      "--config",         SourceDir() + "/tests/fixtures/empty-config.toml"};
  argv.insert(argv.end(), args.begin(), args.end());
  Check c;
  c.run = RunCommand(argv, {{"NODEHEALTH_FAKE_NVML", node.scenario()}}, timeout);
  if (!c.run.out.empty()) c.report = json::parse(c.run.out, nullptr, /*allow_exceptions=*/false);
  return c;
}

const json* ProbeIn(const json& report, std::string_view name) {
  for (const json& p : report["probes"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

TEST(CheckCommandTest, NodeWithoutGpusSaysSoAndPasses) {
  FixtureNode node("no-gpu.toml");
  Check c = RunCheckOn(node);
  EXPECT_EQ(c.run.exit_code, 0) << c.run.err;
  EXPECT_EQ(c.report["verdict"], "pass");
  EXPECT_TRUE(c.report["profile"].is_null());
  EXPECT_EQ(c.report["node"], "cpu-01");
  EXPECT_EQ(c.report["summary"].get<std::string>().substr(0, 37),
            "No NVIDIA GPU found on this node (no ");
  EXPECT_NE(c.report["profile_selection"]["reason"].get<std::string>().find(
                "auto: no shipped profile matches"),
            std::string::npos);
  // Every passive probe: each skipped with a reason, but sku_inventory, which applies to every
  // node and without a profile measures and passes.
  ASSERT_EQ(c.report["probes"].size(), 8u);
  for (const json& p : c.report["probes"]) {
    EXPECT_EQ(p["verdict"], p["name"] == "sku_inventory" ? "pass" : "skip") << p["name"];
  }

  testing::CommandResult table =
      RunCommand({NodehealthBinary(), "check", "--sysroot", node.root(), "--format", "table"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("No NVIDIA GPU found on this node"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("profile: none (observe-only)"), std::string::npos);
  EXPECT_NE(table.out.find("VERDICT PASS: no drain recommended"), std::string::npos);
}

TEST(CheckCommandTest, PlainCheckOnThisMachineNeedsNoOptions) {
  testing::CommandResult run = RunCommand({NodehealthBinary(), "check", "--format", "json"});
  // Whatever this machine is, a plain check evaluates it (0 or 1), never "bad usage" (2).
  EXPECT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.exit_code << "\n" << run.err;
  json report = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << run.out;
  EXPECT_EQ(report["schema_version"], 1);
  EXPECT_EQ(report["mode"], "check");
}

TEST(CheckCommandTest, FaultsDrainWithTheRightReasonsAndExit1) {
  FixtureNode node("fault-xid48.toml");
  testing::TempDir out;
  const std::string output = out.path() + "/report.json";
  Check c = RunCheckOn(node, {"--profile", "none", "--output", output});
  EXPECT_EQ(c.run.exit_code, 1) << c.run.err;
  EXPECT_EQ(c.report["verdict"], "fail");
  EXPECT_EQ(c.report["drain"]["recommended"], true);
  EXPECT_EQ(c.report["drain"]["action"], "reset_gpu");
  std::set<std::string> reasons;
  for (const json& r : c.report["drain"]["reasons"]) {
    reasons.insert(r["code"].get<std::string>() + " " + r["entity"].get<std::string>());
  }
  EXPECT_EQ(reasons, (std::set<std::string>{"gpu_ecc_uncorrectable gpu/0000:19:00.0",
                                            "gpu_row_remap_pending gpu/0000:19:00.0",
                                            "gpu_xid gpu/0000:19:00.0"}));
  std::ifstream written(output);
  json from_file = json::parse(written, nullptr, false);
  EXPECT_EQ(from_file, c.report);  // --output holds the same report
}

TEST(CheckCommandTest, HungNvmlEndsWithinTheTimeoutAndNamesTheCall) {
  FixtureNode node("fault-nvml-hang.toml");
  Check c = RunCheckOn(node, {"--timeout", "3"}, std::chrono::seconds(30));
  EXPECT_FALSE(c.run.timed_out);
  EXPECT_LT(c.run.seconds, 3 + 5.0);  // docs/contract.md: --timeout + 5 s at most
  EXPECT_EQ(c.run.exit_code, 1) << c.run.err;
  const json* health = ProbeIn(c.report, "gpu_health");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ((*health)["verdict"], "error");
  EXPECT_EQ((*health)["findings"][0]["code"], "probe_timeout");
  EXPECT_NE((*health)["error"].get<std::string>().find("nvmlDeviceGetRemappedRows"),
            std::string::npos)
      << (*health)["error"];
  // The probes that finished before NVML hung still report.
  EXPECT_EQ((*ProbeIn(c.report, "gpu_xid"))["verdict"], "pass");
}

TEST(CheckCommandTest, NvmlHangingInInitDoesNotHangTheRun) {
  FixtureNode node("hgx-h100-xe9680.toml");
  // The scenario file is this node's; add a global hang through a derived scenario.
  testing::TempDir dir;
  const std::string scenario = dir.path() + "/hang-init.toml";
  std::ofstream(scenario) << "extends = \"" << node.scenario()
                          << "\"\n[nvml]\nhang = \"nvmlInit_v2\"\n";
  testing::CommandResult run =
      RunCommand({NodehealthBinary(), "check", "--sysroot", node.root(), "--nvml-library",
                  FakeNvmlLibrary(), "--format", "json", "--timeout", "2", "--profile", "none"},
                 {{"NODEHEALTH_FAKE_NVML", scenario}}, std::chrono::seconds(30));
  EXPECT_LT(run.seconds, 2 + 5.0);
  EXPECT_EQ(run.exit_code, 1);
  json report = json::parse(run.out);
  for (const char* probe : {"gpu_presence", "gpu_driver", "gpu_health"}) {
    EXPECT_EQ((*ProbeIn(report, probe))["findings"][0]["code"], "probe_timeout") << probe;
  }
  EXPECT_NE((*ProbeIn(report, "gpu_health"))["error"].get<std::string>().find("nvmlInit_v2"),
            std::string::npos);
}

TEST(CheckCommandTest, AutoProfileOnAzure) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  Check c = RunCheckOn(node);
  EXPECT_EQ(c.report["profile"], "azure-nd96isr-h100-v5") << c.report["profile_selection"];
  EXPECT_EQ(c.report["profile_selection"]["requested"], "auto");
  EXPECT_EQ(c.report["profile_selection"]["reason"].get<std::string>().substr(0, 41),
            "auto: matched azure-nd96isr-h100-v5 on DM");
}

TEST(CheckCommandTest, InvalidProfileIsExit2WithLineAndKey) {
  FixtureNode node("no-gpu.toml");
  testing::TempDir dir;
  const std::string profile = dir.path() + "/mine.toml";
  std::ofstream(profile) << "name = \"mine\"\n[gpu]\ncuont = 8\n";
  Check c = RunCheckOn(node, {"--profile", profile});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_EQ(c.run.err,
            "nodehealth: invalid profile: " + profile + ":3: unknown key \"gpu.cuont\"\n");
  EXPECT_TRUE(c.run.out.empty());
}

TEST(CheckCommandTest, BadUsageIsExit2) {
  FixtureNode node("no-gpu.toml");
  Check unknown_probe = RunCheckOn(node, {"--only", "gpu_presence,gpu_magic"});
  EXPECT_EQ(unknown_probe.run.exit_code, 2);
  EXPECT_NE(unknown_probe.run.err.find("unknown probe \"gpu_magic\""), std::string::npos);
  EXPECT_EQ(RunCheckOn(node, {"--frobnicate"}).run.exit_code, 2);
  EXPECT_EQ(RunCheckOn(node, {"--timeout", "-1"}).run.exit_code, 2);
  EXPECT_EQ(RunCheckOn(node, {"--only", "gpu_xid", "--skip", "gpu_xid"}).run.exit_code, 2);
  EXPECT_EQ(RunCommand({NodehealthBinary()}).exit_code, 2);
  EXPECT_EQ(RunCheckOn(node, {"--profile", "no-such-machine"}).run.exit_code, 2);
}

TEST(CheckCommandTest, InvalidConfigIsExit2) {
  FixtureNode node("no-gpu.toml");
  testing::TempDir dir;
  const std::string config = dir.path() + "/nodehealth.toml";
  std::ofstream(config) << "[actions]\ngpu_xid = \"ignore\"\n";
  testing::CommandResult run =
      RunCommand({NodehealthBinary(), "check", "--sysroot", node.root(), "--config", config});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find(config + ":2: \"actions.gpu_xid\" must be one of"), std::string::npos)
      << run.err;
  EXPECT_EQ(RunCommand({NodehealthBinary(), "check", "--config", "/nonexistent.toml"}).exit_code,
            2);
}

TEST(CheckCommandTest, ConfigOverridesAnAction) {
  FixtureNode node("hgx-h100-xe9680.toml");
  Check plain = RunCheckOn(node, {"--profile", "none"});
  EXPECT_EQ(plain.run.exit_code, 0) << plain.run.err;  // power brake warnings only
  EXPECT_EQ(plain.report["verdict"], "warn");
  testing::TempDir dir;
  const std::string config = dir.path() + "/nodehealth.toml";
  std::ofstream(config) << "[actions]\ngpu_clock_slowdown = \"drain\"\n";
  std::vector<std::string> argv = {
      NodehealthBinary(), "check", "--sysroot", node.root(), "--nvml-library", FakeNvmlLibrary(),
      "--format",         "json",  "--config",  config,      "--profile",      "none"};
  testing::CommandResult strict = RunCommand(argv, {{"NODEHEALTH_FAKE_NVML", node.scenario()}});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(json::parse(strict.out)["drain"]["reasons"].size(), 8u);
}

TEST(CheckCommandTest, OnlySelectsProbes) {
  FixtureNode node("fault-xid119.toml");
  Check c = RunCheckOn(node, {"--only", "gpu_xid", "--profile", "none"});
  EXPECT_EQ(c.run.exit_code, 1);
  ASSERT_EQ(c.report["probes"].size(), 1u);
  EXPECT_EQ(c.report["probes"][0]["name"], "gpu_xid");
  Check skip = RunCheckOn(node, {"--skip", "gpu_xid,gpu_health", "--profile", "none"});
  // gpu_presence, gpu_driver, ib_ports, topology, pcie_health, sku_inventory
  EXPECT_EQ(skip.report["probes"].size(), 6u);
}

// The real libibverbs on a machine without RDMA hardware: burnin runs the active probe after the
// passive ones and skips it with the reason libibverbs gave.
// The real libibverbs and the real Open MPI on this machine: burnin runs the active probes after
// the passive ones, skips the RDMA loopback with libibverbs' reason where there is no RDMA device,
// and runs the two-rank all-reduce over shared memory.
TEST(BurninCommandTest, MachineWithoutGpusRunsTheTwoRankAllreduceAndSkipsRdma) {
  FixtureNode node("no-gpu.toml");
  testing::CommandResult run =
      RunCommand({NodehealthBinary(), "burnin", "--sysroot", node.root(), "--format", "json",
                  "--config", SourceDir() + "/tests/fixtures/empty-config.toml"},
                 {}, std::chrono::seconds(300));
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const json report = json::parse(run.out);
  EXPECT_EQ(report["mode"], "burnin");
  ASSERT_EQ(report["probes"].size(), 12u);
  const json& rdma = report["probes"][10];
  EXPECT_EQ(rdma["name"], "rdma_loopback");
  if (rdma["verdict"] == "skip") {
    EXPECT_EQ(rdma["skip_reason"].get<std::string>().substr(0, 29),
              "no RDMA device on this node (");
  }
  const json& mpi = report["probes"][11];
  EXPECT_EQ(mpi["name"], "mpi_allreduce");
  ASSERT_EQ(mpi["verdict"], "pass") << mpi.dump(2);
  std::set<std::string> sizes;
  for (const json& m : mpi["measurements"]) {
    if (m["name"] == "allreduce_bus_bandwidth_bytes_per_second") {
      sizes.insert(m["labels"]["size_bytes"].get<std::string>());
      EXPECT_GT(m["value"].get<double>(), 0);
    }
    if (m["name"] == "allreduce_ranks") {
      EXPECT_EQ(m["value"], 2);
    }
  }
  EXPECT_EQ(sizes,
            (std::set<std::string>{"8", "1024", "65536", "1048576", "16777216", "67108864"}));
}

// The profile's burn-in budget bounds the run when --timeout is not given; an all-reduce that
// cannot finish inside it is killed with its process group and reported.
TEST(BurninCommandTest, ProfileBudgetBoundsTheRunAndKillsAHungAllreduce) {
  FixtureNode node("no-gpu.toml");
  testing::TempDir dir;
  const std::string profile = dir.path() + "/profile.toml";
  std::ofstream(profile) << "name = \"budget\"\n[burnin]\ntimeout_seconds = 4\n"
                            "[mpi_allreduce]\nsizes = [\"64M\"]\niterations = 1000000\n"
                            "warmup = 0\n";
  testing::CommandResult run =
      RunCommand({NodehealthBinary(), "burnin", "--sysroot", node.root(), "--only", "mpi_allreduce",
                  "--profile", profile, "--format", "json", "--config",
                  SourceDir() + "/tests/fixtures/empty-config.toml"},
                 {}, std::chrono::seconds(60));
  EXPECT_LT(run.seconds, 12) << "the 4 s budget was not applied";
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  const json report = json::parse(run.out);
  const json& mpi = report["probes"][0];
  ASSERT_EQ(mpi["findings"].size(), 1u) << mpi.dump(2);
  EXPECT_EQ(mpi["findings"][0]["code"], "mpi_allreduce_failed");
  EXPECT_EQ(mpi["findings"][0]["message"],
            "the MPI all-reduce did not finish before the deadline (killed with its process "
            "group)");
  // Nothing of the killed run is left behind.
  // (SIGKILL is delivered at once, but the kernel takes a moment to reap on a loaded machine.)
  testing::CommandResult left;
  for (int i = 0; i < 50; ++i) {
    left = RunCommand({"/usr/bin/pgrep", "-f", "nodehealth-allreduce --json --sizes 64M"});
    if (left.exit_code == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left.exit_code, 1) << left.out;
}

// SIGTERM (systemd stopping the burn-in unit) or Ctrl-C during the all-reduce: mpirun and its
// ranks are in their own process group, out of the signal's reach; they must end with the run
// instead of staying on the GPUs and the fabric. (They were left running.)
TEST(BurninCommandTest, TerminatedBurninEndsItsChildren) {
  FixtureNode node("no-gpu.toml");
  testing::TempDir dir;
  const std::string bin = dir.path() + "/bin";
  std::filesystem::create_directories(bin);
  std::ofstream(bin + "/mpirun") << "#!/bin/sh\nsleep 60 &\necho $! > " << bin
                                 << "/rank.pid\nwait\n";
  std::filesystem::permissions(bin + "/mpirun", std::filesystem::perms::owner_all);
  const char* path = std::getenv("PATH");
  std::thread terminate([&] {
    for (int i = 0; i < 200; ++i) {
      std::ifstream pid_file(bin + "/rank.pid");
      int rank = 0;
      if (pid_file >> rank && rank > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    RunCommand({"/usr/bin/pkill", "-TERM", "-f", "nodehealth burnin --sysroot " + node.root()});
  });
  testing::CommandResult run =
      RunCommand({NodehealthBinary(), "burnin", "--sysroot", node.root(), "--only", "mpi_allreduce",
                  "--profile", "none", "--format", "json", "--config",
                  SourceDir() + "/tests/fixtures/empty-config.toml"},
                 {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}}, std::chrono::seconds(60));
  terminate.join();
  EXPECT_LT(run.seconds, 15) << run.err;
  EXPECT_EQ(run.exit_code, 128 + SIGTERM) << run.err;
  EXPECT_NE(run.err.find("stopped by signal 15; child processes ended"), std::string::npos)
      << run.err;
  std::ifstream pid_file(bin + "/rank.pid");
  int rank = 0;
  ASSERT_TRUE(pid_file >> rank) << "mpirun never started";
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {  // reaped by init a moment later on a loaded machine
    std::ifstream stat("/proc/" + std::to_string(rank) + "/stat");
    std::string text;
    std::getline(stat, text);
    const std::size_t paren = text.rfind(')');
    gone = text.empty() || (paren != std::string::npos && text.substr(paren + 2, 1) == "Z");
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the rank " << rank << " outlived the burn-in";
  if (!gone) ::kill(rank, SIGKILL);
}

TEST(BurninCommandTest, TextfileForNodeExporterIsWrittenWhole) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  testing::TempDir dir;
  // What a burn-in killed in the middle of its write two minutes ago left behind, and what a
  // writer running now may hold: only the first is removed.
  const std::string stale = dir.path() + "/.nodehealth_burnin_report.prom.tmp.Ab12Cd";
  const std::string fresh = dir.path() + "/.nodehealth_burnin_report.prom.tmp.Ef34Gh";
  for (const std::string& path : {stale, fresh}) std::ofstream(path) << "nodehealth_up 1\n";
  std::filesystem::last_write_time(
      stale, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(2));
  testing::CommandResult run = RunCommand(
      {NodehealthBinary(), "burnin", "--sysroot", node.root(), "--only", "ib_ports,topology",
       "--profile", "azure-nd96isr-h100-v5", "--textfile", dir.path(), "--format", "json",
       "--config", SourceDir() + "/tests/fixtures/empty-config.toml"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  // Ours renamed, the stale one gone, the fresh one left to its writer.
  ASSERT_EQ(files, (std::vector<std::string>{".nodehealth_burnin_report.prom.tmp.Ef34Gh",
                                             "nodehealth_burnin_report.prom"}));
  Expected<std::string> text =
      testing::ReadWholeFile(dir.path() + "/nodehealth_burnin_report.prom");
  ASSERT_TRUE(text);
  for (const char* line :
       {"nodehealth_ib_port_state_id{device=\"mlx5_ib0\",origin=\"burnin\",port=\"1\"} 4\n",
        "nodehealth_ib_port_rate_bytes_per_second{device=\"mlx5_ib0\",origin=\"burnin\","
        "port=\"1\"} 50000000000\n",
        "nodehealth_probe_success{origin=\"burnin\",probe=\"topology\"} 1\n",
        "nodehealth_drain_recommended{origin=\"burnin\"} 0\n",
        "nodehealth_profile_info{origin=\"burnin\",profile=\"azure-nd96isr-h100-v5\"} 1\n",
        "nodehealth_topology_cpu_numa_nodes{origin=\"burnin\"} 2\n"}) {
    EXPECT_NE(text->find(line), std::string::npos) << line;
  }
  // Every sample carries origin="burnin" (dashboards and alerts tell it from the agent's).
  std::istringstream samples(*text);
  int sample_lines = 0;
  for (std::string line; std::getline(samples, line);) {
    if (line.empty() || line[0] == '#') continue;
    ++sample_lines;
    EXPECT_NE(line.find("origin=\"burnin\""), std::string::npos) << line;
  }
  EXPECT_GT(sample_lines, 20);
  testing::CommandResult unwritable =
      RunCommand({NodehealthBinary(), "burnin", "--sysroot", node.root(), "--only", "topology",
                  "--textfile", "/nonexistent-dir", "--format", "json", "--config",
                  SourceDir() + "/tests/fixtures/empty-config.toml"});
  EXPECT_EQ(unwritable.exit_code, 2);
}

TEST(CheckCommandTest, ActiveProbesRunOnlyWhenNamed) {
  FixtureNode node("no-gpu.toml");
  Check plain = RunCheckOn(node);
  EXPECT_EQ(ProbeIn(plain.report, "rdma_loopback"), nullptr);
  Check named = RunCheckOn(node, {"--only", "rdma_loopback"});
  ASSERT_EQ(named.report["probes"].size(), 1u);
  EXPECT_EQ(named.report["probes"][0]["name"], "rdma_loopback");
}

std::string HwlocXml(const std::string& name) {
  return testing::PeerFixturesDir() + "/hwloc/tests/hwloc/xml-v2/" + name;
}

TEST(TopologyCommandTest, PrintsTheMatrixLikeNvidiaSmiTopo) {
  testing::CommandResult run = RunCommand({NodehealthBinary(), "topology", "--topology-xml",
                                           HwlocXml("nvidiaDGX2.xml"), "--format", "table"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("        GPU0    GPU1    GPU2    GPU3"), std::string::npos) << run.out;
  EXPECT_NE(
      run.out.find("\nGPU0    X       PIX     PXB     PXB     NODE    NODE    NODE    NODE    "
                   "SYS     SYS"),
      std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  GPU15: 0000:e7:00.0"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("2 packages, 4 cores, 2 CPU NUMA nodes, 11 NVSwitches"),
            std::string::npos);
  testing::CommandResult json_run = RunCommand({NodehealthBinary(), "topology", "--topology-xml",
                                                HwlocXml("nvidiaDGX2.xml"), "--format", "json"});
  ASSERT_EQ(json_run.exit_code, 0);
  EXPECT_EQ(json::parse(json_run.out)["schema"], "nodehealth-topology/1");
}

TEST(TopologyCommandTest, SavedBaselineIsComparedOnEveryCheck) {
  testing::TempDir dir;
  const std::string baseline = dir.path() + "/topology.json";
  testing::CommandResult save = RunCommand({NodehealthBinary(), "topology", "--topology-xml",
                                            HwlocXml("24em64t-2n6c2t-pci.xml"), "save", baseline});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  EXPECT_EQ(save.out, "topology baseline written to " + baseline + " (4 devices)\n");
  const std::string config = dir.path() + "/nodehealth.toml";
  std::ofstream(config) << "topology_baseline = \"" << baseline << "\"\n";
  FixtureNode node("no-gpu.toml");
  auto check = [&](const std::string& xml) {
    return RunCommand({NodehealthBinary(), "check", "--sysroot", node.root(), "--only", "topology",
                       "--topology-xml", xml, "--config", config, "--profile", "none", "--format",
                       "json"});
  };
  testing::CommandResult same = check(HwlocXml("24em64t-2n6c2t-pci.xml"));
  EXPECT_EQ(same.exit_code, 0) << same.out;
  // The same machine with mlx4_0's link at half speed.
  Expected<std::string> xml = testing::ReadWholeFile(HwlocXml("24em64t-2n6c2t-pci.xml"));
  ASSERT_TRUE(xml);
  std::string changed = *xml;
  const std::string from =
      R"(pci_busid="0000:05:00.0" pci_type="0c06 [15b3:6746] [003c:0049] b0 00" pci_link_speed="2.000000")";
  const std::size_t at = changed.find(from);
  ASSERT_NE(at, std::string::npos);
  changed.replace(at + from.size() - 9, 8, "1.000000");
  std::ofstream(dir.path() + "/changed.xml") << changed;
  testing::CommandResult slower = check(dir.path() + "/changed.xml");
  EXPECT_EQ(slower.exit_code, 1) << slower.out;
  const json report = json::parse(slower.out);
  ASSERT_EQ(report["drain"]["reasons"].size(), 1u);
  EXPECT_EQ(report["drain"]["reasons"][0]["code"], "pcie_link_degraded");
  EXPECT_EQ(report["drain"]["reasons"][0]["entity"], "hca/mlx4_0/1");
  testing::CommandResult unwritable =
      RunCommand({NodehealthBinary(), "topology", "--topology-xml",
                  HwlocXml("24em64t-2n6c2t-pci.xml"), "save", "/nonexistent-dir/topology.json"});
  EXPECT_EQ(unwritable.exit_code, 2);
}

TEST(CheckCommandTest, UnwritableOutputIsReported) {
  FixtureNode node("no-gpu.toml");
  Check c = RunCheckOn(node, {"--output", "/nonexistent-dir/report.json"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_NE(c.run.err.find("cannot create a temporary file next to /nonexistent-dir/report.json"),
            std::string::npos);
}

TEST(ProbesCommandTest, ListsProbesKindsReadsAndCodes) {
  testing::CommandResult run = RunCommand({NodehealthBinary(), "probes", "--format", "json"});
  ASSERT_EQ(run.exit_code, 0);
  json j = json::parse(run.out);
  ASSERT_EQ(j["probes"].size(), 12u);
  EXPECT_EQ(j["probes"][11]["name"], "mpi_allreduce");
  EXPECT_EQ(j["probes"][11]["kind"], "active");
  EXPECT_EQ(j["probes"][4]["name"], "ib_ports");
  EXPECT_EQ(j["probes"][4]["codes"][0], "ib_hca_missing");
  EXPECT_EQ(j["probes"][5]["name"], "topology");
  EXPECT_EQ(j["probes"][5]["codes"][0], "topology_mismatch");
  EXPECT_EQ(j["probes"][6]["name"], "pcie_health");
  EXPECT_EQ(j["probes"][6]["codes"][0], "pcie_aer_uncorrectable");
  EXPECT_EQ(j["probes"][7]["name"], "sku_inventory");
  EXPECT_EQ(j["probes"][7]["kind"], "passive");
  EXPECT_EQ(j["probes"][7]["codes"][0], "node_memory_mismatch");
  EXPECT_EQ(j["probes"][10]["name"], "rdma_loopback");
  EXPECT_EQ(j["probes"][10]["kind"], "active");
  EXPECT_EQ(j["probes"][0]["name"], "gpu_presence");
  EXPECT_EQ(j["probes"][0]["kind"], "passive");
  EXPECT_EQ(j["probes"][3]["codes"][0], "gpu_xid");
  EXPECT_GE(j["findings"].size(), 26u);
  testing::CommandResult table = RunCommand({NodehealthBinary(), "probes", "--format", "table"});
  EXPECT_NE(table.out.find("gpu_health (passive)"), std::string::npos);
  testing::CommandResult version = RunCommand({NodehealthBinary(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, NODEHEALTH_VERSION "\n");
}

// Issue 13 item 7: a FIFO or an empty file at /dev/kmsg passed as a clean kernel log.
TEST(CheckCommandTest, AKernelLogThatIsNoLogCannotPass) {
  for (const bool fifo : {true, false}) {
    FixtureNode node("hgx-h100-xe9680.toml");
    const std::string kmsg = node.root() + "/dev/kmsg";
    std::filesystem::remove(kmsg);
    if (fifo) {
      ASSERT_EQ(::mkfifo(kmsg.c_str(), 0600), 0);
    } else {
      std::ofstream(kmsg).flush();
    }
    Check c = RunCheckOn(node, {"--only", "gpu_xid"}, std::chrono::seconds(30));
    EXPECT_EQ(c.run.exit_code, 1) << c.run.err;
    const json* xid = ProbeIn(c.report, "gpu_xid");
    ASSERT_NE(xid, nullptr) << c.run.out;
    EXPECT_EQ((*xid)["verdict"], "error");
    EXPECT_EQ((*xid)["findings"][0]["code"], "probe_error");
    EXPECT_NE((*xid)["error"].get<std::string>().find(fifo ? "is not the kernel log: a FIFO"
                                                           : "is empty; a real one always holds"),
              std::string::npos)
        << (*xid)["error"];
  }
}

// Issue 13 item 4: with no agent, `slurm-healthcheck` runs a fallback check; where NVML hangs on
// every call that check cannot tell, and "cannot tell" is exit 2, never "fit" (it said
// "none (healthy)" and exited 0, while `check` on the same node exits 1 with probe_timeout).
TEST(SlurmFallbackCheckTest, HangingNvmlIsNeverFit) {
  FixtureNode node("fault-nvml-init-hang.toml");
  testing::TempDir dir;
  const std::string scontrol = dir.path() + "/scontrol";
  std::ofstream(scontrol) << "#!/bin/sh\n[ \"$1\" = show ] && echo 'NodeName=gpu01 State=IDLE "
                             "Partitions=gpu'\nexit 0\n";
  std::filesystem::permissions(scontrol, std::filesystem::perms::owner_all);
  const std::string config = dir.path() + "/nodehealth.toml";
  std::ofstream(config) << "[slurm]\nscontrol = \"" << scontrol
                        << "\"\ncheck_timeout_seconds = 3\n";
  const testing::CommandResult run =
      RunCommand({NodehealthBinary(), "slurm-healthcheck", "--sysroot", node.root(),
                  "--nvml-library", FakeNvmlLibrary(), "--config", config, "--state-dir",
                  dir.path() + "/state", "--node", "gpu01", "--dry-run"},
                 {{"NODEHEALTH_FAKE_NVML", node.scenario()}}, std::chrono::seconds(30));
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.out.find("could not evaluate: "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("; the fallback check cannot tell whether the node is fit: "),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("gpu_health (probe_timeout)"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("healthy"), std::string::npos) << run.out;
  std::ifstream outcome(dir.path() + "/state/slurm-healthcheck.json");
  const json written = json::parse(outcome, nullptr, false);
  EXPECT_EQ(written.value("exit_code", -1), 2) << written;
  EXPECT_EQ(written.value("action", ""), "none") << written;
}

}  // namespace
}  // namespace nodehealth
