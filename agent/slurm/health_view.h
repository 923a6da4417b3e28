// The health verdict the Slurm health check acts on, read from the JSON report (CONTRACT.md):
// the agent's status file, or the Report of a bounded `check` run when there is no valid one.
//
// Thread safety: pure functions over values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "exporters/report.h"
#include "probes/action.h"
#include "probes/util/expected.h"

namespace nodehealth::slurm {

struct HealthReason {
  std::string code;
  std::string entity;
  Action action = Action::kNone;
};

struct ProbeOutcome {
  std::string verdict;  // pass, warn, fail, skip, error
  std::vector<HealthReason> findings;
};

struct HealthView {
  enum class Source { kAgent, kCheck };
  Source source = Source::kAgent;
  bool drain_recommended = false;
  std::vector<HealthReason> reasons;  // the report's drain.reasons, in its order
  std::map<std::string, ProbeOutcome> probes;
};

// A report with schema_version 1 whose drain and probes have the contract's types; anything else
// is an Error saying what is wrong (a truncated body, another service on the port, ...).
Expected<HealthView> ParseHealthReport(std::string_view json, HealthView::Source source);

// The "drain" and "probes" members of a report or of the agent's status file (which share their
// shape): drain.recommended, drain.reasons[] {code, entity, action}, probes[] {name, verdict,
// findings[] {code, entity, action}}.
Expected<HealthView> HealthViewFromJson(const nlohmann::json& document, HealthView::Source source);

// The same view of a Report value (the fallback check runs in this process: nothing to parse).
HealthView HealthViewFromReport(const Report& report, HealthView::Source source);

}  // namespace nodehealth::slurm
