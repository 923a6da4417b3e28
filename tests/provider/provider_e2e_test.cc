// `nodehealth provider-report` and the agent's reporter, as an operator runs them: the real
// binary on a fixture node whose GPU 0000:9b:00.0 has fallen off the bus (fault-gpu-lost), the
// fake NVML, and stand-ins for IMDS (plain HTTP) and Resource Manager (TLS, test CA) on loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "agent/provider/provider_fault.h"
#include "tests/e2e/agent_harness.h"
#include "tests/provider/provider_test_support.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/run_command.h"
#include "tests/support/test_env.h"

namespace nodehealth::provider {
namespace {

using testing::AzureCloud;
using testing::CannedResponse;
using testing::RecordedRequest;

std::string ProviderConfig(const AzureCloud& cloud, const std::string& extra = "") {
  return "profile = \"none\"\n[provider]\nkind = \"azure\"\nca_file = \"" + cloud.dir() +
         "/ca.crt\"\ntimeout_seconds = 3\n" + extra + "[provider.azure]\nimds_endpoint = \"" +
         cloud.Settings().azure_imds_endpoint + "\"\nmanagement_endpoint = \"" +
         cloud.Settings().azure_management_endpoint + "\"\nkvp_pool_file = \"" + cloud.kvp_path() +
         "\"\n";
}

std::vector<RecordedRequest> Puts(testing::FakeCloudServer& server) {
  std::vector<RecordedRequest> out;
  for (const RecordedRequest& r : server.requests()) {
    if (r.method == "PUT") out.push_back(r);
  }
  return out;
}

// The bodies of a dry run's output: the line after each blank line that follows the headers.
std::vector<std::string> DryRunBodies(const std::string& out) {
  std::vector<std::string> bodies;
  std::istringstream in(out);
  std::string line;
  bool next_is_body = false;
  while (std::getline(in, line)) {
    if (next_is_body && !line.empty()) {
      bodies.push_back(line);
      next_is_body = false;
    }
    if (line.rfind("Content-Type:", 0) == 0) next_is_body = true;
  }
  return bodies;
}

class ProviderReportCommandTest : public ::testing::Test {
 protected:
  ProviderReportCommandTest()
      : node_("fault-gpu-lost.toml"), cloud_([](const RecordedRequest&) {
          return CannedResponse{201, {}, "{}"};
        }) {
    std::filesystem::create_directories(state_dir());
    testing::WriteBytes(config(), ProviderConfig(cloud_));
  }
  std::string state_dir() const { return dirs_.path() + "/state"; }
  std::string config() const { return dirs_.path() + "/nodehealth.toml"; }
  testing::CommandResult Run(std::vector<std::string> extra) {
    std::vector<std::string> argv = {testing::NodehealthBinary(),
                                     "provider-report",
                                     "--sysroot",
                                     node_.root(),
                                     "--nvml-library",
                                     testing::FakeNvmlLibrary(),
                                     "--config",
                                     config(),
                                     "--state-dir",
                                     state_dir()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunCommand(argv, {{"NODEHEALTH_FAKE_NVML", node_.scenario()}});
  }

  testing::FixtureNode node_;
  AzureCloud cloud_;
  testing::TempDir dirs_;
};

TEST_F(ProviderReportCommandTest, ADryRunPrintsWhatIsThenSentOncePerFault) {
  testing::CommandResult dry = Run({"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_TRUE(Puts(cloud_.arm()).empty());
  EXPECT_EQ(dry.out.find(testing::kAzureToken), std::string::npos);
  EXPECT_NE(dry.out.find("Authorization: Bearer <managed identity token, not shown>"),
            std::string::npos)
      << dry.out;
  // gpu_lost and the fallen-off-the-bus report of gpu_xid (XID 79), both on 0000:9b:00.0.
  EXPECT_NE(dry.out.find("# gpu_lost gpu/0000:9b:00.0 -> "
                         "Resource.Hpc.Unhealthy.XID79FallenOffBus"),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("# gpu_xid gpu/0000:9b:00.0 -> Resource.Hpc.Unhealthy.XID79FallenOffBus"),
            std::string::npos)
      << dry.out;
  const std::vector<std::string> dry_bodies = DryRunBodies(dry.out);
  ASSERT_EQ(dry_bodies.size(), 2u) << dry.out;

  testing::CommandResult sent = Run({});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  std::vector<RecordedRequest> puts = Puts(cloud_.arm());
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0].body, dry_bodies[0]);
  EXPECT_EQ(puts[1].body, dry_bodies[1]);
  const nlohmann::json body = nlohmann::json::parse(puts[0].body);
  EXPECT_EQ(body["properties"]["impactedResourceId"],
            std::string("/subscriptions/") + testing::kSubscription +
                "/resourceGroups/hpc-rg/providers/Microsoft.Compute/virtualMachines/ndh100-0007");
  EXPECT_EQ(body["properties"]["additionalProperties"]["PhysicalHostName"], testing::kPhysicalHost);
  EXPECT_EQ(body["properties"]["additionalProperties"]["Location"], "0000:9b:00.0");
  EXPECT_NE(sent.out.find("gpu_lost gpu/0000:9b:00.0 -> Resource.Hpc.Unhealthy.XID79FallenOffBus: "
                          "sent (HTTP 201)"),
            std::string::npos)
      << sent.out;
  // The ledger keeps what was said, never the token.
  EXPECT_EQ(std::filesystem::status(state_dir() + "/provider-reports.json").permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string ledger = testing::ReadFile(state_dir() + "/provider-reports.json");
  EXPECT_NE(ledger.find("\"state\":\"sent\""), std::string::npos);
  EXPECT_EQ(ledger.find(testing::kAzureToken), std::string::npos);

  // The same faults in the same boot: recognised, nothing sent again.
  testing::CommandResult again = Run({});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Puts(cloud_.arm()).size(), 2u);

  testing::CommandResult status = Run({"--status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const nlohmann::json view = nlohmann::json::parse(status.out);
  EXPECT_EQ(view["kind"], "azure");
  ASSERT_EQ(view["reports"].size(), 2u);
  EXPECT_EQ(view["reports"][0]["code"], "gpu_lost");
  EXPECT_EQ(view["reports"][0]["state"], "sent");
}

TEST_F(ProviderReportCommandTest, OnlyWhatTheOperatorNamesWithCode) {
  testing::CommandResult run = Run({"--code", "gpu_xid", "--entity", "gpu/0000:9b:00.0"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_EQ(Puts(cloud_.arm()).size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(Puts(cloud_.arm())[0].body)["properties"]["impactDescription"]
                .get<std::string>()
                .rfind("nodehealth: gpu_xid gpu/0000:9b:00.0: ", 0),
            0u);
  testing::CommandResult none = Run({"--code", "ib_port_down"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "nothing to report: no hard hardware fault matches --code/--entity now\n");
  testing::CommandResult bad = Run({"--code", "gpu_driver_version_mismatch"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "nodehealth provider-report: \"gpu_driver_version_mismatch\" is not a hardware "
            "fault any cloud takes (see `nodehealth provider-report --help`)\n");
}

TEST_F(ProviderReportCommandTest, RefusesWithoutAConfiguredCloud) {
  testing::WriteBytes(config(), "profile = \"none\"\n");
  testing::CommandResult run = Run({});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "nodehealth provider-report: no cloud is configured: set [provider] kind = "
            "\"azure\" or \"gcp\" in " +
                config() + "\n");
  EXPECT_TRUE(cloud_.arm().requests().empty());
}

TEST(ProviderAgentTest, TheAgentReportsEachHardFaultOnceUnlessTheBlastRadiusHoldsIt) {
  using namespace std::chrono_literals;
  testing::Node node("fault-gpu-lost.toml");
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  testing::AgentDirs dirs;
  // A Slurm health check that suppressed this node's drain: the reports wait.
  testing::WriteFile(dirs.state() + "/slurm-healthcheck.json",
                     R"({"schema":"nodehealth-slurm-healthcheck/1","at_unix_seconds":)" +
                         std::to_string(std::time(nullptr) + 5) +
                         R"(,"action":"suppressed","exit_code":0})");
  testing::WriteFile(dirs.config(), ProviderConfig(cloud, "report_interval_seconds = 1\n"));
  testing::AgentProcess agent(node, dirs.state(), dirs.config(), {});
  ASSERT_TRUE(agent.ok()) << agent.error();
  std::string page;
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<testing::Series>& all) {
        return testing::Value(all, "nodehealth_provider_reports",
                              {{"provider", "azure"}, {"state", "held"}}) == 2.0;
      },
      15s, &page))
      << testing::LinesWith(page, "nodehealth_provider") << agent.Tail();
  EXPECT_TRUE(Puts(cloud.arm()).empty());

  // The limit lets the node go: a later health check drained it.
  testing::WriteFile(dirs.state() + "/slurm-healthcheck.json",
                     R"({"schema":"nodehealth-slurm-healthcheck/1","at_unix_seconds":)" +
                         std::to_string(std::time(nullptr) + 5) +
                         R"(,"action":"drain","exit_code":1})");
  EXPECT_TRUE(agent.WaitForMetrics(
      [](const std::vector<testing::Series>& all) {
        return testing::Value(all, "nodehealth_provider_reports",
                              {{"provider", "azure"}, {"state", "sent"}}) == 2.0;
      },
      15s, &page))
      << testing::LinesWith(page, "nodehealth_provider") << agent.Tail();
  EXPECT_EQ(testing::Value(page, "nodehealth_provider_report_info",
                           {{"provider", "azure"},
                            {"code", "gpu_lost"},
                            {"entity", "gpu/0000:9b:00.0"},
                            {"category", "Resource.Hpc.Unhealthy.XID79FallenOffBus"},
                            {"state", "sent"},
                            {"status", ""},
                            {"terminal", "false"}}),
            1.0)
      << testing::LinesWith(page, "nodehealth_provider_report_info");
  if (testing::PromtoolAvailable()) {
    EXPECT_EQ(testing::PromtoolCheckMetrics(page), "");
  }
  const nlohmann::json report = agent.WaitForReport(5s);
  ASSERT_TRUE(report.contains("provider")) << report.dump();
  EXPECT_EQ(report["provider"]["kind"], "azure");
  EXPECT_EQ(report["provider"]["reports"].size(), 2u);
  // Rounds go on; each fault stays one report.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(Puts(cloud.arm()).size(), 2u);
  EXPECT_EQ(agent.Stop(), 0);
  EXPECT_EQ(testing::ReadFile(dirs.state() + "/provider-reports.json").find(testing::kAzureToken),
            std::string::npos);
}

// On a healthy node the reporter asks the cloud nothing at all: no identity, no token.
TEST(ProviderAgentTest, AHealthyNodeAsksTheCloudNothing) {
  using namespace std::chrono_literals;
  testing::Node node(testing::kAzureScenario);
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  testing::AgentDirs dirs;
  std::string config = ProviderConfig(cloud, "report_interval_seconds = 1\n");
  config.replace(0, config.find('\n'), std::string("profile = \"") + testing::kAzureProfile + "\"");
  testing::WriteFile(dirs.config(), config);
  testing::AgentProcess agent(node, dirs.state(), dirs.config(), {});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const nlohmann::json report = agent.WaitForReport(10s);
  ASSERT_EQ(report["drain"]["recommended"], false) << report["drain"].dump();
  std::this_thread::sleep_for(3s);  // three reporter periods
  EXPECT_TRUE(cloud.imds().requests().empty());
  EXPECT_TRUE(cloud.arm().requests().empty());
  EXPECT_EQ(testing::Value(agent.Metrics(), "nodehealth_provider_reports",
                           {{"provider", "azure"}, {"state", "sent"}}),
            0.0);
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace nodehealth::provider
