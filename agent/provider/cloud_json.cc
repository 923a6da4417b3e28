#include "agent/provider/cloud_json.h"

#include "probes/util/nesting_depth.h"

namespace nodehealth::provider {

Expected<nlohmann::json> ParseObject(std::string_view text, std::string_view what) {
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text, 32)) {
    return MakeError(std::string(what) + ": " + deep->what);
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return MakeError(std::string(what) + ": not JSON");
  if (!value.is_object()) return MakeError(std::string(what) + ": not a JSON object");
  return value;
}

std::optional<std::string> StringField(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_number_unsigned()) return std::to_string(it->get<unsigned long long>());
  return std::nullopt;
}

std::string DescribeHttpFailure(long status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(status);
  if (!body.empty()) {
    std::string excerpt(body.substr(0, 200));
    for (char& c : excerpt) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    text += ": " + excerpt;
  }
  return text;
}

}  // namespace nodehealth::provider
