// What the agent serves: an immutable snapshot built once whenever results change (a round ends,
// kernel-log events arrive), so that a scrape only copies it (docs/contract.md: the scrape handler
// never runs a probe). Holds the metric families for /metrics, the JSON text for /report and
// the status page for /.
//
// Thread safety: AgentSnapshot is immutable once published; SnapshotStore may be read and written
// from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/daemon/kernel_log_watch.h"
#include "agent/policy/drain_policy.h"
#include "agent/provider/provider_ledger.h"
#include "agent/slurm/slurm_healthcheck_command.h"
#include "exporters/report.h"

namespace nodehealth::agent {

struct AgentSnapshot {
  std::vector<prometheus::MetricFamily> families;
  std::string report_json;   // the docs/contract.md report, mode "agent", plus "policy" (redacted)
  std::string status_html;   // the page at / (exporters/status_page.h), redacted the same way
  bool has_results = false;  // false until the first round ended
};

// The agent's own state that the metrics show besides the report.
struct AgentCounters {
  double start_time = 0;  // Unix time
  uint64_t rounds = 0;
  double round_interval_seconds = 0;  // the configured passive interval, before jitter
  bool config_reload_ok = true;
  double config_reload_time = 0;  // Unix time of the last successful (re)load
  uint64_t state_write_errors = 0;
  std::string
      state_error;  // why the last write of state.json (or status.json) failed; "" when it did not
  std::vector<std::string> scheduled_probes;  // for nodehealth_probe_stuck's zero series
  std::vector<std::string> stuck_probes;
  bool nvml_events_registered = false;
  std::map<std::pair<std::string, int>, uint64_t> nvml_xids;  // (bus id, XID) -> events
  // The last `nodehealth slurm-healthcheck` run on this node (its status file in the state
  // directory); absent where Slurm does not run it.
  std::optional<slurm::SlurmOutcomeSummary> slurm_healthcheck;
  // [provider] kind ("none" when off) and what the reporter's ledger says (provider_reporter.h),
  // read at the end of each round; provider_error when it cannot be read.
  std::string provider_kind = "none";
  provider::ProviderLedger provider_ledger;
  std::string provider_error;
};

// XIDs whose counter every GPU gets at zero, so that an alert on increase() sees the first one:
// those NVIDIA's catalogue says need a GPU reset, a reboot or a replacement.
const std::vector<int>& PreCreatedXids();

struct SnapshotInput {
  const Report& report;  // drain and verdict already from the policy
  const PolicyOutput& policy;
  const KernelLogView& kernel_log;
  const std::vector<std::string>& gpu_bus_ids;  // from PCI
  const AgentCounters& counters;
  // [agent] report_process_names: false leaves users' process names and PIDs out of the
  // kernel-log lines in report_json (report_redaction.h); the metrics never carry them.
  bool report_process_names = false;
};

std::shared_ptr<const AgentSnapshot> BuildAgentSnapshot(const SnapshotInput& input);

class SnapshotStore {
 public:
  void Publish(std::shared_ptr<const AgentSnapshot> snapshot) {
    std::lock_guard lock(mutex_);
    latest_ = std::move(snapshot);
  }
  std::shared_ptr<const AgentSnapshot> Latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const AgentSnapshot> latest_;
};

}  // namespace nodehealth::agent
