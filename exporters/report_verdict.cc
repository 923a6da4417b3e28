#include "exporters/report_verdict.h"

#include <nlohmann/json.hpp>

#include "probes/util/nesting_depth.h"

namespace nodehealth {
namespace {

using nlohmann::json;

// `object[key]` as a string, or an Error naming `where`.
Expected<std::string> StringAt(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return MakeError("report: " + where + "." + key + " is missing or not a string");
  }
  return it->get<std::string>();
}

Expected<VerdictReason> ReadReason(const json& item, const std::string& where) {
  if (!item.is_object()) return MakeError("report: " + where + " is not an object");
  VerdictReason reason;
  for (auto [key, field] : {std::pair{"code", &reason.code}, {"entity", &reason.entity}}) {
    Expected<std::string> value = StringAt(item, key, where);
    if (!value) return value.error();
    *field = std::move(*value);
  }
  if (const auto action = item.find("action"); action != item.end()) {
    const std::optional<Action> parsed =
        action->is_string() ? ParseAction(action->get<std::string>()) : std::nullopt;
    if (!parsed) return MakeError("report: " + where + ".action is not an action");
    reason.action = *parsed;
  }
  return reason;
}

}  // namespace

Expected<ReportVerdict> ParseReportVerdict(std::string_view text) {
  // Before parsing: value() below copies, and a copy recurses once per level of nesting.
  if (CheckJsonDepth(text)) return MakeError("report: nested deeper than JSON reports nest");
  const json report = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) return MakeError("report: not JSON");
  if (!report.is_object() || report.value("schema_version", json()) != 1) {
    return MakeError("report: not a nodehealth report (schema_version 1)");
  }
  return ReadReportVerdict(report);
}

Expected<ReportVerdict> ReadReportVerdict(const nlohmann::json& report) {
  ReportVerdict view;
  const auto drain = report.find("drain");
  if (drain == report.end() || !drain->is_object() || !drain->contains("recommended") ||
      !(*drain)["recommended"].is_boolean() || !drain->contains("reasons") ||
      !(*drain)["reasons"].is_array()) {
    return MakeError("report: drain.recommended or drain.reasons is missing");
  }
  view.drain_recommended = (*drain)["recommended"].get<bool>();
  for (std::size_t i = 0; i < (*drain)["reasons"].size(); ++i) {
    Expected<VerdictReason> reason =
        ReadReason((*drain)["reasons"][i], "drain.reasons[" + std::to_string(i) + "]");
    if (!reason) return reason.error();
    view.reasons.push_back(std::move(*reason));
  }
  if (view.drain_recommended && view.reasons.empty()) {
    return MakeError("report: drain recommended without a reason");
  }

  const auto probes = report.find("probes");
  if (probes == report.end() || !probes->is_array()) return MakeError("report: no probes array");
  for (std::size_t i = 0; i < probes->size(); ++i) {
    const json& probe = (*probes)[i];
    const std::string where = "probes[" + std::to_string(i) + "]";
    if (!probe.is_object()) return MakeError("report: " + where + " is not an object");
    Expected<std::string> name = StringAt(probe, "name", where);
    if (!name) return name.error();
    Expected<std::string> verdict = StringAt(probe, "verdict", where);
    if (!verdict) return verdict.error();
    ProbeVerdictView outcome;
    outcome.verdict = std::move(*verdict);
    const json findings = probe.value("findings", json::array());
    if (!findings.is_array()) return MakeError("report: " + where + ".findings is not an array");
    for (std::size_t j = 0; j < findings.size(); ++j) {
      Expected<VerdictReason> finding =
          ReadReason(findings[j], where + ".findings[" + std::to_string(j) + "]");
      if (!finding) return finding.error();
      outcome.findings.push_back(std::move(*finding));
    }
    view.probes[*name] = std::move(outcome);
  }
  return view;
}

ReportVerdict VerdictOf(const Report& report) {
  ReportVerdict view;
  view.drain_recommended = report.drain.recommended;
  for (const DrainReason& reason : report.drain.reasons) {
    view.reasons.push_back({reason.code, reason.entity, reason.action});
  }
  for (const ProbeResult& probe : report.probes) {
    ProbeVerdictView outcome;
    outcome.verdict = std::string(ToString(probe.verdict));
    for (const Finding& finding : probe.findings) {
      outcome.findings.push_back({finding.code, finding.entity, finding.action});
    }
    view.probes[probe.name] = std::move(outcome);
  }
  return view;
}

}  // namespace nodehealth
