// The real `nodehealth` binary given bad usage and hostile paths: unknown commands, --log-level
// after the command, a missing or mistyped --sysroot (usage errors, exit 2, never node faults),
// FIFOs and directories where files belong (exit 2 at once with a message, never a wait), TOML
// bombs as profiles and configs. Every run has a deadline, so old behaviour that hung fails here
// instead of hanging the suite.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/fixture_node.h"
#include "tests/support/run_command.h"
#include "tests/support/scenario.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::FakeNvmlLibrary;
using testing::FixtureNode;
using testing::NodehealthBinary;
using testing::RunCommand;
using testing::SourceDir;

constexpr auto kDeadline = std::chrono::seconds(15);
const char kCommands[] =
    "commands: check, burnin, agent, topology, slurm-healthcheck, slurm-drain, repair, "
    "provider-report, probes, bundle";

CommandResult Nodehealth(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), NodehealthBinary());
  return RunCommand(args, env, kDeadline);
}

std::string EmptyConfig() { return SourceDir() + "/tests/fixtures/empty-config.toml"; }

// --- commands and options (item 19) ---------------------------------------------------------

TEST(CommandLineTest, UnknownCommandIsNamedWithTheRealOnes) {
  for (const auto& args : {std::vector<std::string>{"chekc"},
                           std::vector<std::string>{"--log-level", "debug", "chekc", "--x"}}) {
    CommandResult run = Nodehealth(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err, "nodehealth: unknown command 'chekc'; " + std::string(kCommands) +
                           "\nRun with --help for more information.\n");
    EXPECT_EQ(run.out, "");
  }
  CommandResult none = Nodehealth({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "nodehealth: a command is required; " + std::string(kCommands) +
                          "\nRun with --help for more information.\n");
  EXPECT_EQ(Nodehealth({"--help"}).exit_code, 0);
  EXPECT_EQ(Nodehealth({"--version"}).exit_code, 0);
}

TEST(CommandLineTest, LogLevelWorksAfterTheCommandToo) {
  CommandResult before = Nodehealth({"--log-level", "error", "probes", "--format", "json"});
  CommandResult after = Nodehealth({"probes", "--format", "json", "--log-level", "error"});
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  // Still checked where it is given.
  CommandResult bad = Nodehealth({"probes", "--log-level", "loud"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--log-level: loud not in {trace,debug,info,warn,error,off}"),
            std::string::npos)
      << bad.err;
  // A nested command too; debug shows in what check logs at debug level.
  FixtureNode node("no-gpu.toml");
  CommandResult check = Nodehealth({"check", "--sysroot", node.root(), "--config", EmptyConfig(),
                                    "--format", "json", "--log-level", "debug"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  const testing::TempDir dir;
  CommandResult save = Nodehealth({"topology", "save", dir.path() + "/t.json", "--topology-xml",
                                   std::string(NODEHEALTH_PEER_FIXTURES_DIR) +
                                       "/hwloc/tests/hwloc/xml-v2/24em64t-2n6c2t-pci.xml",
                                   "--log-level", "warn"});
  EXPECT_EQ(save.exit_code, 0) << save.err;
}

TEST(CommandLineTest, AgentHelpSaysWhatFormatAndOutputDoForADaemon) {
  CommandResult help = Nodehealth({"agent", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  auto line_of = [&](const std::string& option) {
    const std::size_t at = help.out.find("  " + option + " ");
    return at == std::string::npos ? std::string()
                                   : help.out.substr(at, help.out.find('\n', at) - at);
  };
  EXPECT_NE(
      line_of("--format")
          .find("Accepted, unused: the agent logs to stderr and serves its JSON report at /report"),
      std::string::npos)
      << help.out;
  EXPECT_NE(line_of("--output")
                .find("Accepted, unused: the latest report is at /report, the "
                      "decision in <state-dir>/status.json"),
            std::string::npos)
      << help.out;
  // check's help keeps the contract's meaning.
  CommandResult check_help = Nodehealth({"check", "--help"});
  EXPECT_NE(check_help.out.find("Also write the JSON report to FILE (atomically)"),
            std::string::npos);
}

// --- --sysroot (item 13) ----------------------------------------------------------------------

TEST(CommandLineTest, MissingOrMistypedSysrootIsUsageNotANodeFault) {
  const testing::TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  std::filesystem::create_directories(dir.path() + "/empty");
  const struct {
    std::string root;
    std::string message;
  } roots[] = {
      {dir.path() + "/nowhere",
       "nodehealth: --sysroot " + dir.path() + "/nowhere: No such file or directory\n"},
      {dir.path() + "/file", "nodehealth: --sysroot " + dir.path() + "/file is not a directory\n"},
      {dir.path() + "/empty", "nodehealth: --sysroot " + dir.path() +
                                  "/empty does not look like a node's root: it has neither sys/ "
                                  "nor proc/\n"},
  };
  for (const auto& r : roots) {
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"check", "--config", EmptyConfig()},
          std::vector<std::string>{"burnin", "--config", EmptyConfig(), "--only", "ib_ports"},
          std::vector<std::string>{"agent", "--config", EmptyConfig(), "--listen", "127.0.0.1:0",
                                   "--state-dir", dir.path() + "/state"},
          std::vector<std::string>{"topology"},
          std::vector<std::string>{"slurm-healthcheck", "--dry-run", "--node", "n1", "--config",
                                   EmptyConfig(), "--state-dir", dir.path() + "/state"}}) {
      std::vector<std::string> args = command;
      args.insert(args.end(), {"--sysroot", r.root});
      CommandResult run = Nodehealth(args, {{"NODEHEALTH_FAKE_NVML", ""}});
      EXPECT_EQ(run.exit_code, 2) << command[0] << " " << r.root << "\n" << run.err;
      EXPECT_EQ(run.err, r.message) << command[0];
      EXPECT_EQ(run.out, "") << command[0];
    }
  }
}

TEST(CommandLineTest, ARootWithOnlyProcIsANodeRoot) {
  const testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/proc/sys/kernel");
  std::ofstream(dir.path() + "/proc/sys/kernel/hostname") << "proc-only\n";
  CommandResult run =
      Nodehealth({"check", "--sysroot", dir.path(), "--config", EmptyConfig(), "--format", "json"});
  // Accepted as a root (not exit 2); what it lacks is the probes' to say: no PCI tree is a
  // probe_error, which drains, as on a real node whose /sys cannot be read.
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const json report = json::parse(run.out, nullptr, false);
  EXPECT_EQ(report.value("node", ""), "proc-only");
  ASSERT_EQ(report["drain"]["reasons"].size(), 1u) << run.out;
  EXPECT_EQ(report["drain"]["reasons"][0]["code"], "probe_error");
  EXPECT_EQ(report["drain"]["reasons"][0]["message"],
            "cannot scan PCI devices: cannot list /sys/bus/pci/devices: No such file or directory");
}

// --- directories, FIFOs and bombs named as files (items 5, 8, 13) -----------------------------

TEST(CommandLineTest, DirectoryAsProfileOrConfigSaysSo) {
  FixtureNode node("no-gpu.toml");
  const testing::TempDir dir;
  CommandResult profile = Nodehealth({"check", "--sysroot", node.root(), "--config", EmptyConfig(),
                                      "--profile", dir.path() + "/"});
  EXPECT_EQ(profile.exit_code, 2);
  EXPECT_EQ(profile.err, "nodehealth: invalid profile: " + dir.path() +
                             "/ is a directory, not a profile file\n");
  CommandResult config = Nodehealth({"check", "--sysroot", node.root(), "--config", dir.path()});
  EXPECT_EQ(config.exit_code, 2);
  EXPECT_EQ(config.err,
            "nodehealth: invalid config: " + dir.path() + " is a directory, not a config file\n");
}

TEST(CommandLineTest, FifoAsProfileOrConfigExits2AtOnce) {
  FixtureNode node("no-gpu.toml");
  const testing::TempDir dir;
  const std::string fifo = dir.path() + "/x.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string command : {"check", "burnin"}) {
    CommandResult profile = Nodehealth({command, "--sysroot", node.root(), "--config",
                                        EmptyConfig(), "--profile", fifo, "--timeout", "5"});
    EXPECT_FALSE(profile.timed_out) << command << " --profile FIFO still waiting after 15 s";
    EXPECT_EQ(profile.exit_code, 2);
    EXPECT_EQ(profile.err,
              "nodehealth: invalid profile: " + fifo + " is a FIFO, not a profile file\n");
    EXPECT_LT(profile.seconds, 10);

    CommandResult config =
        Nodehealth({command, "--sysroot", node.root(), "--config", fifo, "--timeout", "5"});
    EXPECT_FALSE(config.timed_out) << command << " --config FIFO still waiting after 15 s";
    EXPECT_EQ(config.exit_code, 2);
    EXPECT_EQ(config.err,
              "nodehealth: invalid config: " + fifo + " is a FIFO, not a config file\n");
    EXPECT_LT(config.seconds, 10);
  }
}

TEST(CommandLineTest, FifoAsTopologyXmlOrBaselineIsAnErrorNotAWait) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const testing::TempDir dir;
  const std::string fifo = dir.path() + "/topo.xml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  CommandResult topology = Nodehealth({"topology", "--topology-xml", fifo});
  EXPECT_FALSE(topology.timed_out) << "topology --topology-xml FIFO still waiting after 15 s";
  EXPECT_EQ(topology.exit_code, 2);
  EXPECT_NE(topology.err.find(fifo + " is a FIFO, not a hwloc XML topology file"),
            std::string::npos)
      << topology.err;

  const std::string config = dir.path() + "/nodehealth.toml";
  std::ofstream(config) << "topology_baseline = \"" << fifo << "\"\n";
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--topology-xml", fifo}, std::vector<std::string>{}}) {
    std::vector<std::string> args = {"check",           "--sysroot", node.root(), "--nvml-library",
                                     FakeNvmlLibrary(), "--config",  config,      "--only",
                                     "topology",        "--format",  "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult run = Nodehealth(args, {{"NODEHEALTH_FAKE_NVML", node.scenario()}});
    EXPECT_FALSE(run.timed_out);
    const json report = json::parse(run.out, nullptr, false);
    ASSERT_TRUE(report.is_object()) << run.err;
    const json& probe = report["probes"][0];
    EXPECT_EQ(probe["verdict"], "error") << probe.dump(1);
    const std::string expected = extra.empty() ? "the topology baseline is unusable: " + fifo +
                                                     " is a FIFO, not a topology baseline file"
                                               : "cannot discover the topology: " + fifo +
                                                     " is a FIFO, not a hwloc XML topology file";
    EXPECT_EQ(probe["findings"][0]["code"], "probe_error");
    EXPECT_EQ(probe["findings"][0]["message"], expected);
    EXPECT_LT(run.seconds, 10);
  }
}

TEST(CommandLineTest, TomlBombAsProfileOrConfigExits2) {
  FixtureNode node("no-gpu.toml");
  const testing::TempDir dir;
  const std::string bomb = dir.path() + "/bomb.toml";
  {
    std::ofstream out(bomb);
    out << "a";
    for (int i = 1; i < 50000; ++i) out << ".a";
    out << " = 1\n";
  }
  CommandResult profile =
      Nodehealth({"check", "--sysroot", node.root(), "--config", EmptyConfig(), "--profile", bomb});
  EXPECT_EQ(profile.exit_code, 2) << profile.err;
  EXPECT_EQ(profile.err, "nodehealth: invalid profile: " + bomb +
                             ":1: a dotted key nests deeper than 64 levels\n");
  CommandResult config = Nodehealth({"check", "--sysroot", node.root(), "--config", bomb});
  EXPECT_EQ(config.exit_code, 2) << config.err;
  EXPECT_EQ(config.err, "nodehealth: invalid config: " + bomb +
                            ":1: a dotted key nests deeper than 64 levels\n");
}

}  // namespace
}  // namespace nodehealth
