// What the clouds answer, read strictly: the instance's identity, tokens, Azure's insights and
// Google's operations (azure_api.h, gcp_api.h say where each comes from). Bodies arrive bounded
// in size (http_client.h) and are bounded in depth here before nlohmann sees them; a field of the
// wrong type is an Error naming it, never an exception. An error never quotes a token response.
//
// Its own library (nodehealth_provider_parsing), without the HTTP client or the config, so that
// the fuzz build (tests/fuzz/provider_answers_fuzz.cc) has it.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth::provider {

struct AzureIdentity {
  std::string vm_id;
  std::string vm_size;
  std::string subscription_id;
  std::string resource_group;
  std::string name;
  std::string location;
  std::string resource_id;  // "/subscriptions/<sub>/resourceGroups/<rg>/providers/..."
  std::string physical_host_name;
};

// A bearer token and when it stops being valid (Unix seconds). Never logged, never stored.
struct AccessToken {
  std::string value;
  double expires_at = 0;
};

// The identity without physical_host_name; an Error names the missing field.
Expected<AzureIdentity> ParseAzureCompute(std::string_view body);

Expected<AccessToken> ParseAzureToken(std::string_view body);
// expires_in is relative: the token expires at now + expires_in.
Expected<AccessToken> ParseGcpToken(std::string_view body, double now);

// The report's state as the cloud tells it.
struct CloudStatus {
  std::string code;       // Azure: the latest insight's statusCode; Google: the operation status
  bool terminal = false;  // nothing more will follow
  bool failed = false;    // Google: the operation ended with errors
  std::string detail;     // a short text for people
};
// No insight yet is a CloudStatus with an empty code.
Expected<CloudStatus> ParseAzureInsights(std::string_view body);

// The operation's name (to poll) and its status.
struct GcpOperation {
  std::string name;
  CloudStatus status;
};
Expected<GcpOperation> ParseGcpOperation(std::string_view body);

}  // namespace nodehealth::provider
