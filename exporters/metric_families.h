// Metric families in prometheus-cpp's model (prometheus::MetricFamily), built once from a report
// (and, in the agent, from its own state) so that the same names serve `burnin --textfile` and
// the agent's /metrics. Naming (docs/contract.md): prefix nodehealth_, base units, a name ending in
// _total is a counter and everything else a gauge, static strings only in _info gauges. A probe's
// measurement takes its HELP text and type from the probe's declaration (measurement_spec.h).
//
// Thread safety: MetricFamilyBuilder is a plain value type; build it on one thread, then share the
// built vector read-only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "exporters/report.h"
#include "probes/measurement_spec.h"

namespace nodehealth {

using MetricLabels = std::map<std::string, std::string>;

class MetricFamilyBuilder {
 public:
  // Sets the sample of `name` with `labels` (a later call with the same labels replaces it). The
  // first help text and type given for a family are kept; without a type, a name ending in
  // _total is a counter and any other a gauge.
  void Add(const std::string& name, const std::string& help, const MetricLabels& labels,
           double value, std::optional<MetricType> type = std::nullopt);
  // Adds only when no sample with these labels exists yet (pre-created zero counters).
  void AddIfAbsent(const std::string& name, const std::string& help, const MetricLabels& labels,
                   double value);

  // Families sorted by name, samples sorted by labels.
  std::vector<prometheus::MetricFamily> Build() const;

 private:
  struct Family {
    std::string help;
    std::optional<MetricType> type;
    std::map<MetricLabels, double> samples;
  };
  std::map<std::string, Family> families_;
};

// The report's metrics: build_info, drain_recommended, profile_info (the profile, when the run
// has one), per probe success, duration, last run time and active findings, and every
// measurement as nodehealth_<name>.
void AddReportMetrics(const Report& report, MetricFamilyBuilder& builder);

}  // namespace nodehealth
