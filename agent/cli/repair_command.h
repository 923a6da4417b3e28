// `nodehealth repair`: after an operator fixed a node without rebooting it (nvidia-smi -r, a part
// replaced), re-verify the agent's sticky faults and clear those that are gone
// (docs/repair.md). A sticky fault is otherwise held until a reboot or, for a condition a probe
// can see, until that probe passes again; an XID in the kernel log is held until a reboot.
//
//   1. Reads the agent's state (<state_dir>/state.json) through platform::ReadTrustedFile and picks
//      its sticky faults, those matching --probe, --code and --entity (none given: all).
//   2. Runs the verifying probes once, through the engine (engine/check_run.h, as `check --only`:
//      deadlines, active probes on demand): a fault's own probe; for an event fault (gpu_xid,
//      CatalogEntry::reports_event) instead the probes that can report a GPU lost, whose findings
//      on the fault's entity say how the GPU is now; for gpu_lost on a GPU those as well.
//   3. A fault is repaired when every verifying probe decided (pass, warn or fail), none reports
//      the fault's code on its entity (an event fault: nothing that drains on the entity), and for
//      gpu_lost / gpu_xid on a GPU the GPU answers (a probe measured it, none reports it lost or
//      missing). Prints one line per fault: fault, verifying probes, result, cleared, why.
//   4. Unless --dry-run, writes a repair record (policy/repair_record.h) for the repaired faults
//      into <state_dir>/repairs/<unix ns>-<pid>.json (temporary file + rename, mode 0600), which
//      the agent applies at its next round. `at` is when the verification started.
//
// Exit status: 0 every selected fault repaired, or nothing to repair; 1 a fault still fails its
// probes (it stays sticky; no record names it); 2 bad usage, an unreadable or untrusted state, not
// root (needed unless --dry-run or the state directory belongs to the effective user), or the
// record could not be written.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "agent/cli/check_command.h"

namespace nodehealth {

struct RepairOptions {
  CheckOptions check;  // config, profile, sysroot, nvml_library, topology_xml, timeout
  std::optional<std::string> state_dir;
  std::optional<std::string> probe;
  std::optional<std::string> code;
  std::optional<std::string> entity;
  bool dry_run = false;
};

CheckResult RunRepair(const RepairOptions& options, std::ostream& out, std::ostream& err);

}  // namespace nodehealth
