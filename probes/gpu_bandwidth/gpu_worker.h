// Running nodehealth-gpu-worker (the GPU worker) from a probe: found next to nodehealth (or in the
// build tree), started in its own process group with a deadline (platform/child_process.h), its
// JSON parsed with bounds. A CUDA or NCCL call that never returns is thus killed with the worker's
// whole process group when the deadline passes; the driver frees its GPU memory when it dies.
//
// Outcomes the probes turn into findings: not started (the worker is missing), timed out, exited
// badly or printed no report, or a report whose `errors` say how far the GPU work got.
//
// Thread safety: reentrant (the runner is called from the probe's thread).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probes/gpu_bandwidth/worker_options.h"
#include "probes/gpu_bandwidth/worker_report.h"
#include "probes/platform/child_process.h"
#include "probes/probe_result.h"

namespace nodehealth::gpu_worker {

using WorkerRunner = std::function<platform::ChildResult(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    platform::Deadline deadline)>;

// RunChild with a 1 s grace between SIGTERM and SIGKILL.
WorkerRunner DefaultWorkerRunner();

// Next to this executable, in the build tree's probes/, else the bare name for a PATH search.
std::string FindGpuWorker();

struct WorkerOutcome {
  std::string command;    // for evidence
  bool finished = false;  // the worker ran to the end and printed a report
  Report report;          // when finished
  // When not finished: what the probe reports, already a finding (probe_timeout or `failed_code`).
  std::vector<Finding> findings;
};

// Runs the worker until `deadline` (less a reserve for SIGTERM, the grace period and SIGKILL, so
// that the child is gone before the probe's own deadline). `failed_code` names the probe's
// "could not run" finding (gpu_copy_failed or nccl_allreduce_failed).
WorkerOutcome RunGpuWorker(const WorkerRunner& runner, const WorkerOptions& options,
                           const std::map<std::string, std::string>& env,
                           platform::Deadline deadline, std::string_view failed_code);

}  // namespace nodehealth::gpu_worker
