#include "agent/daemon/provider_reporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "agent/policy/policy_state.h"
#include "agent/policy/report_support.h"
#include "agent/provider/gpu_identity.h"
#include "agent/provider/provider_fault.h"
#include "agent/provider/provider_ledger.h"
#include "agent/provider/provider_session.h"
#include "agent/slurm/slurm_healthcheck_command.h"
#include "probes/platform/trusted_file.h"

namespace nodehealth::agent {
namespace {}  // namespace

std::string BlastRadiusHold(const std::string& state_dir, double earliest_since) {
  Expected<slurm::SlurmOutcomeSummary> outcome =
      slurm::ReadSlurmOutcome(state_dir + "/" + slurm::kSlurmOutcomeFile);
  if (!outcome) return "";  // no Slurm health check on this node: no fleet view to wait for
  if (outcome->suppressed) {
    return "the last Slurm health check (" + UnixRfc3339(outcome->at_unix_seconds) +
           ") did not drain this node: blast-radius limit";
  }
  if (outcome->at_unix_seconds < earliest_since) {
    return "waiting for the Slurm health check to drain this node (blast-radius limit)";
  }
  return "";
}

ProviderReporter::ProviderReporter(ProviderSettings settings, std::string state_dir,
                                   std::shared_ptr<platform::NvmlRuntime> nvml)
    : settings_(std::move(settings)),
      state_dir_(std::move(state_dir)),
      nvml_(std::move(nvml)),
      session_(settings_) {
  thread_ = std::thread([this] { Loop(); });
}

ProviderReporter::~ProviderReporter() {
  StopSoon();
  thread_.join();
}

void ProviderReporter::StopSoon() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
}

void ProviderReporter::Loop() {
  spdlog::info("reporting hard faults to {} ([provider])", settings_.kind);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    StepOnce();
    lock.lock();
    cv_.wait_for(
        lock,
        std::chrono::milliseconds(static_cast<long>(settings_.report_interval_seconds * 1000)),
        [this] { return stop_; });
  }
}

void ProviderReporter::StepOnce() {
  Expected<std::string> text = platform::ReadTrustedFile(state_dir_ + "/state.json", 16 << 20);
  if (!text) {
    if (text.error().sys_errno != ENOENT) {
      spdlog::warn("cloud reports: cannot read the policy state: {}", text.error().message);
    }
    return;
  }
  Expected<PolicyState> state = ParsePolicyState(*text);
  if (!state) {
    spdlog::warn("cloud reports: {}", state.error().message);
    return;
  }
  std::map<std::string, provider::GpuIdentity> gpus;
  const bool gpu_fault =
      std::any_of(state->sticky.begin(), state->sticky.end(),
                  [](const StickyFault& s) { return s.entity.rfind("gpu/", 0) == 0; });
  if (gpu_fault && nvml_) {
    gpus = provider::ReadGpuIdentities(*nvml_, platform::Deadline::In(std::chrono::seconds(5)));
  }
  const std::vector<provider::ProviderFault> faults =
      provider::AutomaticFaults(state->sticky, gpus);

  Expected<std::shared_ptr<provider::LedgerLock>> lock =
      provider::LedgerLock::Acquire(state_dir_, 5);
  if (!lock) {
    spdlog::warn("cloud reports: {}", lock.error().message);
    return;
  }
  const std::string ledger_path = state_dir_ + "/" + provider::kLedgerFile;
  Expected<provider::ProviderLedger> ledger = provider::LoadLedger(ledger_path);
  if (!ledger) {
    spdlog::error("cloud reports: {}; starting a new ledger", ledger.error().message);
    std::rename(ledger_path.c_str(), (ledger_path + ".corrupt").c_str());
    ledger = provider::ProviderLedger{};
  }
  const bool follow = std::any_of(ledger->reports.begin(), ledger->reports.end(),
                                  [](const provider::ReportRecord& r) {
                                    return r.state == "pending" || r.state == "held" ||
                                           (r.state == "sent" && !r.status_terminal);
                                  });
  if (faults.empty() && !follow) return;  // nothing to say and nothing to follow
  double earliest = 0;
  for (const provider::ProviderFault& f : faults) {
    earliest = earliest == 0 ? f.since : std::min(earliest, f.since);
  }
  // Nothing new to hold back when no fault is waiting: the reports already sent are followed.
  const std::string hold = faults.empty() ? "" : BlastRadiusHold(state_dir_, earliest);
  const provider::StepOutcome outcome =
      session_.Step(faults, /*faults_complete=*/true, *ledger, UnixNow(), hold);
  for (const std::string& event : outcome.events) {
    // An instance that cannot be identified says so once, not every period.
    if (event.rfind("cannot identify", 0) == 0) {
      if (event == last_identity_error_) continue;
      last_identity_error_ = event;
    }
    spdlog::warn("cloud reports: {}", event);
  }
  if (Expected<bool> saved = provider::SaveLedger(ledger_path, *ledger); !saved) {
    spdlog::error("cloud reports: cannot write {}: {}", ledger_path, saved.error().message);
  }
}

}  // namespace nodehealth::agent
