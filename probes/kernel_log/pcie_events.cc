#include "probes/kernel_log/pcie_events.h"

#include <cctype>

#include "probes/platform/sysfs_values.h"

namespace nodehealth::pcie {
namespace {

// Strict "dddd:bb:dd.f" (the form dev_name() gives a PCI device), normalized.
std::optional<std::string> StrictBusId(std::string_view text) {
  if (text.size() != 12 || text[4] != ':' || text[7] != ':' || text[10] != '.') return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7 || i == 10) continue;
    if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  Expected<std::string> normalized = platform::NormalizePciBusId(text);
  if (!normalized) return std::nullopt;
  return *normalized;
}

bool Consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

// "Corrected", "Uncorrected (Non-Fatal)", ... at the start of `text`; consumes it.
std::optional<AerSeverity> ConsumeSeverity(std::string_view& text) {
  struct Spelling {
    std::string_view text;
    AerSeverity severity;
  };
  static constexpr Spelling kSpellings[] = {
      {"Uncorrected (Non-Fatal)", AerSeverity::kNonFatal},
      {"Uncorrectable (Non-Fatal)", AerSeverity::kNonFatal},
      {"Uncorrected (Fatal)", AerSeverity::kFatal},
      {"Uncorrectable (Fatal)", AerSeverity::kFatal},
      {"Corrected", AerSeverity::kCorrected},
      {"Correctable", AerSeverity::kCorrected},
  };
  for (const Spelling& s : kSpellings) {
    if (Consume(text, s.text)) return s.severity;
  }
  return std::nullopt;
}

std::optional<PcieLogEvent> ParseAer(std::string_view rest, const std::string& device) {
  PcieLogEvent event;
  event.device = device;
  if (Consume(rest, "PCIe Bus Error: severity=")) {
    std::optional<AerSeverity> severity = ConsumeSeverity(rest);
    if (!severity || !rest.starts_with(",")) return std::nullopt;
    event.kind = PcieLogKind::kAerBusError;
    event.severity = *severity;
    return event;
  }
  // "   [%2d] %-22s%s": spaces, '[', a number padded to two columns, ']', the name.
  std::string_view bit = rest;
  while (!bit.empty() && bit.front() == ' ') bit.remove_prefix(1);
  if (Consume(bit, "[")) {
    while (!bit.empty() && bit.front() == ' ') bit.remove_prefix(1);
    int value = 0;
    std::size_t digits = 0;
    while (digits < bit.size() && digits < 3 &&
           std::isdigit(static_cast<unsigned char>(bit[digits]))) {
      value = value * 10 + (bit[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 2 || value > 31) return std::nullopt;
    bit.remove_prefix(digits);
    if (!Consume(bit, "] ")) return std::nullopt;
    while (!bit.empty() && bit.front() == ' ') bit.remove_prefix(1);
    // The name runs to the padding; " (First)" may follow it. "Unknown Error Bit" has spaces, so
    // cut at two spaces or at " (First)".
    std::size_t end = bit.find("  ");
    const std::size_t first = bit.find(" (First)");
    if (first < end) end = first;
    std::string_view name = platform::TrimSpace(bit.substr(0, end));
    if (name.empty() || name.size() > 64) return std::nullopt;
    for (char c : name) {
      if (!std::isprint(static_cast<unsigned char>(c))) return std::nullopt;
    }
    event.kind = PcieLogKind::kAerErrorBit;
    event.bit = value;
    event.name = std::string(name);
    return event;
  }
  // aer_print_port_info: "[Multiple ]<severity> error message received from <bdf>" (6.0+) or
  // "[Multiple ]<severity> error received: <bdf>" (before).
  if (Consume(rest, "Multiple ")) event.multiple = true;
  std::optional<AerSeverity> severity = ConsumeSeverity(rest);
  if (!severity) return std::nullopt;
  if (!Consume(rest, " error message received from ") && !Consume(rest, " error received: ")) {
    return std::nullopt;
  }
  std::optional<std::string> source = StrictBusId(platform::TrimSpace(rest));
  if (!source) return std::nullopt;
  event.kind = PcieLogKind::kAerReceived;
  event.severity = *severity;
  event.source = *source;
  return event;
}

std::optional<PcieLogEvent> ParseHotplug(std::string_view rest, const std::string& device) {
  // "Slot(%s): Link Down"; the slot name is the physical slot number or a firmware name.
  if (!Consume(rest, "Slot(")) return std::nullopt;
  const std::size_t close = rest.find("): ");
  if (close == std::string_view::npos || close == 0 || close > 64) return std::nullopt;
  PcieLogEvent event;
  event.device = device;
  event.name = std::string(rest.substr(0, close));
  rest.remove_prefix(close + 3);
  rest = platform::TrimSpace(rest);
  if (rest == "Link Down") {
    event.kind = PcieLogKind::kLinkDown;
  } else if (rest == "Link Up") {
    event.kind = PcieLogKind::kLinkUp;
  } else {
    return std::nullopt;
  }
  return event;
}

}  // namespace

std::string_view ToString(AerSeverity severity) {
  switch (severity) {
    case AerSeverity::kCorrected:
      return "correctable";
    case AerSeverity::kNonFatal:
      return "nonfatal";
    case AerSeverity::kFatal:
      return "fatal";
  }
  return "?";
}

std::optional<PcieLogEvent> ParsePcieLogEvent(std::string_view message) {
  if (message.size() > kMaxPcieLogMessage) return std::nullopt;
  // "<driver> <bdf>: "
  const std::size_t space = message.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 64) return std::nullopt;
  std::string_view rest = message.substr(space + 1);
  const std::size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  std::optional<std::string> device = StrictBusId(rest.substr(0, colon));
  if (!device) return std::nullopt;
  rest.remove_prefix(colon + 2);
  if (Consume(rest, "AER: ")) return ParseAer(rest, *device);
  if (Consume(rest, "pciehp: ")) return ParseHotplug(rest, *device);
  // Kernels before 5.0 printed the AER lines without the "AER: " prefix; only the bus-error line
  // is unambiguous enough to take without it.
  if (rest.starts_with("PCIe Bus Error: ")) return ParseAer(rest, *device);
  return ParseHotplug(rest, *device);
}

}  // namespace nodehealth::pcie
