// Which URLs nodehealth may send a cloud credential or a node report to, checked when the config
// is read ([provider.azure] / [provider.gcp] endpoints): https anywhere; plain http only to a
// loopback address (the tests' stand-in servers) or, for an instance metadata service, to its
// well-known link-local host (both clouds serve metadata over plain HTTP, reachable only from the
// instance). No user information in the URL.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "probes/util/expected.h"

namespace nodehealth {

enum class EndpointKind {
  kManagement,  // Azure Resource Manager, Google's Compute API
  kMetadata,    // Azure IMDS, Google's metadata server
};

// An Error says why `url` is refused.
Expected<bool> CheckEndpoint(const std::string& url, EndpointKind kind);

}  // namespace nodehealth
