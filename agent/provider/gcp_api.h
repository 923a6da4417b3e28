// Google Cloud's faulty-host report (cloud.google.com/compute/docs/reference/rest/v1/instances/
// reportHostAsFaulty; docs.cloud.google.com/ai-hypercomputer/docs/manage/report-faulty-host):
//
//   1. identity from the metadata server (<metadata>/computeMetadata/v1/..., header
//      `Metadata-Flavor: Google`, no proxy): project/project-id, instance/zone
//      ("projects/<number>/zones/<zone>": the last segment), instance/id, instance/name;
//   2. a token for the instance's service account (.../instance/service-accounts/default/token:
//      access_token, expires_in as a number of seconds);
//   3. POST <compute>/compute/v1/projects/<p>/zones/<z>/instances/<name>/reportHostAsFaulty?
//      requestId=<report id> with {"disruptionSchedule", "faultReasons": [{"behavior",
//      "description"}]}; the answer is a zonal Operation. The requestId makes a retry the same
//      request, and Google refuses a second report while one is running, so reports go one at a
//      time;
//   4. GET <compute>/compute/v1/projects/<p>/zones/<z>/operations/<operation>: status PENDING,
//      RUNNING or DONE; DONE with error.errors[] failed.
//
// Nothing here sends anything (provider_session.h does). Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/provider/cloud_answers.h"
#include "agent/provider/http_client.h"
#include "agent/provider/provider_fault.h"
#include "probes/util/expected.h"

namespace nodehealth::provider {

struct GcpIdentity {
  std::string project;
  std::string zone;
  std::string instance_id;
  std::string instance_name;
};

// One metadata value ("project/project-id", "instance/zone", ...), as text.
HttpCall GcpMetadataCall(const ProviderSettings& settings, std::string_view key);
// The zone from "projects/123/zones/us-central1-a" (or a bare zone).
std::string ZoneOfMetadata(std::string_view value);

HttpCall GcpTokenCall(const ProviderSettings& settings);

// The report, without its Authorization header. `id` is ReportId(identity.instance_id, fault).
HttpCall GcpReportCall(const ProviderSettings& settings, const GcpIdentity& identity,
                       const ProviderFault& fault, const std::string& id);
HttpCall GcpOperationCall(const ProviderSettings& settings, const GcpIdentity& identity,
                          const std::string& operation);

}  // namespace nodehealth::provider
