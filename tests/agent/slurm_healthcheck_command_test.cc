#include "agent/slurm/slurm_healthcheck_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agent/config/toml_reader.h"
#include "agent/policy/drain_policy.h"
#include "agent/policy/report_support.h"
#include "agent/policy/status_file.h"
#include "exporters/atomic_file.h"
#include "probes/finding_catalog.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::slurm {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGpu0[] = "gpu/0000:19:00.0";
constexpr char kRemap[] = "nodehealth: gpu_row_remap_pending gpu/0000:19:00.0";

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// ---- ReadSlurmOutcome ----

TEST(SlurmHealthcheckCommandTest, ReadSlurmOutcome) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/" + kSlurmOutcomeFile;
  Write(path, R"({"schema": "nodehealth-slurm-healthcheck/1", "node": "gpu01",
    "at_unix_seconds": 1800000000.5, "source": "agent", "action": "suppressed",
    "suppressed": {"partition": "gpu", "nodes": 4, "drained_by_nodehealth": 1, "limit": 1},
    "exit_code": 1})");
  Expected<SlurmOutcomeSummary> suppressed = ReadSlurmOutcome(path);
  ASSERT_TRUE(suppressed.ok()) << suppressed.error().message;
  EXPECT_EQ(suppressed->at_unix_seconds, 1800000000.5);
  EXPECT_EQ(suppressed->action, "suppressed");
  EXPECT_TRUE(suppressed->suppressed);
  EXPECT_TRUE(suppressed->evaluated);

  Write(path, R"({"schema": "nodehealth-slurm-healthcheck/1", "at_unix_seconds": 1800000001,
    "action": "none", "exit_code": 2})");
  Expected<SlurmOutcomeSummary> failed = ReadSlurmOutcome(path);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_EQ(failed->at_unix_seconds, 1800000001);
  EXPECT_EQ(failed->action, "none");
  EXPECT_FALSE(failed->suppressed);
  EXPECT_FALSE(failed->evaluated);
}

TEST(SlurmHealthcheckCommandTest, ReadSlurmOutcomeErrors) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/" + kSlurmOutcomeFile;
  Expected<SlurmOutcomeSummary> missing = ReadSlurmOutcome(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_EQ(missing.error().message,
            "cannot open slurm-healthcheck status " + path + ": No such file or directory");

  const std::string not_ours = path + ": not a nodehealth-slurm-healthcheck/1 file";
  for (const char* text :
       {R"({"schema": "nodehealth-slurm-healthcheck/2", "at_unix_seconds": 1, "action": "none",
           "exit_code": 0})",
        R"({"at_unix_seconds": 1, "action": "none", "exit_code": 0})",
        R"({"schema": "nodehealth-slurm-healthcheck/1", "action": "none", "exit_code": 0})",
        R"({"schema": "nodehealth-slurm-healthcheck/1", "at_unix_seconds": 1, "action": 1,
           "exit_code": 0})",
        R"({"schema": "nodehealth-slurm-healthcheck/1", "at_unix_seconds": 1, "action": "none",
           "exit_code": 0.5})",
        R"({"schema": "nodehealth-slurm-healthcheck/1", "at_unix_seconds": 1, "action": "none"})",
        R"({"schema": "nodehealth-slurm-healthcheck/1", "at_unix_seconds": 1,)", "[]", ""}) {
    Write(path, text);
    Expected<SlurmOutcomeSummary> outcome = ReadSlurmOutcome(path);
    ASSERT_FALSE(outcome.ok()) << text;
    EXPECT_EQ(outcome.error().message, not_ours) << text;
  }
}

// ---- RunSlurmHealthcheck against the agent's status file (written by the agent's own policy and
// renderer) on a recorded node root, and a fake scontrol (a script that logs its arguments) ----

constexpr char kSlurmConf[] = "/etc/slurm/test.conf";
constexpr char kBoot[] = "3c1e7b0a-0000-4000-8000-00000000b007";

// The agent's latest runs: gpu_health fails with a pending row remap (drain recommended), or
// passes; gpu_presence passes.
std::vector<agent::ProbeSnapshot> AgentRuns(bool sick, uint64_t run) {
  agent::ProbeSnapshot presence;
  presence.result.name = "gpu_presence";
  presence.result.finished_at = UnixNow();
  presence.run = run;
  agent::ProbeSnapshot health = presence;
  health.result.name = "gpu_health";
  if (sick) {
    Finding finding = MakeFinding(codes::kGpuRowRemapPending, kGpu0, "row remap pending");
    finding.action = Action::kResetGpu;
    health.result.findings.push_back(finding);
    health.result.verdict = ProbeVerdict::kFail;
  }
  return {presence, health};
}

