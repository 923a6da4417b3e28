// `nodehealth slurm-drain [--code CODE] [--config FILE] [--dry-run] NODE...`: drains the nodes a
// test across nodes found at fault (mpi-tests/slurm/pairwise.sh's suspects) through the path the
// per-node drains take (docs/contract.md "Slurm", docs/slurm.md).
//
// For each node, in the order given (a name given twice is acted on once):
//   1. `scontrol show node -o NODE`; an error (unknown node, slurmctld not answering within 4 s)
//      is that node's error, and the other nodes are still handled;
//   2. DecideFleetDrain (slurm_decision.h) with the reason "nodehealth: <CODE> fleet": a state
//      nodehealth does not act on, a reason nodehealth did not set, or a node already drained by
//      nodehealth (for this reason or another) is left as is;
//   3. a drain first reads every node again (`scontrol show node -o`), so that the drains of the
//      nodes before it count, and is suppressed at the blast-radius limit of [slurm]
//      max_drained_fraction and max_drained_nodes; without that list it does not drain (never
//      blind). With --dry-run the drains it would have done count as done;
//   4. `scontrol update NodeName=NODE State=DRAIN Reason=...` unless --dry-run. Slurm accepts it
//      only from a Slurm operator or root (munge authenticates the caller): an ordinary user or a
//      job cannot drain nodes with this command;
//   5. one line to `out` and to the log (syslog, ident nodehealth-slurm, set up by main.cc):
//      "nodehealth slurm-drain: node N: drain|suppressed|none (why)" or "...: could not act: ...",
//      with "; dry run" appended under --dry-run.
// CODE (default mpi_allreduce_bandwidth_low) must be a code of the finding catalogue.
//
// Exit status: 0 every node is now drained by nodehealth for this reason (drained now, already
// drained, or would be with --dry-run); 1 some node is not (suppressed, a reason nodehealth did
// not set, drained by nodehealth for another reason, a state nodehealth does not act on); 2 bad
// usage or config, no scontrol, or some node could not be evaluated or acted on.
//
// Thread safety: reentrant.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::slurm {

inline constexpr std::string_view kDefaultFleetCode = "mpi_allreduce_bandwidth_low";

struct SlurmDrainOptions {
  std::string code = std::string(kDefaultFleetCode);  // --code
  std::optional<std::string> config;                  // --config; else the default path if any
  bool dry_run = false;                               // decide and report; never scontrol update
  std::vector<std::string> nodes;                     // NODE...
};

// Per-node lines to `out`; usage and config errors to `err`. Returns the exit status.
int RunSlurmDrain(const SlurmDrainOptions& options, std::ostream& out, std::ostream& err);

}  // namespace nodehealth::slurm
