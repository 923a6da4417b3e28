#include "exporters/prometheus_text.h"

#include <algorithm>

#include <prometheus/text_serializer.h>

#include "exporters/metric_families.h"

namespace nodehealth {

std::string RenderPrometheusText(const Report& report,
                                 const std::map<std::string, std::string>& extra_labels) {
  MetricFamilyBuilder builder;
  AddReportMetrics(report, builder);
  std::vector<prometheus::MetricFamily> families = builder.Build();
  for (prometheus::MetricFamily& family : families) {
    for (prometheus::ClientMetric& metric : family.metric) {
      // Not a structured binding: clang 14 cannot capture one in the lambda.
      for (const auto& extra : extra_labels) {
        const std::string& name = extra.first;
        const bool taken = std::any_of(metric.label.begin(), metric.label.end(),
                                       [&](const auto& label) { return label.name == name; });
        if (!taken) metric.label.push_back({name, extra.second});
      }
      std::sort(metric.label.begin(), metric.label.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace nodehealth
