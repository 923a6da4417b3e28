#include "probes/ib_ports/ib_sysfs_values.h"

#include <array>
#include <charconv>

#include "probes/platform/sysfs_values.h"
#include "probes/util/text.h"

namespace nodehealth::ib {
namespace {

using platform::TrimSpace;

bool IsKnownWidth(int width) {
  return width == 1 || width == 2 || width == 4 || width == 8 || width == 12;
}

// Speed names the kernel prints (ib_port_rate speed strings), with their per-lane signalling rate
// in Gb/s as the kernel rounds it into the printed total.
bool IsKnownSpeed(std::string_view speed) {
  static constexpr std::array<std::string_view, 9> kSpeeds = {"SDR", "DDR", "QDR", "FDR10", "FDR",
                                                              "EDR", "HDR", "NDR", "XDR"};
  for (std::string_view known : kSpeeds) {
    if (speed == known) return true;
  }
  return false;
}

}  // namespace

Expected<IdAndName> ParseIdAndName(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  const std::size_t colon = t.find(':');
  if (colon == std::string_view::npos) return Malformed("port state", text);
  IdAndName out;
  if (!ParseWhole(TrimSpace(t.substr(0, colon)), out.id) || out.id < 0 || out.id > 255) {
    return Malformed("port state", text);
  }
  out.name = std::string(TrimSpace(t.substr(colon + 1)));
  return out;
}

Expected<PortRate> ParsePortRate(std::string_view text) {
  std::string_view t = TrimSpace(text);
  const std::size_t space = t.find(' ');
  if (space == std::string_view::npos) return Malformed("port rate", text);
  PortRate rate;
  // The kernel prints whole numbers or one ".5" (2.5 SDR); accept any decimal fraction.
  const std::string_view number = t.substr(0, space);
  const std::size_t dot = number.find('.');
  uint64_t whole = 0;
  if (!ParseWhole(number.substr(0, dot), whole) || whole > 100000) {
    return Malformed("port rate", text);
  }
  rate.gbps = static_cast<double>(whole);
  if (dot != std::string_view::npos) {
    const std::string_view fraction = number.substr(dot + 1);
    uint64_t digits = 0;
    if (fraction.size() > 6 || !ParseWhole(fraction, digits)) return Malformed("port rate", text);
    double scale = 1;
    for (std::size_t i = 0; i < fraction.size(); ++i) scale *= 10;
    rate.gbps += static_cast<double>(digits) / scale;
  }
  t.remove_prefix(space + 1);
  if (!t.starts_with("Gb/sec (") || !t.ends_with(")")) return Malformed("port rate", text);
  t.remove_prefix(8);
  t.remove_suffix(1);
  // "<width>X" or "<width>X <speed>"
  const std::size_t x = t.find('X');
  if (x == std::string_view::npos || !ParseWhole(t.substr(0, x), rate.width) ||
      !IsKnownWidth(rate.width)) {
    return Malformed("port rate", text);
  }
  std::string_view speed = t.substr(x + 1);
  if (!speed.empty()) {
    if (speed.front() != ' ') return Malformed("port rate", text);
    speed.remove_prefix(1);
    if (!IsKnownSpeed(speed)) return Malformed("port rate", text);
    rate.speed = std::string(speed);
  }
  return rate;
}

Expected<std::optional<uint64_t>> ParseCounter(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  if (t.starts_with("N/A")) return std::optional<uint64_t>();
  uint64_t value = 0;
  if (!ParseWhole(t, value)) return Malformed("counter", text);
  return std::optional<uint64_t>(value);
}

Expected<uint32_t> ParseLid(std::string_view text) {
  const std::string_view t = TrimSpace(text);
  if (t.size() < 3 || t.size() > 10 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X')) {
    return Malformed("lid", text);
  }
  uint32_t value = 0;
  if (!ParseWhole(t.substr(2), value, 16)) return Malformed("lid", text);
  return value;
}

}  // namespace nodehealth::ib
