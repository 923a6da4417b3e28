// The pieces of the cloud reports that need no server: the category catalogue, report ids, the
// KVP pool, endpoint rules, the [provider] config, the ledger's file and the answers' parsers.
#include <gtest/gtest.h>

#include "agent/config/config.h"
#include "agent/config/endpoint_policy.h"
#include "agent/provider/azure_api.h"
#include "agent/provider/gcp_api.h"
#include "agent/provider/provider_catalog.h"
#include "agent/provider/provider_fault.h"
#include "agent/provider/provider_ledger.h"
#include "tests/provider/provider_test_support.h"

namespace nodehealth::provider {
namespace {

TEST(ProviderCatalogTest, MapsHardwareFaultsToEachCloudsCategory) {
  const auto azure = [](std::string_view code, int xid) {
    std::optional<ProviderCategory> c = CategoryOf(code, xid);
    return c ? c->azure : std::string("(none)");
  };
  EXPECT_EQ(azure("gpu_missing", 0), "Resource.Hpc.Unhealthy.HpcMissingGpu");
  EXPECT_EQ(azure("gpu_lost", 0), "Resource.Hpc.Unhealthy.XID79FallenOffBus");
  EXPECT_EQ(azure("gpu_xid", 79), "Resource.Hpc.Unhealthy.XID79FallenOffBus");
  EXPECT_EQ(azure("gpu_xid", 48), "Resource.Hpc.Unhealthy.XID48DoubleBitECC");
  EXPECT_EQ(azure("gpu_xid", 94), "Resource.Hpc.Unhealthy.XID94ContainedECCError");
  EXPECT_EQ(azure("gpu_xid", 95), "Resource.Hpc.Unhealthy.XID95UncontainedECCError");
  EXPECT_EQ(azure("gpu_xid", 119), "Resource.Hpc.Unhealthy.GpuXIDError");
  EXPECT_EQ(azure("gpu_row_remap_failure", 0), "Resource.Hpc.Unhealthy.HpcRowRemapFailure");
  EXPECT_EQ(azure("ib_port_down", 0), "Resource.Hpc.Unhealthy.IBPortDown");
  EXPECT_EQ(azure("ib_hca_missing", 0), "Resource.Hpc.Unhealthy.MissingIB");
  EXPECT_EQ(azure("ib_link_flapping", 0), "Resource.Hpc.Unhealthy.IBPortFlapping");
  // Software and probe trouble: no cloud repairs it.
  EXPECT_EQ(azure("gpu_driver_library_mismatch", 0), "(none)");
  EXPECT_EQ(azure("cuda_version_mismatch", 0), "(none)");
  EXPECT_EQ(azure("probe_timeout", 0), "(none)");
  EXPECT_EQ(azure("topology_mismatch", 0), "(none)");

  EXPECT_EQ(CategoryOf("gpu_lost", 0)->gcp, "UNRECOVERABLE_GPU_ERROR");
  EXPECT_EQ(CategoryOf("nccl_allreduce_wrong_result", 0)->gcp, "SILENT_DATA_CORRUPTION");
  EXPECT_EQ(CategoryOf("ib_port_rate_degraded", 0)->gcp, "PERFORMANCE");
  // Noisy codes go only when an operator names them.
  EXPECT_TRUE(CategoryOf("gpu_lost", 0)->automatic);
  EXPECT_FALSE(CategoryOf("ib_port_rate_degraded", 0)->automatic);
  EXPECT_FALSE(CategoryOf("rdma_loopback_bandwidth_low", 0)->automatic);
}

TEST(ProviderCatalogTest, ReadsTheXidFromTheFindingMessage) {
  EXPECT_EQ(XidOfMessage("XID 79 (GPU has fallen off the bus) on gpu 0000:19:00.0: ..."), 79);
  EXPECT_EQ(XidOfMessage("XID 48 on 0000:2a:00.0, 3 times: double-bit ECC"), 48);
  EXPECT_EQ(XidOfMessage("0000:19:00.0 has fallen off the bus (reported without an XID; ...)"), 79);
  EXPECT_EQ(XidOfMessage("no number here"), 0);
  EXPECT_EQ(XidOfMessage("XID abc"), 0);
}

TEST(ProviderFaultTest, ReportIdsNameTheFaultNotTheRound) {
  const ProviderFault a = testing::GpuLostFault(1764700000.2);
  const ProviderFault same = testing::GpuLostFault(1764700000.9);  // same whole second
  const ProviderFault later = testing::GpuLostFault(1764800000);   // after a repair
  EXPECT_EQ(ReportId("vm-1", a), ReportId("vm-1", same));
  EXPECT_NE(ReportId("vm-1", a), ReportId("vm-1", later));
  EXPECT_NE(ReportId("vm-1", a), ReportId("vm-2", a));
  const std::string id = ReportId("vm-1", a);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[14], '5');                                          // version 5
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // RFC 4122 variant

