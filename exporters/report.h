// Report: one run of nodehealth (check, burnin, or the agent's latest snapshot) as the JSON report
// of docs/contract.md describes it, with its extensions ("profile_selection", per-probe
// "skip_reason" and "notes"; docs/report-schema.json). Built by the runner; written by json_report
// / table_report.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "probes/action.h"
#include "probes/probe_result.h"

namespace nodehealth {

struct DrainReason {
  std::string code;
  std::string entity;
  std::string message;
  Action action = Action::kNone;
};

struct DrainDecision {
  bool recommended = false;
  Action action = Action::kNone;
  std::vector<DrainReason> reasons;  // findings that drain, highest action first
};

enum class RunVerdict { kPass, kWarn, kFail };
std::string_view ToString(RunVerdict verdict);

struct Report {
  static constexpr int kSchemaVersion = 1;
  std::string node;
  std::string mode;                    // "check" | "burnin" | "agent"
  std::optional<std::string> profile;  // name; nullopt in observe-only mode
  std::string profile_requested;       // "auto", a name or a path
  std::string profile_reason;          // how it was chosen
  std::chrono::system_clock::time_point started_at;
  double duration_seconds = 0;
  RunVerdict verdict = RunVerdict::kPass;
  DrainDecision drain;
  std::vector<ProbeResult> probes;
  std::string version;  // nodehealth version
  std::string summary;  // one sentence for people, e.g. "No NVIDIA GPU found on this node"
};

// The drain decision and verdict from probe results (docs/contract.md: the node's action is the
// highest of its findings; drain, reset_gpu, reboot and replace mean "drain"). Verdict: fail when
// draining, warn when any finding or undecided probe remains, pass otherwise.
void Decide(Report& report);

}  // namespace nodehealth
