#include "agent/daemon/round_memory_file.h"

#include <cerrno>
#include <optional>

#include <nlohmann/json.hpp>

#include "probes/platform/regular_file.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::agent {

std::string SerializeRoundHistories(std::string_view boot_id, const RoundHistories& histories) {
  nlohmann::ordered_json probes = nlohmann::ordered_json::object();
  for (const auto& [name, text] : histories) {
    if (!text.empty()) probes[name] = text;
  }
  const nlohmann::ordered_json json{
      {"schema", kRoundMemorySchema}, {"boot_id", boot_id}, {"probes", probes}};
  // Texts come from probes and may hold anything: replace invalid UTF-8 rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Expected<RoundHistories> ParseRoundHistories(std::string_view text, std::string_view boot_id) {
  // Before parsing: a deeply nested value would overflow the stack.
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text)) {
    return MakeError("line " + std::to_string(deep->line) + ": " + deep->what);
  }
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return MakeError("not a JSON object");
  const auto schema = json.find("schema");
  if (schema == json.end() || !schema->is_string() || *schema != kRoundMemorySchema) {
    return MakeError("schema is not \"" + std::string(kRoundMemorySchema) + "\"");
  }
  const auto boot = json.find("boot_id");
  const auto probes = json.find("probes");
  if (boot == json.end() || !boot->is_string()) return MakeError("boot_id is not a string");
  if (probes == json.end() || !probes->is_object()) return MakeError("probes is not an object");
  RoundHistories histories;
  if (boot->get<std::string>() != boot_id) return histories;  // counters restarted since
  for (const auto& [name, history] : probes->items()) {
    if (!history.is_string()) return MakeError("probes." + name + " is not a string");
    histories[name] = history.get<std::string>();
  }
  return histories;
}

Expected<RoundHistories> LoadRoundHistories(const std::string& path, std::string_view boot_id) {
  Expected<std::string> text =
      platform::ReadRegularFile(path, kRoundMemoryMaxBytes, "round memory");
  if (!text) {
    if (text.error().sys_errno == ENOENT) return RoundHistories{};
    return text.error();
  }
  Expected<RoundHistories> histories = ParseRoundHistories(*text, boot_id);
  if (!histories) return MakeError(path + ": " + histories.error().message);
  return histories;
}

}  // namespace nodehealth::agent
