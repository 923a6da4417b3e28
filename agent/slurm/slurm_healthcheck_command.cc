#include "agent/slurm/slurm_healthcheck_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "agent/config/config.h"
#include "agent/config/state_dir.h"
#include "agent/config/toml_reader.h"
#include "agent/policy/kernel_xid_events.h"
#include "agent/policy/report_support.h"
#include "agent/policy/status_file.h"
#include "agent/slurm/agent_verdict.h"
#include "agent/slurm/health_view.h"
#include "agent/slurm/scontrol.h"
#include "agent/slurm/slurm_decision.h"
#include "exporters/atomic_file.h"
#include "exporters/json_report.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::slurm {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kOutcomeSchema = "nodehealth-slurm-healthcheck/1";
constexpr milliseconds kScontrolTimeout{4000};
constexpr milliseconds kXidReadTimeout{5000};  // one pass over the kernel ring buffer

// What one run saw and did: the status file, the log line and the exit status.
struct Outcome {
  std::string node;
  std::string source = "none";  // agent, check, none
  std::string agent_error;      // why the agent did not answer, when it did not
  SlurmDecision decision;
  std::optional<PartitionLoad> suppressed;
  std::string error;  // could not evaluate or act
  bool drain_recommended = false;
  bool dry_run = false;
  int exit_code = 0;
};

std::string NodeNameForSlurm(const SlurmHealthcheckOptions& options) {
  if (options.node) return *options.node;
  if (const char* env = std::getenv("SLURMD_NODENAME"); env && *env) return env;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  std::string name = host;
  return name.substr(0, name.find('.'));  // Slurm node names are short host names by default
}

// A passive `check` in this process, bounded by [slurm] check_timeout_seconds.
Expected<HealthView> RunFallbackCheck(const SlurmHealthcheckOptions& options, const Config& config,
                                      bool& must_exit_immediately) {
  CheckOptions check = options.check;
  check.mode = "check";
  check.output.reset();
  check.textfile_dir.reset();
  check.timeout_seconds = config.slurm.check_timeout_seconds;
  check.timeout_given = true;
  Expected<CheckRun> run = RunCheckOnce(check);
  if (!run) return MakeError("check could not evaluate: " + run.error().message);
  must_exit_immediately = run->must_exit_immediately;
  const HealthView view = HealthViewFromReport(run->report, HealthView::Source::kCheck);
  HealthView one_run = OneRunView(view, config.drain);
  if (config.drain.xid_windows.empty()) return one_run;
  // The agent counts [drain.xid.<number>] windows over its XID history; without it, this boot's
  // kernel log is the history. Unreadable: the check's gpu_xid probe already says so (a
  // probe_error, which does not drain on one run), so the view stays as it is.
  const platform::RootedFileSystem fs(options.check.sysroot);
  Expected<std::vector<agent::XidEventRecord>> xids =
      agent::ReadKernelXidEvents(fs, /*boot_id=*/"", platform::Deadline::In(kXidReadTimeout));
  if (!xids) return one_run;
  return WithXidWindowReasons(std::move(one_run),
                              agent::XidWindowReasons(config.drain, *xids, UnixNow()));
}

// "gpu_health (probe_timeout: ...), ..." for the probes of `view` that could not decide.
std::string UndecidedProbes(const HealthView& view) {
  std::string text;
  for (const auto& [name, outcome] : view.probes) {
    if (outcome.verdict != "error") continue;
    if (!text.empty()) text += ", ";
    text += name;
    if (!outcome.findings.empty()) text += " (" + outcome.findings.front().code + ")";
  }
  return text;
}

std::string OutcomeJson(const Outcome& o) {
  nlohmann::json j;
  j["schema"] = kOutcomeSchema;
  j["node"] = o.node;
  const auto now = std::chrono::system_clock::now();
  j["at"] = FormatRfc3339(now);
  j["at_unix_seconds"] = std::chrono::duration<double>(now.time_since_epoch()).count();
  j["source"] = o.source;
  j["agent_error"] = o.agent_error;
  j["drain_recommended"] = o.drain_recommended;
  j["action"] = ToString(o.decision.kind);
  j["reason"] = o.decision.reason;
  j["why"] = o.decision.why;
  j["dry_run"] = o.dry_run;
  j["error"] = o.error;
  j["exit_code"] = o.exit_code;
  if (o.suppressed) {
    j["suppressed"] = {{"partition", o.suppressed->partition},
                       {"nodes", o.suppressed->nodes},
                       {"drained_by_nodehealth", o.suppressed->drained_by_nodehealth},
                       {"limit", o.suppressed->limit}};
  } else {
    j["suppressed"] = nullptr;
  }
  return j.dump(2) + "\n";
}

