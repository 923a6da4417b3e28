#include "agent/slurm/slurm_decision.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "probes/all_probes.h"
#include "probes/finding_catalog.h"

namespace nodehealth::slurm {
namespace {

constexpr std::string_view kPrefix = "nodehealth: ";

// Probes whose names are reported by `code`; every probe of the report for the codes any probe
// may raise (probe_timeout, probe_error) or a code no probe declares.
std::set<std::string> OwningProbes(const HealthView& view, std::string_view code) {
  std::set<std::string> owners;
  if (code != codes::kProbeTimeout && code != codes::kProbeError) {
    for (const auto& probe : AllProbes()) {
      const auto& declared = probe->info().codes;
      if (std::find(declared.begin(), declared.end(), code) != declared.end()) {
        owners.emplace(probe->info().name);
      }
    }
  }
  if (owners.empty()) {
    for (const auto& [name, outcome] : view.probes) owners.insert(name);
  }
  return owners;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Adds `reason`, or raises the action of the reason already listed for its (code, entity).
void MergeReason(const HealthReason& reason, std::vector<HealthReason>& reasons) {
  const auto same = std::find_if(reasons.begin(), reasons.end(), [&](const HealthReason& r) {
    return r.code == reason.code && r.entity == reason.entity;
  });
  if (same == reasons.end()) {
    reasons.push_back(reason);
  } else {
    same->action = std::max(same->action, reason.action);
  }
}

// Most severe first, keeping the report's order among equals, as the report orders them.
void OrderBySeverity(HealthView& view) {
  std::stable_sort(
      view.reasons.begin(), view.reasons.end(),
      [](const HealthReason& a, const HealthReason& b) { return a.action > b.action; });
  view.drain_recommended = !view.reasons.empty();
}

}  // namespace

std::string_view ToString(SlurmActionKind kind) {
  switch (kind) {
    case SlurmActionKind::kNone:
      return "none";
    case SlurmActionKind::kDrain:
      return "drain";
    case SlurmActionKind::kUpdateReason:
      return "update_reason";
    case SlurmActionKind::kResume:
      return "resume";
    case SlurmActionKind::kSuppressed:
      return "suppressed";
  }
  return "none";
}

std::string DrainReasonText(const HealthView& view) {
  if (view.reasons.empty()) return "";
  // max_element keeps the first of equals: the report's order among reasons of one action.
  const auto top = std::max_element(
      view.reasons.begin(), view.reasons.end(),
      [](const HealthReason& a, const HealthReason& b) { return a.action < b.action; });
  std::string text = std::string(kPrefix) + top->code + " " + top->entity;
  if (view.reasons.size() > 1) text += " (+" + std::to_string(view.reasons.size() - 1) + " more)";
  return text;
}

std::string FleetReasonText(std::string_view code) {
  return std::string(kPrefix) + std::string(code) + " " + std::string(kFleetEntity);
}

std::optional<NodehealthReason> ParseNodehealthReason(std::string_view reason) {
  if (!reason.starts_with(kPrefix)) return std::nullopt;
  reason.remove_prefix(kPrefix.size());
  const std::size_t space = reason.find(' ');
  NodehealthReason parsed;
  parsed.code = std::string(reason.substr(0, space));
  if (space != std::string_view::npos) {
    const std::string_view rest = reason.substr(space + 1);
    parsed.entity = std::string(rest.substr(0, rest.find(' ')));
  }
  if (parsed.code.empty()) return std::nullopt;
  return parsed;
}

bool FailedProbePassesAgain(const HealthView& view, const NodehealthReason& failed,
                            std::string& why) {
  for (const auto& [name, outcome] : view.probes) {
    for (const HealthReason& finding : outcome.findings) {
      if (finding.code == failed.code && finding.entity == failed.entity) {
        why = name + " still reports " + failed.code + " " + failed.entity;
        return false;
      }
    }
  }
  std::vector<std::string> passed;
  std::vector<std::string> not_passed;
  std::vector<std::string> absent;
  for (const std::string& owner : OwningProbes(view, failed.code)) {
    const auto it = view.probes.find(owner);
    if (it == view.probes.end()) {
      absent.push_back(owner);
    } else if (it->second.verdict == "pass" || it->second.verdict == "warn") {
      passed.push_back(owner);
    } else if (it->second.verdict != "skip") {
      not_passed.push_back(owner + " (" + it->second.verdict + ")");
    }
  }
  if (!not_passed.empty()) {
    why = "waiting for " + Join(not_passed) + " to pass again";
    return false;
  }
  if (passed.empty()) {
    why = "no run of " + Join(absent.empty() ? std::vector<std::string>{"its probe"} : absent) +
          " has passed yet";
    return false;
  }
  why = Join(passed) + " passed again";
  return true;
}

HealthView OneRunView(const HealthView& view, const agent::DrainPolicyConfig& policy) {
  // The action the agent's policy drains `finding` with on its first failing run; nullopt when
  // it would not drain on one run.
  const auto first_run_action = [&](const HealthReason& finding) -> std::optional<Action> {
    const agent::Treatment t = agent::TreatFinding(policy, finding.code, finding.action);
    if (!ImpliesDrain(t.action) || t.rounds > 1) return std::nullopt;
    return t.action;
  };
  HealthView out = view;
  out.reasons.clear();
  for (const HealthReason& reason : view.reasons) {
    if (const std::optional<Action> action = first_run_action(reason)) {
      MergeReason({reason.code, reason.entity, *action}, out.reasons);
    }
  }
  // Findings the report did not list as reasons (their action does not drain) but that a
  // [drain.codes.<code>] action makes drain, as the agent would.
  for (const auto& [name, outcome] : view.probes) {
    for (const HealthReason& finding : outcome.findings) {
      const auto rule = policy.codes.find(finding.code);
      if (rule == policy.codes.end() || !rule->second.action) continue;
      if (const std::optional<Action> action = first_run_action(finding)) {
        MergeReason({finding.code, finding.entity, *action}, out.reasons);
      }
    }
  }
  OrderBySeverity(out);  // an override may have changed an action
  return out;
}

HealthView WithXidWindowReasons(HealthView view, const std::vector<DrainReason>& window_reasons) {
  for (const DrainReason& added : window_reasons) {
    MergeReason({added.code, added.entity, added.action}, view.reasons);
  }
  OrderBySeverity(view);
  return view;
}

SlurmDecision DecideSlurmAction(const SlurmNode& node, const HealthView& view) {
  SlurmDecision d;
  if (std::string why = WhyNotActionable(node.state); !why.empty()) {
    d.why = why + ": no action";
    return d;
  }
  const bool ours = IsNodehealthReason(node.reason);
  const bool drained = IsDrained(node.state);
  if (!ours && (drained || !node.reason.empty())) {
    d.why = "reason \"" + node.reason + "\" was not set by nodehealth: left as is";
    return d;
  }
  // A fault found across nodes: the node alone can neither confirm it nor see it gone.
  const std::optional<NodehealthReason> held_reason = ParseNodehealthReason(node.reason);
  const bool fleet = drained && held_reason && held_reason->entity == kFleetEntity;
  if (view.drain_recommended) {
    d.reason = DrainReasonText(view);
    if (fleet) {
      d.why = "already drained: " + node.reason;
      return d;
    }
    // Same top reason: leave it, so the reason keeps the time of the drain (only a changed
    // "(+N more)" count would differ).
    const std::optional<NodehealthReason> top = ParseNodehealthReason(d.reason);
    if (drained && held_reason && top && held_reason->code == top->code &&
        held_reason->entity == top->entity) {
      d.why = "already drained: " + node.reason;
    } else if (drained) {
      d.kind = SlurmActionKind::kUpdateReason;
      d.why = "drained by nodehealth for \"" + node.reason + "\"; now " + d.reason;
    } else {
      d.kind = SlurmActionKind::kDrain;
      d.why = "drain recommended: " + d.reason;
    }
    return d;
  }
  if (!drained) {
    d.why = "healthy";
    return d;
  }
  if (fleet) {
    d.why = "drained by nodehealth for a fault found across nodes (\"" + node.reason +
            "\"); resume it by hand after the repair: scontrol update NodeName=" + node.name +
            " State=RESUME";
    return d;
  }
  if (view.source == HealthView::Source::kCheck) {
    d.why = "drained by nodehealth (\"" + node.reason +
            "\"); only the agent can tell that the fault is gone: not resumed";
    return d;
  }
  const std::optional<NodehealthReason> failed = ParseNodehealthReason(node.reason);
  std::string why;
  if (!failed) {
    d.why = "cannot read the code in \"" + node.reason + "\": not resumed";
  } else if (!FailedProbePassesAgain(view, *failed, why)) {
    d.why = "drained by nodehealth (\"" + node.reason + "\"): " + why;
  } else {
    d.kind = SlurmActionKind::kResume;
    d.why = failed->code + " " + failed->entity + " is gone: " + why;
  }
  return d;
}

bool IsDrainedFor(const SlurmNode& node, std::string_view reason) {
  if (!IsDrained(node.state)) return false;
  const std::optional<NodehealthReason> held = ParseNodehealthReason(node.reason);
  const std::optional<NodehealthReason> wanted = ParseNodehealthReason(reason);
  return held && wanted && held->code == wanted->code && held->entity == wanted->entity;
}

SlurmDecision DecideFleetDrain(const SlurmNode& node, std::string_view reason) {
  SlurmDecision d;
  if (std::string why = WhyNotActionable(node.state); !why.empty()) {
    d.why = why + ": no action";
    return d;
  }
  const bool drained = IsDrained(node.state);
  if (!IsNodehealthReason(node.reason) && (drained || !node.reason.empty())) {
    d.why = "reason \"" + node.reason + "\" was not set by nodehealth: left as is";
    return d;
  }
  d.reason = std::string(reason);
  if (IsDrainedFor(node, reason)) {
    d.why = "already drained: " + node.reason;
  } else if (drained) {
    // A local fault the agent found (or another fleet test's): its reason, and the resume that
    // goes with it, stay.
    d.why = "already drained by nodehealth for \"" + node.reason + "\": left as is";
  } else {
    d.kind = SlurmActionKind::kDrain;
    d.why = "drain recommended: " + d.reason;
  }
  return d;
}

std::optional<PartitionLoad> BlastRadius(const std::vector<SlurmNode>& all, const SlurmNode& node,
                                         const BlastRadiusLimits& limits) {
  for (const std::string& partition : node.partitions) {
    PartitionLoad load;
    load.partition = partition;
    for (const SlurmNode& other : all) {
      if (std::find(other.partitions.begin(), other.partitions.end(), partition) ==
          other.partitions.end()) {
        continue;
      }
      ++load.nodes;
      if (other.name != node.name && IsNodehealthReason(other.reason) &&
          (IsDrained(other.state) || other.state.base == "DOWN")) {
        ++load.drained_by_nodehealth;
      }
    }
    // At least one node: a small partition must still be able to drain its one bad node.
    load.limit =
        std::max(1, static_cast<int>(std::floor(limits.max_drained_fraction * load.nodes + 1e-9)));
    if (limits.max_drained_nodes > 0) load.limit = std::min(load.limit, limits.max_drained_nodes);
    if (load.drained_by_nodehealth >= load.limit) return load;
  }
  return std::nullopt;
}

}  // namespace nodehealth::slurm
