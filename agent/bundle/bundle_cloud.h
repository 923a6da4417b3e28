// The cloud's own name for the node, from its instance metadata service, for the summary a
// support request starts with:
//   Azure IMDS   GET <endpoint> (compute, api-version 2021-02-01) with "Metadata: true"; kept:
//                vmId, vmSize, subscriptionId, resourceGroupName, name, location, zone
//   Google       GET <endpoint>{project/project-id, instance/zone, instance/id, instance/name,
//                instance/machine-type} with "Metadata-Flavor: Google" (zone and machine type
//                reduced to their last path segment)
// Only these keys are ever stored. Neither request reaches an endpoint that serves tokens, and
// any key whose name contains "token", "secret", "password", "customData" or "userData" is
// dropped all the same (StripSecrets), so a changed endpoint cannot leak one into the bundle.
//
// Transport: agent/provider/http_client.h (libcurl) with a 2 s limit (connect and total), no
// proxy (metadata services are link-local), responses capped at 1 MiB. A non-cloud machine costs
// at most that limit, both services being asked at once.
//
// Thread safety: reentrant.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/bundle/bundle_manifest.h"
#include "probes/platform/deadline.h"

namespace nodehealth::bundle {

inline constexpr const char* kDefaultAzureImdsEndpoint =
    "http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01";
inline constexpr const char* kDefaultGcpMetadataEndpoint =
    "http://metadata.google.internal/computeMetadata/v1/";

struct CloudIdentity {
  std::string provider;                       // "azure", "gcp", or "" when none answered
  std::map<std::string, std::string> fields;  // the kept keys
};

// Removes, at every depth, the keys that may carry credentials or user data.
void StripSecrets(nlohmann::ordered_json& json);

// cloud/azure-compute.json and cloud/gcp-metadata.json (an item without a file for a service that
// did not answer). `identity` is the first that answered, Azure first.
std::vector<BundleItem> CollectCloudMetadata(const std::string& azure_endpoint,
                                             const std::string& gcp_endpoint,
                                             platform::Deadline deadline, CloudIdentity& identity);

}  // namespace nodehealth::bundle
