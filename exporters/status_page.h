// The agent's status page at `/` (docs/status-page.md): one self-contained HTML document (inline
// CSS, no script, no external asset) rendered from the same report /report serves: a header with
// a HEALTHY / WARN / DRAIN badge, the drain decision with each reason's remedy from the finding
// catalogue, the probes, the findings with their evidence, the GPUs and RDMA ports the report's
// measurements name, and links to /metrics, /report and /healthz.
//
// Every string taken from the report goes through `filter` (the agent passes its process-name
// redaction, report_redaction.h, so the page shows no more than /report does) and is then
// HTML-escaped; the page is bounded (kMaxTextChars per string, the row limits and the byte budget
// below), whatever
// the report holds. Stable hooks for tests and users: id="badge" (data-status), id="drain"
// (data-recommended, data-action), rows with data-code / data-entity / data-probe / data-gpu /
// data-port.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "exporters/report.h"

namespace nodehealth {

struct StatusPageOptions {
  // Applied to every string from the report before escaping; null: none.
  std::function<std::string(std::string_view)> filter;
};

inline constexpr std::size_t kStatusPageMaxTextChars = 2000;  // longer strings end in "…"
inline constexpr std::size_t kStatusPageMaxFindings = 500;    // per table (findings, reasons)
inline constexpr std::size_t kStatusPageMaxEvidence = 20;     // per finding
inline constexpr std::size_t kStatusPageMaxDevices = 256;     // GPUs, and RDMA ports
// A table stops adding rows once the page has this many bytes (the rest: "N more not shown");
// with the longest rows that leaves every page under 4 MiB.
inline constexpr std::size_t kStatusPageBudgetBytes = 2u << 20;

std::string RenderStatusPage(const Report& report, const StatusPageOptions& options = {});

// The page shown before the agent's first round ended (links only).
std::string RenderStatusPageWaiting();

// `text` with &, <, >, " and ' replaced by character references (safe in element text and in
// double- or single-quoted attribute values).
std::string HtmlEscape(std::string_view text);

// A duration for people: "25.7 s", "3.2 ms", "120 µs", "2 min 5 s".
std::string HumanDuration(double seconds);

}  // namespace nodehealth
