#include "agent/provider/provider_fault.h"

#include <openssl/sha.h>

#include <cmath>
#include <cstdio>

namespace nodehealth::provider {
namespace {

constexpr std::string_view kGpuPrefix = "gpu/";

}  // namespace

ProviderFault MakeFault(std::string probe, std::string code, std::string entity,
                        std::string message, double since,
                        const std::map<std::string, GpuIdentity>& gpus) {
  ProviderFault f;
  f.probe = std::move(probe);
  f.code = std::move(code);
  f.entity = std::move(entity);
  f.message = std::move(message);
  f.since = since;
  if (f.code == "gpu_xid") f.xid = XidOfMessage(f.message);
  if (std::optional<ProviderCategory> c = CategoryOf(f.code, f.xid)) f.category = *c;
  if (f.entity.rfind(kGpuPrefix, 0) == 0) {
    f.gpu_bus_id = f.entity.substr(kGpuPrefix.size());
    if (auto it = gpus.find(f.gpu_bus_id); it != gpus.end()) f.gpu = it->second;
  }
  return f;
}

std::vector<ProviderFault> AutomaticFaults(const std::vector<agent::StickyFault>& sticky,
                                           const std::map<std::string, GpuIdentity>& gpus) {
  std::vector<ProviderFault> out;
  for (const agent::StickyFault& s : sticky) {
    ProviderFault f = MakeFault(s.probe, s.code, s.entity, s.message, s.since, gpus);
    if (f.category.automatic) out.push_back(std::move(f));
  }
  return out;
}

std::string ReportId(std::string_view instance_id, const ProviderFault& fault) {
  const std::string input = std::string(instance_id) + '\n' + fault.code + '\n' + fault.entity +
                            '\n' + std::to_string(fault.xid) + '\n' +
                            std::to_string(static_cast<long long>(std::floor(fault.since)));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5 (name-based)
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

std::string Describe(const ProviderFault& fault) {
  std::string text = "nodehealth: " + fault.code + " " + fault.entity + ": " + fault.message;
  constexpr size_t kLimit = 1000;
  if (text.size() > kLimit) {
    size_t cut = kLimit;
    // Back up to the first byte of a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  return text;
}

}  // namespace nodehealth::provider
