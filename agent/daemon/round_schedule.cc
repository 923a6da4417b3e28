#include "agent/daemon/round_schedule.h"

#include <algorithm>

namespace nodehealth::agent {

RoundSchedule::Time RoundSchedule::After(Time now, double seconds) {
  return now + std::chrono::duration_cast<Time::duration>(std::chrono::duration<double>(seconds));
}

bool RoundSchedule::PassiveDone(Time now, const RoundTiming& timing, double jitter) {
  next_passive_ = After(now, timing.interval_seconds * (1 + timing.jitter * jitter));
  if (ready_) return false;
  ready_ = true;
  if (timing.active_interval_seconds) next_active_ = After(now, *timing.active_interval_seconds);
  return true;
}

void RoundSchedule::ActiveDone(Time now, const RoundTiming& timing) {
  active_requested_ = false;
  next_active_ =
      timing.active_interval_seconds ? After(now, *timing.active_interval_seconds) : kNever;
}

void RoundSchedule::Reloaded(Time now, const RoundTiming& timing) {
  if (!timing.active_interval_seconds) {
    next_active_ = kNever;
  } else if (next_active_ == kNever && ready_) {
    next_active_ = After(now, *timing.active_interval_seconds);
  }
}

RoundSchedule::Time RoundSchedule::NextRound() const {
  if (active_requested_) return Time::min();
  return std::min(next_passive_, next_active_);
}

}  // namespace nodehealth::agent