struct StatusFields {
  std::string node = "gpu01";
  std::string boot_id = kBoot;
  double updated_at = UnixNow();
  double valid_seconds = 300;
};

// The status file the agent writes after a round with these runs, through its own drain policy.
std::string AgentStatusText(bool sick, const StatusFields& fields = {}) {
  const std::vector<agent::ProbeSnapshot> runs = AgentRuns(sick, 1);
  const agent::PolicyOutput policy = agent::EvaluateDrainPolicy(
      {}, {.probes = runs, .new_xids = {}, .boot_id = fields.boot_id, .now = fields.updated_at},
      {});
  return agent::RenderStatusFile({.node = fields.node,
                                  .boot_id = fields.boot_id,
                                  .state = policy.state,
                                  .probes = runs,
                                  .updated_at = fields.updated_at,
                                  .valid_seconds = fields.valid_seconds,
                                  .round_interval_seconds = 60,
                                  .version = "test",
                                  .pid = 1,
                                  .state_error = ""});
}

class SlurmHealthcheckRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    // The recorded node whose identity the status file must name (--sysroot), and the agent's
    // state directory, kept as root (the test's user) keeps them.
    std::filesystem::create_directories(Path("root/proc/sys/kernel/random"));
    Write(Path("root/proc/sys/kernel/hostname"), "gpu01\n");
    Write(Path("root/proc/sys/kernel/random/boot_id"), std::string(kBoot) + "\n");
    std::filesystem::create_directories(StateDir());
    ::chmod(dir_.path().c_str(), 0755);
    ::chmod(StateDir().c_str(), 0755);
  }

  std::string StateDir() const { return Path("state"); }
  std::string StatusPath() const { return StateDir() + "/status.json"; }
  std::string OutcomePath() const { return StateDir() + "/" + kSlurmOutcomeFile; }
  void ServeStatus(bool sick, const StatusFields& fields = {}) {
    ASSERT_TRUE(WriteFileAtomically(StatusPath(), AgentStatusText(sick, fields)).ok());
  }

  // The fake scontrol answers `show node -o [NAME]` from these lines and accepts every update.
  void SetNodes(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    Write(Path("nodes.txt"), text);
    Write(Path("scontrol"),
          "#!/bin/sh\n"
          "{ printf 'SLURM_CONF=%s' \"$SLURM_CONF\"; for a in \"$@\"; do "
          "printf ' [%s]' \"$a\"; done; echo; } >> " +
              Path("calls.log") +
              "\n"
              "if [ \"$1\" = show ]; then\n"
              "  if [ -n \"$4\" ]; then\n"
              "    grep \"^NodeName=$4 \" " +
              Path("nodes.txt") +
              " && exit 0\n"
              "    echo \"Node $4 not found\" >&2; exit 1\n"
              "  fi\n"
              "  cat " +
              Path("nodes.txt") +
              "\n"
              "fi\n"
              "exit 0\n");
    ::chmod(Path("scontrol").c_str(), 0755);
  }

  void WriteConfig(const std::string& scontrol = "") {
    Write(Path("nodehealth.toml"),
          "[slurm]\nscontrol = \"" + (scontrol.empty() ? Path("scontrol") : scontrol) +
              "\"\nslurm_conf = \"" + kSlurmConf + "\"\nfallback = \"none\"\n");
  }

  int Run(bool dry_run = false, bool idle_check = false) {
    SlurmHealthcheckOptions options;
    options.check.config = Path("nodehealth.toml");
    options.check.sysroot = Path("root");
    options.state_dir = StateDir();
    options.node = "gpu01";
    options.dry_run = dry_run;
    options.idle_check = idle_check;
    std::ostringstream out;
    const SlurmHealthcheckResult result = RunSlurmHealthcheck(options, out);
    EXPECT_FALSE(result.must_exit_immediately);
    out_ = out.str();
    return result.exit_code;
  }

  // Every scontrol call, one line each: SLURM_CONF=... [arg] [arg] ...
  std::vector<std::string> Calls() const {
    std::vector<std::string> calls;
    std::ifstream file(Path("calls.log"));
    for (std::string line; std::getline(file, line);) calls.push_back(line);
    return calls;
  }
  static std::string Call(const std::string& args) {
    return std::string("SLURM_CONF=") + kSlurmConf + " " + args;
  }

  nlohmann::json Status() const {
    std::ifstream file(OutcomePath());
    if (!file) return nullptr;
    return nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  }
  bool StatusWritten() const { return std::filesystem::exists(OutcomePath()); }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  std::string out_;
};

