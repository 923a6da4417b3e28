#include "agent/provider/provider_report_command.h"

#include <chrono>
#include <cmath>
#include <ostream>
#include <set>
#include <thread>

#include "agent/config/config.h"
#include "agent/config/state_dir.h"
#include "agent/policy/drain_policy.h"
#include "agent/policy/policy_state.h"
#include "agent/policy/report_support.h"
#include "agent/provider/gpu_identity.h"
#include "agent/provider/provider_fault.h"
#include "agent/provider/provider_ledger.h"
#include "agent/provider/provider_session.h"
#include "probes/platform/regular_file.h"
#include "probes/platform/trusted_file.h"

namespace nodehealth::provider {
namespace {

constexpr double kLockTimeout = 30;
constexpr int kAttemptsHere = 4;         // tries before the command leaves a report pending
constexpr double kLongestWaitHere = 30;  // and the longest back-off it waits for itself

// The boot's start from <sysroot>/proc/stat (btime), 0 when unknown.
double BootTime(const std::string& sysroot) {
  Expected<std::string> stat =
      platform::ReadRegularFile(sysroot + "/proc/stat", 1 << 20, "kernel statistics");
  if (!stat) return 0;
  const size_t at = stat->find("\nbtime ");
  if (at == std::string::npos) return 0;
  try {
    return std::stod(stat->substr(at + 7, 20));
  } catch (const std::exception&) {
    return 0;
  }
}

// The ledger, read under its lock, which is held as long as this lives.
struct LockedLedger {
  std::shared_ptr<LedgerLock> lock;
  std::string path;
  ProviderLedger ledger;
};

Expected<LockedLedger> OpenLedger(const std::string& state_dir) {
  Expected<std::shared_ptr<LedgerLock>> lock = LedgerLock::Acquire(state_dir, kLockTimeout);
  if (!lock) return lock.error();
  const std::string path = state_dir + "/" + kLedgerFile;
  Expected<ProviderLedger> ledger = LoadLedger(path);
  if (!ledger) return ledger.error();
  return LockedLedger{*lock, path, std::move(*ledger)};
}

bool Selected(const ProviderReportOptions& o, std::string_view code, std::string_view entity) {
  return code == o.code && (o.entity.empty() || entity == o.entity);
}

void PrintCall(const HttpCall& call, const std::string& token_source, std::ostream& out) {
  out << call.method << " " << call.url << "\n";
  out << "Authorization: Bearer <" << token_source << ", not shown>\n";
  for (const auto& [name, value] : call.headers) out << name << ": " << value << "\n";
  out << "\n" << call.body << "\n";
}

void PrintRecord(const ReportRecord& r, std::ostream& out) {
  out << "  " << r.code << " " << r.entity << " -> " << r.category << ": " << r.state;
  if (r.last_http_status != 0) out << " (HTTP " << r.last_http_status << ")";
  if (!r.status_code.empty()) {
    out << ", cloud status " << r.status_code << (r.status_terminal ? " (final)" : "");
  }
  if (!r.hold_reason.empty()) out << ", held: " << r.hold_reason;
  if (!r.last_error.empty() && r.state != "sent") out << ": " << r.last_error;
  out << "\n    report id " << r.id << "\n";
}

}  // namespace

namespace {

int Run(const ProviderReportOptions& options, std::ostream& out, std::ostream& err,
        bool& must_exit_immediately) {
  if (!options.entity.empty() && options.code.empty()) {
    err << "nodehealth provider-report: --entity needs --code\n";
    return 2;
  }
  const bool explicit_path = options.check.config.has_value();
  Expected<Config> config =
      LoadConfig(options.check.config.value_or(std::string(kDefaultConfigPath)), !explicit_path);
  if (!config) {
    err << "nodehealth provider-report: invalid config: " << config.error().message << "\n";
    return 2;
  }
  const ProviderSettings& settings = config->provider;
  if (settings.kind == "none") {
    err << "nodehealth provider-report: no cloud is configured: set [provider] kind = \"azure\" "
           "or \"gcp\" in "
        << (config->path.empty() ? std::string(kDefaultConfigPath) : config->path) << "\n";
    return 2;
  }
  if (!options.code.empty() && !CategoryOf(options.code, 0)) {
    err << "nodehealth provider-report: \"" << options.code
        << "\" is not a hardware fault any cloud takes (see `nodehealth provider-report --help`)\n";
    return 2;
  }
  Expected<std::string> state_dir =
      agent::ResolveStateDir(options.state_dir, *config, options.check.sysroot);
  if (!state_dir) {
    err << "nodehealth provider-report: " << state_dir.error().message << "\n";
    return 2;
  }
  ProviderSession session(settings);

  if (options.status) {
    Expected<LockedLedger> held = OpenLedger(*state_dir);
    if (!held) {
      err << "nodehealth provider-report: " << held.error().message << "\n";
      return 2;
    }
    if (Expected<bool> id = session.Identify(); id) {
      StepOutcome outcome;
      for (ReportRecord& r : held->ledger.reports) {
        if (r.provider == settings.kind && r.state == "sent" && !r.status_terminal) {
          session.Poll(r, UnixNow(), outcome);
        }
      }
      if (Expected<bool> saved = SaveLedger(held->path, held->ledger); !saved) {
        err << "nodehealth provider-report: " << saved.error().message << "\n";
      }
    } else {
      err << "nodehealth provider-report: cannot ask the cloud for the reports' status: "
          << id.error().message << "\n";
    }
    out << LedgerStatusJson(settings.kind, held->ledger).dump(2) << "\n";
    return 0;
  }

  // The GPUs' serials and models, for the reports of GPU faults.
  const std::string nvml_library =
      options.check.nvml_library.value_or(config->nvml_library.value_or("libnvidia-ml.so.1"));
  platform::NvmlRuntime nvml(nvml_library);
  const std::map<std::string, GpuIdentity> gpus =
      ReadGpuIdentities(nvml, platform::Deadline::In(std::chrono::seconds(10)));

  std::vector<ProviderFault> faults;
  const auto add = [&](ProviderFault f) {
    for (const ProviderFault& have : faults) {
      if (have.code == f.code && have.entity == f.entity) return;  // the agent's since wins
    }
    faults.push_back(std::move(f));
  };
  // The agent's hard faults.
  const std::string state_path = *state_dir + "/state.json";
  Expected<std::string> state_text = platform::ReadTrustedFile(state_path, 16 << 20);
  if (state_text) {
    Expected<agent::PolicyState> state = agent::ParsePolicyState(*state_text);
    if (!state) {
      err << "nodehealth provider-report: ignoring " << state_path << ": " << state.error().message
          << "\n";
    } else {
      for (const agent::StickyFault& s : state->sticky) {
        ProviderFault f = MakeFault(s.probe, s.code, s.entity, s.message, s.since, gpus);
        if (options.code.empty() ? f.category.automatic : Selected(options, f.code, f.entity)) {
          add(std::move(f));
        }
      }
    }
  } else if (state_text.error().sys_errno != ENOENT) {
    err << "nodehealth provider-report: ignoring the agent's state: " << state_text.error().message
        << "\n";
  }
  // What a fresh passive check finds now.
  if (!options.no_check) {
    CheckOptions check = options.check;
    check.mode = "check";
    Expected<CheckRun> run = RunCheckOnce(check);
    if (!run) {
      err << "nodehealth provider-report: " << run.error().message << "\n";
      return 2;
    }
    must_exit_immediately = run->must_exit_immediately;
    const double boot = BootTime(options.check.sysroot);
    for (const ProbeResult& probe : run->report.probes) {
      for (const Finding& finding : probe.findings) {
        const agent::Treatment t = agent::TreatFinding(config->drain, finding.code, finding.action);
        ProviderFault f =
            MakeFault(probe.name, finding.code, finding.entity, finding.message, boot, gpus);
        const bool wanted = options.code.empty()
                                ? f.category.automatic && t.sticky && ImpliesDrain(t.action)
                                : Selected(options, f.code, f.entity);
        if (wanted) add(std::move(f));
      }
    }
  }

  std::vector<ProviderFault> reportable;
  for (ProviderFault& f : faults) {
    if (!(settings.kind == "azure" ? f.category.azure : f.category.gcp).empty()) {
      reportable.push_back(std::move(f));
    }
  }
  if (reportable.empty()) {
    out << "nothing to report: no hard hardware fault "
        << (options.code.empty() ? "on this node" : "matches --code/--entity now") << "\n";
    return 0;
  }

  if (options.dry_run) {
    Expected<std::vector<PreparedReport>> prepared = session.Prepare(reportable);
    if (!prepared) {
      err << "nodehealth provider-report: cannot identify this instance: "
          << prepared.error().message << "\n";
      return 2;
    }
    out << "# dry run: " << prepared->size() << " report(s) for " << session.DescribeIdentity()
        << "; nothing is sent\n";
    const std::string token_source =
        settings.kind == "azure" ? "managed identity token" : "service account token";
    for (const PreparedReport& p : *prepared) {
      out << "\n# " << p.fault.code << " " << p.fault.entity << " -> "
          << (settings.kind == "azure" ? p.fault.category.azure : p.fault.category.gcp)
          << ", report id " << p.id << "\n";
      PrintCall(p.call, token_source, out);
    }
    return 0;
  }

  Expected<LockedLedger> held = OpenLedger(*state_dir);
  if (!held) {
    err << "nodehealth provider-report: " << held.error().message << "\n";
    return 2;
  }
  if (Expected<bool> id = session.Identify(); !id) {
    err << "nodehealth provider-report: cannot identify this instance: " << id.error().message
        << "\n";
    return 2;
  }
  std::set<std::string> ids;
  for (const ProviderFault& f : reportable) ids.insert(ReportId(session.instance_id(), f));
  const auto mine = [&](const ReportRecord& r) { return ids.count(r.id) > 0; };
  // A record the agent (or an earlier run) holds back or left pending is due now: a person asked.
  for (ReportRecord& r : held->ledger.reports) {
    if (mine(r) && (r.state == "pending" || r.state == "held")) {
      r.next_attempt_at = 0;
      r.state = "pending";
      r.hold_reason.clear();
    }
  }
  for (int round = 0;; ++round) {
    const StepOutcome outcome = session.Step(reportable, false, held->ledger, UnixNow(), "");
    for (const std::string& e : outcome.events) out << e << "\n";
    if (Expected<bool> saved = SaveLedger(held->path, held->ledger); !saved) {
      err << "nodehealth provider-report: " << saved.error().message << "\n";
    }
    double wait = -1;
    for (const ReportRecord& r : held->ledger.reports) {
      if (mine(r) && r.state == "pending" && r.attempts < kAttemptsHere) {
        const double in = r.next_attempt_at - UnixNow();
        if (in <= kLongestWaitHere) wait = std::max(wait, std::max(0.0, in));
      }
    }
    if (wait < 0 || round >= kAttemptsHere) break;
    out << "retrying in " << std::ceil(wait) << " s\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(wait * 1000)));
  }
  // The cloud's first word on what was just sent.
  StepOutcome polled;
  for (ReportRecord& r : held->ledger.reports) {
    if (mine(r) && r.state == "sent" && !r.status_terminal) session.Poll(r, UnixNow(), polled);
  }
  if (Expected<bool> saved = SaveLedger(held->path, held->ledger); !saved) {
    err << "nodehealth provider-report: " << saved.error().message << "\n";
  }
  out << session.DescribeIdentity() << ":\n";
  bool all_sent = true;
  for (const ReportRecord& r : held->ledger.reports) {
    if (!mine(r)) continue;
    PrintRecord(r, out);
    if (r.state != "sent") all_sent = false;
  }
  return all_sent ? 0 : 1;
}

}  // namespace

ProviderReportResult RunProviderReport(const ProviderReportOptions& options, std::ostream& out,
                                       std::ostream& err) {
  ProviderReportResult result;
  result.exit_code = Run(options, out, err, result.must_exit_immediately);
  return result;
}

}  // namespace nodehealth::provider
