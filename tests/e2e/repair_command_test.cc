// `nodehealth repair` end to end: the real agent on a fixture node whose GPU fell off the bus
// (NVML says lost, the kernel log says XID 79), the real `repair` command against the agent's
// state directory with the fake NVML saying lost and then healthy, and the agent applying the
// record: at its start (a restart on the fixed node) and at a round (a running agent).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <tuple>

#include <gmock/gmock.h>

#include "agent/policy/repair_record.h"
#include "tests/e2e/agent_harness.h"
#include "tests/support/run_command.h"

namespace nodehealth::testing {
namespace {

constexpr char kLostBusId[] = "0000:9b:00.0";
constexpr char kLostGpu[] = "gpu/0000:9b:00.0";

json ReadJson(const std::string& path) { return json::parse(ReadFile(path), nullptr, false); }

std::vector<std::string> JsonFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(".json")) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Who the record must name: under root the test poses as a sudo user (SUDO_USER is what
// `repair` records then), otherwise the login name of the test's uid.
struct Operator {
  std::map<std::string, std::string> env;
  std::string by;
  uint32_t uid = 0;
};
Operator TestOperator() {
  Operator op;
  if (::getuid() == 0) {
    op.env = {{"SUDO_USER", "alice"}, {"SUDO_UID", "1234"}};
    op.by = "alice";
    op.uid = 1234;
  } else {
    const struct passwd* pw = ::getpwuid(::getuid());
    op.by = pw ? pw->pw_name : "uid " + std::to_string(::getuid());
    op.uid = ::getuid();
  }
  return op;
}

CommandResult Repair(const Node& node, const AgentDirs& dirs, const std::string& nvml_scenario,
                     const std::vector<std::string>& extra = {},
                     std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {
      NODEHEALTH_BINARY, "repair",         "--sysroot",
      node.root(),       "--nvml-library", NODEHEALTH_FAKE_NVML_LIBRARY,
      "--config",        dirs.config(),    "--state-dir",
      dirs.state(),      "--timeout",      "30"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  env["NODEHEALTH_FAKE_NVML"] = nvml_scenario;
  return RunCommand(argv, env, 60s);
}

// The agent on the lost node drained for both faults and saved them as sticky.
void StartDrainedAndStop(const Node& lost, const AgentDirs& dirs) {
  AgentProcess agent(lost, dirs.state(), dirs.config(), {"--interval", "3600"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const json report = agent.WaitForReport(15s);
  ASSERT_EQ(report["drain"]["recommended"], true) << agent.Tail();
  ASSERT_NE(FindReason(report["drain"], "gpu_lost", kLostGpu), nullptr) << report["drain"];
  ASSERT_NE(FindReason(report["drain"], "gpu_xid", kLostGpu), nullptr) << report["drain"];
  ASSERT_EQ(agent.Stop(), 0) << agent.Tail();
}

std::set<std::tuple<std::string, std::string, std::string>> Faults(const json& list) {
  std::set<std::tuple<std::string, std::string, std::string>> out;
  for (const json& f : list) out.emplace(f["probe"], f["code"], f["entity"]);
  return out;
}

TEST(RepairCommandTest, StillLostExitsOneHealthyWritesTheRecordAndTheAgentClearsTheDrain) {
  Node lost("fault-gpu-lost.toml");
  AgentDirs dirs;
  StartDrainedAndStop(lost, dirs);
  const json state = ReadJson(dirs.state() + "/state.json");
  ASSERT_EQ(Faults(state["sticky"]),
            (std::set<std::tuple<std::string, std::string, std::string>>{
                {"gpu_presence", "gpu_lost", kLostGpu}, {"gpu_xid", "gpu_xid", kLostGpu}}))
      << state["sticky"];
  const std::string repairs = dirs.state() + "/repairs";
  const Operator op = TestOperator();

  // The GPU is still lost: nothing is cleared, nothing written.
  CommandResult still = Repair(lost, dirs, lost.scenario(), {}, op.env);
  EXPECT_EQ(still.exit_code, 1) << still.out << still.err;
  EXPECT_THAT(still.out, ::testing::HasSubstr("gpu_presence reports gpu_lost on gpu/0000:9b:00.0"));
  EXPECT_THAT(still.out, ::testing::HasSubstr("no fault repaired: nothing written"));
  EXPECT_TRUE(JsonFiles(repairs).empty());

  // A filter that matches nothing: nothing to repair, exit 0.
  CommandResult none =
      Repair(lost, dirs, lost.scenario(), {"--code", "gpu_row_remap_failure"}, op.env);
  EXPECT_EQ(none.exit_code, 0) << none.out << none.err;
  EXPECT_EQ(none.out, "nothing to repair: 2 sticky faults in " + dirs.state() +
                          "/state.json, none matching the filters\n");

  // Healthy again (the fake NVML answers for the GPU), but a dry run writes nothing.
  const std::string healthy_nvml = ScenarioPath("hgx-h100-xe9680.toml");
  CommandResult dry = Repair(lost, dirs, healthy_nvml, {"--dry-run"}, op.env);
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_THAT(dry.out, ::testing::HasSubstr("dry run: 2 fault(s) would be cleared"));
  EXPECT_TRUE(JsonFiles(repairs).empty());

  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CommandResult fixed = Repair(lost, dirs, healthy_nvml, {}, op.env);
  ASSERT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_THAT(fixed.out, ::testing::HasSubstr("gpu_xid gpu/0000:9b:00.0"));
  const std::vector<std::string> records = JsonFiles(repairs);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(std::filesystem::path(records[0]).filename().string(),
              ::testing::MatchesRegex("[0-9]+-[0-9]+\\.json"));
  struct stat st {};
  ASSERT_EQ(::stat(records[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const json record = ReadJson(records[0]);
  EXPECT_EQ(record["schema"], "nodehealth-repair/1");
  EXPECT_EQ(record["by"], op.by);
  EXPECT_EQ(record["uid"], op.uid);
  EXPECT_EQ(Faults(record["faults"]), Faults(state["sticky"]));
  EXPECT_EQ(record["probes"], json::parse(R"([{"name": "gpu_presence", "verdict": "pass"},
                                               {"name": "gpu_health", "verdict": "warn"}])"));
  const std::string at = record["at"];
  ASSERT_EQ(at.size(), 24u) << at;

  // The agent restarted on the fixed node (same kernel log: the XID 79 line is still there)
  // applies the record at its start: both faults cleared, no drain, the repair shown.
  Node healthy("hgx-h100-xe9680.toml");
  WriteFile(healthy.kmsg(), lost.original_kmsg());
  AgentProcess agent(healthy, dirs.state(), dirs.config(), {"--interval", "3600"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const json report = agent.WaitForReport(15s);
  ASSERT_TRUE(report.is_object()) << agent.Tail();
  EXPECT_EQ(report["drain"]["recommended"], false) << report["drain"] << agent.Tail();
  EXPECT_TRUE(report["policy"]["sticky"].empty()) << report["policy"];
  ASSERT_EQ(report["policy"]["repairs"].size(), 2u) << report["policy"];
  for (const json& r : report["policy"]["repairs"]) {
    EXPECT_EQ(r["by"], op.by);
    EXPECT_EQ(r["uid"], op.uid);
    EXPECT_EQ(r["at"], at);
    EXPECT_EQ(r["entity"], kLostGpu);
  }
  EXPECT_EQ(Value(agent.Metrics(), "nodehealth_drain_recommended"), 0.0);
  EXPECT_THAT(agent.Tail(),
              ::testing::HasSubstr("sticky fault gpu_xid gpu/0000:9b:00.0 cleared by "
                                   "repair: by " +
                                   op.by + " (uid " + std::to_string(op.uid) + ") at " + at));
  EXPECT_TRUE(JsonFiles(repairs).empty());
  EXPECT_EQ(JsonFiles(repairs + "/applied").size(), 1u);

  const json status = ReadJson(dirs.state() + "/status.json");
  EXPECT_EQ(status["drain"]["recommended"], false) << status;
  ASSERT_EQ(status["repairs"].size(), 2u) << status;
  EXPECT_EQ(status["repairs"][0]["by"], op.by);
  EXPECT_EQ(status["repairs"][0]["at"], at);
  EXPECT_GE(*agent::ParseRfc3339Utc(at), before - 0.001);

  // A new XID 79 after the repair drains again.
  EXPECT_GE(AppendXid79AndMeasure(healthy, agent, kLostBusId).to_drain, 0) << agent.Tail();
  const json again = agent.WaitForReport(5s);
  EXPECT_NE(FindReason(again["drain"], "gpu_xid", kLostGpu), nullptr) << again["drain"];
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

TEST(RepairCommandTest, ARunningAgentAppliesARecordAtItsNextRound) {
  Node lost("fault-gpu-lost.toml");
  AgentDirs dirs;
  AgentProcess agent(lost, dirs.state(), dirs.config(), {});  // a round a second
  ASSERT_TRUE(agent.ok()) << agent.error();
  json report = agent.WaitForReport(15s);
  ASSERT_NE(FindReason(report["drain"], "gpu_xid", kLostGpu), nullptr) << agent.Tail();

  // Only the XID: the operator reset the GPU (this repair's NVML answers); the agent's NVML still
  // says lost, so gpu_lost stays, by the agent's own probe.
  CommandResult fixed = Repair(lost, dirs, ScenarioPath("hgx-h100-xe9680.toml"),
                               {"--code", "gpu_xid"}, TestOperator().env);
  ASSERT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  const auto deadline = Clock::now() + 10s;
  do {
    report = agent.WaitForReport(2s);
    if (report.is_object() && report["policy"]["repairs"].size() == 1) break;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < deadline);
  ASSERT_EQ(report["policy"]["repairs"].size(), 1u) << report["policy"] << agent.Tail();
  EXPECT_EQ(report["policy"]["repairs"][0]["code"], "gpu_xid");
  EXPECT_EQ(report["policy"]["repairs"][0]["probe"], "gpu_xid");
  EXPECT_EQ(FindReason(report["drain"], "gpu_xid", kLostGpu), nullptr) << report["drain"];
  EXPECT_NE(FindReason(report["drain"], "gpu_lost", kLostGpu), nullptr) << report["drain"];
  EXPECT_EQ(report["drain"]["recommended"], true);
  EXPECT_EQ(agent.Stop(), 0) << agent.Tail();
}

TEST(RepairCommandTest, UnreadableOrUntrustedStateIsExitTwo) {
  Node lost("fault-gpu-lost.toml");
  AgentDirs dirs;
  CommandResult missing = Repair(lost, dirs, lost.scenario());
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;
  EXPECT_THAT(missing.err,
              ::testing::HasSubstr("nodehealth repair: cannot read the agent's state"));

  WriteFile(dirs.state() + "/state.json", "{\"schema\": \"nodehealth-agent-state/3\"}");
  ::chmod((dirs.state() + "/state.json").c_str(), 0666);
  CommandResult untrusted = Repair(lost, dirs, lost.scenario());
  EXPECT_EQ(untrusted.exit_code, 2) << untrusted.out << untrusted.err;
  EXPECT_THAT(untrusted.err, ::testing::HasSubstr("writable by group or others"));

  ::chmod((dirs.state() + "/state.json").c_str(), 0600);
  CommandResult invalid = Repair(lost, dirs, lost.scenario());
  EXPECT_EQ(invalid.exit_code, 2) << invalid.out << invalid.err;
  EXPECT_THAT(invalid.err, ::testing::HasSubstr("\"boot_id\" is missing"));
  EXPECT_FALSE(std::filesystem::exists(dirs.state() + "/repairs"));
}

}  // namespace
}  // namespace nodehealth::testing
