#include "agent/provider/azure_api.h"

#include <cstring>

#include "agent/policy/policy_state.h"
#include "agent/provider/cloud_json.h"
#include "probes/platform/regular_file.h"

namespace nodehealth::provider {
namespace {

constexpr const char* kComputeApiVersion = "2021-02-01";  // has resourceId (2019-03-11 on)
constexpr const char* kTokenApiVersion = "2018-02-01";
constexpr const char* kArmResource = "https://management.azure.com/";
constexpr size_t kKvpKeySize = 512;
constexpr size_t kKvpValueSize = 2048;
constexpr size_t kKvpRecordSize = kKvpKeySize + kKvpValueSize;

HttpCall MetadataCall(const ProviderSettings& settings, std::string path) {
  HttpCall call;
  call.url = settings.azure_imds_endpoint + path;
  call.headers = {{"Metadata", "true"}};
  call.use_proxy = false;  // IMDS must be reached directly (and a proxy must not see a token)
  call.timeout = std::chrono::milliseconds(static_cast<long>(settings.timeout_seconds * 1000));
  call.max_response_bytes = 256 << 10;
  return call;
}

std::string ImpactUrl(const ProviderSettings& settings, const AzureIdentity& identity,
                      const std::string& id, std::string_view tail) {
  return settings.azure_management_endpoint + "/subscriptions/" +
         UrlEncode(identity.subscription_id) + "/providers/Microsoft.Impact/workloadImpacts/" +
         UrlEncode(id) + std::string(tail) +
         "?api-version=" + UrlEncode(settings.azure_api_version);
}

}  // namespace

HttpCall AzureComputeCall(const ProviderSettings& settings) {
  return MetadataCall(settings,
                      std::string("/metadata/instance/compute?api-version=") + kComputeApiVersion);
}

Expected<std::string> ReadPhysicalHostName(const std::string& kvp_pool_file) {
  // The pool holds a few dozen records; 1 MiB is 409 of them.
  Expected<std::string> pool =
      platform::ReadRegularFile(kvp_pool_file, 1 << 20, "Hyper-V data exchange pool");
  if (!pool) return pool.error();
  if (pool->size() % kKvpRecordSize != 0) {
    return MakeError(kvp_pool_file + ": " + std::to_string(pool->size()) +
                     " bytes is not a whole number of 2560-byte records");
  }
  std::string fully_qualified;
  for (size_t at = 0; at < pool->size(); at += kKvpRecordSize) {
    const char* record = pool->data() + at;
    // Bytes after a field's NUL are not guaranteed to be zero: stop at the first one.
    const std::string key(record, strnlen(record, kKvpKeySize));
    const std::string value(record + kKvpKeySize, strnlen(record + kKvpKeySize, kKvpValueSize));
    if (key == "PhysicalHostName" && !value.empty()) return value;
    if (key == "PhysicalHostNameFullyQualified" && !value.empty()) fully_qualified = value;
  }
  if (!fully_qualified.empty()) return fully_qualified;
  return MakeError(kvp_pool_file + " has no PhysicalHostName");
}

HttpCall AzureTokenCall(const ProviderSettings& settings) {
  std::string path = std::string("/metadata/identity/oauth2/token?api-version=") +
                     kTokenApiVersion + "&resource=" + UrlEncode(kArmResource);
  if (!settings.azure_client_id.empty())
    path += "&client_id=" + UrlEncode(settings.azure_client_id);
  if (!settings.azure_object_id.empty())
    path += "&object_id=" + UrlEncode(settings.azure_object_id);
  if (!settings.azure_msi_res_id.empty()) {
    path += "&msi_res_id=" + UrlEncode(settings.azure_msi_res_id);
  }
  return MetadataCall(settings, path);
}

HttpCall AzureImpactCall(const ProviderSettings& settings, const AzureIdentity& identity,
                         const ProviderFault& fault, const std::string& id) {
  nlohmann::ordered_json extra;
  extra["PhysicalHostName"] = identity.physical_host_name;
  extra["VmUniqueId"] = identity.vm_id;
  if (!fault.gpu_bus_id.empty()) {
    extra["Manufacturer"] = "NVIDIA";
    if (!fault.gpu.serial.empty()) extra["SerialNumber"] = fault.gpu.serial;
    if (!fault.gpu.model.empty()) extra["ModelNumber"] = fault.gpu.model;
    extra["Location"] = fault.gpu_bus_id;
  }
  nlohmann::ordered_json properties;
  properties["startDateTime"] = agent::UnixRfc3339(fault.since);
  properties["impactCategory"] = fault.category.azure;
  properties["impactDescription"] = Describe(fault);
  properties["impactedResourceId"] = identity.resource_id;
  properties["additionalProperties"] = std::move(extra);
  nlohmann::ordered_json body;
  body["properties"] = std::move(properties);

  HttpCall call;
  call.method = "PUT";
  call.url = ImpactUrl(settings, identity, id, "");
  call.headers = {{"Content-Type", "application/json"}};
  call.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  call.timeout = std::chrono::milliseconds(static_cast<long>(settings.timeout_seconds * 1000));
  call.ca_file = settings.ca_file;
  return call;
}

HttpCall AzureInsightsCall(const ProviderSettings& settings, const AzureIdentity& identity,
                           const std::string& id) {
  HttpCall call;
  call.url = ImpactUrl(settings, identity, id, "/insights");
  call.timeout = std::chrono::milliseconds(static_cast<long>(settings.timeout_seconds * 1000));
  call.ca_file = settings.ca_file;
  return call;
}

}  // namespace nodehealth::provider
