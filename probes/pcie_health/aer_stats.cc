#include "probes/pcie_health/aer_stats.h"

#include <cctype>

#include "probes/platform/sysfs_values.h"

namespace nodehealth::pcie {
namespace {

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 80)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (text.size() > 80) out += "...";
  return out + "\"";
}

Expected<uint64_t> ParseU64(std::string_view text) {
  if (text.empty() || text.size() > 20) return MakeError("not a count: " + Quote(text));
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return MakeError("not a count: " + Quote(text));
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return MakeError("count overflows: " + Quote(text));
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

Expected<AerStats> ParseAerStats(std::string_view text) {
  AerStats stats;
  bool have_total = false;
  std::size_t lines = 0;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (platform::TrimSpace(line).empty()) continue;
    if (++lines > kMaxAerLines) {
      return MakeError("more than " + std::to_string(kMaxAerLines) + " lines");
    }
    if (have_total) return MakeError("line after the TOTAL_ line: " + Quote(line));
    const std::size_t space = line.rfind(' ');
    if (space == std::string_view::npos || space == 0) {
      return MakeError("not \"<name> <count>\": " + Quote(line));
    }
    const std::string_view name = line.substr(0, space);
    if (name.size() > 64) return MakeError("name too long: " + Quote(line));
    for (char c : name) {
      if (!std::isprint(static_cast<unsigned char>(c))) {
        return MakeError("unprintable name: " + Quote(line));
      }
    }
    Expected<uint64_t> count = ParseU64(line.substr(space + 1));
    if (!count) return count.error();
    if (name.starts_with("TOTAL_")) {
      stats.total_name = std::string(name);
      stats.total = *count;
      have_total = true;
    } else {
      stats.kinds.push_back({std::string(name), *count});
    }
  }
  if (!have_total) return MakeError("no TOTAL_ line");
  return stats;
}

Expected<uint64_t> ParseAerRootportTotal(std::string_view text) {
  return ParseU64(platform::TrimSpace(text));
}

std::string DescribeNonZeroKinds(const AerStats& stats) {
  std::string out;
  for (const AerKind& kind : stats.kinds) {
    if (kind.count == 0) continue;
    out += (out.empty() ? "" : ", ") + kind.name + " " + std::to_string(kind.count);
  }
  return out;
}

}  // namespace nodehealth::pcie
