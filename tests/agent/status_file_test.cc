#include "agent/policy/status_file.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/slurm/agent_verdict.h"
#include "probes/finding_catalog.h"

namespace nodehealth::agent {
namespace {

constexpr double kT0 = 1'800'000'000.25;  // 2027-01-15T08:00:00.250Z
constexpr char kBoot[] = "6f1c2a9e-0000-4000-8000-000000000001";
constexpr char kGpu0[] = "gpu/0000:19:00.0";

std::vector<ProbeSnapshot> Runs() {
  ProbeSnapshot lost;
  lost.result.name = "gpu_presence";
  lost.result.verdict = ProbeVerdict::kFail;
  lost.result.finished_at = kT0 - 1;
  Finding finding = MakeFinding(codes::kGpuLost, kGpu0, "GPU lost");
  finding.action = Action::kReboot;
  lost.result.findings.push_back(finding);
  lost.run = 7;
  ProbeSnapshot ib;
  ib.result.name = "ib_ports";
  ib.result.verdict = ProbeVerdict::kSkip;
  ib.run = 8;
  return {lost, ib};
}

std::string Render(const PolicyState& state, const std::vector<ProbeSnapshot>& runs,
                   double valid_seconds = 240) {
  return RenderStatusFile({.node = "gpu-node-07",
                           .boot_id = kBoot,
                           .state = state,
                           .probes = runs,
                           .updated_at = kT0 + 60,
                           .valid_seconds = valid_seconds,
                           .round_interval_seconds = 60,
                           .version = "1.2.3",
                           .pid = 4242,
                           .state_error = "cannot write: No space left on device"});
}

TEST(StatusFileTest, Fields) {
  const std::vector<ProbeSnapshot> runs = Runs();
  const PolicyOutput policy =
      EvaluateDrainPolicy({}, {.probes = runs, .new_xids = {}, .boot_id = kBoot, .now = kT0}, {});
  const nlohmann::json status = nlohmann::json::parse(Render(policy.state, runs));
  EXPECT_EQ(status["schema"], "nodehealth-status/1");
  EXPECT_EQ(status["node"], "gpu-node-07");
  EXPECT_EQ(status["boot_id"], kBoot);
  EXPECT_EQ(status["updated_at"], "2027-01-15T08:01:00.250Z");
  EXPECT_EQ(status["updated_at_unix_seconds"], kT0 + 60);
  EXPECT_EQ(status["valid_until_unix_seconds"], kT0 + 300);
  EXPECT_EQ(status["agent"],
            (nlohmann::json{{"pid", 4242}, {"version", "1.2.3"}, {"round_interval_seconds", 60}}));
  EXPECT_EQ(status["decided_at"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(status["drain"]["recommended"], true);
  EXPECT_EQ(status["drain"]["action"], "reboot");
  EXPECT_EQ(status["drain"]["reasons"], (nlohmann::json::array({{{"code", "gpu_lost"},
                                                                 {"entity", kGpu0},
                                                                 {"message", "GPU lost"},
                                                                 {"action", "reboot"}}})));
  ASSERT_EQ(status["sticky"].size(), 1u);
  EXPECT_EQ(status["sticky"][0]["probe"], "gpu_presence");
  EXPECT_TRUE(status["pending"].empty());
  EXPECT_EQ(status["probes"],
            (nlohmann::json::array(
                {{{"name", "gpu_presence"},
                  {"verdict", "fail"},
                  {"finished_at", "2027-01-15T07:59:59.250Z"},
                  {"findings", {{{"code", "gpu_lost"}, {"entity", kGpu0}, {"action", "reboot"}}}}},
                 {{"name", "ib_ports"},
                  {"verdict", "skip"},
                  {"finished_at", nullptr},
                  {"findings", nlohmann::json::array()}}})));
  EXPECT_EQ(status["state_error"], "cannot write: No space left on device");
}

TEST(StatusFileTest, ReadBackAsTheSlurmHealthCheckSeesIt) {
  const std::vector<ProbeSnapshot> runs = Runs();
  const PolicyOutput policy =
      EvaluateDrainPolicy({}, {.probes = runs, .new_xids = {}, .boot_id = kBoot, .now = kT0}, {});
  const std::string text = Render(policy.state, runs);
  const slurm::AgentIdentity me{"gpu-node-07", kBoot};
  Expected<slurm::HealthView> view = slurm::ParseAgentStatus(text, me, kT0 + 61);
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_EQ(view->source, slurm::HealthView::Source::kAgent);
  EXPECT_TRUE(view->drain_recommended);
  ASSERT_EQ(view->reasons.size(), 1u);
  EXPECT_EQ(view->reasons[0].code, "gpu_lost");
  EXPECT_EQ(view->reasons[0].entity, kGpu0);
  EXPECT_EQ(view->reasons[0].action, Action::kReboot);
  ASSERT_EQ(view->probes.size(), 2u);
  EXPECT_EQ(view->probes["gpu_presence"].verdict, "fail");
  ASSERT_EQ(view->probes["gpu_presence"].findings.size(), 1u);
  EXPECT_EQ(view->probes["gpu_presence"].findings[0].code, "gpu_lost");
  EXPECT_EQ(view->probes["ib_ports"].verdict, "skip");

  // Valid up to valid_until, inclusive; not a moment after; a stopping agent's file (valid for
  // 0 s) is already over.
  EXPECT_TRUE(slurm::ParseAgentStatus(text, me, kT0 + 300).ok());
  EXPECT_EQ(slurm::ParseAgentStatus(text, me, kT0 + 301).error().message,
            "status file expired 1 s ago (updated 241 s ago): is the agent running?");
  EXPECT_FALSE(slurm::ParseAgentStatus(Render(policy.state, runs, 0), me, kT0 + 61).ok());
  EXPECT_EQ(slurm::ParseAgentStatus(text, {"gpu-node-08", kBoot}, kT0 + 61).error().message,
            "status file is for node \"gpu-node-07\", this is \"gpu-node-08\"");
  EXPECT_EQ(
      slurm::ParseAgentStatus("{\"schema\": \"nodehealth-status/1\"}", me, kT0).error().message,
      "status file is for node \"\", this is \"gpu-node-07\"");
  EXPECT_EQ(slurm::ParseAgentStatus("{\"schema_version\": 1}", me, kT0).error().message,
            "status file: not a nodehealth-status/1 file");
  EXPECT_EQ(slurm::ParseAgentStatus("{\"sche", me, kT0).error().message, "status file: not JSON");
}

}  // namespace
}  // namespace nodehealth::agent
