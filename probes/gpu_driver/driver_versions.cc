#include "probes/gpu_driver/driver_versions.h"

#include <cctype>

#include "probes/platform/sysfs_values.h"
#include "probes/util/lines.h"

namespace nodehealth {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Splits on runs of spaces/tabs.
template <class F>
void ForEachToken(std::string_view text, F f) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i && f(text.substr(i, j - i))) return;
    i = j;
  }
}

}  // namespace

bool LooksLikeDriverVersion(std::string_view text) {
  if (text.empty() || text.size() > 32 || !IsDigit(text.front()) || !IsDigit(text.back())) {
    return false;
  }
  int dots = 0;
  for (char c : text) {
    if (c == '.') {
      ++dots;
    } else if (!IsDigit(c)) {
      return false;
    }
  }
  return dots >= 1 && text.find("..") == std::string_view::npos;
}

Expected<KernelModuleVersion> ParseProcDriverVersion(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  const std::size_t module = line.find("Kernel Module");
  if (!line.starts_with("NVRM version:") || module == std::string_view::npos) {
    return MakeError("unrecognised /proc/driver/nvidia/version: \"" +
                     std::string(line.substr(0, 80)) + "\"");
  }
  KernelModuleVersion result;
  result.open = line.find("Open Kernel Module") != std::string_view::npos;
  ForEachToken(line.substr(module), [&](std::string_view token) {
    if (LooksLikeDriverVersion(token)) {
      result.version = std::string(token);
      return true;
    }
    return false;
  });
  if (result.version.empty()) {
    return MakeError("no version in /proc/driver/nvidia/version: \"" +
                     std::string(line.substr(0, 80)) + "\"");
  }
  return result;
}

Expected<std::string> DriverVersionFromNvmlVersion(std::string_view nvml_version) {
  std::string_view v = platform::TrimSpace(nvml_version);
  const std::size_t dot = v.find('.');
  if (dot == std::string_view::npos || !LooksLikeDriverVersion(v.substr(dot + 1))) {
    return MakeError("unrecognised NVML version \"" + std::string(v.substr(0, 40)) + "\"");
  }
  return std::string(v.substr(dot + 1));
}

std::optional<std::string> DriverVersionFromLibraryFile(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t so = name.find(".so.");
  if (so == std::string_view::npos) return std::nullopt;
  std::string_view suffix = name.substr(so + 4);
  if (!LooksLikeDriverVersion(suffix)) return std::nullopt;  // "libnvidia-ml.so.1" is not one
  return std::string(suffix);
}

std::string FormatCudaDriverVersion(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::optional<InstalledPackage> FindFabricManagerPackage(std::string_view status) {
  // dpkg status: paragraphs of "Field: value" separated by blank lines.
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t end = status.find("\n\n", pos);
    if (end == std::string_view::npos) end = status.size();
    std::string_view paragraph = status.substr(pos, end - pos);
    pos = end + 2;
    std::string name;
    std::string version;
    bool installed = false;
    ForEachLine(paragraph, [&](std::string_view line) {
      auto value = [&](std::string_view field) -> std::optional<std::string_view> {
        if (!line.starts_with(field)) return std::nullopt;
        return platform::TrimSpace(line.substr(field.size()));
      };
      if (auto v = value("Package:")) name = std::string(*v);
      if (auto v = value("Version:")) version = std::string(*v);
      if (auto v = value("Status:")) installed = v->ends_with(" installed");
    });
    // nvidia-fabricmanager-535 (CUDA repository) or nvidia-fabricmanager (newer naming).
    if (!installed || !name.starts_with("nvidia-fabricmanager")) continue;
    if (name.find("-dev") != std::string::npos) continue;
    InstalledPackage package;
    package.name = name;
    package.version = version;
    // Debian version "535.161.08-1" or "1:535.161.08-0ubuntu1": drop epoch and revision.
    std::string_view upstream = version;
    if (const std::size_t colon = upstream.find(':'); colon != std::string_view::npos) {
      upstream.remove_prefix(colon + 1);
    }
    upstream = upstream.substr(0, upstream.find('-'));
    package.upstream_version = std::string(upstream);
    return package;
  }
  return std::nullopt;
}

}  // namespace nodehealth
