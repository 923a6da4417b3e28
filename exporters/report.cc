#include "exporters/report.h"

#include <algorithm>
#include <set>

namespace nodehealth {

std::string_view ToString(RunVerdict verdict) {
  switch (verdict) {
    case RunVerdict::kPass:
      return "pass";
    case RunVerdict::kWarn:
      return "warn";
    case RunVerdict::kFail:
      return "fail";
  }
  return "fail";
}

void Decide(Report& report) {
  DrainDecision decision;
  bool any_finding = false;
  bool any_error = false;
  std::set<std::pair<std::string, std::string>> seen;  // (code, entity): one reason each
  for (const ProbeResult& probe : report.probes) {
    any_error |= probe.verdict == ProbeVerdict::kError;
    for (const Finding& finding : probe.findings) {
      any_finding = true;
      decision.action = std::max(decision.action, finding.action);
      if (!ImpliesDrain(finding.action)) continue;
      if (!seen.insert({finding.code, finding.entity}).second) continue;
      decision.reasons.push_back({finding.code, finding.entity, finding.message, finding.action});
    }
  }
  std::stable_sort(decision.reasons.begin(), decision.reasons.end(),
                   [](const DrainReason& a, const DrainReason& b) { return a.action > b.action; });
  decision.recommended = ImpliesDrain(decision.action);
  report.drain = std::move(decision);
  report.verdict = report.drain.recommended     ? RunVerdict::kFail
                   : (any_finding || any_error) ? RunVerdict::kWarn
                                                : RunVerdict::kPass;
}

}  // namespace nodehealth