std::string Summary(const Outcome& o) {
  std::string line = "nodehealth slurm-healthcheck: node " + o.node + ": ";
  if (!o.error.empty()) return line + "could not evaluate: " + o.error;
  line += std::string(ToString(o.decision.kind)) + " (" + o.decision.why + ")";
  line += "; verdict from " + o.source;
  if (!o.agent_error.empty()) line += " (" + o.agent_error + ")";
  if (o.dry_run) line += "; dry run";
  return line;
}

int IdleCheck(const Scontrol& scontrol, const std::string& node, std::ostream& out) {
  Expected<SlurmNode> state = scontrol.ShowNode(node);
  if (!state) {
    out << "nodehealth slurm-healthcheck --idle-check: " << state.error().message << "\n";
    return 2;
  }
  // IDLE (drained or not) has no job; a completing job still holds the GPUs.
  const bool idle = state->state.base == "IDLE" && !state->state.Has("COMPLETING") &&
                    !state->state.Has("POWERING_UP") && !state->state.Has("POWERED_DOWN");
  out << "nodehealth slurm-healthcheck --idle-check: node " << node << " is "
      << (idle ? "idle" : "busy") << " (" << state->state.text << ")\n";
  return idle ? 0 : 1;
}

// Decides and acts; fills `o` (exit_code included).
void Evaluate(const SlurmHealthcheckOptions& options, const Config& config,
              const std::string& state_dir, const Scontrol& scontrol, Outcome& o,
              bool& must_exit_immediately) {
  // The agent's verdict only through its status file, which only root can write (agent_verdict.h);
  // the identity it must name is this node's, or the recorded node's under --sysroot.
  const platform::RootedFileSystem fs(options.check.sysroot);
  Expected<HealthView> view =
      ReadAgentVerdict(state_dir, AgentIdentity{NodeName(fs), BootId(fs)}, UnixNow());
  if (view) {
    o.source = "agent";
  } else {
    o.agent_error = view.error().message;
    if (config.slurm.fallback == "none") {
      o.error = o.agent_error + "; [slurm] fallback = \"none\": no action";
      o.exit_code = 2;
      return;
    }
    o.source = "check";
    view = RunFallbackCheck(options, config, must_exit_immediately);
    if (!view) {
      o.error = o.agent_error + "; fallback check: " + view.error().message;
      o.exit_code = 2;
      return;
    }
    // A probe that could not decide (NVML hanging on every call, an unreadable kernel log) is no
    // "fit": without the agent's repeated runs, the check cannot hold it until it counts, so it
    // says it cannot tell (exit 2) instead of passing. A hard fault seen beside it still drains.
    if (const std::string undecided = UndecidedProbes(*view);
        !view->drain_recommended && !undecided.empty()) {
      o.error =
          o.agent_error + "; the fallback check cannot tell whether the node is fit: " + undecided;
      o.exit_code = 2;
      return;
    }
  }
  o.drain_recommended = view->drain_recommended;

  Expected<SlurmNode> node = scontrol.ShowNode(o.node);
  if (!node) {
    o.error = node.error().message;
    o.exit_code = 2;
    return;
  }
  o.decision = DecideSlurmAction(*node, *view);

  if (o.decision.kind == SlurmActionKind::kDrain) {
    Expected<std::vector<SlurmNode>> all = scontrol.ShowNodes();
    if (!all) {
      // Without the partition's state the limit cannot be checked: do not drain blind.
      o.error = "cannot check the blast-radius limit: " + all.error().message;
      o.exit_code = 2;
      return;
    }
    const BlastRadiusLimits limits{config.slurm.max_drained_fraction,
                                   config.slurm.max_drained_nodes};
    if ((o.suppressed = BlastRadius(*all, *node, limits))) {
      o.decision.kind = SlurmActionKind::kSuppressed;
      o.decision.why = "drain suppressed: partition " + o.suppressed->partition + " already has " +
                       std::to_string(o.suppressed->drained_by_nodehealth) + " of " +
                       std::to_string(o.suppressed->nodes) +
                       " nodes drained by nodehealth (limit " +
                       std::to_string(o.suppressed->limit) +
                       "); likely the fabric or a rollout, not this node: " + o.decision.reason;
    }
  }

  Expected<bool> acted = true;
  if (!options.dry_run) {
    switch (o.decision.kind) {
      case SlurmActionKind::kDrain:
      case SlurmActionKind::kUpdateReason:
        acted = scontrol.Drain(o.node, o.decision.reason);
        break;
      case SlurmActionKind::kResume:
        acted = scontrol.Resume(o.node);
        break;
      case SlurmActionKind::kNone:
      case SlurmActionKind::kSuppressed:
        break;
    }
  }
  if (!acted) {
    o.error = acted.error().message;
    o.exit_code = 2;
    return;
  }
  o.exit_code = o.drain_recommended ? 1 : 0;
}

}  // namespace

