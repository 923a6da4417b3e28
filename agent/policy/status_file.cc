#include "agent/policy/status_file.h"

#include <nlohmann/json.hpp>

#include "agent/policy/policy_state.h"

namespace nodehealth::agent {

std::string RenderStatusFile(const StatusFileInput& input) {
  using Json = nlohmann::ordered_json;
  Json reasons = Json::array();
  for (const DrainReason& r : input.state.decision.reasons) {
    reasons.push_back(Json{{"code", r.code},
                           {"entity", r.entity},
                           {"message", r.message},
                           {"action", ToString(r.action)}});
  }
  Json probes = Json::array();
  for (const ProbeSnapshot& snapshot : input.probes) {
    const ProbeResult& result = snapshot.result;
    Json findings = Json::array();
    for (const Finding& f : result.findings) {
      findings.push_back(
          Json{{"code", f.code}, {"entity", f.entity}, {"action", ToString(f.action)}});
    }
    probes.push_back(
        Json{{"name", result.name},
             {"verdict", ToString(result.verdict)},
             {"finished_at",
              result.finished_at > 0 ? Json(UnixRfc3339(result.finished_at)) : Json(nullptr)},
             {"findings", std::move(findings)}});
  }
  Json root{{"schema", kStatusFileSchema},
            {"node", input.node},
            {"boot_id", input.boot_id},
            {"updated_at", UnixRfc3339(input.updated_at)},
            {"updated_at_unix_seconds", input.updated_at},
            {"valid_until_unix_seconds", input.updated_at + input.valid_seconds},
            {"agent",
             {{"pid", input.pid},
              {"version", input.version},
              {"round_interval_seconds", input.round_interval_seconds}}},
            {"drain",
             {{"recommended", input.state.decision.recommended},
              {"action", ToString(input.state.decision.action)},
              {"reasons", std::move(reasons)}}}};
  root.update(PolicyStatusJson(input.state));
  root["probes"] = std::move(probes);
  root["state_error"] = input.state_error;
  return root.dump(2) + "\n";
}

}  // namespace nodehealth::agent
