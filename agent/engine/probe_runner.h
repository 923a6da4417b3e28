// Runs probes, each on its own thread with its own deadline, so that one stuck probe (a hung
// NVML call, a sysfs read that blocks) never delays the others or the end of the run.
//
// A probe's deadline is min(run deadline, start + its timeout). The runner waits for it until
// that deadline plus a short grace (the probe's own NVML calls give up at the deadline and the
// probe reports probe_timeout itself, with the stuck call named); a probe still running after
// that is abandoned and reported as probe_timeout by the runner.
//
// Ownership: an abandoned probe thread keeps references into the caller's context; the caller
// must then end the process with std::_Exit after writing its output (RunOutcome::abandoned).
#pragma once

#include <chrono>
#include <vector>

#include "probes/probe.h"

namespace nodehealth {

struct ProbeRun {
  const Probe* probe = nullptr;
  std::chrono::milliseconds timeout{0};
};

struct RunOutcome {
  std::vector<ProbeResult> results;  // in the order of the runs
  int abandoned = 0;
};

// `context.deadline` is the run's deadline; each probe gets its own copy with its deadline.
RunOutcome RunProbes(const std::vector<ProbeRun>& runs, const ProbeContext& context);

// How long the runner waits past a probe's deadline before abandoning it.
inline constexpr std::chrono::milliseconds kProbeGrace{500};

}  // namespace nodehealth
