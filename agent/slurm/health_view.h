// The health verdict the Slurm health check acts on: the agent's status file, or the Report of a
// bounded `check` run when there is no valid one. Its shape and its reader are the report's
// (exporters/report_verdict.h); this adds where it came from.
//
// Thread safety: pure functions over values.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "exporters/report.h"
#include "exporters/report_verdict.h"
#include "probes/util/expected.h"

namespace nodehealth::slurm {

using HealthReason = VerdictReason;
using ProbeOutcome = ProbeVerdictView;

struct HealthView : ReportVerdict {
  enum class Source { kAgent, kCheck };
  Source source = Source::kAgent;
};

// ParseReportVerdict, from `source`.
Expected<HealthView> ParseHealthReport(std::string_view json, HealthView::Source source);

// ReadReportVerdict of a report or of the agent's status file, from `source`.
Expected<HealthView> HealthViewFromJson(const nlohmann::json& document, HealthView::Source source);

// VerdictOf a Report value (the fallback check runs in this process: nothing to parse).
HealthView HealthViewFromReport(const Report& report, HealthView::Source source);

}  // namespace nodehealth::slurm
