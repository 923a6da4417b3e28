#include "probes/sku_inventory/sku_values.h"

#include <cmath>
#include <set>
#include <tuple>

#include "probes/util/lines.h"
#include "probes/util/text.h"

namespace nodehealth::sku {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && (IsBlank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

Expected<uint64_t> ParseMemTotalKib(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  std::string_view line;
  bool found = false;
  ForEachLine(meminfo, [&](std::string_view l) {
    if (!l.starts_with(kKey)) return true;
    line = l;
    found = true;
    return false;
  });
  if (!found) return MakeError("no MemTotal line");
  // fs/proc/meminfo.c prints "%8lu kB" after the key: padded digits, a space, "kB".
  const std::string_view value = TrimBlanks(line.substr(kKey.size()));
  const std::size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos || TrimBlanks(value.substr(space)) != "kB") {
    return Malformed("MemTotal line", line);
  }
  uint64_t kib = 0;
  if (!ParseWhole(value.substr(0, space), kib) || kib == 0 || kib > kMaxMemTotalKib) {
    return Malformed("MemTotal line", line);
  }
  return kib;
}

bool IsNvmeControllerName(std::string_view name) {
  constexpr std::string_view kPrefix = "nvme";
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size() || name.size() > 14) return false;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

CpuCounts CountCpus(const std::vector<CpuPlace>& cpus) {
  std::set<int64_t> packages;
  std::set<std::tuple<int64_t, int64_t, int64_t>> cores;
  for (const CpuPlace& cpu : cpus) {
    packages.insert(cpu.package);
    cores.emplace(cpu.package, cpu.die, cpu.core);
  }
  return {static_cast<int>(packages.size()), static_cast<int>(cores.size()),
          static_cast<int>(cpus.size())};
}

MemoryBand MemoryBandAround(uint64_t expected_kib, double percent) {
  // With a whole percent the product is an integer below 2^53 (expected_kib is at most 2^40 and
  // the percent at most 50, the profile loader's bounds), so the rounding down is exact.
  const double tolerance = std::floor(static_cast<double>(expected_kib) * percent / 100.0);
  const auto kib = static_cast<uint64_t>(tolerance);
  return {expected_kib > kib ? expected_kib - kib : 0, expected_kib + kib};
}

}  // namespace nodehealth::sku
