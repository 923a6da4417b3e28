// The reports to Azure and Google against stand-in servers on loopback (TLS with a test CA for
// the management APIs): exact requests, the token flow, back-off, the status afterwards, and
// what a refused, hung or malformed answer does.
#include "agent/provider/provider_session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "tests/provider/provider_test_support.h"

namespace nodehealth::provider {
namespace {

using testing::AzureCloud;
using testing::CannedResponse;
using testing::FakeCloudServer;
using testing::RecordedRequest;

const std::string kImpactPath = std::string("/subscriptions/") + testing::kSubscription +
                                "/providers/Microsoft.Impact/workloadImpacts/";

std::vector<RecordedRequest> Puts(FakeCloudServer& server) {
  std::vector<RecordedRequest> out;
  for (const RecordedRequest& r : server.requests()) {
    if (r.method == "PUT") out.push_back(r);
  }
  return out;
}

TEST(ProviderAzureTest, ReportsAGpuFaultWithTheDocumentedBodyAndHeaders) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault fault = testing::GpuLostFault();
  const StepOutcome outcome = session.Step({fault}, true, ledger, 1764700100, "");
  EXPECT_EQ(outcome.sent, 1);

  const std::string id = ReportId(testing::kVmId, fault);
  const std::vector<RecordedRequest> puts = Puts(cloud.arm());
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].target, kImpactPath + id + "?api-version=2025-01-01-preview");
  EXPECT_EQ(puts[0].headers.at("authorization"), std::string("Bearer ") + testing::kAzureToken);
  EXPECT_EQ(puts[0].headers.at("content-type"), "application/json");
  const nlohmann::json expected = {
      {"properties",
       {{"startDateTime", "2025-12-02T18:26:40.000Z"},
        {"impactCategory", "Resource.Hpc.Unhealthy.XID79FallenOffBus"},
        {"impactDescription", "nodehealth: gpu_lost gpu/0000:19:00.0: NVML reports the GPU lost"},
        {"impactedResourceId", std::string("/subscriptions/") + testing::kSubscription +
                                   "/resourceGroups/hpc-rg/providers/Microsoft.Compute/"
                                   "virtualMachines/ndh100-0007"},
        {"additionalProperties",
         {{"PhysicalHostName", testing::kPhysicalHost},
          {"VmUniqueId", testing::kVmId},
          {"Manufacturer", "NVIDIA"},
          {"SerialNumber", "1650823001234"},
          {"ModelNumber", "NVIDIA H100 80GB HBM3"},
          {"Location", "0000:19:00.0"}}}}}};
  EXPECT_EQ(nlohmann::json::parse(puts[0].body), expected);

  // The token came from the managed identity, for Resource Manager, with IMDS's header.
  bool token_asked = false;
  for (const RecordedRequest& r : cloud.imds().requests()) {
    EXPECT_EQ(r.headers.at("metadata"), "true");
    if (r.target.rfind("/metadata/identity/oauth2/token", 0) == 0) {
      token_asked = true;
      EXPECT_EQ(r.target,
                "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
                "https%3A%2F%2Fmanagement.azure.com%2F");
    }
  }
  EXPECT_TRUE(token_asked);

  ASSERT_EQ(ledger.reports.size(), 1u);
  const ReportRecord& r = ledger.reports[0];
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.state, "sent");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.last_http_status, 200);
  EXPECT_EQ(r.category, "Resource.Hpc.Unhealthy.XID79FallenOffBus");
  // The token is nowhere in what is kept.
  EXPECT_EQ(SerializeLedger(ledger).find(testing::kAzureToken), std::string::npos);

  // One report per fault: later rounds with the same fault send nothing.
  session.Step({fault}, true, ledger, 1764700160, "");
  ProviderSession restarted(cloud.Settings());  // as after an agent restart
  restarted.Step({fault}, true, ledger, 1764700220, "");
  EXPECT_EQ(Puts(cloud.arm()).size(), 1u);
}

TEST(ProviderAzureTest, ADryRunIsWhatIsSent) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{201, {}, "{}"}; });
  ProviderSession dry(cloud.Settings());
  Expected<std::vector<PreparedReport>> prepared = dry.Prepare({testing::GpuLostFault()});
  ASSERT_TRUE(prepared) << prepared.error().message;
  ASSERT_EQ(prepared->size(), 1u);
  EXPECT_TRUE(Puts(cloud.arm()).empty());  // nothing sent

  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  session.Step({testing::GpuLostFault()}, true, ledger, 1764700100, "");
  const std::vector<RecordedRequest> puts = Puts(cloud.arm());
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].body, (*prepared)[0].call.body);
  EXPECT_EQ(cloud.arm().url() + puts[0].target, (*prepared)[0].call.url);
  EXPECT_EQ(ledger.reports[0].state, "sent");  // 201 is accepted too
}

