#include "exporters/json_report.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

using Json = nlohmann::ordered_json;

Json ToJson(const Evidence& evidence) {
  return Json{{"source", evidence.source},
              {"observed", evidence.observed},
              {"expected", evidence.expected}};
}

Json ToJson(const Finding& finding) {
  Json evidence = Json::array();
  for (const Evidence& e : finding.evidence) evidence.push_back(ToJson(e));
  Json out{{"code", finding.code},
           {"severity", ToString(finding.severity)},
           {"action", ToString(finding.action)},
           {"entity", finding.entity},
           {"message", finding.message},
           {"evidence", std::move(evidence)}};
  // An extension of docs/contract.md's finding (README.md): the operator's next step, from the
  // finding catalogue; absent for a code the catalogue does not know.
  if (const CatalogEntry* entry = FindCatalogEntry(finding.code); entry && !entry->remedy.empty()) {
    out["remedy"] = std::string(entry->remedy);
  }
  return out;
}

Json ToJson(const Measurement& m) {
  Json labels = Json::object();
  for (const auto& [k, v] : m.labels) labels[k] = v;
  return Json{{"name", m.name}, {"labels", std::move(labels)}, {"value", m.value}};
}

Json ToJson(const ProbeResult& probe) {
  Json out{{"name", probe.name},
           {"verdict", ToString(probe.verdict)},
           {"duration_seconds", probe.duration.count()}};
  if (probe.verdict == ProbeVerdict::kError) out["error"] = probe.error;
  if (probe.verdict == ProbeVerdict::kSkip) out["skip_reason"] = probe.skip_reason;
  Json findings = Json::array();
  for (const Finding& f : probe.findings) findings.push_back(ToJson(f));
  out["findings"] = std::move(findings);
  Json measurements = Json::array();
  for (const Measurement& m : probe.measurements) measurements.push_back(ToJson(m));
  out["measurements"] = std::move(measurements);
  if (!probe.notes.empty()) out["notes"] = probe.notes;
  return out;
}

}  // namespace

std::string FormatRfc3339(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return buffer;
}

Json ReportJson(const Report& report) {
  Json reasons = Json::array();
  for (const DrainReason& r : report.drain.reasons) {
    reasons.push_back(Json{{"code", r.code},
                           {"entity", r.entity},
                           {"message", r.message},
                           {"action", ToString(r.action)}});
  }
  Json probes = Json::array();
  for (const ProbeResult& p : report.probes) probes.push_back(ToJson(p));
  Json out{
      {"schema_version", Report::kSchemaVersion},
      {"node", report.node},
      {"mode", report.mode},
      {"profile", report.profile ? Json(*report.profile) : Json(nullptr)},
      {"profile_selection",
       Json{{"requested", report.profile_requested}, {"reason", report.profile_reason}}},
      {"started_at", FormatRfc3339(report.started_at)},
      {"duration_seconds", report.duration_seconds},
      {"verdict", ToString(report.verdict)},
      {"summary", report.summary},
      {"drain", Json{{"recommended", report.drain.recommended},
                     {"action", ToString(report.drain.action)},
                     {"reasons", std::move(reasons)}}},
      {"probes", std::move(probes)},
      {"nodehealth_version", report.version},
  };
  return out;
}

std::string RenderJson(const Json& json) {
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string RenderJsonReport(const Report& report) { return RenderJson(ReportJson(report)); }

}  // namespace nodehealth