std::string NodeLine(const std::string& name, const std::string& state,
                     const std::string& reason = "") {
  return "NodeName=" + name + " Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUTot=2 " +
         "NodeHostName=" + name + " Version=22.05.8 OS=Linux 6.1.0 #1 SMP @0  State=" + state +
         " Partitions=gpu  ExtSensorsTemp=n/s" +
         (reason.empty() ? "" : " Reason=" + reason + " [root@2026-11-24T02:45:52]");
}

const std::vector<std::string> kFourIdle = {NodeLine("gpu01", "IDLE"), NodeLine("gpu02", "IDLE"),
                                            NodeLine("gpu03", "MIXED"),
                                            NodeLine("gpu04", "ALLOCATED")};

TEST_F(SlurmHealthcheckRunTest, DrainsWhenTheAgentRecommendsIt) {
  ServeStatus(/*sick=*/true);
  SetNodes(kFourIdle);
  WriteConfig();
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(out_,
            std::string("nodehealth slurm-healthcheck: node gpu01: drain (drain recommended: ") +
                kRemap + "); verdict from agent\n");
  EXPECT_EQ(
      Calls(),
      (std::vector<std::string>{
          Call("[show] [node] [-o] [gpu01]"), Call("[show] [node] [-o]"),
          Call(std::string("[update] [NodeName=gpu01] [State=DRAIN] [Reason=") + kRemap + "]")}));
  const nlohmann::json status = Status();
  EXPECT_EQ(status.value("schema", ""), "nodehealth-slurm-healthcheck/1");
  EXPECT_EQ(status.value("node", ""), "gpu01");
  EXPECT_EQ(status.value("source", ""), "agent");
  EXPECT_EQ(status.value("action", ""), "drain");
  EXPECT_EQ(status.value("reason", ""), kRemap);
  EXPECT_EQ(status.value("drain_recommended", false), true);
  EXPECT_EQ(status.value("exit_code", -1), 1);
  EXPECT_EQ(status.value("error", "?"), "");
  EXPECT_TRUE(status.contains("suppressed") && status["suppressed"].is_null());
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(OutcomePath());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->action, "drain");
  EXPECT_TRUE(summary->evaluated);
  EXPECT_FALSE(summary->suppressed);
  EXPECT_GT(summary->at_unix_seconds, 1.7e9);
}

TEST_F(SlurmHealthcheckRunTest, DryRunNeverUpdates) {
  ServeStatus(true);
  SetNodes(kFourIdle);
  WriteConfig();
  EXPECT_EQ(Run(/*dry_run=*/true), 1);
  EXPECT_EQ(out_,
            std::string("nodehealth slurm-healthcheck: node gpu01: drain (drain recommended: ") +
                kRemap + "); verdict from agent; dry run\n");
  EXPECT_EQ(Calls(), (std::vector<std::string>{Call("[show] [node] [-o] [gpu01]"),
                                               Call("[show] [node] [-o]")}));
  EXPECT_EQ(Status().value("dry_run", false), true);
}

TEST_F(SlurmHealthcheckRunTest, BlastRadiusSuppressesTheDrain) {
  ServeStatus(true);
  std::vector<std::string> nodes = kFourIdle;
  nodes[1] = NodeLine("gpu02", "IDLE+DRAIN", "nodehealth: gpu_lost gpu/0000:9b:00.0");
  SetNodes(nodes);
  WriteConfig();
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(out_, std::string("nodehealth slurm-healthcheck: node gpu01: suppressed (drain "
                              "suppressed: partition gpu already has 1 of 4 nodes drained by "
                              "nodehealth (limit 1); likely the fabric or a rollout, not this "
                              "node: ") +
                      kRemap + "); verdict from agent\n");
  EXPECT_EQ(Calls(), (std::vector<std::string>{Call("[show] [node] [-o] [gpu01]"),
                                               Call("[show] [node] [-o]")}));
  const nlohmann::json status = Status();
  EXPECT_EQ(status.value("action", ""), "suppressed");
  EXPECT_EQ(status.value("reason", ""), kRemap);
  EXPECT_EQ(status["suppressed"],
            (nlohmann::json{
                {"partition", "gpu"}, {"nodes", 4}, {"drained_by_nodehealth", 1}, {"limit", 1}}));
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(OutcomePath());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->suppressed);
  EXPECT_TRUE(summary->evaluated);
}

