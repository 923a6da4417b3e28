// The agent's probe rounds: like RunProbes (probe_runner.h), each probe on its own thread with its
// own deadline, but for a process that lives on. A probe whose previous run was abandoned (a hung
// NVML call) is not started again while that run is still going: the round reports probe_timeout
// for it at once, so one stuck probe neither piles up threads nor delays the others, the snapshot
// or /metrics.
//
// Ownership: the environment a round reads (filesystem, inventory, profile, NVML) is held by
// shared_ptr by every probe thread, so an abandoned thread keeps it alive after the round and a
// config reload may replace it safely.
//
// Thread safety: Run from one thread (the scheduler); Stuck and Cancel from any thread.
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
#include "probes/platform/file_system.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/probe.h"
#include "probes/profile.h"

namespace nodehealth::agent {

struct RoundEnvironment {
  explicit RoundEnvironment(const std::string& sysroot) : fs(sysroot) {}
  platform::RootedFileSystem fs;
  NodeInventory inventory;
  std::shared_ptr<const Profile> profile;  // null: observe-only
  std::shared_ptr<platform::NvmlRuntime> nvml;
  std::string topology_xml;
  std::string topology_baseline;
  std::optional<int> mpi_allreduce_ranks;
};

struct ScheduledProbe {
  const Probe* probe = nullptr;
  std::chrono::milliseconds timeout{0};
};

class RoundRunner {
 public:
  // Results in the order of `probes`, each with finished_at set.
  std::vector<ProbeResult> Run(const std::vector<ScheduledProbe>& probes,
                               std::shared_ptr<const RoundEnvironment> environment);

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

}  // namespace nodehealth::agent
