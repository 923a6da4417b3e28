#include "agent/slurm/health_view.h"

namespace nodehealth::slurm {
namespace {

HealthView WithSource(ReportVerdict verdict, HealthView::Source source) {
  HealthView view;
  static_cast<ReportVerdict&>(view) = std::move(verdict);
  view.source = source;
  return view;
}

}  // namespace

Expected<HealthView> ParseHealthReport(std::string_view json, HealthView::Source source) {
  Expected<ReportVerdict> verdict = ParseReportVerdict(json);
  if (!verdict) return verdict.error();
  return WithSource(std::move(*verdict), source);
}

Expected<HealthView> HealthViewFromJson(const nlohmann::json& document, HealthView::Source source) {
  Expected<ReportVerdict> verdict = ReadReportVerdict(document);
  if (!verdict) return verdict.error();
  return WithSource(std::move(*verdict), source);
}

HealthView HealthViewFromReport(const Report& report, HealthView::Source source) {
  return WithSource(VerdictOf(report), source);
}

}  // namespace nodehealth::slurm
