#include "probes/util/byte_size.h"

#include <charconv>
#include <utility>

namespace nodehealth {

Expected<uint64_t> ParseByteSize(std::string_view text) {
  const std::string original(text);
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        multiplier = 1ull << 10;
        break;
      case 'M':
      case 'm':
        multiplier = 1ull << 20;
        break;
      case 'G':
      case 'g':
        multiplier = 1ull << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > (1ull << 40) / multiplier) {
    return MakeError("not a size from 1 byte to 1T: '" + original + "' (e.g. 256M, 16G)");
  }
  return value * multiplier;
}

std::string FormatByteSize(uint64_t bytes) {
  for (const auto& [suffix, unit] :
       {std::pair{"G", 1ull << 30}, std::pair{"M", 1ull << 20}, std::pair{"K", 1ull << 10}}) {
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  return std::to_string(bytes);
}

}  // namespace nodehealth
