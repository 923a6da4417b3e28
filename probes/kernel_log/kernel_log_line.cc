#include "probes/kernel_log/kernel_log_line.h"

#include <array>
#include <charconv>

namespace nodehealth {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ParseU64(std::string_view text, uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// "pri,seq,usec,flags[,more];message"
bool ParseKmsgRecord(std::string_view line, KernelLogLine& out) {
  const std::size_t semicolon = line.find(';');
  if (semicolon == std::string_view::npos || semicolon > 128) return false;
  std::string_view prefix = line.substr(0, semicolon);
  std::array<std::string_view, 3> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t comma = prefix.find(',');
    if (comma == std::string_view::npos) return false;
    fields[i] = prefix.substr(0, comma);
    prefix.remove_prefix(comma + 1);
  }
  uint64_t priority = 0;
  uint64_t sequence = 0;
  uint64_t usec = 0;
  if (!ParseU64(fields[0], priority) || !ParseU64(fields[1], sequence) ||
      !ParseU64(fields[2], usec)) {
    return false;
  }
  out.level = static_cast<int>(priority & 7);
  out.sequence = sequence;
  out.monotonic_usec = usec;
  out.message = line.substr(semicolon + 1);
  return true;
}

// "[  123.456789] " -> seconds, consumed.
bool ConsumeBracketSeconds(std::string_view& rest, KernelLogLine& out) {
  if (rest.size() < 3 || rest[0] != '[') return false;
  const std::size_t close = rest.find(']');
  if (close == std::string_view::npos || close > 24) return false;
  std::string_view inside = rest.substr(1, close - 1);
  while (!inside.empty() && inside.front() == ' ') inside.remove_prefix(1);
  const std::size_t dot = inside.find('.');
  if (dot == std::string_view::npos) return false;
  uint64_t seconds = 0;
  uint64_t fraction = 0;
  std::string_view frac_text = inside.substr(dot + 1);
  if (!ParseU64(inside.substr(0, dot), seconds) || !ParseU64(frac_text, fraction) ||
      frac_text.size() > 9) {
    return false;
  }
  for (std::size_t i = frac_text.size(); i < 6; ++i) fraction *= 10;
  for (std::size_t i = 6; i < frac_text.size(); ++i) fraction /= 10;
  out.monotonic_usec = seconds * 1000000 + fraction;
  rest.remove_prefix(close + 1);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return true;
}

// "[Sun Feb 23 16:24:18 2025] " (dmesg -T / --ctime).
bool ConsumeBracketCtime(std::string_view& rest, KernelLogLine& out) {
  if (rest.size() < 26 || rest[0] != '[') return false;
  const std::size_t close = rest.find(']');
  if (close == std::string_view::npos || close < 20 || close > 32) return false;
  std::string_view inside = rest.substr(1, close - 1);
  // Weekday, month, day, hh:mm:ss, year: five space-separated parts with a colon in the fourth.
  if (inside.size() < 3 || inside[3] != ' ' || inside.find(':') == std::string_view::npos) {
    return false;
  }
  out.wall_time = inside;
  rest.remove_prefix(close + 1);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return true;
}

// "2024-11-15T12:02:03,470068+00:00 " or "2025-01-02T15:20:12+0800 ".
bool ConsumeIsoTime(std::string_view& rest, KernelLogLine& out) {
  if (rest.size() < 20 || !IsDigit(rest[0]) || rest[4] != '-' || rest[7] != '-' ||
      rest[10] != 'T' || rest[13] != ':' || rest[16] != ':') {
    return false;
  }
  const std::size_t space = rest.find(' ');
  if (space == std::string_view::npos || space > 40) return false;
  out.wall_time = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return true;
}

// "Nov 15 12:02:03 " (traditional syslog, e.g. /var/log/syslog and kern.log).
bool ConsumeSyslogTime(std::string_view& rest, KernelLogLine& out) {
  if (rest.size() < 16 || rest[3] != ' ') return false;
  for (int i = 0; i < 3; ++i) {
    const char c = rest[static_cast<std::size_t>(i)];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  // Day is space-padded to two characters: "Nov  5 ...".
  if (!(IsDigit(rest[5]) && (IsDigit(rest[4]) || rest[4] == ' ')) || rest[6] != ' ' ||
      rest[9] != ':' || rest[12] != ':' || rest[15] != ' ') {
    return false;
  }
  out.wall_time = rest.substr(0, 15);
  rest.remove_prefix(16);
  return true;
}

// "kern  :warn  : " (dmesg --decode).
bool ConsumeDecodePrefix(std::string_view& rest, KernelLogLine& out) {
  static constexpr std::array<std::string_view, 8> kLevels = {"emerg", "alert",  "crit", "err",
                                                              "warn",  "notice", "info", "debug"};
  const std::size_t first = rest.find(':');
  if (first == std::string_view::npos || first == 0 || first > 10) return false;
  for (std::size_t i = 0; i < first; ++i) {
    const char c = rest[i];
    if (!((c >= 'a' && c <= 'z') || c == ' ' || IsDigit(c))) return false;
  }
  const std::size_t second = rest.find(':', first + 1);
  if (second == std::string_view::npos || second - first > 10) return false;
  std::string_view level = rest.substr(first + 1, second - first - 1);
  while (!level.empty() && level.back() == ' ') level.remove_suffix(1);
  for (std::size_t i = 0; i < kLevels.size(); ++i) {
    if (level == kLevels[i]) {
      out.level = static_cast<int>(i);
      rest.remove_prefix(second + 1);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      return true;
    }
  }
  return false;
}

// "host kernel: " after a journal/syslog timestamp.
void ConsumeHostKernel(std::string_view& rest) {
  const std::size_t space = rest.find(' ');
  if (space == std::string_view::npos || space == 0) return;
  if (rest.substr(space + 1).starts_with("kernel: ")) rest.remove_prefix(space + 1 + 8);
}

}  // namespace

KernelLogLine ParseKernelLogLine(std::string_view line) {
  KernelLogLine out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.empty() && line.front() == ' ') {
    out.continuation = true;
    out.message = line;
    return out;
  }
  if (!line.empty() && IsDigit(line.front()) && ParseKmsgRecord(line, out)) return out;

  std::string_view rest = line;
  ConsumeDecodePrefix(rest, out);
  if (ConsumeIsoTime(rest, out) || ConsumeSyslogTime(rest, out)) {
    ConsumeHostKernel(rest);
    ConsumeBracketSeconds(rest, out);  // syslog lines may carry the dmesg stamp too
  } else if (!ConsumeBracketSeconds(rest, out)) {
    ConsumeBracketCtime(rest, out);
  }
  out.message = rest;
  return out;
}

}  // namespace nodehealth
