// The probe interface. A probe has a stable name (config keys, metric labels, --only), a kind,
// and Run(context) -> ProbeResult.
//
// Contract for implementations:
//   * Run never throws and never blocks past context.deadline: anything that may hang (NVML) goes
//     through NvmlRuntime, which abandons a stuck call at the deadline.
//   * Run reads only what the context offers (files through context.fs, NVML through
//     context.nvml), so the same probe runs on a live node and on a recorded fixture tree.
//   * Run is const and may be called concurrently with other probes.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "probes/measurement_spec.h"
#include "probes/probe_context.h"
#include "probes/probe_result.h"

namespace nodehealth {

enum class ProbeKind {
  kPassive,  // read-only, well under a second: check, agent schedule
  kActive,   // loads hardware: burnin or on demand only
};

std::string_view ToString(ProbeKind kind);

struct ProbeInfo {
  std::string_view name;
  ProbeKind kind;
  std::string_view summary;             // one line for `nodehealth probes`
  std::vector<std::string_view> reads;  // files and libraries it reads
  std::vector<std::string_view> codes;  // finding codes it can report
  std::chrono::milliseconds timeout;    // its own deadline inside the run's
  // Everything it can measure (measurement_spec.h): the exporters' HELP texts and types.
  std::vector<MeasurementSpec> measurements;
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual const ProbeInfo& info() const = 0;
  virtual ProbeResult Run(const ProbeContext& context) const = 0;
};

}  // namespace nodehealth
