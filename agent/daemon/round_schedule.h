// When the agent's rounds run (docs/contract.md `agent`): the first passive round at start, then
// one every interval +- jitter; active probes on request (SIGUSR1) and, when [agent] active_probes
// names them, every active_interval from the end of the first passive round. A pure value: the
// caller brings the time, so tests step it with a fake clock (agent_core_test.cc).
//
// Thread safety: none; the agent's scheduler thread owns it.
#pragma once

#include <chrono>
#include <optional>

namespace nodehealth::agent {

struct RoundTiming {
  double interval_seconds = 60;
  double jitter = 0.1;                            // +- this fraction of the interval
  std::optional<double> active_interval_seconds;  // none: active rounds on request only
};

class RoundSchedule {
 public:
  using Time = std::chrono::steady_clock::time_point;
  static constexpr Time kNever = Time::max();

  explicit RoundSchedule(Time start) : next_passive_(start) {}

  bool PassiveDue(Time now) const { return now >= next_passive_; }
  bool ActiveDue(Time now) const { return active_requested_ || now >= next_active_; }
  void RequestActive() { active_requested_ = true; }

  // A passive round ended at `now`; `jitter` in [-1, 1] (DaemonEnv::Jitter). The first one also
  // starts the active schedule. True for the first one (the agent is ready).
  bool PassiveDone(Time now, const RoundTiming& timing, double jitter);
  void ActiveDone(Time now, const RoundTiming& timing);
  // A reload may start or end the active schedule; the passive one goes on as it was.
  void Reloaded(Time now, const RoundTiming& timing);

  // The earlier of the next passive and the next active round (kNever: none scheduled; long ago
  // while an active round is requested).
  Time NextRound() const;
  bool ready() const { return ready_; }

 private:
  static Time After(Time now, double seconds);

  Time next_passive_;
  Time next_active_ = kNever;
  bool active_requested_ = false;
  bool ready_ = false;
};

}  // namespace nodehealth::agent
