#include "agent/engine/probe_runner.h"

#include <condition_variable>
#include <thread>

#include "agent/policy/report_support.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

using Clock = std::chrono::steady_clock;
// How often a wait looks at Cancel: stopping the agent is seen within this even while an active
// probe has minutes left.
constexpr std::chrono::milliseconds kCancelPoll{100};

struct Slot {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  ProbeResult result;
};

ProbeResult StillRunning(const std::string& name, std::string message) {
  ProbeResult result;
  result.name = name;
  MarkUndecided(result, codes::kProbeTimeout, "node", std::move(message),
                {{"probe " + name, "still running", "finished before its deadline"}});
  result.finished_at = UnixNow();
  return result;
}

}  // namespace

RunOutcome ProbeRunner::Run(const std::vector<ScheduledProbe>& probes,
                            std::shared_ptr<const RunEnvironment> environment,
                            platform::Deadline run_deadline) {
  struct Started {
    std::shared_ptr<Slot> slot;  // null when the probe was not started
    platform::Deadline deadline;
    Clock::time_point start;
  };
  std::vector<Started> started;
  RunOutcome outcome;
  outcome.results.resize(probes.size());
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const Probe* probe = probes[i].probe;
    const std::string name(probe->info().name);
    std::shared_ptr<std::atomic<bool>> busy;
    {
      std::lock_guard lock(mutex_);
      std::shared_ptr<std::atomic<bool>>& flag = busy_[name];
      if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
      busy = flag;
    }
    if (busy->exchange(true)) {
      outcome.results[i] = StillRunning(
          name,
          "the probe's previous run has not returned yet (a hung library call); not started "
          "again until it does");
      started.push_back({nullptr, platform::Deadline::Never(), Clock::now()});
      continue;
    }
    const Clock::time_point start = Clock::now();
    const platform::Deadline deadline =
        platform::Deadline::In(probes[i].timeout).EarlierOf(run_deadline);
    auto slot = std::make_shared<Slot>();
    std::thread([slot, busy, environment, probe, deadline, start] {
      // An NVML call of this thread that hangs is this probe's (nodehealth_probe_stuck).
      const platform::NvmlCallerScope caller{std::string(probe->info().name)};
      ProbeContext context{.fs = environment->fs,
                           .nvml = environment->nvml.get(),
                           .profile = environment->profile.get(),
                           .inventory = environment->inventory,
                           .deadline = deadline,
                           .topology_xml = environment->topology_xml,
                           .topology_baseline = environment->topology_baseline,
                           .mpi_allreduce_ranks = environment->mpi_allreduce_ranks,
                           .cuda_library = environment->cuda_library,
                           .nccl_library = environment->nccl_library};
      ProbeResult result = probe->Run(context);
      result.name = std::string(probe->info().name);
      result.duration = Clock::now() - start;
      result.finished_at = UnixNow();
      // Not busy before done: the caller reads Stuck() as soon as it sees `done`.
      busy->store(false);
      {
        std::lock_guard lock(slot->mutex);
        slot->result = std::move(result);
        slot->done = true;
      }
      slot->done_cv.notify_all();
    }).detach();
    started.push_back({std::move(slot), deadline, start});
  }

  for (std::size_t i = 0; i < probes.size(); ++i) {
    Started& s = started[i];
    if (!s.slot) continue;
    std::unique_lock lock(s.slot->mutex);
    const Clock::time_point give_up = s.deadline.time_point() + kProbeGrace;
    while (!s.slot->done && !cancelled_ && Clock::now() < give_up) {
      s.slot->done_cv.wait_until(lock, std::min(give_up, Clock::now() + kCancelPoll));
    }
    ProbeResult& result = outcome.results[i];
    if (s.slot->done) {
      result = std::move(s.slot->result);
      continue;
    }
    ++outcome.abandoned;
    const std::string name(probes[i].probe->info().name);
    if (cancelled_) {
      result = StillRunning(name, "cancelled: the agent is stopping");
      continue;
    }
    const double waited = std::chrono::duration<double>(Clock::now() - s.start).count();
    result = StillRunning(name, "the probe did not finish within " +
                                    std::to_string(waited).substr(0, 5) + " s and was abandoned");
    result.duration = Clock::now() - s.start;
  }
  return outcome;
}

std::vector<std::string> ProbeRunner::Stuck() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, busy] : busy_) {
    if (busy->load()) names.push_back(name);
  }
  return names;
}

}  // namespace nodehealth
