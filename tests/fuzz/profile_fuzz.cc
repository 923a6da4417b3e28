// Profiles: any text gives a Profile or an Error with a line number, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/profile_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto profile = nodehealth::ParseProfile(input, "fuzz.toml");
  if (!profile && profile.error().message.rfind("fuzz.toml:", 0) != 0) std::abort();
  if (profile && profile->name.empty()) std::abort();
  return 0;
}
