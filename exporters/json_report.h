// The JSON report (docs/contract.md "JSON report"). Key order is fixed so that reports diff cleanly
// and golden files stay stable. Strings from the node (kernel log lines, NVML names) are emitted
// with invalid UTF-8 replaced, never rejected.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "exporters/report.h"

namespace nodehealth {

// Pretty-printed (2-space indent) with a trailing newline.
std::string RenderJsonReport(const Report& report);

// The report as a JSON value, for a writer that adds its own sections before rendering (the
// agent's /report adds "policy"), and the rendering RenderJsonReport uses, for that value.
nlohmann::ordered_json ReportJson(const Report& report);
std::string RenderJson(const nlohmann::ordered_json& json);

// RFC 3339 UTC with milliseconds: "2026-11-23T19:27:00.123Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point time);

}  // namespace nodehealth
