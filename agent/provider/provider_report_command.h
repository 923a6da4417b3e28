// `nodehealth provider-report`: hand this node's hard faults to its cloud (docs/cloud.md),
// the operator's way to do what the agent does on its own when [provider] is set.
//
// Which faults: the agent's sticky faults (state.json in the state directory, read only when only
// root or this user can have written it) and the findings of a fresh passive check (skipped with
// --no-check), limited to codes the drain policy holds as hard faults and that have an automatic
// category (provider_catalog.h). `--code CODE [--entity ENTITY]` reports that finding instead,
// whatever its class, when it is present now or held by the agent: an operator decided. A fault
// the check found but the agent does not hold is dated from the boot (/proc/stat btime), so
// running the command twice in one boot makes the same report id, which the cloud and the
// ledger recognise as one report.
//
//   --dry-run   print each request (method, URL, headers without the token, body) and send nothing
//   --status    poll the reports already sent and print the ledger (provider_ledger.h)
//
// The blast-radius limit is the agent's (it holds its own reports while Slurm suppressed a drain);
// a person running this command has decided, so nothing is held here.
//
// Exit status: 0 every fault reported (accepted now or before) or nothing to report; 1 a report
// was refused or is still pending (the agent, if configured, retries it); 2 bad usage, no cloud
// configured, an unreadable config, or the instance could not be identified.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "agent/engine/check_run.h"

namespace nodehealth::provider {

struct ProviderReportOptions {
  CheckOptions check;  // --config, --profile, --sysroot, --nvml-library, --topology-xml, --timeout
  std::optional<std::string> state_dir;
  bool dry_run = false;
  bool status = false;
  bool no_check = false;
  std::string code;
  std::string entity;
};

struct ProviderReportResult {
  int exit_code = 0;
  // A probe thread or an NVML call of the check is still running: end with std::_Exit.
  bool must_exit_immediately = false;
};

ProviderReportResult RunProviderReport(const ProviderReportOptions& options, std::ostream& out,
                                       std::ostream& err);

}  // namespace nodehealth::provider
