#include "probes/probe_result.h"

#include <cassert>

#include "probes/finding_catalog.h"

namespace nodehealth {

std::string_view ToString(ProbeVerdict verdict) {
  switch (verdict) {
    case ProbeVerdict::kPass:
      return "pass";
    case ProbeVerdict::kWarn:
      return "warn";
    case ProbeVerdict::kFail:
      return "fail";
    case ProbeVerdict::kSkip:
      return "skip";
    case ProbeVerdict::kError:
      return "error";
  }
  return "error";
}

Finding MakeFinding(std::string_view code, std::string entity, std::string message,
                    std::vector<Evidence> evidence) {
  Finding finding;
  finding.code = std::string(code);
  finding.entity = std::move(entity);
  finding.message = std::move(message);
  finding.evidence = std::move(evidence);
  if (const CatalogEntry* entry = FindCatalogEntry(code)) {
    finding.severity = entry->severity;
    finding.action = entry->action;
  } else {
    assert(false && "finding code missing from the catalogue");
    finding.severity = Severity::kFail;
    finding.action = Action::kDrain;
  }
  return finding;
}

void FinalizeVerdict(ProbeResult& result) {
  if (result.verdict == ProbeVerdict::kSkip || result.verdict == ProbeVerdict::kError) return;
  result.verdict = ProbeVerdict::kPass;
  for (const Finding& finding : result.findings) {
    if (finding.severity == Severity::kFail) {
      result.verdict = ProbeVerdict::kFail;
      return;
    }
    result.verdict = ProbeVerdict::kWarn;
  }
}

void MarkUndecided(ProbeResult& result, std::string_view code, std::string entity,
                   std::string message, std::vector<Evidence> evidence) {
  result.verdict = ProbeVerdict::kError;
  if (result.error.empty()) {
    result.error = message;
  } else {
    result.error += "; " + message;
  }
  result.findings.push_back(
      MakeFinding(code, std::move(entity), std::move(message), std::move(evidence)));
}

void MarkSkipped(ProbeResult& result, std::string reason) {
  result.verdict = ProbeVerdict::kSkip;
  result.skip_reason = std::move(reason);
}

}  // namespace nodehealth
