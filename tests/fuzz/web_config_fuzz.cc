// The agent's web configuration (agent/http/web_config.h): any text gives a WebConfig or an Error
// naming the file, never a crash (yaml-cpp only sees text within the nesting bound), and a
// parsed config holds only what the reader validated.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto config = nodehealth::http::ParseWebConfig(input, "/etc/nodehealth/fuzz.yml");
  if (!config) {
    if (config.error().message.rfind("web config /etc/nodehealth/fuzz.yml", 0) != 0) std::abort();
    return 0;
  }
  for (const auto& [user, hash] : config->users) {
    if (user.empty() || user.find(':') != std::string::npos) std::abort();
    if (!nodehealth::http::BcryptCost(hash)) std::abort();
  }
  if (config->tls && (config->tls->cert.empty() || config->tls->key.empty())) std::abort();
  return 0;
}