  ProviderFault xid = MakeFault("gpu_xid", "gpu_xid", "gpu/0000:19:00.0",
                                "XID 95 (uncontained ECC error) on 0000:19:00.0", 1, {});
  EXPECT_EQ(xid.xid, 95);
  EXPECT_EQ(xid.gpu_bus_id, "0000:19:00.0");
  EXPECT_EQ(xid.category.azure, "Resource.Hpc.Unhealthy.XID95UncontainedECCError");
  ProviderFault long_message = MakeFault("p", "gpu_lost", "node", std::string(3000, 'm'), 1, {});
  EXPECT_EQ(Describe(long_message).size(), 1000u);
}

TEST(ProviderAzureApiTest, ReadsPhysicalHostNameFromTheKvpPool) {
  testing::TempDir dir;
  const std::string pool = dir.path() + "/pool";
  testing::WriteBytes(pool, testing::KvpRecord("HostName", "vm") +
                                testing::KvpRecord("PhysicalHostNameFullyQualified", "FQ123") +
                                testing::KvpRecord("PhysicalHostName", "GGBB90904476"));
  EXPECT_EQ(*ReadPhysicalHostName(pool), "GGBB90904476");
  testing::WriteBytes(pool, testing::KvpRecord("PhysicalHostNameFullyQualified", "FQ123"));
  EXPECT_EQ(*ReadPhysicalHostName(pool), "FQ123");
  testing::WriteBytes(pool, testing::KvpRecord("HostName", "vm"));
  EXPECT_EQ(ReadPhysicalHostName(pool).error().message, pool + " has no PhysicalHostName");
  testing::WriteBytes(pool, testing::KvpRecord("HostName", "vm") + "trailing");
  EXPECT_EQ(ReadPhysicalHostName(pool).error().message,
            pool + ": 2568 bytes is not a whole number of 2560-byte records");
  EXPECT_FALSE(ReadPhysicalHostName(dir.path() + "/missing"));
}

TEST(ProviderAzureApiTest, ParsesIdentityTokensAndInsightsStrictly) {
  Expected<AzureIdentity> id = ParseAzureCompute(testing::AzureCompute());
  ASSERT_TRUE(id);
  EXPECT_EQ(id->vm_id, testing::kVmId);
  EXPECT_EQ(id->vm_size, "Standard_ND96isr_H100_v5");
  // An older IMDS without resourceId: built as Azure writes it.
  Expected<AzureIdentity> old =
      ParseAzureCompute(R"({"vmId":"v","subscriptionId":"s","resourceGroupName":"g","name":"n"})");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->resource_id,
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/n");
  EXPECT_EQ(ParseAzureCompute("[1]").error().message, "IMDS compute metadata: not a JSON object");
  EXPECT_EQ(ParseAzureCompute(std::string(100, '[')).error().message.rfind("IMDS compute", 0), 0u);

  Expected<AccessToken> token =
      ParseAzureToken(R"({"access_token":"t0k","expires_on":"1700000000"})");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->value, "t0k");
  EXPECT_EQ(token->expires_at, 1700000000);
  EXPECT_EQ(ParseAzureToken(R"({"token_type":"Bearer"})").error().message,
            "the managed identity's token response has no access_token");

  Expected<CloudStatus> none = ParseAzureInsights(R"({"value":[]})");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->code, "");
  EXPECT_FALSE(ParseAzureInsights(R"({"items":[]})"));
}

TEST(ProviderGcpApiTest, ParsesZonesTokensAndOperations) {
  EXPECT_EQ(ZoneOfMetadata("projects/1234/zones/us-east5-a"), "us-east5-a");
  EXPECT_EQ(ZoneOfMetadata("us-east5-a"), "us-east5-a");
  Expected<AccessToken> token = ParseGcpToken(R"({"access_token":"ya29","expires_in":3599})", 100);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->expires_at, 3699);
  Expected<GcpOperation> op = ParseGcpOperation(R"({"name":"op-1","status":"PENDING"})");
  ASSERT_TRUE(op);
  EXPECT_FALSE(op->status.terminal);
  EXPECT_EQ(ParseGcpOperation(R"({"status":"DONE"})").error().message, "the operation has no name");
}

