#include "exporters/prometheus_text.h"

#include <prometheus/text_serializer.h>

#include "exporters/metric_families.h"

namespace nodehealth {

std::string RenderPrometheusText(const Report& report) {
  MetricFamilyBuilder builder;
  AddReportMetrics(report, builder);
  return prometheus::TextSerializer().Serialize(builder.Build());
}

}  // namespace nodehealth
