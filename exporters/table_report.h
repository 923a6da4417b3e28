// The report for people: one line per probe (durations in the unit that fits), then each finding
// with its action, entity, message, evidence and remedy (one code on several entities of a kind
// is one group: "8 GPUs: gpu_clock_slowdown"; the JSON report lists each), then notes and the
// verdict. Plain text (no colour codes); columns sized from their content, lines wrapped at 100
// columns.
#pragma once

#include <string>

#include "exporters/report.h"

namespace nodehealth {

std::string RenderTableReport(const Report& report);

}  // namespace nodehealth
