// SUMMARY.txt: the few lines an operator pastes into a cloud support request for a bad node:
// the node and the cloud's name for it, the verdict and drain action, each drain reason (code,
// entity, message), the serials of the GPUs those reasons name, driver and kernel versions, and
// since when the agent has seen each fault (its sticky faults' `since`). Plain text, no
// formatting that a ticket form would mangle.
//
// Thread safety: pure function over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/bundle/bundle_cloud.h"
#include "agent/bundle/bundle_collectors.h"
#include "agent/bundle/bundle_sysfs.h"
#include "agent/policy/drain_policy.h"
#include "exporters/report.h"

namespace nodehealth::bundle {

struct SummaryInput {
  std::string node;
  std::string created_at;
  std::string version;
  const Report* report = nullptr;  // null when the check could not run
  std::string check_error;
  const CloudIdentity& cloud;
  const std::vector<GpuIdentity>& gpus;
  const NodeVersions& versions;
  const std::vector<agent::StickyFault>& sticky;  // from the agent's state.json
  std::string state_note;                         // why there are none ("no state.json ...")
};

std::string RenderSummary(const SummaryInput& input);

}  // namespace nodehealth::bundle
