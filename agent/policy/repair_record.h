// Repair records: what `nodehealth repair` (cli/repair_command.h) writes into
// <state_dir>/repairs/ once the probes that verify a sticky fault have passed again, and what the
// agent applies to its PolicyState. Without them a hard fault is held until a reboot, even after an
// operator reset the GPU (nvidia-smi -r) or replaced a part.
//
// Schema "nodehealth-repair/1": one JSON object, at most kMaxRepairRecordBytes, nesting at most
// kMaxRepairRecordDepth levels. Every field below must be present with its type (unknown fields are
// ignored, so later versions may add some):
//   schema   "nodehealth-repair/1"
//   at       RFC 3339 UTC ("2027-01-15T08:00:00.250Z"): when the verification started. A fault
//            first seen after it is not cleared, and only XID events up to it are acknowledged.
//   by, uid  the operator (SUDO_USER under sudo, else the login name of the real uid) and uid
//   faults   [{probe, code, entity, since}]: the sticky faults verified repaired (since: RFC 3339)
//   probes   [{name, verdict}]: the verifying probes and their verdicts (pass, warn or fail)
//
// Thread safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

inline constexpr std::string_view kRepairRecordSchema = "nodehealth-repair/1";
inline constexpr std::size_t kMaxRepairRecordBytes = 64 * 1024;
inline constexpr int kMaxRepairRecordDepth = 4;  // root, faults, a fault: 3
// The applied repairs PolicyState keeps for people (status.json, /report), newest last.
inline constexpr std::size_t kMaxAppliedRepairsShown = 20;
// XID watermarks kept (one per GPU that was repaired; a node has a handful).
inline constexpr std::size_t kMaxXidWatermarks = 256;

struct RepairedFault {
  std::string probe;
  std::string code;
  std::string entity;
  double since = 0;  // Unix time the agent first saw it

  bool operator==(const RepairedFault&) const = default;
};

struct VerifyingProbe {
  std::string name;
  std::string verdict;  // "pass", "warn" or "fail"

  bool operator==(const VerifyingProbe&) const = default;
};

struct RepairRecord {
  double at = 0;  // Unix time, millisecond precision
  std::string by;
  uint32_t uid = 0;
  std::vector<RepairedFault> faults;
  std::vector<VerifyingProbe> probes;

  bool operator==(const RepairRecord&) const = default;
};

// Pretty JSON with a final newline (records are for people too).
std::string SerializeRepairRecord(const RepairRecord& record);

// Too large, too deep, not JSON, another schema, a missing field, a field of the wrong type, an
// empty fault list or a time that is no RFC 3339 UTC time: an Error naming what.
Expected<RepairRecord> ParseRepairRecord(std::string_view text);

// "2027-01-15T08:00:00.250Z" (fraction optional, "Z" only: what nodehealth writes) as Unix time.
Expected<double> ParseRfc3339Utc(std::string_view text);

// Applies `records` (oldest first) at Unix time `now`: removes each sticky fault that matches a
// record's fault (probe, code, entity) and was first seen no later than the record's `at`, and for
// a fault of an event code (gpu_xid: CatalogEntry::reports_event) raises the entity's XID
// watermark (PolicyState::xid_repaired_at) to `at`, whether or not the fault was still held: the
// operator verified that GPU then. `at` is capped at `now`: a record dated in the future never
// acknowledges XIDs that have not happened yet. Returns what was cleared, which is also appended
// to state.repairs (the last kMaxAppliedRepairsShown kept). The decision is not recomputed: the
// caller evaluates the policy next.
std::vector<AppliedRepair> ApplyRepairs(PolicyState& state,
                                        const std::vector<RepairRecord>& records, double now);

}  // namespace nodehealth::agent
