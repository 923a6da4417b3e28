#include "agent/engine/round_runner.h"

#include <condition_variable>
#include <thread>

#include "agent/engine/probe_runner.h"
#include "agent/policy/report_support.h"
#include "probes/finding_catalog.h"

namespace nodehealth::agent {
namespace {

using Clock = std::chrono::steady_clock;
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

std::vector<ProbeResult> RoundRunner::Run(const std::vector<ScheduledProbe>& probes,
                                          std::shared_ptr<const RoundEnvironment> environment) {
  struct Started {
    std::shared_ptr<Slot> slot;  // null when the probe was not started
    platform::Deadline deadline;
    Clock::time_point start;
  };
  std::vector<Started> started;
  std::vector<ProbeResult> results(probes.size());
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
      results[i] = StillRunning(
          name,
          "the probe's previous run has not returned yet (a hung library call); not started "
          "again until it does");
      started.push_back({nullptr, platform::Deadline::Never(), Clock::now()});
      continue;
    }
    const Clock::time_point start = Clock::now();
    const platform::Deadline deadline = platform::Deadline::In(probes[i].timeout);
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
                           .mpi_allreduce_ranks = environment->mpi_allreduce_ranks};
      ProbeResult result = probe->Run(context);
      result.name = std::string(probe->info().name);
      result.duration = Clock::now() - start;
      result.finished_at = UnixNow();
      // Not busy before done: the scheduler reads Stuck() as soon as it sees `done`.
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
    // Short waits, so that Cancel (the agent stopping) is seen within 0.1 s even while an active
    // probe has minutes left.
    const Clock::time_point give_up = s.deadline.time_point() + kProbeGrace;
    while (!s.slot->done && !cancelled_ && Clock::now() < give_up) {
      s.slot->done_cv.wait_until(lock, std::min(give_up, Clock::now() + kCancelPoll));
    }
    if (s.slot->done) {
      results[i] = std::move(s.slot->result);
      continue;
    }
    if (cancelled_) {
      results[i] = StillRunning(std::string(probes[i].probe->info().name),
                                "cancelled: the agent is stopping");
      continue;
    }
    const double waited = std::chrono::duration<double>(Clock::now() - s.start).count();
    results[i] = StillRunning(std::string(probes[i].probe->info().name),
                              "the probe did not finish within " +
                                  std::to_string(waited).substr(0, 5) + " s and was abandoned");
    results[i].duration = Clock::now() - s.start;
  }
  return results;
}

std::vector<std::string> RoundRunner::Stuck() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, busy] : busy_) {
    if (busy->load()) names.push_back(name);
  }
  return names;
}

}  // namespace nodehealth::agent