TEST(ProviderAzureTest, BacksOffOn429ThenSendsTheSameReport) {
  std::atomic<int> calls{0};
  AzureCloud cloud([&](const RecordedRequest&) {
    return ++calls == 1 ? CannedResponse{429, {{"Retry-After", "90"}}, R"({"error":"slow down"})"}
                        : CannedResponse{200, {}, "{}"};
  });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault fault = testing::GpuLostFault();
  StepOutcome first = session.Step({fault}, true, ledger, 1000, "");
  EXPECT_EQ(first.retried, 1);
  ASSERT_EQ(ledger.reports.size(), 1u);
  EXPECT_EQ(ledger.reports[0].state, "pending");
  EXPECT_EQ(ledger.reports[0].last_http_status, 429);
  EXPECT_EQ(ledger.reports[0].next_attempt_at, 1090);  // Retry-After beats the first 30 s

  session.Step({fault}, true, ledger, 1089, "");  // not due yet
  EXPECT_EQ(Puts(cloud.arm()).size(), 1u);
  session.Step({fault}, true, ledger, 1090, "");
  const std::vector<RecordedRequest> puts = Puts(cloud.arm());
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0].target, puts[1].target);  // the same report id
  EXPECT_EQ(puts[0].body, puts[1].body);
  EXPECT_EQ(ledger.reports[0].state, "sent");
  EXPECT_EQ(ledger.reports[0].attempts, 2);
}

TEST(ProviderAzureTest, ServerErrorsDoubleTheDelayAndA400FailsForGood) {
  std::atomic<int> status{503};
  AzureCloud cloud([&](const RecordedRequest&) {
    return CannedResponse{status.load(), {}, R"({"error":{"code":"ServiceUnavailable"}})"};
  });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault fault = testing::GpuLostFault();
  session.Step({fault}, true, ledger, 1000, "");
  EXPECT_EQ(ledger.reports[0].next_attempt_at, 1030);
  session.Step({fault}, true, ledger, 1030, "");
  EXPECT_EQ(ledger.reports[0].next_attempt_at, 1090);  // 60 s after the second failure
  EXPECT_EQ(ledger.reports[0].state, "pending");
  EXPECT_EQ(ledger.reports[0].last_error, R"(HTTP 503: {"error":{"code":"ServiceUnavailable"}})");

  status = 400;
  session.Step({fault}, true, ledger, 1090, "");
  EXPECT_EQ(ledger.reports[0].state, "failed");
  EXPECT_EQ(ledger.reports[0].last_http_status, 400);
  session.Step({fault}, true, ledger, 99999, "");
  EXPECT_EQ(Puts(cloud.arm()).size(), 3u);  // a refused report is not sent again
}

TEST(ProviderAzureTest, AHungManagementApiIsCutAtTheTimeout) {
  AzureCloud cloud([](const RecordedRequest&) {
    return CannedResponse{200, {}, "{}", std::chrono::milliseconds(5000)};
  });
  ProviderSettings settings = cloud.Settings();
  settings.timeout_seconds = 1;
  ProviderSession session(settings);
  ProviderLedger ledger;
  const auto start = std::chrono::steady_clock::now();
  session.Step({testing::GpuLostFault()}, true, ledger, 1000, "");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 3.0);
  EXPECT_EQ(ledger.reports[0].state, "pending");
  EXPECT_EQ(ledger.reports[0].last_http_status, 0);
  EXPECT_NE(ledger.reports[0].last_error.find("timed out"), std::string::npos)
      << ledger.reports[0].last_error;
}

TEST(ProviderAzureTest, AMissingIdentityLeavesTheReportPendingAndSendsNothing) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  cloud.token_status = 400;
  cloud.token_body = R"({"error":"invalid_request","error_description":"Identity not found"})";
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  session.Step({testing::GpuLostFault()}, true, ledger, 1000, "");
  EXPECT_TRUE(Puts(cloud.arm()).empty());
  ASSERT_EQ(ledger.reports.size(), 1u);
  EXPECT_EQ(ledger.reports[0].state, "pending");
  EXPECT_EQ(ledger.reports[0].last_error,
            "managed identity token: HTTP 400: "
            R"({"error":"invalid_request","error_description":"Identity not found"})");
}

