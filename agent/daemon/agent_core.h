// The agent's logic without its threads: rounds of probes, the kernel-log and NVML XID events,
// the drain policy, the snapshot the endpoint serves and the state files. agent.cc wraps it in the
// daemon (signals, timers, the endpoint, the watchdog); a test drives it directly through a fake
// DaemonEnv (daemon_env.h), stepping the clock instead of waiting for it.
//
//   Start()   reads the node and the kernel log's backlog and makes the first decision (a sticky
//             fault from the saved state drains at once, unless a repair record clears it).
//   Step()    does what is due at env.SteadyNow(): a throttled state write, the passive round,
//             the active round (due or requested). NextWake() says when the next thing is due.
//   Reload()  SIGHUP: settings, profile and probes again; a bad file keeps the running ones.
//   Stop()    writes the state files a last time, with a status file that no longer vouches.
//
// State files (docs/reliability.md): state.json and status.json are written at once when the
// decision changes, a round ends or the agent stops; kernel-log events between rounds (an XID
// storm, which jobs can cause at will) mark them dirty and are written at most once per
// kStateWriteInterval. status.json is valid for 3 x interval + the longest probe timeout + 30 s.
//
// Thread safety: Start, Step, Reload and Stop from one thread (the scheduler); OnKernelLogXids,
// OnNvmlXidEvents, RequestActiveRound, CancelRounds, Latest, Healthy and NextWake from any.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/daemon/agent_settings.h"
#include "agent/daemon/agent_snapshot.h"
#include "agent/daemon/daemon_env.h"
#include "agent/daemon/kernel_log_watch.h"
#include "agent/daemon/nvml_xid_events.h"
#include "agent/daemon/round_memory_file.h"
#include "agent/daemon/round_schedule.h"
#include "agent/engine/probe_runner.h"
#include "agent/policy/policy_state.h"

namespace nodehealth::agent {

// At most one write of the state files per this long for kernel-log events alone.
inline constexpr std::chrono::seconds kStateWriteInterval{10};

class AgentCore {
 public:
  using SteadyTime = DaemonEnv::SteadyTime;

  // `env` and `options` must outlive the core. `wake` is called (from any thread) whenever
  // NextWake may have moved earlier, so that the scheduler waits again.
  AgentCore(DaemonEnv& env, const AgentOptions& options, ResolvedSettings settings,
            PolicyState state, std::function<void()> wake);
  ~AgentCore();

  void Start();
  void Step();
  void Reload();
  void Stop();

  SteadyTime NextWake() const;
  void RequestActiveRound();
  // The agent is stopping (SIGTERM): a round in progress stops waiting for its probes.
  void CancelRounds() { runner_.Cancel(); }

  // The kernel-log watch's new XIDs (its callback), and XIDs the driver delivered through NVML.
  void OnKernelLogXids(std::vector<XidEventRecord> new_xids);
  void OnNvmlXidEvents(const std::vector<NvmlXidEvent>& events);
  void SetNvmlEventsRegistered(bool registered);

  std::shared_ptr<const AgentSnapshot> Latest() const { return store_.Latest(); }
  // False once the scheduler has missed its own promise of progress (the watchdog stops).
  bool Healthy() const;
  // True after the first passive round (READY=1 was sent).
  bool ready() const { return ready_.load(); }
  const std::shared_ptr<platform::NvmlRuntime>& nvml() const { return nvml_; }
  // Settings as the scheduler thread sees them (after the last successful reload).
  const ResolvedSettings& settings() const { return settings_; }

 private:
  void ApplySettings();
  // Applies the records `nodehealth repair` left in <state_dir>/repairs/ (policy/repair_inbox.h):
  // at Start and before each passive round, so a repaired fault clears within one interval.
  void ApplyRepairRecords();
  void RunRound(const std::vector<ScheduledProbe>& probes);
  void Reevaluate(std::vector<XidEventRecord> new_xids, bool round_ended);
  ProbeResult KernelLogResult(const Probe& probe, const KernelLogView& view,
                              const NodeInventory& inventory);
  std::vector<ProbeSnapshot> LatestInCatalogueOrder() const;
  void SaveState(bool urgent);
  void WriteStateFiles(bool stopping);
  void FlushStateIfDue();
  void ExpectProgressWithin(std::chrono::steady_clock::duration d);
  RoundTiming Timing() const;

  DaemonEnv& env_;
  const AgentOptions& options_;
  const std::string node_;
  const std::string boot_id_;
  const std::function<void()> wake_;
  // Written by the scheduler thread under results_mutex_; read there freely, elsewhere under it.
  ResolvedSettings settings_;

  mutable std::mutex results_mutex_;  // guards everything below up to the next blank line
  PolicyState policy_state_;
  std::map<std::string, ProbeSnapshot> latest_;
  uint64_t last_run_id_ = 0;  // run ids only grow, across restarts too (drain_policy.h)
  uint64_t xid_batches_seen_ = UINT64_MAX;
  AgentCounters counters_;
  std::shared_ptr<const NodeInventory> inventory_;
  double round_started_ = 0;
  double round_seconds_ = 0;
  bool state_dirty_ = false;
  // The round memories' histories as round-memory.json will hold them (round_memory_file.h),
  // taken by the scheduler after each round; empty before the first.
  std::string round_memory_text_;
  SteadyTime last_state_write_{};

  // A dirty state waits for this (steady ticks; max: nothing waits).
  std::atomic<int64_t> flush_state_at_{INT64_MAX};
  std::atomic<int64_t> progress_deadline_{0};   // steady ticks
  std::atomic<int64_t> next_round_{INT64_MIN};  // steady ticks; written by the scheduler
  std::atomic<bool> active_requested_{false};
  std::atomic<bool> ready_{false};

  std::shared_ptr<platform::NvmlRuntime> nvml_;
  ProbeRunner runner_;
  // Probe::NewRoundMemory of each scheduled probe that has one, by probe name; scheduler thread.
  std::map<std::string, std::unique_ptr<RoundMemory>> round_memories_;
  // Histories saved by the agent that ran before this one in this boot, until a memory takes its
  // own back; scheduler thread.
  RoundHistories saved_histories_;
  RoundSchedule schedule_;  // scheduler thread
  SnapshotStore store_;
  KernelLogWatch watch_;
};

}  // namespace nodehealth::agent
