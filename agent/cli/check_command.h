// `nodehealth check`: run the passive probes once, print the report, exit 0 (no drain), 1 (drain
// recommended) or 2 (could not evaluate: bad usage, profile or config). docs/contract.md. The run
// is the engine's (engine/check_run.h); this is its edge: rendering and the files it writes.
#pragma once

#include <iosfwd>

#include "agent/engine/check_run.h"

namespace nodehealth {

struct CheckResult {
  int exit_code = 0;
  // True when a probe thread or an NVML call is still running: the process must end with
  // std::_Exit once output is flushed (see probe_runner.h).
  bool must_exit_immediately = false;
};

CheckResult RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace nodehealth
