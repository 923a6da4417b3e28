// What `scontrol show node -o` says about a node, parsed: its name, state, partitions and the
// reason an administrator (or nodehealth) gave for draining it. Pure functions on text.
//
// The one-line format (Slurm 20.11 .. 24.x) is space-separated KEY=VALUE fields in which some
// values contain spaces (OS=Linux 6.1.0 ...); Reason= comes last and runs to the end of the line,
// ending with " [user@time]". Only NodeName, State, Partitions and Reason are read.
//
// Thread safety: pure functions over values.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::slurm {

// "IDLE+DRAIN" -> base "IDLE", flags {"DRAIN"}. The one-character suffixes sinfo and older
// scontrol versions append ("IDLE*", "IDLE~", ...) become flags too: * NOT_RESPONDING,
// ~ POWERED_DOWN, # POWERING_UP, % POWERING_DOWN, ! POWER_DOWN, @ REBOOT_REQUESTED,
// ^ REBOOT_ISSUED, $ MAINTENANCE, - PLANNED.
struct NodeState {
  std::string text;  // as Slurm wrote it
  std::string base;  // upper case: IDLE, MIXED, ALLOCATED, DOWN, FUTURE, UNKNOWN, ...
  std::set<std::string> flags;
  bool Has(std::string_view flag) const { return flags.contains(std::string(flag)); }
};

NodeState ParseNodeState(std::string_view text);

struct SlurmNode {
  std::string name;
  NodeState state;
  std::vector<std::string> partitions;
  std::string reason;       // without the " [user@time]" suffix; empty when none
  std::string reason_user;  // "root" in "[root@2026-11-24T02:45:52]"
  std::string reason_time;  // "2026-11-24T02:45:52" (slurmctld's local time)
};

// One line of `scontrol show node -o`; an Error when NodeName= or State= is missing.
Expected<SlurmNode> ParseSlurmNodeLine(std::string_view line);

// Every node line of `scontrol show node -o`; blank lines are skipped, any other line that does
// not parse is an Error naming it.
Expected<std::vector<SlurmNode>> ParseSlurmNodes(std::string_view text);

// Whether nodehealth drained the node: its reason starts with "nodehealth:".
bool IsNodehealthReason(std::string_view reason);

// The DRAIN flag: draining (jobs still running) or drained.
bool IsDrained(const NodeState& state);

// States in which nodehealth acts: IDLE, MIXED or ALLOCATED, without a flag saying the node is
// on its way somewhere (completing, powering up or down, rebooting, not responding) or was failed
// by an administrator. Empty when it may act, else why not.
std::string WhyNotActionable(const NodeState& state);

}  // namespace nodehealth::slurm
