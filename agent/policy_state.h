// The agent's files in its state directory:
//
//   * the policy state (drain_policy.h PolicyState) as JSON with "schema":
//     "nodehealth-agent-state/1", so a restarted agent keeps its sticky faults, its noisy-run
//     counts and its XID history (an XID seen before the restart is neither lost nor counted
//     twice). Written atomically; a missing file is a first start, anything unreadable is an error
//     the caller handles (it renames the file aside and starts empty).
//   * the status file, "schema": "nodehealth-status/1": the current drain decision for people and
//     scripts that cannot reach the HTTP endpoint. Times are RFC 3339 UTC; "decided_at" is null
//     before the first decision; "pending" lists only the noisy faults still below their threshold.
//
// Thread safety: pure functions over values plus whole-file reads and atomic writes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/drain_policy.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

inline constexpr std::string_view kPolicyStateSchema = "nodehealth-agent-state/1";
inline constexpr std::string_view kStatusFileSchema = "nodehealth-status/1";

std::string SerializePolicyState(const PolicyState& state);

// Wrong JSON, a different schema or a field of the wrong type is an Error naming the field.
Expected<PolicyState> ParsePolicyState(std::string_view text);

// A missing file yields an empty PolicyState; any other read or parse problem is an Error whose
// message starts with the path.
Expected<PolicyState> LoadPolicyState(const std::string& path);

Expected<bool> SavePolicyState(const std::string& path, const PolicyState& state);

// The people-facing view of the policy: {"decided_at", "sticky", "pending"}, shared by the status
// file and the agent's /report ("policy").
nlohmann::json PolicyStatusJson(const PolicyState& state);

// `updated_at` is Unix time in seconds.
std::string RenderStatusFile(const std::string& node, const PolicyState& state, double updated_at);

}  // namespace nodehealth::agent
