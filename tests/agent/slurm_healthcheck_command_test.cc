#include "agent/slurm/slurm_healthcheck_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agent/agent_snapshot.h"
#include "agent/http_endpoint.h"
#include "agent/toml_reader.h"
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

// ---- AgentHostPort ----

TEST(SlurmHealthcheckCommandTest, AgentHostPort) {
  EXPECT_EQ(AgentHostPort("0.0.0.0:9840"), "127.0.0.1:9840");
  EXPECT_EQ(AgentHostPort("[::]:9840"), "[::1]:9840");
  EXPECT_EQ(AgentHostPort(":9840"), "127.0.0.1:9840");
  EXPECT_EQ(AgentHostPort("http://10.0.0.5:9840/"), "10.0.0.5:9840");
  EXPECT_EQ(AgentHostPort("http://10.0.0.5:9840"), "10.0.0.5:9840");
  EXPECT_EQ(AgentHostPort("http://0.0.0.0:9840/report"), "127.0.0.1:9840");
  EXPECT_EQ(AgentHostPort("http://[::]:9840/"), "[::1]:9840");
  EXPECT_EQ(AgentHostPort("127.0.0.1:1"), "127.0.0.1:1");
  EXPECT_EQ(AgentHostPort("[::1]:9841"), "[::1]:9841");
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

// ---- RunSlurmHealthcheck against a fake agent (the real HTTP endpoint serving a snapshot built
// by the agent's own code) and a fake scontrol (a script that logs its arguments) ----

// The agent's /report: gpu_health fails with a pending row remap (drain recommended), or passes.
Report AgentReport(bool sick) {
  Report report;
  report.node = "gpu01";
  report.mode = "agent";
  report.version = "test";
  ProbeResult presence;
  presence.name = "gpu_presence";
  ProbeResult health;
  health.name = "gpu_health";
  if (sick) {
    Finding finding = MakeFinding(codes::kGpuRowRemapPending, kGpu0, "row remap pending");
    finding.action = Action::kResetGpu;
    health.findings.push_back(finding);
    health.verdict = ProbeVerdict::kFail;
  }
  report.probes = {presence, health};
  Decide(report);  // drain.reasons from the findings, as the report has them
  return report;
}

// What the fake agent serves; one endpoint serves the whole suite, each test sets the snapshot.
struct Served {
  std::mutex mutex;
  std::shared_ptr<const agent::AgentSnapshot> snapshot;
  bool healthy = true;
};
Served& Serving() {
  static Served served;
  return served;
}

constexpr char kSlurmConf[] = "/etc/slurm/test.conf";

class SlurmHealthcheckRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    agent::HttpHandlers handlers{.snapshot =
                                     [] {
                                       std::lock_guard lock(Serving().mutex);
                                       return Serving().snapshot;
                                     },
                                 .healthy =
                                     [] {
                                       std::lock_guard lock(Serving().mutex);
                                       return Serving().healthy;
                                     }};
    Expected<std::unique_ptr<agent::HttpEndpoint>> started =
        agent::HttpEndpoint::Start({.listen = "127.0.0.1:0"}, std::move(handlers));
    if (started) {
      endpoint_ = std::move(*started).release();
    } else {
      start_error_ = new std::string(started.error().message);
    }
  }
  static void TearDownTestSuite() {
    delete endpoint_;
    endpoint_ = nullptr;
  }

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_NE(endpoint_, nullptr) << (start_error_ ? *start_error_ : "");
  }

  // The agent's /report from `report` (through the agent's own snapshot code); `healthy`: what
  // /healthz says; `has_results`: false for an agent whose first round has not ended.
  static void Serve(const Report& report, bool healthy = true, bool has_results = true) {
    const agent::PolicyOutput policy{};
    const agent::KernelLogView log{};
    agent::AgentCounters counters;
    counters.rounds = has_results ? 1 : 0;
    const std::vector<std::string> gpus;
    std::shared_ptr<const agent::AgentSnapshot> snapshot =
        agent::BuildAgentSnapshot({.report = report,
                                   .policy = policy,
                                   .kernel_log = log,
                                   .gpu_bus_ids = gpus,
                                   .counters = counters});
    std::lock_guard lock(Serving().mutex);
    Serving().snapshot = std::move(snapshot);
    Serving().healthy = healthy;
  }
  static std::string AgentHostPort() {
    return "127.0.0.1:" + std::to_string(endpoint_->ports().at(0));
  }
  static std::string AgentUrl() { return "http://" + AgentHostPort(); }

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

  void WriteConfig(const std::string& agent_url, const std::string& scontrol = "") {
    Write(Path("nodehealth.toml"), "state_dir = \"" + dir_.path() + "\"\n[slurm]\nscontrol = \"" +
                                       (scontrol.empty() ? Path("scontrol") : scontrol) +
                                       "\"\nslurm_conf = \"" + kSlurmConf + "\"\nagent_url = \"" +
                                       agent_url +
                                       "\"\nagent_timeout_seconds = 2\nfallback = \"none\"\n");
  }

  int Run(bool dry_run = false, bool idle_check = false) {
    SlurmHealthcheckOptions options;
    options.check.config = Path("nodehealth.toml");
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
    std::ifstream file(Path(kSlurmOutcomeFile));
    if (!file) return nullptr;
    return nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  }
  bool StatusWritten() const { return std::filesystem::exists(Path(kSlurmOutcomeFile)); }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  std::string out_;
  static inline agent::HttpEndpoint* endpoint_ = nullptr;
  static inline std::string* start_error_ = nullptr;
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
  Serve(AgentReport(/*sick=*/true));
  SetNodes(kFourIdle);
  WriteConfig(AgentUrl() + "/");
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
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(Path(kSlurmOutcomeFile));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->action, "drain");
  EXPECT_TRUE(summary->evaluated);
  EXPECT_FALSE(summary->suppressed);
  EXPECT_GT(summary->at_unix_seconds, 1.7e9);
}