TEST_F(SlurmHealthcheckRunTest, AlreadyDrainedIsNotUpdatedAgain) {
  ServeStatus(true);
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "IDLE+DRAIN", kRemap);
  SetNodes(nodes);
  WriteConfig();
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(out_, std::string("nodehealth slurm-healthcheck: node gpu01: none (already drained: ") +
                      kRemap + "); verdict from agent\n");
  EXPECT_EQ(Calls(), std::vector<std::string>{Call("[show] [node] [-o] [gpu01]")});
}

TEST_F(SlurmHealthcheckRunTest, ResumesWhenTheProbePassesAgain) {
  ServeStatus(/*sick=*/false);
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "MIXED+DRAIN", kRemap);
  SetNodes(nodes);
  WriteConfig();
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: resume (gpu_row_remap_pending "
            "gpu/0000:19:00.0 is gone: gpu_health passed again); verdict from agent\n");
  EXPECT_EQ(Calls(), (std::vector<std::string>{Call("[show] [node] [-o] [gpu01]"),
                                               Call("[update] [NodeName=gpu01] [State=RESUME]")}));
  EXPECT_EQ(Status().value("action", ""), "resume");
  EXPECT_EQ(Status().value("exit_code", -1), 0);
}

TEST_F(SlurmHealthcheckRunTest, ForeignDrainIsLeftAlone) {
  ServeStatus(false);
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "IDLE+DRAIN", "bios update: set X=1");
  SetNodes(nodes);
  WriteConfig();
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: none (reason \"bios update: set X=1\" was "
            "not set by nodehealth: left as is); verdict from agent\n");
  EXPECT_EQ(Calls(), std::vector<std::string>{Call("[show] [node] [-o] [gpu01]")});
}

TEST_F(SlurmHealthcheckRunTest, NoAgentAndNoFallback) {
  SetNodes(kFourIdle);
  WriteConfig();
  EXPECT_EQ(Run(), 2);
  const std::string why = "cannot open " + StatusPath() + ": No such file or directory";
  EXPECT_EQ(out_, "nodehealth slurm-healthcheck: node gpu01: could not evaluate: " + why +
                      "; [slurm] fallback = \"none\": no action\n");
  EXPECT_TRUE(Calls().empty());
  const nlohmann::json status = Status();
  EXPECT_EQ(status.value("source", ""), "none");
  EXPECT_EQ(status.value("action", ""), "none");
  EXPECT_EQ(status.value("exit_code", -1), 2);
  EXPECT_EQ(status.value("agent_error", ""), why);
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(OutcomePath());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->evaluated);
}

// Issue 13 item 2: the verdict that drains or resumes the node must come from something only root
// can write. Each of these status files says "drain"; none of them may be obeyed.
TEST_F(SlurmHealthcheckRunTest, AStatusFileOnlyRootCouldWriteIsRequired) {
  SetNodes(kFourIdle);
  WriteConfig();
  const auto refused = [&](const std::string& what, const std::string& why) {
    EXPECT_EQ(Run(), 2) << what;
    EXPECT_EQ(out_, "nodehealth slurm-healthcheck: node gpu01: could not evaluate: " + why +
                        "; [slurm] fallback = \"none\": no action\n")
        << what;
    EXPECT_TRUE(Calls().empty()) << what;
  };

  ServeStatus(true);
  ASSERT_EQ(::chown(StatusPath().c_str(), 65534, 65534), 0) << std::strerror(errno);
  refused("owned by nobody", "untrusted file " + StatusPath() +
                                 ": owned by uid 65534, not root or uid " +
                                 std::to_string(::geteuid()));

  ServeStatus(true);
  ::chmod(StatusPath().c_str(), 0664);
  refused("group-writable",
          "untrusted file " + StatusPath() + ": writable by group or others (mode 0664)");

  ServeStatus(true);
  ::chmod(StateDir().c_str(), 0777);
  refused("in a directory anyone can write",
          "untrusted directory " + StateDir() + ": writable by group or others (mode 0777)");
  ::chmod(StateDir().c_str(), 0755);

  std::filesystem::remove(StatusPath());
  Write(Path("elsewhere.json"), AgentStatusText(true));
  std::filesystem::create_symlink(Path("elsewhere.json"), StatusPath());
  refused("a symbolic link", StatusPath() + " is a symbolic link: refused");
  std::filesystem::remove(StatusPath());

  ASSERT_EQ(::mkfifo(StatusPath().c_str(), 0644), 0);
  refused("a FIFO", StatusPath() + " is not a regular file");
  std::filesystem::remove(StatusPath());
}

