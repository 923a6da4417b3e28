#include "probes/kernel_log/link_events.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace nodehealth::ib {
namespace {

bool IsInterfaceChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '@';
}

// The interface name that ends right before `colon` ("... ib6: lost carrier" -> "ib6").
std::string InterfaceBefore(std::string_view message, std::size_t colon) {
  std::size_t start = colon;
  while (start > 0 && IsInterfaceChar(message[start - 1])) --start;
  const std::string_view name = message.substr(start, colon - start);
  // Linux interface names are at most 15 characters (IFNAMSIZ - 1).
  if (name.empty() || name.size() > 15) return "";
  return std::string(name);
}

bool IsBusIdChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

// "mlx5_core 0000:18:00.0 ib0: Link down": the PCI function after the driver name.
std::string BusIdAfterDriver(std::string_view message) {
  const std::size_t at = message.find("mlx5_core ");
  if (at == std::string_view::npos) return "";
  std::string_view rest = message.substr(at + 10);
  std::size_t end = 0;
  while (end < rest.size() && IsBusIdChar(rest[end])) ++end;
  // "0000:18:00.0" is 12 characters.
  if (end != 12 || rest[4] != ':' || rest[7] != ':' || rest[10] != '.') return "";
  return std::string(rest.substr(0, end));
}

std::optional<LinkEvent> Match(std::string_view message, std::string_view suffix, bool down) {
  const std::size_t at = message.find(suffix);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  LinkEvent event;
  event.down = down;
  event.interface = InterfaceBefore(message, at);
  event.bus_id = BusIdAfterDriver(message.substr(0, at));
  if (event.interface.empty() && event.bus_id.empty()) return std::nullopt;
  return event;
}

}  // namespace

std::optional<LinkEvent> ParseLinkEvent(std::string_view message) {
  if (message.size() > 4096) return std::nullopt;
  if (auto e = Match(message, ": lost carrier", true)) return e;
  if (auto e = Match(message, ": Lost carrier", true)) return e;
  if (auto e = Match(message, ": Gained carrier", false)) return e;
  if (auto e = Match(message, ": Link down", true)) return e;
  if (auto e = Match(message, ": Link up", false)) return e;
  if (auto e = Match(message, ": link becomes ready", false)) return e;
  return std::nullopt;
}

void CounterWindow::Add(const std::string& key, double time_seconds, uint64_t value) {
  std::vector<Sample>& samples = samples_[key];
  if (!samples.empty() && value < samples.back().value) samples.clear();  // counter reset
  samples.push_back({time_seconds, value});
  const double oldest_kept = time_seconds - window_seconds_;
  // Keep one sample at or before the window start so the increase covers the whole window.
  auto first_inside = std::find_if(samples.begin(), samples.end(),
                                   [&](const Sample& s) { return s.time >= oldest_kept; });
  if (first_inside != samples.begin()) samples.erase(samples.begin(), first_inside - 1);
}

uint64_t CounterWindow::Increase(const std::string& key) const {
  const auto it = samples_.find(key);
  if (it == samples_.end() || it->second.size() < 2) return 0;
  const std::vector<Sample>& samples = it->second;
  return samples.back().value - samples.front().value;
}

std::optional<double> CounterWindow::OldestTime(const std::string& key) const {
  const auto it = samples_.find(key);
  if (it == samples_.end() || it->second.empty()) return std::nullopt;
  return it->second.front().time;
}

std::string CounterWindow::Serialize() const {
  std::ostringstream out;
  out.precision(17);
  for (const auto& [key, samples] : samples_) {
    const std::size_t first =
        samples.size() > kMaxSerializedSamples ? samples.size() - kMaxSerializedSamples : 0;
    for (std::size_t i = first; i < samples.size(); ++i) {
      out << key << ' ' << samples[i].time << ' ' << samples[i].value << '\n';
    }
  }
  return out.str();
}

std::size_t CounterWindow::Restore(std::string_view text) {
  std::size_t taken = 0;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t first_space = line.find(' ');
    const std::size_t last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == 0 || first_space == last_space) {
      continue;
    }
    const std::string_view key = line.substr(0, first_space);
    const std::string_view time_text = line.substr(first_space + 1, last_space - first_space - 1);
    const std::string_view value_text = line.substr(last_space + 1);
    double time = 0;
    uint64_t value = 0;
    const auto time_parsed =
        std::from_chars(time_text.data(), time_text.data() + time_text.size(), time);
    const auto value_parsed =
        std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
    if (time_parsed.ec != std::errc() || time_parsed.ptr != time_text.data() + time_text.size() ||
        value_parsed.ec != std::errc() ||
        value_parsed.ptr != value_text.data() + value_text.size() || !std::isfinite(time)) {
      continue;
    }
    std::vector<Sample>& samples = samples_[std::string(key)];
    if (!samples.empty() && time < samples.back().time) continue;
    if (samples.size() >= kMaxSerializedSamples) samples.erase(samples.begin());
    Add(std::string(key), time, value);
    ++taken;
  }
  return taken;
}

}  // namespace nodehealth::ib