TEST(ProviderAzureTest, MalformedAnswersAreErrorsNotReports) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  cloud.token_body = "{\"access_token\": \"half";  // cut short
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  session.Step({testing::GpuLostFault()}, true, ledger, 1000, "");
  EXPECT_TRUE(Puts(cloud.arm()).empty());
  EXPECT_EQ(ledger.reports[0].last_error, "the managed identity's token response: not JSON");

  AzureCloud broken([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  broken.compute_body = R"({"vmId": "x", "name": 7})";
  ProviderSession lost(broken.Settings());
  ProviderLedger empty;
  const StepOutcome outcome = lost.Step({testing::GpuLostFault()}, true, empty, 1000, "");
  EXPECT_TRUE(empty.reports.empty());  // no identity, no report id, nothing recorded
  ASSERT_EQ(outcome.events.size(), 1u);
  EXPECT_EQ(outcome.events[0],
            "cannot identify this instance: IMDS compute metadata has no \"subscriptionId\"");
}

TEST(ProviderAzureTest, FollowsTheInsightsUntilTerminal) {
  std::atomic<bool> terminal{false};
  AzureCloud cloud([&](const RecordedRequest& r) {
    if (r.method == "PUT") return CannedResponse{200, {}, "{}"};
    nlohmann::json insights = {{"value", nlohmann::json::array()}};
    insights["value"].push_back(
        {{"name", "i1"},
         {"properties",
          {{"category", "MitigationAction"},
           {"status", "Acknowledged"},
           {"eventTime", "2026-12-03T10:00:00Z"},
           {"additionalDetails",
            {{"statusCode", "AcknowledgedUnhealthy"}, {"terminalInsight", false}}}}}});
    if (terminal) {
      insights["value"].push_back(
          {{"name", "i2"},
           {"properties",
            {{"category", "MitigationAction"},
             {"status", "Resolved"},
             {"eventTime", "2026-12-03T10:20:00Z"},
             {"additionalDetails",
              {{"statusCode", "NodeRemovedFromService"}, {"terminalInsight", true}}}}}});
    }
    return CannedResponse{200, {}, insights.dump()};
  });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault fault = testing::GpuLostFault();
  session.Step({fault}, true, ledger, 1000, "");
  session.Step({fault}, true, ledger, 1300, "");  // poll_interval_seconds later
  EXPECT_EQ(ledger.reports[0].status_code, "AcknowledgedUnhealthy");
  EXPECT_FALSE(ledger.reports[0].status_terminal);
  terminal = true;
  session.Step({fault}, true, ledger, 1600, "");
  EXPECT_EQ(ledger.reports[0].status_code, "NodeRemovedFromService");
  EXPECT_TRUE(ledger.reports[0].status_terminal);
  const size_t asked = cloud.arm().requests().size();
  session.Step({fault}, true, ledger, 9000, "");  // terminal: no more polls
  EXPECT_EQ(cloud.arm().requests().size(), asked);
  const std::string insights_path =
      kImpactPath + ReportId(testing::kVmId, fault) + "/insights?api-version=2025-01-01-preview";
  EXPECT_EQ(cloud.arm().requests().back().target, insights_path);
}

TEST(ProviderAzureTest, A409IsAReportTheCloudAlreadyHas) {
  AzureCloud cloud([](const RecordedRequest&) {
    return CannedResponse{409, {}, R"({"error":{"code":"Conflict"}})"};
  });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  session.Step({testing::GpuLostFault()}, true, ledger, 1000, "");
  EXPECT_EQ(ledger.reports[0].state, "sent");
  EXPECT_EQ(ledger.reports[0].last_error, "the cloud already had this report (409)");
}

TEST(ProviderAzureTest, HeldWhileTheBlastRadiusLimitHoldsAndCancelledWhenTheFaultGoes) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault fault = testing::GpuLostFault();
  const std::string hold = "the last Slurm health check suppressed the drain";
  session.Step({fault}, true, ledger, 1000, hold);
  EXPECT_EQ(ledger.reports[0].state, "held");
  EXPECT_EQ(ledger.reports[0].hold_reason, hold);
  EXPECT_TRUE(Puts(cloud.arm()).empty());
  session.Step({fault}, true, ledger, 1060, "");  // lifted
  EXPECT_EQ(ledger.reports[0].state, "sent");
  EXPECT_EQ(Puts(cloud.arm()).size(), 1u);

  // A fault that goes away before it was sent is not reported.
  ProviderLedger other;
  session.Step({testing::GpuLostFault(1764800000)}, true, other, 2000, hold);
  session.Step({}, true, other, 2060, "");
  EXPECT_EQ(other.reports[0].state, "cancelled");
  EXPECT_EQ(Puts(cloud.arm()).size(), 1u);
}

TEST(ProviderAzureTest, SoftwareFaultsAreNeverReported) {
  AzureCloud cloud([](const RecordedRequest&) { return CannedResponse{200, {}, "{}"}; });
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault driver =
      MakeFault("gpu_driver", "gpu_driver_library_mismatch", "node", "535 vs 550", 1000, {});
  session.Step({driver}, true, ledger, 1000, "");
  EXPECT_TRUE(ledger.reports.empty());
  EXPECT_TRUE(Puts(cloud.arm()).empty());
}

