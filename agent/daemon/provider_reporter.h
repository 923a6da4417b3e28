// The agent's side of the cloud reports ([provider] kind = "azure" | "gcp", from_agent = true):
// a thread of its own, so that a slow or hung cloud never delays a round, a drain decision or a
// scrape. At start and every [provider] report_interval_seconds it
//
//   * reads the policy's sticky faults from <state_dir>/state.json (which the agent writes at
//     once when its decision changes), keeping those with an automatic category
//     (provider_catalog.h): hard hardware faults only, never noisy codes;
//   * decides whether the blast-radius limit holds the reports: where `nodehealth
//     slurm-healthcheck` runs (its outcome file exists), a report goes only after a health check
//     that ran since the fault was first seen and did not suppress the drain; a suppressed drain
//     holds every report until the limit lets the node go;
//   * takes the ledger lock, steps the ProviderSession (sends, back-off, status polls) and writes
//     the ledger, which the rounds read for /report and /metrics (agent_core.cc).
//
// Nothing is asked of the cloud while there is no fault to report and no report to follow.
//
// Thread safety: StopSoon and the destructor from any thread. The destructor returns once the
// thread has finished its current exchange (each has the configured deadline).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/config/config.h"
#include "agent/provider/provider_session.h"
#include "probes/platform/nvml_runtime.h"

namespace nodehealth::agent {

class ProviderReporter {
 public:
  ProviderReporter(ProviderSettings settings, std::string state_dir,
                   std::shared_ptr<platform::NvmlRuntime> nvml);
  // Joins the thread: returns once its current exchange is over.
  ~ProviderReporter();
  // Tells the thread to stop after its current exchange, without waiting (the agent's stop).
  void StopSoon();
  ProviderReporter(const ProviderReporter&) = delete;
  ProviderReporter& operator=(const ProviderReporter&) = delete;

 private:
  void Loop();
  void StepOnce();

  const ProviderSettings settings_;
  const std::string state_dir_;
  std::shared_ptr<platform::NvmlRuntime> nvml_;
  provider::ProviderSession session_;  // the reporter thread's: identity and token cached
  std::string last_identity_error_;    // the reporter thread's
  std::mutex mutex_;                   // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The hold reason for reports of faults first seen at or after `earliest_since` (Unix seconds),
// from the Slurm health check's outcome file in `state_dir`; empty when nothing holds them.
std::string BlastRadiusHold(const std::string& state_dir, double earliest_since);

}  // namespace nodehealth::agent
