// Shared by the provider tests: a test CA, a plain-HTTP stand-in for a metadata service and a
// TLS stand-in for a management API (fake_cloud_server.h), and settings that point at them.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/provider/provider_fault.h"
#include "tests/support/fake_cloud_server.h"
#include "tests/support/fixture_node.h"
#include "tests/support/tls_test_files.h"

namespace nodehealth::testing {

inline constexpr const char* kSubscription = "2b9f2c3e-1111-4a5b-9c8d-000000000001";
inline constexpr const char* kVmId = "7c1c4d3a-2222-4b6c-8d9e-000000000002";
inline constexpr const char* kPhysicalHost = "GGBB90904476";
inline constexpr const char* kAzureToken = "eyJ0eXAiOiJKV1Qi.azure-test-token.sig";
inline constexpr const char* kGcpToken = "ya29.gcp-test-token";

inline std::string AzureCompute() {
  return nlohmann::json{
      {"vmId", kVmId},
      {"vmSize", "Standard_ND96isr_H100_v5"},
      {"subscriptionId", kSubscription},
      {"resourceGroupName", "hpc-rg"},
      {"name", "ndh100-0007"},
      {"location", "eastus"},
      {"resourceId", std::string("/subscriptions/") + kSubscription +
                         "/resourceGroups/hpc-rg/providers/Microsoft.Compute/virtualMachines/"
                         "ndh100-0007"}}
      .dump();
}

// One Hyper-V KVP record: a 512-byte key and a 2048-byte value, NUL-terminated, with garbage
// after the NUL as the daemon may leave it.
inline std::string KvpRecord(const std::string& key, const std::string& value) {
  std::string record(2560, 'x');
  record.replace(0, key.size(), key);
  record[key.size()] = '\0';
  record.replace(512, value.size(), value);
  record[512 + value.size()] = '\0';
  return record;
}

inline void WriteBytes(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// A GPU fault as the drain policy holds it.
inline provider::ProviderFault GpuLostFault(double since = 1764700000) {
  std::map<std::string, provider::GpuIdentity> gpus{
      {"0000:19:00.0", {"1650823001234", "NVIDIA H100 80GB HBM3", "GPU-aaaa"}}};
  return provider::MakeFault("gpu_presence", "gpu_lost", "gpu/0000:19:00.0",
                             "NVML reports the GPU lost", since, gpus);
}

// Stand-ins for Azure: IMDS (plain) and Resource Manager (TLS, test CA).
class AzureCloud {
 public:
  explicit AzureCloud(FakeCloudServer::Handler arm) {
    pki_ = MakeTestPki(dir_.path());
    EXPECT_TRUE(pki_.ok()) << pki_.error;
    imds_ = FakeCloudServer::Start([this](const RecordedRequest& r) { return Imds(r); });
    arm_ = FakeCloudServer::Start(std::move(arm), dir_.path() + "/server.crt",
                                  dir_.path() + "/server.key");
    WriteBytes(kvp_path(), KvpRecord("HostName", "azure-host") +
                               KvpRecord("PhysicalHostName", kPhysicalHost) +
                               KvpRecord("VirtualMachineName", "ndh100-0007"));
  }

  ProviderSettings Settings() const {
    ProviderSettings s;
    s.kind = "azure";
    s.azure_imds_endpoint = imds_->url();
    s.azure_management_endpoint = arm_->url();
    s.azure_kvp_pool_file = kvp_path();
    s.ca_file = dir_.path() + "/ca.crt";
    s.timeout_seconds = 2;
    s.poll_interval_seconds = 300;
    return s;
  }
  std::string kvp_path() const { return dir_.path() + "/kvp_pool_3"; }
  const std::string& dir() const { return dir_.path(); }
  FakeCloudServer& imds() { return *imds_; }
  FakeCloudServer& arm() { return *arm_; }

  // What IMDS answers; tests replace parts.
  std::atomic<int> token_status{200};
  std::string token_body = nlohmann::json{
      {"access_token", kAzureToken},
      {"expires_in", "86399"},
      {"expires_on", "4102444800"},
      {"resource", "https://management.azure.com/"},
      {"token_type", "Bearer"}}.dump();
  std::string compute_body = AzureCompute();

 private:
  CannedResponse Imds(const RecordedRequest& r) {
    if (r.target.rfind("/metadata/identity/oauth2/token", 0) == 0) {
      return {token_status.load(), {{"Content-Type", "application/json"}}, token_body};
    }
    if (r.target.rfind("/metadata/instance/compute", 0) == 0) {
      return {200, {{"Content-Type", "application/json"}}, compute_body};
    }
    return {404, {}, "{}"};
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<FakeCloudServer> imds_;
  std::unique_ptr<FakeCloudServer> arm_;
};

}  // namespace nodehealth::testing
