#include "tests/support/smi_capture.h"

#include "probes/util/lines.h"

#include <charconv>

namespace nodehealth::testing {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> SmiGpu::Get(std::string_view path) const {
  const auto it = values.find(std::string(path));
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> SmiCapture::Top(std::string_view key) const {
  const auto it = top.find(std::string(key));
  if (it == top.end()) return std::nullopt;
  return it->second;
}

SmiCapture ParseSmiCapture(std::string_view text) {
  SmiCapture capture;
  std::vector<std::string> sections;  // by indentation level, below the GPU header
  SmiGpu* gpu = nullptr;
  ForEachLine(text, [&](std::string_view line) {
    if (Trim(line).empty() || line.starts_with("=")) return;
    std::size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    const std::size_t level = indent / 4;
    std::string_view body = Trim(line);
    // "Key      : value": the separator is a colon preceded by a space (bus ids contain colons).
    const std::size_t sep = body.find(" :");
    if (level == 0 && sep == std::string_view::npos && body.starts_with("GPU ")) {
      capture.gpus.push_back({std::string(body.substr(4)), {}});
      gpu = &capture.gpus.back();
      sections.clear();
      return;
    }
    if (sep == std::string_view::npos && level == 0) return;
    if (level > 0) sections.resize(level - 1);
    std::string path;
    for (const std::string& section : sections) path += section + "/";
    if (sep == std::string_view::npos) {  // a section heading
      sections.emplace_back(body);
      return;
    }
    const std::string key(Trim(body.substr(0, sep)));
    const std::string value(Trim(body.substr(sep + 2)));
    if (level == 0 || gpu == nullptr) {
      capture.top[key] = value;
      if (key == "Attached GPUs") {
        std::from_chars(value.data(), value.data() + value.size(), capture.attached_gpus);
      }
      return;
    }
    gpu->values[path + key] = value;
    // A value line can head deeper lines too ("HW Slowdown : Active" over "HW Thermal Slowdown").
    sections.push_back(key);
  });
  return capture;
}

std::map<int, std::vector<int>> ParseNvlinkStatus(std::string_view text) {
  std::map<int, std::vector<int>> links;
  int current = -1;
  ForEachLine(text, [&](std::string_view raw) {
    const std::string_view line = Trim(raw);
    if (line.starts_with("GPU ")) {
      int index = -1;
      std::string_view rest = line.substr(4);
      std::from_chars(rest.data(), rest.data() + rest.size(), index);
      current = index;
      if (current >= 0) links[current];
    } else if (line.starts_with("Link ") && current >= 0) {
      int link = -1;
      std::string_view rest = line.substr(5);
      std::from_chars(rest.data(), rest.data() + rest.size(), link);
      // "Link 3: 25 GB/s" is up; "Link 3: <inactive>" is not.
      if (link >= 0 && line.find("inactive") == std::string_view::npos)
        links[current].push_back(link);
    }
  });
  return links;
}

std::map<int, std::map<int, std::map<std::string, uint64_t>>> ParseNvlinkErrors(
    std::string_view text) {
  std::map<int, std::map<int, std::map<std::string, uint64_t>>> errors;
  int current = -1;
  ForEachLine(text, [&](std::string_view raw) {
    const std::string_view line = Trim(raw);
    if (line.starts_with("GPU ")) {
      int index = -1;
      std::string_view rest = line.substr(4);
      const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
      current = ec == std::errc() && ptr != rest.data() ? index : -1;
      if (current >= 0) errors[current];
      return;
    }
    if (!line.starts_with("Link ") || current < 0) return;
    // "Link 0: Replay Errors: 0"
    std::string_view rest = line.substr(5);
    int link = -1;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), link);
    if (ec != std::errc() || link < 0 || ptr == rest.data() || *ptr != ':') return;
    rest = Trim(rest.substr(static_cast<std::size_t>(ptr - rest.data()) + 1));
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return;
    const std::string name(Trim(rest.substr(0, colon)));
    const std::string_view number = Trim(rest.substr(colon + 1));
    uint64_t value = 0;
    const auto [vptr, vec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (vec != std::errc() || vptr != number.data() + number.size() || name.empty()) return;
    errors[current][link][name] = value;
  });
  return errors;
}

}  // namespace nodehealth::testing
