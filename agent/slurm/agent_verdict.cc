#include "agent/slurm/agent_verdict.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "agent/policy/status_file.h"
#include "probes/platform/trusted_file.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::slurm {
namespace {

using nlohmann::json;

std::string Seconds(double value) { return std::to_string(std::llround(value)); }

Expected<double> NumberAt(const json& status, const char* key) {
  const auto it = status.find(key);
  if (it == status.end() || !it->is_number() || !std::isfinite(it->get<double>())) {
    return MakeError(std::string("status file: ") + key + " is missing or not a number");
  }
  return it->get<double>();
}

}  // namespace

Expected<HealthView> ParseAgentStatus(std::string_view text, const AgentIdentity& expected,
                                      double now) {
  // Before parsing: value() below copies, and a copy recurses once per level of nesting.
  if (CheckJsonDepth(text)) return MakeError("status file: nested deeper than status files nest");
  const json status = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.is_object()) return MakeError("status file: not JSON");
  if (status.value("schema", json()) != agent::kStatusFileSchema) {
    return MakeError("status file: not a " + std::string(agent::kStatusFileSchema) + " file");
  }
  const std::string node = status.value("node", json()).is_string() ? status["node"] : "";
  if (node != expected.node) {
    return MakeError("status file is for node \"" + node + "\", this is \"" + expected.node + "\"");
  }
  const std::string boot = status.value("boot_id", json()).is_string() ? status["boot_id"] : "";
  if (boot != expected.boot_id) {
    return MakeError("status file is from boot " + (boot.empty() ? "(none)" : boot) +
                     ", this boot is " + expected.boot_id);
  }
  Expected<double> updated = NumberAt(status, "updated_at_unix_seconds");
  if (!updated) return updated.error();
  Expected<double> valid_until = NumberAt(status, "valid_until_unix_seconds");
  if (!valid_until) return valid_until.error();
  if (*updated > now + kClockSkewSeconds) {
    return MakeError("status file is dated " + Seconds(*updated - now) + " s in the future");
  }
  if (now > *valid_until) {
    return MakeError("status file expired " + Seconds(now - *valid_until) + " s ago (updated " +
                     Seconds(now - *updated) + " s ago): is the agent running?");
  }
  Expected<HealthView> view = HealthViewFromJson(status, HealthView::Source::kAgent);
  if (!view) return MakeError("status file: " + view.error().message);
  return view;
}

Expected<HealthView> ReadAgentVerdict(const std::string& state_dir, const AgentIdentity& expected,
                                      double now) {
  const std::string path = state_dir + "/" + agent::kStatusFileName;
  Expected<std::string> text = platform::ReadTrustedFile(path, kMaxStatusFileBytes);
  if (!text) return text.error();
  Expected<HealthView> view = ParseAgentStatus(*text, expected, now);
  if (!view) return MakeError(path + ": " + view.error().message);
  return view;
}

}  // namespace nodehealth::slurm
