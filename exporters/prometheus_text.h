// The report as Prometheus text exposition (format 0.0.4): what `burnin --textfile DIR` writes for
// node_exporter's textfile collector, with the CONTRACT.md metric names. Measurements become
// `nodehealth_<name>`; names ending in `_total` are counters, the rest gauges; each metric family
// is written once, with its TYPE line, its samples sorted by labels.
//
// Thread safety: a pure function.
#pragma once

#include <string>

#include "exporters/report.h"

namespace nodehealth {

std::string RenderPrometheusText(const Report& report);

// The file name inside the textfile directory.
inline constexpr const char* kBurninTextfileName = "nodehealth_burnin_report.prom";

}  // namespace nodehealth
