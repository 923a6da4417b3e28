// The probe interface. A probe has a stable name (config keys, metric labels, --only), a kind,
// and Run(context) -> ProbeResult.
//
// Contract for implementations:
//   * Run never throws and never blocks past context.deadline: anything that may hang (NVML) goes
//     through NvmlRuntime, which abandons a stuck call at the deadline.
//   * Run reads only what the context offers (files through context.fs, NVML through
//     context.nvml), so the same probe runs on a live node and on a recorded fixture tree.
//   * Run is const and may be called concurrently with other probes.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "probes/measurement_spec.h"
#include "probes/probe_context.h"
#include "probes/probe_result.h"

namespace nodehealth {

enum class ProbeKind {
  kPassive,  // read-only, well under a second: check, agent schedule
  kActive,   // loads hardware: burnin or on demand only
};

std::string_view ToString(ProbeKind kind);

// Where `nodehealth agent` takes a probe's result from. `check` and `burnin` always run the probe.
enum class AgentSource {
  kRounds,  // run every round (passive) or on demand (active)
  // The agent's kernel-log watch, which follows the log between rounds, tallies every XID line
  // (kernel_log/xid_tally.h) and produces the result whenever the log moves, so an XID reaches
  // /metrics and the drain decision within a second instead of a round later.
  kKernelLogWatch,
};

// What a probe judges; the report's summary line says how many GPUs there are whenever a probe
// about GPUs ran.
enum class ProbeSubject { kGpu, kNetwork, kNode };

// What the agent's kernel-log watch has read since boot, for a kKernelLogWatch probe to judge.
class XidTally;
struct KernelLogWatchState {
  bool following = false;    // the log is open and followed
  std::string error;         // why it is not followed, when it is not
  const XidTally& tally;     // every XID line since boot (kernel_log/xid_tally.h)
  uint64_t overwritten = 0;  // records lost to ring-buffer wrap before they were read
};

// State a probe carries from one of the agent's rounds to the next: what only a process that
// lives on can see, such as a counter that grew between two reads. The agent keeps one per probe
// that offers it (Probe::NewRoundMemory) for as long as the probe is scheduled.
//
// Thread safety: used by the agent's scheduler thread only.
class RoundMemory {
 public:
  virtual ~RoundMemory() = default;
  // After each run of the probe in the agent, before the config's action overrides and the drain
  // policy: may add findings to `result`. `profile` is null in observe-only mode.
  virtual void AfterRun(const Profile* profile, double now, ProbeResult& result) = 0;
  // The history as text, which the agent keeps in its state directory (round-memory.json) and
  // hands to a fresh memory after a restart in the same boot, so a window of counter samples
  // survives the restart. Counters restart at boot, so a new boot starts empty. Empty: nothing
  // worth keeping. Keep it bounded (a few hundred kilobytes at most).
  virtual std::string SaveHistory() const { return ""; }
  // Takes back what SaveHistory wrote (possibly by an older version, possibly damaged): anything
  // it does not understand is ignored and the memory starts empty. Called before the first
  // AfterRun.
  virtual void RestoreHistory(std::string_view /*text*/) {}
};

struct ProbeInfo {
  std::string_view name;
  ProbeKind kind;
  std::string_view summary;             // one line for `nodehealth probes`
  std::vector<std::string_view> reads;  // files and libraries it reads
  std::vector<std::string_view> codes;  // finding codes it can report
  std::chrono::milliseconds timeout;    // its own deadline inside the run's
  // Everything it can measure (measurement_spec.h): the exporters' HELP texts and types.
  std::vector<MeasurementSpec> measurements;
  ProbeSubject subject = ProbeSubject::kNode;
  AgentSource agent_source = AgentSource::kRounds;
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual const ProbeInfo& info() const = 0;
  virtual ProbeResult Run(const ProbeContext& context) const = 0;

  // Optional capabilities; the defaults are "none".
  // A sentence for the report's summary line about what `result` found (empty: nothing to say).
  virtual std::string Summarize(const ProbeResult& /*result*/) const { return ""; }
  // A fresh memory for the agent's rounds (RoundMemory), or null when runs stand alone.
  virtual std::unique_ptr<RoundMemory> NewRoundMemory() const { return nullptr; }
  // For AgentSource::kKernelLogWatch: the result from the agent's watch instead of a run (the
  // caller sets name and finished_at). `profile` is null in observe-only mode. The default, for a
  // probe that declares no such source, is probe_error.
  virtual ProbeResult FromKernelLogWatch(const KernelLogWatchState& watch, const Profile* profile,
                                         const NodeInventory& inventory) const;
};

}  // namespace nodehealth
