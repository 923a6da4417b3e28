// The part of a JSON report (docs/contract.md) that decides a node's fate, and its one reader:
//   drain.recommended, drain.reasons[] {code, entity, action},
//   probes[] {name, verdict, findings[] {code, entity, action}}.
// json_report.cc writes it in every report; the agent's status file (agent/policy/status_file.h)
// writes the same members; `slurm-healthcheck` reads either through ReadReportVerdict, and a
// Report value in the same process through VerdictOf. The tests hold writer and reader together
// (a rendered report reads back as VerdictOf gives it).
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

namespace nodehealth {

struct VerdictReason {
  std::string code;
  std::string entity;
  Action action = Action::kNone;
  bool operator==(const VerdictReason&) const = default;
};

struct ProbeVerdictView {
  std::string verdict;  // pass, warn, fail, skip, error
  std::vector<VerdictReason> findings;
  bool operator==(const ProbeVerdictView&) const = default;
};

struct ReportVerdict {
  bool drain_recommended = false;
  std::vector<VerdictReason> reasons;  // the report's drain.reasons, in its order
  std::map<std::string, ProbeVerdictView> probes;
  bool operator==(const ReportVerdict&) const = default;
};

// A report's text: schema_version 1, nested no deeper than reports nest, "drain" and "probes"
// with the contract's types. Anything else is an Error saying what is wrong (a truncated body,
// another program's JSON, ...).
Expected<ReportVerdict> ParseReportVerdict(std::string_view json);

// The "drain" and "probes" members of a parsed report or status file.
Expected<ReportVerdict> ReadReportVerdict(const nlohmann::json& document);

// The same view of a Report value.
ReportVerdict VerdictOf(const Report& report);

}  // namespace nodehealth
