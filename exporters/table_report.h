// The report for people: one line per probe, then each finding with its action, entity, message
// and evidence, then notes and the verdict. Plain text (no colour codes), 100 columns.
#pragma once

#include <string>

#include "exporters/report.h"

namespace nodehealth {

std::string RenderTableReport(const Report& report);

}  // namespace nodehealth
