#include "probes/platform/sysfs_values.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

#include "probes/util/lines.h"
#include "probes/util/text.h"

namespace nodehealth::platform {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

}  // namespace

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

Expected<uint32_t> ParseHexId(std::string_view text) {
  std::string_view t = TrimSpace(text);
  if (t.size() < 3 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X') || t.size() > 10) {
    return Malformed("hex id", text);
  }
  uint32_t value = 0;
  if (!ParseWhole(t.substr(2), value, 16)) return Malformed("hex id", text);
  return value;
}

Expected<int64_t> ParseDecimal(std::string_view text) {
  std::string_view t = TrimSpace(text);
  int64_t value = 0;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  if (!ParseWhole(t, value, 10)) return Malformed("number", text);
  return value;
}

Expected<std::optional<int>> ParsePcieLinkSpeed(std::string_view text) {
  std::string_view t = TrimSpace(text);
  if (t.starts_with("Unknown")) return std::optional<int>();
  // "<rate> GT/s" optionally followed by " PCIe" (kernel >= 4.19 appends it).
  const std::size_t space = t.find(' ');
  if (space == std::string_view::npos) return Malformed("PCIe link speed", text);
  const std::string_view rate = t.substr(0, space);
  std::string_view rest = t.substr(space + 1);
  if (!rest.starts_with("GT/s")) return Malformed("PCIe link speed", text);
  rest.remove_prefix(4);
  if (!rest.empty() && rest != " PCIe") return Malformed("PCIe link speed", text);
  static constexpr std::array<std::pair<std::string_view, int>, 10> kRates = {{
      {"2.5", 1},
      {"5", 2},
      {"5.0", 2},
      {"8", 3},
      {"8.0", 3},
      {"16", 4},
      {"16.0", 4},
      {"32", 5},
      {"32.0", 5},
      {"64.0", 6},
  }};
  for (const auto& [name, generation] : kRates) {
    if (name == rate) return std::optional<int>(generation);
  }
  if (rate == "64") return std::optional<int>(6);
  return Malformed("PCIe link speed", text);
}

double PcieGenerationRate(int generation) {
  static constexpr std::array<double, 7> kRates = {0, 2.5, 5, 8, 16, 32, 64};
  if (generation < 1 || generation >= static_cast<int>(kRates.size())) return 0;
  return kRates[static_cast<std::size_t>(generation)];
}

Expected<std::vector<std::pair<int, int>>> ParseCpuRanges(std::string_view text) {
  // Trees saved by hwloc-gather-topology end some files with a NUL byte.
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  std::string_view t = TrimSpace(text);
  if (t.empty()) return Malformed("CPU list", text);
  std::vector<std::pair<int, int>> ranges;
  int total = 0;
  while (!t.empty()) {
    const std::size_t comma = t.find(',');
    const std::string_view range = t.substr(0, comma);
    const std::size_t dash = range.find('-');
    int first = 0;
    int last = 0;
    if (dash == std::string_view::npos) {
      if (!ParseWhole(range, first, 10)) return Malformed("CPU list", text);
      last = first;
    } else if (!ParseWhole(range.substr(0, dash), first, 10) ||
               !ParseWhole(range.substr(dash + 1), last, 10) || last < first) {
      return Malformed("CPU list", text);
    }
    if (first < 0 || last - first > 1 << 20) return Malformed("CPU list", text);
    total += last - first + 1;
    if (total > 1 << 20) return Malformed("CPU list", text);
    ranges.emplace_back(first, last);
    if (comma == std::string_view::npos) break;
    t.remove_prefix(comma + 1);
  }
  return ranges;
}

Expected<int> CountCpuList(std::string_view text) {
  Expected<std::vector<std::pair<int, int>>> ranges = ParseCpuRanges(text);
  if (!ranges) return ranges.error();
  int count = 0;
  for (const auto& [first, last] : *ranges) count += last - first + 1;
  return count;
}

Expected<std::string> NormalizePciBusId(std::string_view text) {
  std::string_view t = TrimSpace(text);
  // Split into up to three colon-separated parts; the last holds "dev[.fn]".
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = t.find(':', start);
    parts.push_back(t.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 2 && parts.size() != 3) return Malformed("PCI bus id", text);
  uint32_t domain = 0;
  uint32_t bus = 0;
  uint32_t device = 0;
  uint32_t function = 0;
  std::size_t i = 0;
  if (parts.size() == 3) {
    if (parts[0].size() > 8 || !ParseWhole(parts[0], domain, 16)) {
      return Malformed("PCI bus id", text);
    }
    i = 1;
  }
  if (parts[i].size() > 2 || !ParseWhole(parts[i], bus, 16)) return Malformed("PCI bus id", text);
  std::string_view dev_fn = parts[i + 1];
  const std::size_t dot = dev_fn.find('.');
  if (dot != std::string_view::npos) {
    if (dev_fn.size() - dot - 1 != 1 || !ParseWhole(dev_fn.substr(dot + 1), function, 16) ||
        function > 7) {
      return Malformed("PCI bus id", text);
    }
    dev_fn = dev_fn.substr(0, dot);
  }
  if (dev_fn.size() > 2 || !ParseWhole(dev_fn, device, 16) || device > 0x1f) {
    return Malformed("PCI bus id", text);
  }
  char out[32];
  if (domain <= 0xffff) {
    std::snprintf(out, sizeof out, "%04x:%02x:%02x.%x", domain, bus, device, function);
  } else {
    std::snprintf(out, sizeof out, "%08x:%02x:%02x.%x", domain, bus, device, function);
  }
  return std::string(out);
}

Expected<int> CompareDottedVersions(std::string_view a, std::string_view b) {
  auto split = [](std::string_view v, std::vector<int64_t>& out) {
    v = TrimSpace(v);
    if (v.empty()) return false;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = v.find('.', start);
      int64_t number = 0;
      const std::string_view part = v.substr(start, dot - start);
      if (part.size() > 12 || !ParseWhole(part, number, 10)) return false;
      out.push_back(number);
      if (dot == std::string_view::npos) return true;
      start = dot + 1;
    }
  };
  std::vector<int64_t> left;
  std::vector<int64_t> right;
  if (!split(a, left)) return Malformed("version", a);
  if (!split(b, right)) return Malformed("version", b);
  const std::size_t n = std::max(left.size(), right.size());
  left.resize(n, 0);
  right.resize(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (left[i] != right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return 0;
}

std::optional<std::map<std::string, std::vector<uint32_t>>> ParseProcBusPciDevices(
    std::string_view text) {
  // Each line: "<bus><devfn>\t<vendor><device>\t<irq>\t..." in hex, e.g. "1900\t10de2330\t0...".
  std::map<std::string, std::vector<uint32_t>> table;
  bool valid = true;
  ForEachLine(text, [&](std::string_view line) {
    if (line.empty()) return true;
    if (line.find('\t') != 4 || line.size() < 14 || line[13] != '\t') return valid = false;
    uint32_t bus_devfn = 0;
    uint32_t ids = 0;
    const auto a = std::from_chars(line.data(), line.data() + 4, bus_devfn, 16);
    const auto b = std::from_chars(line.data() + 5, line.data() + 13, ids, 16);
    if (a.ptr != line.data() + 4 || b.ptr != line.data() + 13) return valid = false;
    char key[16];
    std::snprintf(key, sizeof key, "%02x:%02x.%x", bus_devfn >> 8, (bus_devfn >> 3) & 0x1f,
                  bus_devfn & 7);
    table[key].push_back(ids >> 16);
    return true;
  });
  if (!valid) return std::nullopt;
  return table;
}

}  // namespace nodehealth::platform