TEST_F(SlurmHealthcheckRunTest, DryRunNeverUpdates) {
  Serve(AgentReport(true));
  SetNodes(kFourIdle);
  WriteConfig(AgentUrl());
  EXPECT_EQ(Run(/*dry_run=*/true), 1);
  EXPECT_EQ(out_,
            std::string("nodehealth slurm-healthcheck: node gpu01: drain (drain recommended: ") +
                kRemap + "); verdict from agent; dry run\n");
  EXPECT_EQ(Calls(), (std::vector<std::string>{Call("[show] [node] [-o] [gpu01]"),
                                               Call("[show] [node] [-o]")}));
  EXPECT_EQ(Status().value("dry_run", false), true);
}

TEST_F(SlurmHealthcheckRunTest, BlastRadiusSuppressesTheDrain) {
  Serve(AgentReport(true));
  std::vector<std::string> nodes = kFourIdle;
  nodes[1] = NodeLine("gpu02", "IDLE+DRAIN", "nodehealth: gpu_lost gpu/0000:9b:00.0");
  SetNodes(nodes);
  WriteConfig(AgentUrl());
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
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(Path(kSlurmOutcomeFile));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->suppressed);
  EXPECT_TRUE(summary->evaluated);
}

TEST_F(SlurmHealthcheckRunTest, AlreadyDrainedIsNotUpdatedAgain) {
  Serve(AgentReport(true));
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "IDLE+DRAIN", kRemap);
  SetNodes(nodes);
  WriteConfig(AgentUrl());
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(out_, std::string("nodehealth slurm-healthcheck: node gpu01: none (already drained: ") +
                      kRemap + "); verdict from agent\n");
  EXPECT_EQ(Calls(), std::vector<std::string>{Call("[show] [node] [-o] [gpu01]")});
}

TEST_F(SlurmHealthcheckRunTest, ResumesWhenTheProbePassesAgain) {
  Serve(AgentReport(/*sick=*/false));
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "MIXED+DRAIN", kRemap);
  SetNodes(nodes);
  WriteConfig(AgentUrl());
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
  Serve(AgentReport(false));
  std::vector<std::string> nodes = kFourIdle;
  nodes[0] = NodeLine("gpu01", "IDLE+DRAIN", "bios update: set X=1");
  SetNodes(nodes);
  WriteConfig(AgentUrl());
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: none (reason \"bios update: set X=1\" was "
            "not set by nodehealth: left as is); verdict from agent\n");
  EXPECT_EQ(Calls(), std::vector<std::string>{Call("[show] [node] [-o] [gpu01]")});
}

TEST_F(SlurmHealthcheckRunTest, NoAgentAndNoFallback) {
  SetNodes(kFourIdle);
  WriteConfig("http://127.0.0.1:1/");
  EXPECT_EQ(Run(), 2);
  EXPECT_THAT(out_, StartsWith("nodehealth slurm-healthcheck: node gpu01: could not evaluate: "
                               "agent at 127.0.0.1:1: "));
  EXPECT_THAT(out_, HasSubstr("; [slurm] fallback = \"none\": no action\n"));
  EXPECT_TRUE(Calls().empty());
  const nlohmann::json status = Status();
  EXPECT_EQ(status.value("source", ""), "none");
  EXPECT_EQ(status.value("action", ""), "none");
  EXPECT_EQ(status.value("exit_code", -1), 2);
  EXPECT_THAT(status.value("agent_error", ""), StartsWith("agent at 127.0.0.1:1: "));
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(Path(kSlurmOutcomeFile));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->evaluated);
}

TEST_F(SlurmHealthcheckRunTest, StalledOrEmptyAgentIsNoAgent) {
  SetNodes(kFourIdle);
  WriteConfig(AgentUrl());
  Serve(AgentReport(true), /*healthy=*/false);
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_, "nodehealth slurm-healthcheck: node gpu01: could not evaluate: agent at " +
                      AgentHostPort() +
                      ": /healthz answered 503; [slurm] fallback = \"none\": no action\n");
  Serve(AgentReport(true), true, /*has_results=*/false);
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_, "nodehealth slurm-healthcheck: node gpu01: could not evaluate: agent at " +
                      AgentHostPort() +
                      ": /report answered 503; [slurm] fallback = \"none\": no action\n");
  EXPECT_TRUE(Calls().empty());
}

TEST_F(SlurmHealthcheckRunTest, NodeUnknownToSlurm) {
  Serve(AgentReport(true));
  SetNodes({NodeLine("gpu02", "IDLE")});
  WriteConfig(AgentUrl());
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: could not evaluate: scontrol show node -o "
            "gpu01: exit 1: Node gpu01 not found\n");
  EXPECT_EQ(Status().value("exit_code", -1), 2);
}

TEST_F(SlurmHealthcheckRunTest, NoScontrol) {
  WriteConfig("http://127.0.0.1:1", "/nonexistent/scontrol");
  EXPECT_EQ(Run(), 2);
  EXPECT_EQ(out_,
            "nodehealth slurm-healthcheck: node gpu01: could not evaluate: no scontrol "
            "(/nonexistent/scontrol): set [slurm] scontrol\n");
  EXPECT_EQ(Status().value("error", ""),
            "no scontrol (/nonexistent/scontrol): set [slurm] scontrol");
  Expected<SlurmOutcomeSummary> summary = ReadSlurmOutcome(Path(kSlurmOutcomeFile));
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
  WriteConfig("http://127.0.0.1:1");
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
  WriteConfig("http://127.0.0.1:1", "/nonexistent/scontrol");
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
