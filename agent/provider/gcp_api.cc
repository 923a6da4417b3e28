#include "agent/provider/gcp_api.h"

#include "agent/provider/cloud_json.h"

namespace nodehealth::provider {
namespace {

std::chrono::milliseconds Timeout(const ProviderSettings& settings) {
  return std::chrono::milliseconds(static_cast<long>(settings.timeout_seconds * 1000));
}

std::string ZonalPrefix(const ProviderSettings& settings, const GcpIdentity& identity) {
  return settings.gcp_compute_endpoint + "/compute/v1/projects/" + UrlEncode(identity.project) +
         "/zones/" + UrlEncode(identity.zone);
}

}  // namespace

HttpCall GcpMetadataCall(const ProviderSettings& settings, std::string_view key) {
  HttpCall call;
  call.url = settings.gcp_metadata_endpoint + "/computeMetadata/v1/" + std::string(key);
  call.headers = {{"Metadata-Flavor", "Google"}};
  call.use_proxy = false;
  call.timeout = Timeout(settings);
  call.max_response_bytes = 64 << 10;
  return call;
}

std::string ZoneOfMetadata(std::string_view value) {
  const size_t slash = value.rfind('/');
  return std::string(slash == std::string_view::npos ? value : value.substr(slash + 1));
}

HttpCall GcpTokenCall(const ProviderSettings& settings) {
  return GcpMetadataCall(settings, "instance/service-accounts/default/token");
}

HttpCall GcpReportCall(const ProviderSettings& settings, const GcpIdentity& identity,
                       const ProviderFault& fault, const std::string& id) {
  nlohmann::ordered_json reason;
  reason["behavior"] = fault.category.gcp;
  reason["description"] = Describe(fault);
  nlohmann::ordered_json body;
  body["disruptionSchedule"] = settings.gcp_disruption_schedule;
  body["faultReasons"] = nlohmann::ordered_json::array({reason});

  HttpCall call;
  call.method = "POST";
  call.url = ZonalPrefix(settings, identity) + "/instances/" + UrlEncode(identity.instance_name) +
             "/reportHostAsFaulty?requestId=" + UrlEncode(id);
  call.headers = {{"Content-Type", "application/json"}};
  call.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  call.timeout = Timeout(settings);
  call.ca_file = settings.ca_file;
  return call;
}

HttpCall GcpOperationCall(const ProviderSettings& settings, const GcpIdentity& identity,
                          const std::string& operation) {
  HttpCall call;
  call.url = ZonalPrefix(settings, identity) + "/operations/" + UrlEncode(operation);
  call.timeout = Timeout(settings);
  call.ca_file = settings.ca_file;
  return call;
}

}  // namespace nodehealth::provider