TEST_F(SlurmHealthcheckRunTest, AStatusFileOfAnotherNodeBootOrTimeIsNoVerdict) {
  SetNodes(kFourIdle);
  WriteConfig();
  const auto refused = [&](const StatusFields& fields, const std::string& why) {
    ServeStatus(true, fields);
    EXPECT_EQ(Run(), 2) << why;
    EXPECT_EQ(out_, "nodehealth slurm-healthcheck: node gpu01: could not evaluate: " +
                        StatusPath() + ": " + why + "; [slurm] fallback = \"none\": no action\n");
    EXPECT_TRUE(Calls().empty()) << why;
  };
  refused({.node = "gpu02"}, "status file is for node \"gpu02\", this is \"gpu01\"");
  refused({.boot_id = "before-the-reboot"},
          "status file is from boot before-the-reboot, this boot is " + std::string(kBoot));
  // An agent that stopped (valid for 0 s) or died three rounds ago.
  refused({.updated_at = UnixNow() - 400, .valid_seconds = 300},
          "status file expired 100 s ago (updated 400 s ago): is the agent running?");
  refused({.updated_at = UnixNow() + 3600}, "status file is dated 3600 s in the future");

  // And the one it takes.
  ServeStatus(true);
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(out_,
            std::string("nodehealth slurm-healthcheck: node gpu01: drain (drain recommended: ") +
                kRemap + "); verdict from agent\n");
}

TEST_F(SlurmHealthcheckRunTest, NodeUnknownToSlurm) {
  ServeStatus(true);
  SetNodes({NodeLine("gpu02", "IDLE")});
  WriteConfig();
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: could not evaluate: scontrol show node -o "
            "gpu01: exit 1: Node gpu01 not found\n");
  EXPECT_EQ(Status().value("exit_code", -1), 2);
}

TEST_F(SlurmHealthcheckRunTest, NoScontrol) {
  WriteConfig("/nonexistent/scontrol");
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: could not evaluate: no scontrol "
            "(/nonexistent/scontrol): set [slurm] scontrol\n");
  EXPECT_EQ(Status().value("error", ""),
            "no scontrol (/nonexistent/scontrol): set [slurm] scontrol");
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(OutcomePath());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->evaluated);
}

TEST_F(SlurmHealthcheckRunTest, InvalidConfig) {
  Write(Path("nodehealth.toml"), "[slurm]\nfallback = \"maybe\"\n");
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_, "nodehealth slurm-healthcheck: invalid config: " + Path("nodehealth.toml") +
                      ":2: \"slurm.fallback\" must be \"check\" or \"none\"\n");
  EXPECT_FALSE(StatusWritten());
}

TEST_F(SlurmHealthcheckRunTest, IdleCheckOnlyAnswers) {
  const std::pair<const char*, int> cases[] = {
      {"IDLE", 0},
      {"IDLE+DRAIN", 0},
      {"MIXED", 1},
      {"ALLOCATED+DRAIN", 1},
      {"IDLE+COMPLETING", 1},
      {"IDLE+POWERING_UP", 1},
      {"IDLE~", 1},
  };
  WriteConfig();
  for (const auto& [state, exit_code] : cases) {
    SetNodes({NodeLine("gpu01", state)});
    EXPECT_EQ(Run(false, /*idle_check=*/true), exit_code) << state;
    EXPECT_EQ(out_, std::string("nodehealth slurm-healthcheck --idle-check: node gpu01 is ") +
                        (exit_code == 0 ? "idle" : "busy") + " (" + state + ")\n");
  }
  SetNodes({NodeLine("gpu02", "IDLE")});
  EXPECT_EQ(Run(false, true), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck --idle-check: scontrol show node -o gpu01: exit 1: Node "
            "gpu01 not found\n");
  for (const std::string& call : Calls()) EXPECT_EQ(call, Call("[show] [node] [-o] [gpu01]"));
  EXPECT_FALSE(StatusWritten());
}

TEST_F(SlurmHealthcheckRunTest, IdleCheckWithoutScontrolWritesNoStatus) {
  WriteConfig("/nonexistent/scontrol");
  EXPECT_EQ(Run(false, /*idle_check=*/true), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck --idle-check: no scontrol (/nonexistent/scontrol): set "
            "[slurm] scontrol\n");
  // The status file is the health check's: an idle check must not make the agent report a
  // failed health check on a node where Slurm never runs one.
  EXPECT_FALSE(StatusWritten());
}

}  // namespace
}  // namespace nodehealth::slurm
