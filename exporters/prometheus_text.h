// The report as Prometheus text exposition (format 0.0.4): what `burnin --textfile DIR` writes for
// node_exporter's textfile collector, with the docs/contract.md metric names. Measurements become
// `nodehealth_<name>`; names ending in `_total` are counters, the rest gauges; each metric family
// is written once, with its TYPE line, its samples sorted by labels.
//
// Thread safety: a pure function.
#pragma once

#include <map>
#include <string>

#include "exporters/report.h"

namespace nodehealth {

// `extra_labels` are added to every sample (a sample's own label of the same name wins):
// `burnin --textfile` passes kBurninTextfileLabels so that its series, which node_exporter
// re-exports beside the agent's, can be told apart and never count a node twice.
std::string RenderPrometheusText(const Report& report,
                                 const std::map<std::string, std::string>& extra_labels = {});

// The label every sample of the burn-in textfile carries: origin="burnin". (Not "source": the
// gpu_presence probe's nodehealth_gpus already has a label of that name.)
inline const std::map<std::string, std::string> kBurninTextfileLabels = {{"origin", "burnin"}};

// The file name inside the textfile directory.
inline constexpr const char* kBurninTextfileName = "nodehealth_burnin_report.prom";

}  // namespace nodehealth
