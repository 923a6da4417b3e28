#include "agent/engine/probe_runner.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

struct Slot {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  ProbeResult result;
};

}  // namespace

RunOutcome RunProbes(const std::vector<ProbeRun>& runs, const ProbeContext& context) {
  using Clock = std::chrono::steady_clock;
  struct Started {
    std::shared_ptr<Slot> slot;
    platform::Deadline deadline;
    Clock::time_point start;
  };
  std::vector<Started> started;
  for (const ProbeRun& run : runs) {
    const Clock::time_point start = Clock::now();
    const platform::Deadline deadline =
        platform::Deadline::In(run.timeout).EarlierOf(context.deadline);
    auto slot = std::make_shared<Slot>();
    ProbeContext own = context;
    own.deadline = deadline;
    const Probe* probe = run.probe;
    std::thread([slot, own, probe, start] {
      ProbeResult result = probe->Run(own);
      result.name = std::string(probe->info().name);
      result.duration = Clock::now() - start;
      std::lock_guard lock(slot->mutex);
      slot->result = std::move(result);
      slot->done = true;
      slot->done_cv.notify_all();
    }).detach();
    started.push_back({std::move(slot), deadline, start});
  }

  RunOutcome outcome;
  for (std::size_t i = 0; i < started.size(); ++i) {
    Started& s = started[i];
    std::unique_lock lock(s.slot->mutex);
    const bool finished = s.slot->done_cv.wait_until(lock, s.deadline.time_point() + kProbeGrace,
                                                     [&] { return s.slot->done; });
    if (finished) {
      outcome.results.push_back(std::move(s.slot->result));
      continue;
    }
    ++outcome.abandoned;
    ProbeResult result;
    result.name = std::string(runs[i].probe->info().name);
    result.duration = Clock::now() - s.start;
    const double waited = std::chrono::duration<double>(result.duration).count();
    MarkUndecided(result, codes::kProbeTimeout, "node",
                  "the probe did not finish within " + std::to_string(waited).substr(0, 5) +
                      " s and was abandoned",
                  {{"probe " + result.name, "still running", "finished before its deadline"}});
    outcome.results.push_back(std::move(result));
  }
  return outcome;
}

}  // namespace nodehealth
