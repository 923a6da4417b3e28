// Azure Guest Health Reporting, as documented in learn.microsoft.com/azure/azure-impact-reporting/
// guest-health-impact-report and specified in Azure/azure-rest-api-specs
// (specification/impact, Microsoft.Impact 2025-01-01-preview):
//
//   1. identity: IMDS compute metadata (GET
//   <imds>/metadata/instance/compute?api-version=2021-02-01,
//      header `Metadata: true`, no proxy): vmId, vmSize, subscriptionId, resourceGroupName, name,
//      location, resourceId;
//   2. PhysicalHostName (required by the report): the Hyper-V data-exchange pool that the host
//      fills, /var/lib/hyperv/.kvp_pool_3 (records of a 512-byte key and a 2048-byte value, each
//      NUL-terminated: linux tools/hv/hv_kvp_daemon.c, include/uapi/linux/hyperv.h), key
//      PhysicalHostName, else PhysicalHostNameFullyQualified;
//   3. a token from the VM's managed identity (GET <imds>/metadata/identity/oauth2/token?
//      api-version=2018-02-01&resource=https://management.azure.com/ [&client_id|object_id|
//      msi_res_id], `Metadata: true`); expires_on is Unix seconds as a string;
//   4. PUT <arm>/subscriptions/<sub>/providers/Microsoft.Impact/workloadImpacts/<id>?api-version=..
//      with properties.startDateTime, impactCategory, impactDescription, impactedResourceId and
//      additionalProperties (PascalCase: PhysicalHostName, VmUniqueId; for a GPU Manufacturer,
//      SerialNumber, ModelNumber, Location). 200 or 201 accepted; 409 means that name was reported
//      already (a repeat, recognised as sent);
//   5. GET <arm>/.../workloadImpacts/<id>/insights?api-version=..: each insight's
//      properties.additionalDetails.statusCode and terminalInsight (true: nothing more follows).
//
// Nothing here sends anything: these functions build requests and read answers; provider_session.h
// exchanges them. The token is only ever placed in an Authorization header.
//
// Thread safety: pure functions (ReadPhysicalHostName reads a file).
#pragma once

#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/provider/cloud_answers.h"
#include "agent/provider/http_client.h"
#include "agent/provider/provider_fault.h"
#include "probes/util/expected.h"

namespace nodehealth::provider {

HttpCall AzureComputeCall(const ProviderSettings& settings);

// PhysicalHostName from the KVP pool file, or an Error (missing file, no such key, malformed).
Expected<std::string> ReadPhysicalHostName(const std::string& kvp_pool_file);

HttpCall AzureTokenCall(const ProviderSettings& settings);

// The report, without its Authorization header. `id` is ReportId(identity.vm_id, fault).
HttpCall AzureImpactCall(const ProviderSettings& settings, const AzureIdentity& identity,
                         const ProviderFault& fault, const std::string& id);
HttpCall AzureInsightsCall(const ProviderSettings& settings, const AzureIdentity& identity,
                           const std::string& id);

}  // namespace nodehealth::provider
