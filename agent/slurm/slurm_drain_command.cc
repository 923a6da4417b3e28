#include "agent/slurm/slurm_drain_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ostream>
#include <utility>

#include "agent/config/config.h"
#include "agent/slurm/scontrol.h"
#include "agent/slurm/slurm_decision.h"
#include "agent/slurm/slurm_node.h"
#include "probes/finding_catalog.h"

namespace nodehealth::slurm {
namespace {

constexpr std::chrono::milliseconds kScontrolTimeout{4000};  // per call, as slurm-healthcheck
constexpr std::string_view kCommand = "nodehealth slurm-drain";

// One argument, one node: a Slurm host list ("n[1-4]", "n1,n2") would make `scontrol update`
// drain nodes that were never evaluated.
bool IsOneNodeName(std::string_view name) {
  if (name.empty() || name.front() == '-') return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == ',' || c == '[' || c == ']' || c == '=' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r';
  });
}

// The nodes in the order given, each once.
std::vector<std::string> Unique(const std::vector<std::string>& nodes) {
  std::vector<std::string> unique;
  for (const std::string& node : nodes) {
    if (std::find(unique.begin(), unique.end(), node) == unique.end()) unique.push_back(node);
  }
  return unique;
}

// `all` as it will be once the drains of this run happen: for --dry-run, where none happened.
void ApplyDryRunDrains(std::vector<SlurmNode>& all,
                       const std::vector<std::pair<std::string, std::string>>& drained) {
  for (SlurmNode& node : all) {
    for (const auto& done : drained) {
      if (node.name != done.first) continue;
      if (!IsDrained(node.state)) node.state = ParseNodeState(node.state.text + "+DRAIN");
      node.reason = done.second;
    }
  }
}

struct NodeOutcome {
  SlurmDecision decision;
  std::string error;
  bool drained_for_reason = false;  // drained (or, dry, would be) by nodehealth for this reason
};

std::string Line(const std::string& node, const NodeOutcome& o, bool dry_run) {
  std::string line = std::string(kCommand) + ": node " + node + ": ";
  if (!o.error.empty()) {
    line += "could not act: " + o.error;
  } else {
    line += std::string(ToString(o.decision.kind)) + " (" + o.decision.why + ")";
  }
  if (dry_run) line += "; dry run";
  return line;
}

}  // namespace

int RunSlurmDrain(const SlurmDrainOptions& options, std::ostream& out, std::ostream& err) {
  const auto usage_error = [&](const std::string& message) {
    err << kCommand << ": " << message << "\n";
    spdlog::error("{}: {}", kCommand, message);
    return 2;
  };
  if (!FindCatalogEntry(options.code)) {
    return usage_error("unknown finding code '" + options.code +
                       "' (nodehealth probes --format json lists the codes)");
  }
  if (options.nodes.empty()) return usage_error("no node given");
  for (const std::string& node : options.nodes) {
    if (!IsOneNodeName(node)) {
      return usage_error("'" + node +
                         "' is not one node name (one node per argument; host lists are not "
                         "expanded)");
    }
  }
  const std::string config_path = options.config.value_or(std::string(kDefaultConfigPath));
  Expected<Config> config = LoadConfig(config_path, !options.config.has_value());
  if (!config) return usage_error("invalid config: " + config.error().message);
  const std::optional<std::string> program =
      config->slurm.scontrol ? config->slurm.scontrol : FindScontrol();
  if (!program || ::access(program->c_str(), X_OK) != 0) {
    return usage_error("no scontrol (" +
                       config->slurm.scontrol.value_or(
                           "none of /usr/bin, /usr/local/bin, /opt/slurm/bin has one") +
                       "): set [slurm] scontrol");
  }
  const Scontrol scontrol(*program, config->slurm.slurm_conf.value_or(""), kScontrolTimeout);
  const BlastRadiusLimits limits{config->slurm.max_drained_fraction,
                                 config->slurm.max_drained_nodes};
  const std::string reason = FleetReasonText(options.code);

  bool all_drained = true;
  bool any_error = false;
  std::vector<std::pair<std::string, std::string>> dry_drains;  // (node, reason) not done: dry run
  for (const std::string& name : Unique(options.nodes)) {
    NodeOutcome o;
    Expected<SlurmNode> node = scontrol.ShowNode(name);
    if (!node) {
      o.error = node.error().message;
    } else {
      o.decision = DecideFleetDrain(*node, reason);
      o.drained_for_reason = IsDrainedFor(*node, reason);
    }
    if (o.error.empty() && o.decision.kind == SlurmActionKind::kDrain) {
      // Read now, not once for all: the drains just done for the nodes before count.
      Expected<std::vector<SlurmNode>> all = scontrol.ShowNodes();
      if (!all) {
        o.error = "cannot check the blast-radius limit: " + all.error().message;
      } else {
        if (options.dry_run) ApplyDryRunDrains(*all, dry_drains);
        if (const std::optional<PartitionLoad> load = BlastRadius(*all, *node, limits)) {
          o.decision.kind = SlurmActionKind::kSuppressed;
          o.decision.why =
              "drain suppressed: partition " + load->partition + " already has " +
              std::to_string(load->drained_by_nodehealth) + " of " + std::to_string(load->nodes) +
              " nodes drained by nodehealth (limit " + std::to_string(load->limit) +
              "); likely the fabric or a rollout, not these nodes: " + o.decision.reason;
        } else if (options.dry_run) {
          dry_drains.emplace_back(name, reason);
          o.drained_for_reason = true;
        } else if (Expected<bool> drained = scontrol.Drain(name, reason); !drained) {
          o.error = drained.error().message;
        } else {
          o.drained_for_reason = true;
        }
      }
    }
    const std::string line = Line(name, o, options.dry_run);
    out << line << "\n";
    if (!o.error.empty()) {
      spdlog::error("{}", line);
      any_error = true;
    } else if (o.decision.kind == SlurmActionKind::kNone) {
      spdlog::info("{}", line);
    } else {
      spdlog::warn("{}", line);
    }
    if (!o.drained_for_reason) all_drained = false;
  }
  if (any_error) return 2;
  return all_drained ? 0 : 1;
}

}  // namespace nodehealth::slurm