Expected<SlurmOutcomeSummary> ReadSlurmOutcome(const std::string& path) {
  Expected<std::string> text = ReadSmallFile(path, "slurm-healthcheck status");
  if (!text) return text.error();
  // The agent reads this every round: a file nested deep enough to overflow value()'s copy, or a
  // "schema" that value(key, "") cannot convert (it throws), must be an error, not a crash.
  const Error malformed = MakeError(path + ": not a " + std::string(kOutcomeSchema) + " file");
  if (CheckJsonDepth(*text)) return malformed;
  try {
    const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("schema", "") != kOutcomeSchema ||
        !j.value("at_unix_seconds", nlohmann::json()).is_number() ||
        !j.value("action", nlohmann::json()).is_string() ||
        !j.value("exit_code", nlohmann::json()).is_number_integer()) {
      return malformed;
    }
    SlurmOutcomeSummary summary;
    summary.at_unix_seconds = j["at_unix_seconds"].get<double>();
    summary.action = j["action"].get<std::string>();
    summary.suppressed = summary.action == "suppressed";
    summary.evaluated = j["exit_code"].get<int>() != 2;
    return summary;
  } catch (const nlohmann::json::exception&) {
    return malformed;
  }
}

SlurmHealthcheckResult RunSlurmHealthcheck(const SlurmHealthcheckOptions& options,
                                           std::ostream& out) {
  SlurmHealthcheckResult result;
  const std::string config_path = options.check.config.value_or(std::string(kDefaultConfigPath));
  Expected<Config> config = LoadConfig(config_path, !options.check.config.has_value());
  if (!config) {
    spdlog::error("slurm-healthcheck: invalid config: {}", config.error().message);
    out << "nodehealth slurm-healthcheck: invalid config: " << config.error().message << "\n";
    result.exit_code = 2;
    return result;
  }
  Outcome o;
  o.node = NodeNameForSlurm(options);
  o.dry_run = options.dry_run;
  const std::optional<std::string> program =
      config->slurm.scontrol ? config->slurm.scontrol : FindScontrol();
  if (!program || ::access(program->c_str(), X_OK) != 0) {
    o.error = "no scontrol (" +
              config->slurm.scontrol.value_or(
                  "none of /usr/bin, /usr/local/bin, "
                  "/opt/slurm/bin has one") +
              "): set [slurm] scontrol";
    o.exit_code = 2;
  }
  const Scontrol scontrol(program.value_or(""), config->slurm.slurm_conf.value_or(""),
                          kScontrolTimeout);
  if (o.error.empty() && o.node.empty()) {
    o.error = "no node name (SLURMD_NODENAME, --node or the host name)";
    o.exit_code = 2;
  }
  if (options.idle_check) {
    // Only answers; the status file is the health check's, which this run is not.
    if (!o.error.empty()) {
      out << "nodehealth slurm-healthcheck --idle-check: " << o.error << "\n";
      result.exit_code = 2;
      return result;
    }
    result.exit_code = IdleCheck(scontrol, o.node, out);
    return result;
  }
  Expected<std::string> state_dir =
      agent::ResolveStateDir(options.state_dir, *config, options.check.sysroot);
  if (!state_dir) {
    out << "nodehealth slurm-healthcheck: " << state_dir.error().message << "\n";
    spdlog::error("slurm-healthcheck: {}", state_dir.error().message);
    result.exit_code = 2;
    return result;
  }
  if (config->slurm.agent_url) {
    spdlog::warn("slurm-healthcheck: [slurm] agent_url is ignored: the verdict is read from {}/{}",
                 *state_dir, agent::kStatusFileName);
  }
  if (o.error.empty()) {
    Evaluate(options, *config, *state_dir, scontrol, o, result.must_exit_immediately);
  }

  const std::string summary = Summary(o);
  out << summary << "\n";
  if (!o.error.empty()) {
    spdlog::error("{}", summary);
  } else if (o.decision.kind == SlurmActionKind::kNone) {
    spdlog::info("{}", summary);
  } else {
    spdlog::warn("{}", summary);
  }
  const std::string state_file = *state_dir + "/" + kSlurmOutcomeFile;
  std::error_code ec;  // a node where the agent never ran has no state directory yet
  std::filesystem::create_directories(*state_dir, ec);
  RemoveStaleTemporaries(state_file, std::chrono::seconds(120));  // runs killed by Slurm at 60 s
  if (Expected<bool> written = WriteFileAtomically(state_file, OutcomeJson(o)); !written) {
    spdlog::warn("slurm-healthcheck: cannot write {}: {}", state_file, written.error().message);
  }
  result.exit_code = o.exit_code;
  return result;
}

}  // namespace nodehealth::slurm
