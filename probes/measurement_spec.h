// What a probe measures, declared next to its finding codes (ProbeInfo::measurements): the name
// (exported as nodehealth_<name>), the metric type, the base unit the name ends with, the HELP
// text and the label names. The exporters take a metric family's HELP and type from here; the
// catalogue test holds every probe's emitted measurements to their declaration (same name, same
// labels) and every declaration to Prometheus's naming rules.
//
// Thread safety: immutable once the probe's static ProbeInfo is built.
#pragma once

#include <string>
#include <vector>

namespace nodehealth {

enum class MetricType { kGauge, kCounter };

struct MeasurementSpec {
  std::string name;  // without "nodehealth_"; a counter's name ends in "_total"
  MetricType type = MetricType::kGauge;
  // The base unit the name ends with, before "_total" ("seconds", "bytes", "celsius",
  // "bytes_per_second"); empty for counts, states and _info-like values.
  std::string unit;
  std::string help;                 // one line, unique across all measurements
  std::vector<std::string> labels;  // label names, sorted
};

inline MeasurementSpec GaugeMeasurement(std::string name, std::string unit, std::string help,
                                        std::vector<std::string> labels = {}) {
  return {std::move(name), MetricType::kGauge, std::move(unit), std::move(help), std::move(labels)};
}

inline MeasurementSpec CounterMeasurement(std::string name, std::string unit, std::string help,
                                          std::vector<std::string> labels = {}) {
  return {std::move(name), MetricType::kCounter, std::move(unit), std::move(help),
          std::move(labels)};
}

}  // namespace nodehealth
