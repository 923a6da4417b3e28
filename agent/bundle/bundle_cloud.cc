#include "agent/bundle/bundle_cloud.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include "agent/provider/http_client.h"

namespace nodehealth::bundle {
namespace {

using Json = nlohmann::ordered_json;

constexpr auto kRequestLimit = std::chrono::seconds(2);
constexpr std::size_t kMaxResponse = 1u << 20;

struct Response {
  bool ok = false;
  std::string body;
  std::string error;
  bool timed_out = false;
  double seconds = 0;
};

Response Get(const std::string& url, const std::string& header, platform::Deadline deadline) {
  provider::HttpCall call;
  call.url = url;
  const std::size_t colon = header.find(':');
  call.headers = {{header.substr(0, colon), header.substr(colon + 2)}};
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
  call.timeout = std::max(std::chrono::milliseconds(1),
                          std::min<std::chrono::milliseconds>(kRequestLimit, left));
  call.connect_timeout = call.timeout;
  call.max_response_bytes = kMaxResponse;
  // A proxy cannot reach a link-local service, and must not see the request.
  call.use_proxy = false;
  const provider::HttpResult result = provider::HttpExchange(call);
  Response r;
  r.seconds = result.seconds;
  r.timed_out = result.timed_out;
  if (result.ok()) {
    r.ok = true;
    r.body = result.body;
  } else if (!result.error.empty()) {
    r.error = result.error;
  } else {
    r.error = "HTTP status " + std::to_string(result.status);
  }
  return r;
}

std::string LastSegment(const std::string& value) {
  const std::size_t slash = value.rfind('/');
  return slash == std::string::npos ? value : value.substr(slash + 1);
}

std::string AsText(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

BundleItem Unreachable(BundleItem item, const Response& r) {
  item.status = r.timed_out ? "timed_out" : "failed";
  item.timed_out = r.timed_out;
  item.error = r.error;
  return item;
}

BundleItem Azure(const std::string& endpoint, platform::Deadline deadline,
                 CloudIdentity& identity) {
  BundleItem item;
  item.source = endpoint;
  const Response r = Get(endpoint, "Metadata: true", deadline);
  item.duration_seconds = r.seconds;
  if (!r.ok) return Unreachable(std::move(item), r);
  const Json compute = Json::parse(r.body, nullptr, false);
  if (!compute.is_object()) {
    item.status = "failed";
    item.error = "the answer is not a JSON object";
    return item;
  }
  Json kept = Json::object();
  for (const char* key :
       {"vmId", "vmSize", "subscriptionId", "resourceGroupName", "name", "location", "zone"}) {
    if (compute.contains(key)) kept[key] = compute[key];
  }
  StripSecrets(kept);
  identity.provider = "azure";
  for (const auto& [key, value] : kept.items()) identity.fields[key] = AsText(value);
  item.path = "cloud/azure-compute.json";
  item.content = kept.dump(2) + "\n";
  return item;
}

BundleItem Google(const std::string& endpoint, platform::Deadline deadline,
                  CloudIdentity& identity) {
  std::string base = endpoint;
  if (!base.ends_with('/')) base += '/';
  BundleItem item;
  item.source = base;
  Json kept = Json::object();
  for (const char* key : {"project/project-id", "instance/zone", "instance/id", "instance/name",
                          "instance/machine-type"}) {
    const Response r = Get(base + key, "Metadata-Flavor: Google", deadline);
    item.duration_seconds += r.seconds;
    // The first request tells whether a service is there: no need to wait for the others.
    if (!r.ok) return Unreachable(std::move(item), r);
    std::string value = r.body;
    if (std::string_view(key).starts_with("instance/zone") ||
        std::string_view(key) == "instance/machine-type") {
      value = LastSegment(value);  // "projects/123/zones/us-central1-a"
    }
    kept[LastSegment(key)] = value;
  }
  StripSecrets(kept);
  identity.provider = "gcp";
  for (const auto& [key, value] : kept.items()) identity.fields[key] = AsText(value);
  item.path = "cloud/gcp-metadata.json";
  item.content = kept.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return item;
}

}  // namespace

void StripSecrets(Json& json) {
  if (json.is_object()) {
    for (auto it = json.begin(); it != json.end();) {
      std::string key = it.key();
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      bool secret = false;
      for (const char* word : {"token", "secret", "password", "customdata", "userdata"}) {
        secret = secret || key.find(word) != std::string::npos;
      }
      if (secret) {
        it = json.erase(it);
      } else {
        StripSecrets(it.value());
        ++it;
      }
    }
  } else if (json.is_array()) {
    for (Json& child : json) StripSecrets(child);
  }
}

std::vector<BundleItem> CollectCloudMetadata(const std::string& azure_endpoint,
                                             const std::string& gcp_endpoint,
                                             platform::Deadline deadline, CloudIdentity& identity) {
  // Both at once: on a machine of neither cloud each costs its connect limit.
  CloudIdentity azure_identity;
  CloudIdentity gcp_identity;
  BundleItem gcp;
  std::thread google([&] { gcp = Google(gcp_endpoint, deadline, gcp_identity); });
  BundleItem azure = Azure(azure_endpoint, deadline, azure_identity);
  google.join();
  identity = !azure_identity.provider.empty() ? azure_identity : gcp_identity;
  return {std::move(azure), std::move(gcp)};
}

}  // namespace nodehealth::bundle
