// The agent's files in its state directory:
//
//   * the policy state (drain_policy.h PolicyState) as one line of JSON with "schema":
//     "nodehealth-agent-state/3" (files of /1 and /2 are still read: they lack the repairs, which
//     /3 added), so a restarted agent keeps its sticky faults, its noisy-run counts, its run ids,
//     its XID history (an XID seen before the restart is neither lost nor counted twice) and the
//     repairs it applied (the XIDs they acknowledged stay acknowledged). Written atomically; a
//     missing file is a first start, anything unreadable is an error the caller handles (it renames
//     the file aside and starts empty).
//   * the people-facing view of the policy (PolicyStatusJson), which the status file
//     (status_file.h) and /report carry. Times are RFC 3339 UTC; "decided_at" is null before the
//     first decision; "pending" lists only the noisy faults still below their threshold;
//     "repairs" the latest repairs applied (who cleared which sticky fault, when).
//
// Thread safety: pure functions over values plus whole-file reads and atomic writes.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/policy/drain_policy.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

inline constexpr std::string_view kPolicyStateSchema = "nodehealth-agent-state/3";
// Still read: the same without the repairs (xid_repaired_at, repairs).
inline constexpr std::string_view kPolicyStateSchemaV2 = "nodehealth-agent-state/2";
// Still read: the XID history as one object per event, before it was grouped by boot.
inline constexpr std::string_view kPolicyStateSchemaV1 = "nodehealth-agent-state/1";

std::string SerializePolicyState(const PolicyState& state);

// Wrong JSON, a different schema or a field of the wrong type is an Error naming the field.
Expected<PolicyState> ParsePolicyState(std::string_view text);

// A missing file yields an empty PolicyState; any other read or parse problem is an Error whose
// message starts with the path.
Expected<PolicyState> LoadPolicyState(const std::string& path);

Expected<bool> SavePolicyState(const std::string& path, const PolicyState& state);

// The people-facing view of the policy: {"decided_at", "sticky", "pending", "repairs"} (repairs:
// [{code, entity, probe, by, uid, at}], oldest first), shared by the status
// file and the agent's /report ("policy").
nlohmann::ordered_json PolicyStatusJson(const PolicyState& state);

// Unix seconds as RFC 3339 UTC with milliseconds, rounded ("2027-01-15T08:00:00.250Z").
std::string UnixRfc3339(double unix_seconds);

}  // namespace nodehealth::agent
