#include "agent/daemon/agent_snapshot.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <map>

#include "agent/daemon/report_redaction.h"
#include "agent/policy/policy_state.h"
#include "exporters/json_report.h"
#include "exporters/metric_families.h"
#include "exporters/status_page.h"
#include "probes/all_probes.h"

namespace nodehealth::agent {

const std::vector<int>& PreCreatedXids() {
  // NVIDIA's catalogue (xid_catalog_data.inc): immediate action RESET_GPU, RESTART_BM or worse.
  static const std::vector<int> kXids = {46,  48,  62,  64,  74,  79,  95,  109, 110,
                                         119, 120, 136, 140, 143, 151, 155, 156, 158};
  return kXids;
}

namespace {

void AddKernelLogMetrics(const KernelLogView& log, MetricFamilyBuilder& f) {
  f.Add("nodehealth_kernel_log_up", "1 while the kernel log is followed", {},
        log.following ? 1 : 0);
  for (KernelEventKind kind : kAllKernelEventKinds) {
    f.Add("nodehealth_kernel_log_events_total", "kernel-log events by kind since the agent started",
          {{"kind", std::string(ToString(kind))}},
          static_cast<double>(log.events[static_cast<std::size_t>(kind)]));
  }
  f.Add("nodehealth_kernel_log_lines_total", "kernel-log lines read since the agent started", {},
        static_cast<double>(log.stats.lines));
  f.Add("nodehealth_kernel_log_overwritten_total",
        "kernel-log records lost to ring-buffer wrap before the agent read them", {},
        static_cast<double>(log.stats.overwritten));
  f.Add("nodehealth_kernel_log_sequence_gaps_total", "gaps in kernel-log sequence numbers", {},
        static_cast<double>(log.tally.sequence_gaps()));
  f.Add("nodehealth_kernel_log_restarts_total",
        "times a followed kernel-log file was truncated or replaced", {},
        static_cast<double>(log.stats.restarts));
}

void AddPolicyMetrics(const PolicyOutput& policy, MetricFamilyBuilder& f) {
  f.Add("nodehealth_drain_decision_timestamp_seconds", "when the drain decision last changed", {},
        policy.decided_at);
  f.Add("nodehealth_drain_action_level",
        "the node's action: 0 none, 1 monitor, 2 drain, 3 reset_gpu, 4 reboot, 5 replace", {},
        static_cast<double>(policy.decision.action));
  for (const DrainReason& reason : policy.decision.reasons) {
    f.Add("nodehealth_drain_reason", "1 for each reason of the current drain decision",
          {{"code", reason.code},
           {"entity", reason.entity},
           {"action", std::string(ToString(reason.action))}},
          1);
  }
  for (const PendingFault& pending : policy.state.pending) {
    if (pending.failing_runs >= pending.needed_runs) continue;
    f.Add("nodehealth_drain_pending_failing_runs",
          "failing runs in a row of a noisy finding still below its threshold",
          {{"code", pending.code}, {"entity", pending.entity}}, pending.failing_runs);
  }
}

// A cloud's status word as a label value: letters, digits and _ only, at most 64 (the clouds'
// codes are identifiers, "AcknowledgedUnhealthy", "DONE"; anything else must not become free
// text in a label).
std::string StatusLabel(const std::string& code) {
  std::string out;
  for (char c : code.substr(0, 64)) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

void AddProviderMetrics(const AgentCounters& c, MetricFamilyBuilder& f) {
  std::map<std::string, int> by_state{
      {"pending", 0}, {"held", 0}, {"sent", 0}, {"failed", 0}, {"cancelled", 0}};
  for (const provider::ReportRecord& r : c.provider_ledger.reports) {
    ++by_state[r.state];
    if (r.state == "cancelled") continue;
    f.Add("nodehealth_provider_report_info",
          "a report of a hard fault to the cloud: its category, state and the cloud's latest "
          "status (value always 1)",
          {{"provider", r.provider},
           {"code", r.code},
           {"entity", r.entity},
           {"category", r.category},
           {"state", r.state},
           {"status", StatusLabel(r.status_code)},
           {"terminal", r.status_terminal ? "true" : "false"}},
          1);
  }
  for (const auto& [state, count] : by_state) {
    f.Add("nodehealth_provider_reports", "reports of hard faults to the cloud, by state",
          {{"provider", c.provider_kind}, {"state", state}}, count);
  }
  f.Add("nodehealth_provider_ledger_readable",
        "0 when the cloud reports' ledger (provider-reports.json) cannot be read", {},
        c.provider_error.empty() ? 1 : 0);
}

void AddAgentMetrics(const AgentCounters& c, MetricFamilyBuilder& f) {
  f.Add("nodehealth_agent_start_time_seconds", "when the agent started (Unix time)", {},
        c.start_time);
  f.Add("nodehealth_agent_rounds_total", "passive probe rounds completed", {},
        static_cast<double>(c.rounds));
  // Alert rules scale their staleness threshold with it (NodehealthAgentStale).
  f.Add("nodehealth_agent_round_interval_seconds",
        "the configured interval between passive probe rounds, before jitter", {},
        c.round_interval_seconds);
  f.Add("nodehealth_config_last_reload_successful", "0 when the last config (re)load failed", {},
        c.config_reload_ok ? 1 : 0);
  f.Add("nodehealth_config_last_reload_success_timestamp_seconds",
        "when the config was last loaded successfully (Unix time)", {}, c.config_reload_time);
  f.Add("nodehealth_state_write_errors_total", "failed writes of the state or status file", {},
        static_cast<double>(c.state_write_errors));
  f.Add("nodehealth_state_last_write_successful",
        "0 when the last write of the state or status file failed (a full or read-only disk)", {},
        c.state_error.empty() ? 1 : 0);
  f.Add("nodehealth_nvml_xid_events_registered",
        "1 when the driver delivers XID events through NVML to the agent", {},
        c.nvml_events_registered ? 1 : 0);
  for (const auto& [key, count] : c.nvml_xids) {
    f.Add("nodehealth_nvml_xid_events_total",
          "XIDs delivered as NVML events since the agent started",
          {{"gpu", key.first}, {"xid", std::to_string(key.second)}}, static_cast<double>(count));
  }
  for (const std::string& probe : c.scheduled_probes) {
    f.Add("nodehealth_probe_stuck", "1 while an abandoned run of the probe has not returned",
          {{"probe", probe}}, 0);
  }
  if (const auto& slurm = c.slurm_healthcheck) {
    f.Add("nodehealth_slurm_healthcheck_last_run_timestamp_seconds",
          "when `nodehealth slurm-healthcheck` last ran on this node (Unix time)", {},
          slurm->at_unix_seconds);
    f.Add("nodehealth_slurm_healthcheck_success",
          "0 when the last Slurm health check could not evaluate or act", {},
          slurm->evaluated ? 1 : 0);
    f.Add("nodehealth_slurm_drain_suppressed",
          "1 when the last Slurm health check did not drain because of the blast-radius limit", {},
          slurm->suppressed ? 1 : 0);
    f.Add("nodehealth_slurm_healthcheck_action_info",
          "the last Slurm health check's action (none, drain, update_reason, resume, suppressed)",
          {{"action", slurm->action}}, 1);
  }
  if (c.provider_kind != "none") AddProviderMetrics(c, f);
  for (const std::string& probe : c.stuck_probes) {
    f.Add("nodehealth_probe_stuck", "1 while an abandoned run of the probe has not returned",
          {{"probe", probe}}, 1);
  }
}

}  // namespace

std::shared_ptr<const AgentSnapshot> BuildAgentSnapshot(const SnapshotInput& input) {
  auto snapshot = std::make_shared<AgentSnapshot>();
  snapshot->has_results = input.counters.rounds > 0;
  MetricFamilyBuilder f;
  AddReportMetrics(input.report, f);
  const MeasurementSpec* xid_events = FindMeasurementSpec("gpu_xid_events_total");
  for (const std::string& bus_id : xid_events ? input.gpu_bus_ids : std::vector<std::string>{}) {
    for (int xid : PreCreatedXids()) {
      f.AddIfAbsent("nodehealth_" + xid_events->name, xid_events->help,
                    {{"gpu", bus_id}, {"xid", std::to_string(xid)}}, 0);
    }
  }
  AddKernelLogMetrics(input.kernel_log, f);
  AddPolicyMetrics(input.policy, f);
  AddAgentMetrics(input.counters, f);
  snapshot->families = f.Build();

  nlohmann::ordered_json report = ReportJson(input.report);
  report["policy"] = PolicyStatusJson(input.policy.state);
  if (input.counters.provider_kind != "none") {
    report["provider"] =
        provider::LedgerStatusJson(input.counters.provider_kind, input.counters.provider_ledger);
    report["provider"]["error"] = input.counters.provider_error;
  }
  report["policy"]["xid_events_remembered"] = input.policy.state.xid_history.size();
  // A drain decision that cannot be saved is lost at the next restart: say so where people look.
  report["policy"]["state_error"] = input.counters.state_error;
  report["policy"]["kernel_log"] = {
      {"following", input.kernel_log.following},
      {"source", input.kernel_log.source},
      {"error", input.kernel_log.error},
      {"lines", input.kernel_log.stats.lines},
  };
  if (!input.report_process_names) RedactProcessIdentities(report);
  snapshot->report_json = RenderJson(report);
  StatusPageOptions page;
  if (!input.report_process_names) {
    page.filter = [](std::string_view text) { return RedactProcessIdentities(text); };
  }
  snapshot->status_html = RenderStatusPage(input.report, page);
  return snapshot;
}

}  // namespace nodehealth::agent
