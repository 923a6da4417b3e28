// The Report value of a run, assembled the same way for `check`, `burnin`, the Slurm fallback
// check and the agent: the heading from the run's plan, the probes in the order given (`check`:
// passive ones, then active ones; the agent: catalogue order), the verdict and drain recommendation
// decided (Decide, exporters/report.h). Nothing is rendered.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "agent/engine/run_plan.h"
#include "exporters/report.h"
#include "probes/gpu_common/node_inventory.h"

namespace nodehealth {

struct ReportHeading {
  std::string node;
  std::string mode;  // check, burnin, agent
  const RunPlan& plan;
  std::chrono::system_clock::time_point started_at;
  double duration_seconds = 0;
};

Report AssembleReport(const ReportHeading& heading, std::vector<ProbeResult> probes);

// `check`'s one line for people: what the node has, in the terms the probes judged it.
std::string SummarizeNode(const NodeInventory& inventory, const Profile* profile,
                          const Report& report);

// The version the report carries (the project's, from CMake).
std::string_view NodehealthVersion();

}  // namespace nodehealth