// Google: metadata identity, the service account's token, reportHostAsFaulty, the operation.
class GcpCloud {
 public:
  GcpCloud() {
    pki_ = testing::MakeTestPki(dir_.path());
    metadata_ = FakeCloudServer::Start([](const RecordedRequest& r) {
      const std::string prefix = "/computeMetadata/v1/";
      if (r.headers.count("metadata-flavor") == 0) return CannedResponse{403, {}, "no flavor"};
      const std::string key = r.target.substr(prefix.size());
      if (key == "project/project-id") return CannedResponse{200, {}, "hpc-project"};
      if (key == "instance/zone") return CannedResponse{200, {}, "projects/1234/zones/us-east5-a"};
      if (key == "instance/id") return CannedResponse{200, {}, "4620307381457812345"};
      if (key == "instance/name") return CannedResponse{200, {}, "a3-node-17"};
      if (key == "instance/service-accounts/default/token") {
        return CannedResponse{200,
                              {},
                              std::string(R"({"access_token":")") + testing::kGcpToken +
                                  R"(","expires_in":3599,"token_type":"Bearer"})"};
      }
      return CannedResponse{404, {}, ""};
    });
    compute_ = FakeCloudServer::Start(
        [this](const RecordedRequest& r) {
          if (r.method == "POST") {
            ++reports;
            return CannedResponse{
                200,
                {},
                R"({"kind":"compute#operation","name":"operation-)" +
                    std::to_string(reports.load()) +
                    R"(","operationType":"reportHostAsFaulty","status":"RUNNING"})"};
          }
          return CannedResponse{200, {}, operation_body};
        },
        dir_.path() + "/server.crt", dir_.path() + "/server.key");
  }
  ProviderSettings Settings() const {
    ProviderSettings s;
    s.kind = "gcp";
    s.gcp_metadata_endpoint = metadata_->url();
    s.gcp_compute_endpoint = compute_->url();
    s.ca_file = dir_.path() + "/ca.crt";
    s.timeout_seconds = 2;
    return s;
  }
  FakeCloudServer& compute() { return *compute_; }
  std::atomic<int> reports{0};
  std::string operation_body =
      R"({"name":"operation-1","status":"DONE","error":{"errors":[{"code":"INSTANCE_SHOULD_BE_RUNNING","message":"The instance is not running"}]}})";

 private:
  testing::TempDir dir_;
  testing::TestPki pki_;
  std::unique_ptr<FakeCloudServer> metadata_;
  std::unique_ptr<FakeCloudServer> compute_;
};

TEST(ProviderGcpTest, ReportsHostAsFaultyOneAtATimeAndFollowsTheOperation) {
  GcpCloud cloud;
  ProviderSession session(cloud.Settings());
  ProviderLedger ledger;
  const ProviderFault lost = testing::GpuLostFault();
  ProviderFault nvlink = MakeFault("gpu_health", "gpu_nvlink_down", "gpu/0000:2a:00.0",
                                   "12 of 18 NVLinks up", 1764700000, {});
  session.Step({lost, nvlink}, true, ledger, 1000, "");
  std::vector<RecordedRequest> requests = cloud.compute().requests();
  ASSERT_EQ(requests.size(), 1u);  // the second waits for the first operation
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target,
            "/compute/v1/projects/hpc-project/zones/us-east5-a/instances/a3-node-17/"
            "reportHostAsFaulty?requestId=" +
                ReportId("4620307381457812345", lost));
  EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + testing::kGcpToken);
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json({{"disruptionSchedule", "IMMEDIATE"},
                            {"faultReasons",
                             {{{"behavior", "UNRECOVERABLE_GPU_ERROR"},
                               {"description",
                                "nodehealth: gpu_lost gpu/0000:19:00.0: NVML "
                                "reports the GPU lost"}}}}}));
  ASSERT_EQ(ledger.reports.size(), 2u);
  EXPECT_EQ(ledger.reports[0].state, "sent");
  EXPECT_EQ(ledger.reports[0].operation, "operation-1");
  EXPECT_EQ(ledger.reports[0].status_code, "RUNNING");
  EXPECT_EQ(ledger.reports[1].state, "pending");

  // The operation ends (with an error): the next report goes.
  session.Step({lost, nvlink}, true, ledger, 1300, "");
  requests = cloud.compute().requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].target,
            "/compute/v1/projects/hpc-project/zones/us-east5-a/operations/"
            "operation-1");
  EXPECT_EQ(ledger.reports[0].status_code, "DONE");
  EXPECT_TRUE(ledger.reports[0].status_failed);
  EXPECT_EQ(ledger.reports[0].status_detail,
            "INSTANCE_SHOULD_BE_RUNNING: The instance is not running");
  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(nlohmann::json::parse(requests[2].body)["faultReasons"][0]["behavior"], "PERFORMANCE");
  EXPECT_EQ(ledger.reports[1].state, "sent");
}

}  // namespace
}  // namespace nodehealth::provider
