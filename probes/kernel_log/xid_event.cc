#include "probes/kernel_log/xid_event.h"

#include <algorithm>
#include <charconv>

#include "probes/platform/sysfs_values.h"

namespace nodehealth {
namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view Trim(std::string_view s) { return platform::TrimSpace(s); }

// Finds the first "dddd:bb:dd[.f]" token in `text` (a PCI address) and normalises it.
std::optional<std::string> FindPciAddress(std::string_view text) {
  for (std::size_t i = 0; i + 7 <= text.size(); ++i) {
    if (i > 0 && (IsHex(text[i - 1]) || text[i - 1] == ':')) continue;
    std::size_t j = i;
    while (j < text.size() && (IsHex(text[j]) || text[j] == ':' || text[j] == '.')) ++j;
    std::string_view token = text.substr(i, j - i);
    if (token.size() < 7) continue;
    while (!token.empty() && (token.back() == '.' || token.back() == ':')) token.remove_suffix(1);
    if (Expected<std::string> id = platform::NormalizePciBusId(token)) {
      // Require the domain form ("0000:3b:00"): a bare "3b:00" is too ambiguous in free text.
      if (std::count(token.begin(), token.end(), ':') == 2) return *id;
    }
    i = j;
  }
  return std::nullopt;
}

std::optional<XidEvent> ParseXidLine(std::string_view message, std::size_t at) {
  // at -> "Xid (" ... "): <number>, ..."
  std::string_view rest = message.substr(at + 5);
  const std::size_t close = rest.find(')');
  if (close == std::string_view::npos || close > 40) return std::nullopt;
  std::string_view tag = rest.substr(0, close);
  if (tag.starts_with("PCI:")) tag.remove_prefix(4);
  XidEvent event;
  if (Expected<std::string> bus = platform::NormalizePciBusId(tag)) event.bus_id = *bus;
  rest.remove_prefix(close + 1);
  if (!rest.starts_with(":")) return std::nullopt;
  rest = Trim(rest.substr(1));
  std::size_t digits = 0;
  while (digits < rest.size() && digits < 5 && rest[digits] >= '0' && rest[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  std::from_chars(rest.data(), rest.data() + digits, event.xid);
  if (event.xid <= 0) return std::nullopt;
  rest.remove_prefix(digits);
  if (!rest.empty() && rest.front() != ',' && rest.front() != ' ') return std::nullopt;
  if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
  rest = Trim(rest);
  // Optional "pid=<n|'<unknown>'>, name=<comm|<unknown>>, ".
  if (rest.starts_with("pid=")) {
    const std::size_t comma = rest.find(',');
    std::string_view pid = rest.substr(4, comma == std::string_view::npos ? rest.npos : comma - 4);
    long value = 0;
    auto [ptr, ec] = std::from_chars(pid.data(), pid.data() + pid.size(), value);
    if (ec == std::errc() && ptr == pid.data() + pid.size()) event.pid = value;
    rest = comma == std::string_view::npos ? std::string_view() : Trim(rest.substr(comma + 1));
    if (rest.starts_with("name=")) {
      // Process names may contain spaces and commas are rare; the name ends at ", ".
      const std::size_t end = rest.find(", ");
      std::string_view name = rest.substr(5, end == std::string_view::npos ? rest.npos : end - 5);
      if (name != "<unknown>") event.process = std::string(name.substr(0, 64));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    }
  }
  event.detail = rest;
  return event;
}

}  // namespace

std::optional<XidEvent> ParseXidMessage(std::string_view message) {
  // Cheap rejection first: every NVIDIA driver report carries "NVRM".
  if (message.find("NVRM") == std::string_view::npos) return std::nullopt;
  for (std::size_t at = message.find("Xid ("); at != std::string_view::npos;
       at = message.find("Xid (", at + 1)) {
    if (at > 0 && message[at - 1] == 'S') continue;  // NVSwitch SXid
    if (std::optional<XidEvent> event = ParseXidLine(message, at)) return event;
  }
  if (message.find("fallen off the bus") != std::string_view::npos) {
    XidEvent event;
    event.xid = kXidFallenOffBus;
    event.fallen_off_bus_report = true;
    if (std::optional<std::string> bus = FindPciAddress(message)) event.bus_id = *bus;
    event.detail = message;
    return event;
  }
  return std::nullopt;
}

std::optional<unsigned> ParseRecoveryActionChange(std::string_view detail) {
  const std::size_t changed = detail.find("recovery action changed");
  if (changed == std::string_view::npos) return std::nullopt;
  const std::size_t to = detail.find(" to ", changed);
  if (to == std::string_view::npos) return std::nullopt;
  std::string_view value = Trim(detail.substr(to + 4));
  if (!value.starts_with("0x")) return std::nullopt;
  value.remove_prefix(2);
  unsigned code = 0;
  auto [ptr, ec] = std::from_chars(value.data(),
                                   value.data() + std::min<std::size_t>(8, value.size()), code, 16);
  if (ec != std::errc()) return std::nullopt;
  return code;
}

std::optional<bool> ParseNvlinkFatal(std::string_view detail) {
  // Whole-word match: "Nonfatal" contains "fatal".
  auto has_word = [&](std::string_view word) {
    for (std::size_t at = detail.find(word); at != std::string_view::npos;
         at = detail.find(word, at + 1)) {
      const bool start = at == 0 || detail[at - 1] == ' ' || detail[at - 1] == ',';
      const std::size_t end = at + word.size();
      const bool stop = end == detail.size() || detail[end] == ' ' || detail[end] == ',';
      if (start && stop) return true;
    }
    return false;
  };
  if (has_word("Nonfatal") || has_word("NonFatal") || has_word("Non-fatal")) return false;
  if (has_word("Fatal")) return true;
  return std::nullopt;
}

}  // namespace nodehealth