TEST(ProviderEndpointTest, PlainHttpOnlyToLoopbackOrTheMetadataHost) {
  EXPECT_TRUE(CheckEndpoint("https://management.azure.com", EndpointKind::kManagement));
  EXPECT_TRUE(CheckEndpoint("http://127.0.0.1:8080", EndpointKind::kManagement));
  EXPECT_TRUE(CheckEndpoint("http://[::1]:8080/x", EndpointKind::kManagement));
  EXPECT_TRUE(CheckEndpoint("http://169.254.169.254", EndpointKind::kMetadata));
  EXPECT_TRUE(CheckEndpoint("http://metadata.google.internal", EndpointKind::kMetadata));
  EXPECT_EQ(CheckEndpoint("http://169.254.169.254", EndpointKind::kManagement).error().message,
            "\"http://169.254.169.254\": plain http is accepted only for loopback addresses "
            "(tests); use https");
  EXPECT_FALSE(CheckEndpoint("http://10.0.0.5", EndpointKind::kMetadata));
  EXPECT_FALSE(CheckEndpoint("ftp://127.0.0.1", EndpointKind::kManagement));
  EXPECT_FALSE(CheckEndpoint("https://user:pw@example.com", EndpointKind::kManagement));
  EXPECT_FALSE(CheckEndpoint("management.azure.com", EndpointKind::kManagement));
}

TEST(ProviderConfigTest, ReadsTheProviderSectionStrictly) {
  Expected<Config> c = ParseConfig(R"(
[provider]
kind = "azure"
timeout_seconds = 5
[provider.azure]
management_endpoint = "https://127.0.0.1:9443/"
client_id = "11111111-2222-3333-4444-555555555555"
)",
                                   "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->provider.kind, "azure");
  EXPECT_EQ(c->provider.timeout_seconds, 5);
  EXPECT_EQ(c->provider.azure_management_endpoint, "https://127.0.0.1:9443");
  EXPECT_EQ(c->provider.azure_imds_endpoint, "http://169.254.169.254");
  EXPECT_EQ(c->provider.azure_client_id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(ParseConfig("[provider]\nkind = \"aws\"\n", "t.toml").error().message,
            "t.toml:2: \"provider.kind\" must be one of \"none\", \"azure\", \"gcp\"");
  EXPECT_EQ(ParseConfig("[provider.gcp]\ncompute_endpoint = \"http://10.1.1.1\"\n", "t.toml")
                .error()
                .message,
            "t.toml:2: \"provider.gcp.compute_endpoint\": \"http://10.1.1.1\": plain http is "
            "accepted only for loopback addresses (tests); use https");
  EXPECT_FALSE(ParseConfig("[provider]\nkind = \"azure\"\ntoken = \"x\"\n", "t.toml"));
}

TEST(ProviderLedgerTest, RoundTripsAndRefusesWhatIsNotALedger) {
  ProviderLedger ledger;
  ReportRecord r;
  r.id = "5a0c0f3e-0000-5000-8000-000000000000";
  r.provider = "azure";
  r.code = "gpu_lost";
  r.entity = "gpu/0000:19:00.0";
  r.state = "sent";
  r.attempts = 2;
  r.status_code = "AcknowledgedUnhealthy";
  ledger.reports.push_back(r);
  Expected<ProviderLedger> back = ParseLedger(SerializeLedger(ledger));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, ledger);
  EXPECT_EQ(ParseLedger(R"({"schema":"other","reports":[]})").error().message,
            "provider reports: not of schema nodehealth-provider-reports/1");
  EXPECT_EQ(ParseLedger(R"({"schema":"nodehealth-provider-reports/1","reports":[{"id":"x",)"
                        R"("attempts":"two"}]})")
                .error()
                .message,
            "provider reports: reports[0].attempts is not a number");
  testing::TempDir dir;
  EXPECT_TRUE(LoadLedger(dir.path() + "/none.json")->reports.empty());
  ASSERT_TRUE(SaveLedger(dir.path() + "/l.json", ledger));
  EXPECT_EQ(*LoadLedger(dir.path() + "/l.json"), ledger);
}

}  // namespace
}  // namespace nodehealth::provider
