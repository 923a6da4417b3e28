#include "agent/slurm/slurm_node.h"

#include <array>
#include <utility>

namespace nodehealth::slurm {
namespace {

// The suffixes Slurm appends to a state name (slurm/src/common/slurm_protocol_defs.c,
// node_state_string()), as the flag each stands for.
constexpr std::array<std::pair<char, std::string_view>, 9> kSuffixFlags = {{
    {'*', "NOT_RESPONDING"},
    {'~', "POWERED_DOWN"},
    {'#', "POWERING_UP"},
    {'%', "POWERING_DOWN"},
    {'!', "POWER_DOWN"},
    {'@', "REBOOT_REQUESTED"},
    {'^', "REBOOT_ISSUED"},
    {'$', "MAINTENANCE"},
    {'-', "PLANNED"},
}};

// Flags during which the node is between states: acting now would race Slurm's own transition.
constexpr std::array<std::string_view, 10> kTransitionalFlags = {
    "COMPLETING",    "POWERING_UP",      "POWERING_DOWN",  "POWERED_DOWN", "POWER_DOWN",
    "REBOOT_ISSUED", "REBOOT_REQUESTED", "NOT_RESPONDING", "FAIL",         "RESUME"};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The value of " KEY=" up to the next space, or nullopt-like empty + false.
bool FieldValue(std::string_view line, std::string_view key, std::string& value) {
  std::size_t at = 0;
  while (true) {
    at = line.find(key, at);
    if (at == std::string_view::npos) return false;
    if (at == 0 || line[at - 1] == ' ') break;
    at += key.size();
  }
  const std::size_t begin = at + key.size();
  const std::size_t end = line.find(' ', begin);
  value = std::string(line.substr(begin, end == std::string_view::npos ? end : end - begin));
  return true;
}

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

NodeState ParseNodeState(std::string_view text) {
  NodeState state;
  state.text = std::string(text);
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty()) {
    const std::size_t plus = rest.find('+');
    std::string_view part = rest.substr(0, plus);
    // Suffix characters follow the base state ("IDLE*") or a flag ("IDLE+DRAIN~").
    while (!part.empty()) {
      bool stripped = false;
      for (const auto& [suffix, flag] : kSuffixFlags) {
        // A part made of suffixes only ("~") is empty once stripped: back() would be undefined.
        if (!part.empty() && part.back() == suffix) {
          state.flags.emplace(flag);
          part.remove_suffix(1);
          stripped = true;
        }
      }
      if (!stripped) break;
    }
    if (!part.empty()) {
      if (first) {
        state.base = Upper(part);
      } else {
        state.flags.insert(Upper(part));
      }
    }
    first = false;
    if (plus == std::string_view::npos) break;
    rest.remove_prefix(plus + 1);
  }
  return state;
}

Expected<SlurmNode> ParseSlurmNodeLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  SlurmNode node;
  std::string state;
  if (!FieldValue(line, "NodeName=", node.name) || node.name.empty()) {
    return MakeError("no NodeName= in scontrol line: " + std::string(line.substr(0, 120)));
  }
  if (!FieldValue(line, "State=", state) || state.empty()) {
    return MakeError("no State= for node " + node.name);
  }
  node.state = ParseNodeState(state);
  std::string partitions;
  if (FieldValue(line, "Partitions=", partitions)) node.partitions = SplitCommas(partitions);

  // Reason= runs to the end of the line (it may contain spaces and '='), so take the last one.
  const std::size_t reason_at = line.rfind(" Reason=");
  if (reason_at != std::string_view::npos) {
    std::string_view reason = line.substr(reason_at + 8);
    // "... [root@2026-11-24T02:45:52]": who set it and when.
    const std::size_t open = reason.rfind(" [");
    if (open != std::string_view::npos && reason.back() == ']') {
      const std::string_view stamp = reason.substr(open + 2, reason.size() - open - 3);
      const std::size_t at = stamp.find('@');
      if (at != std::string_view::npos) {
        node.reason_user = std::string(stamp.substr(0, at));
        node.reason_time = std::string(stamp.substr(at + 1));
        reason = reason.substr(0, open);
      }
    }
    if (reason != "(null)") node.reason = std::string(reason);
  }
  return node;
}

Expected<std::vector<SlurmNode>> ParseSlurmNodes(std::string_view text) {
  std::vector<SlurmNode> nodes;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      Expected<SlurmNode> node = ParseSlurmNodeLine(line);
      if (!node) return node.error();
      nodes.push_back(std::move(*node));
    }
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return nodes;
}

bool IsNodehealthReason(std::string_view reason) { return reason.starts_with("nodehealth:"); }

bool IsDrained(const NodeState& state) {
  return state.Has("DRAIN") || state.base == "DRAINED" || state.base == "DRAINING";
}

std::string WhyNotActionable(const NodeState& state) {
  if (state.base != "IDLE" && state.base != "MIXED" && state.base != "ALLOCATED" &&
      state.base != "DRAINED" && state.base != "DRAINING") {
    return "node state " + state.text + " (only IDLE, MIXED or ALLOCATED nodes are acted on)";
  }
  for (const std::string_view flag : kTransitionalFlags) {
    if (state.Has(flag)) return "node state " + state.text + " (" + std::string(flag) + ")";
  }
  return "";
}

}  // namespace nodehealth::slurm
