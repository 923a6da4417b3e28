// The real agent given FIFOs, TOML bombs and bad roots: at start a FIFO or bomb config or a
// missing --sysroot is exit 2 at once; a config replaced by a FIFO, then by a bomb, before SIGHUP
// fails the reload (the running settings stay), the scheduler keeps going (/healthz 200) and
// SIGTERM still ends it promptly. Each wait
// has a deadline, so the old behaviour (a reload blocked in open(2) for ever) fails, not hangs.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/agent_harness.h"
#include "tests/support/background_process.h"

namespace nodehealth::testing {
namespace {

// `nodehealth agent` on `node` with `config`, expected to exit by itself within `deadline`.
struct AgentRun {
  std::optional<int> status;
  std::string err;
  double seconds = 0;
};
AgentRun RunAgentUntilExit(const std::string& sysroot, const std::string& state_dir,
                           const std::string& config, std::chrono::milliseconds deadline) {
  BackgroundProcess agent({NODEHEALTH_BINARY, "agent", "--sysroot", sysroot, "--nvml-library",
                           NODEHEALTH_FAKE_NVML_LIBRARY, "--listen", "127.0.0.1:0", "--state-dir",
                           state_dir, "--config", config},
                          {});
  const auto start = Clock::now();
  AgentRun run;
  run.status = agent.WaitExit(deadline);
  run.seconds = SecondsSince(start);
  run.err = agent.Stderr();
  return run;
}

TEST(AgentHostileInputTest, FifoConfigAtStartIsExit2AtOnce) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string fifo = dirs.dir.path() + "/fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  AgentRun run = RunAgentUntilExit(node.root(), dirs.state(), fifo, 15s);
  ASSERT_TRUE(run.status) << "the agent still waits on a FIFO config after 15 s";
  EXPECT_EQ(*run.status, 2);
  EXPECT_NE(
      run.err.find("nodehealth agent: invalid config: " + fifo + " is a FIFO, not a config file\n"),
      std::string::npos)
      << run.err;
  EXPECT_LT(run.seconds, 10);
}

TEST(AgentHostileInputTest, TomlBombConfigAtStartIsExit2NotACrash) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  std::string bomb = "a";
  for (int i = 1; i < 50000; ++i) bomb += ".a";
  WriteFile(dirs.config(), bomb + " = 1\n");
  AgentRun run = RunAgentUntilExit(node.root(), dirs.state(), dirs.config(), 15s);
  ASSERT_TRUE(run.status);
  EXPECT_EQ(*run.status, 2) << run.err;  // 139 (SIGSEGV) before: systemd restarted it for ever
  EXPECT_NE(run.err.find("nodehealth agent: invalid config: " + dirs.config() +
                         ":1: a dotted key nests deeper than 64 levels\n"),
            std::string::npos)
      << run.err;
}

TEST(AgentHostileInputTest, MissingSysrootAtStartIsExit2) {
  AgentDirs dirs;
  const std::string missing = dirs.dir.path() + "/no-such-root";
  AgentRun run = RunAgentUntilExit(missing, dirs.state(), dirs.config(), 10s);
  ASSERT_TRUE(run.status);
  EXPECT_EQ(*run.status, 2);
  EXPECT_EQ(run.err, "nodehealth: --sysroot " + missing + ": No such file or directory\n");
}

TEST(AgentHostileInputTest, SighupWithAFifoConfigKeepsTheSchedulerAlive) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  WriteFile(dirs.config(), "[agent]\ninterval_seconds = 1\n");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--profile", kAzureProfile});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  std::string text = agent.Metrics();
  ASSERT_EQ(Value(text, "nodehealth_config_last_reload_successful"), 1.0);

  // The config becomes a FIFO that nobody will ever write.
  std::filesystem::remove(dirs.config());
  ASSERT_EQ(::mkfifo(dirs.config().c_str(), 0600), 0);
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<Series>& all) {
        return Value(all, "nodehealth_config_last_reload_successful") == 0.0;
      },
      10s, &text))
      << LinesWith(text, "config") << agent.Tail();
  EXPECT_NE(agent.process().Stderr().find("reload failed, keeping the running settings: invalid "
                                          "config: " +
                                          dirs.config() + " is a FIFO, not a config file"),
            std::string::npos)
      << agent.Tail();
  // Rounds go on, and /healthz stays 200 past the ~37 s after which a stalled scheduler answered
  // 503 (three rounds are enough to show the scheduler is not stuck in the reload).
  const double rounds = Value(text, "nodehealth_agent_rounds_total").value_or(-1);
  EXPECT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_agent_rounds_total").value_or(-1) >= rounds + 3;
      },
      15s, &text))
      << LinesWith(text, "rounds");
  EXPECT_EQ(agent.Get("/healthz").status, 200);

  // Then a TOML bomb: the reload fails again, the agent lives on.
  std::filesystem::remove(dirs.config());
  std::string bomb = "a";
  for (int i = 1; i < 50000; ++i) bomb += ".a";
  WriteFile(dirs.config(), bomb + " = 1\n");
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  EXPECT_TRUE(agent.WaitForMetrics(
      [&](const std::vector<Series>& all) {
        return Value(all, "nodehealth_agent_rounds_total").value_or(-1) >= rounds + 5;
      },
      15s, &text))
      << agent.Tail();
  EXPECT_TRUE(agent.process().Running()) << agent.Tail();
  EXPECT_NE(agent.process().Stderr().find(":1: a dotted key nests deeper than 64 levels"),
            std::string::npos)
      << agent.Tail();
  EXPECT_EQ(Value(text, "nodehealth_config_last_reload_successful"), 0.0);

  const auto stop = Clock::now();
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
  EXPECT_LT(SecondsSince(stop), 5) << "SIGTERM took too long";
}

TEST(AgentHostileInputTest, FormatAndOutputAreAcceptedAndSaidUnused) {
  Node node(kAzureScenario);
  AgentDirs dirs;
  const std::string output = dirs.dir.path() + "/report.json";
  AgentProcess agent(node, dirs.state(), dirs.config(),
                     {"--profile", kAzureProfile, "--format", "json", "--output", output});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  EXPECT_NE(agent.process().Stderr().find(
                "--format and --output are unused by the agent: its report is at /report"),
            std::string::npos)
      << agent.Tail();
  EXPECT_FALSE(std::filesystem::exists(output));
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

}  // namespace
}  // namespace nodehealth::testing
