// Runs probes, each on its own thread with its own deadline, so that one stuck probe (a hung
// NVML call, a sysfs read that blocks) never delays the others, the end of a `check`, or the
// agent's next round. The one runner of `check`, `burnin`, the Slurm fallback check and the
// agent's rounds (check_run.h, agent/daemon/agent_core.h).
//
// A probe's deadline is min(run deadline, start + its timeout). The runner waits for it until
// that deadline plus kProbeGrace (the probe's own NVML calls give up at the deadline and the
// probe reports probe_timeout itself, with the stuck call named); a probe still running after
// that is abandoned and reported as probe_timeout by the runner. A probe whose abandoned run is
// still going is not started again by the same runner: the run reports probe_timeout for it at
// once, so a process that lives on (the agent) neither piles up threads nor waits for it again.
//
// Ownership: the environment a run reads (file system, inventory, profile, NVML) is held by
// shared_ptr by every probe thread, so an abandoned thread keeps it alive after the run and a
// config reload may replace it safely. A process with an abandoned probe must still end with
// std::_Exit (RunOutcome::abandoned): static destructors would pull libraries from under it.
//
// Thread safety: Run from one thread at a time; Stuck and Cancel from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/deadline.h"
#include "probes/platform/file_system.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/probe.h"
#include "probes/profile.h"

namespace nodehealth {

// What the probes of one run (or one agent round) read.
struct RunEnvironment {
  RunEnvironment(const std::string& sysroot, std::shared_ptr<platform::NvmlRuntime> nvml_runtime)
      : fs(sysroot), nvml(std::move(nvml_runtime)) {}
  platform::RootedFileSystem fs;
  std::shared_ptr<platform::NvmlRuntime> nvml;  // never null
  NodeInventory inventory;
  std::shared_ptr<const Profile> profile;  // null: observe-only
  std::string topology_xml;
  std::string topology_baseline;
  std::optional<int> mpi_allreduce_ranks;
  std::string cuda_library;  // empty: the GPU worker's default
  std::string nccl_library;
};

// A probe selected for a run, with its timeout after the config's overrides (run_plan.h).
struct ScheduledProbe {
  const Probe* probe = nullptr;
  std::chrono::milliseconds timeout{0};
};

struct RunOutcome {
  std::vector<ProbeResult> results;  // in the order of the probes, each with finished_at set
  int abandoned = 0;                 // probes that had not returned when the run ended
};

// How long the runner waits past a probe's deadline before abandoning it.
inline constexpr std::chrono::milliseconds kProbeGrace{500};

class ProbeRunner {
 public:
  RunOutcome Run(const std::vector<ScheduledProbe>& probes,
                 std::shared_ptr<const RunEnvironment> environment,
                 platform::Deadline run_deadline = platform::Deadline::Never());

  // Names of probes whose abandoned run is still going.
  std::vector<std::string> Stuck() const;

  // From any thread (the agent's signal thread on SIGTERM): Run stops waiting within ~0.1 s and
  // returns at once from now on; its results then say "cancelled" and must not be used.
  void Cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> busy_;
};

}  // namespace nodehealth
