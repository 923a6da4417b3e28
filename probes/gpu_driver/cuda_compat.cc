#include "probes/gpu_driver/cuda_compat.h"

#include <array>
#include <charconv>

#include "probes/platform/sysfs_values.h"

namespace nodehealth {
namespace {

struct ToolkitRow {
  int major;
  int minor;
  int update;
  std::string_view driver;
};

// CUDA Toolkit release notes, Table 3 "CUDA Toolkit and Corresponding Driver Versions", Linux
// x86_64 column (rows as printed by NVIDIA; there is no 12.7 release). Where an update kept the GA
// driver it is not repeated: lookups take the last row at or below the asked update.
constexpr std::array<ToolkitRow, 38> kToolkitDrivers = {{
    {11, 0, 0, "450.51.05"},  {11, 0, 1, "450.51.06"}, {11, 1, 0, "455.23"},
    {11, 1, 1, "455.32"},     {11, 2, 0, "460.27.03"}, {11, 2, 1, "460.32.03"},
    {11, 3, 0, "465.19.01"},  {11, 4, 0, "470.42.01"}, {11, 4, 1, "470.57.02"},
    {11, 4, 3, "470.82.01"},  {11, 5, 0, "495.29.05"}, {11, 6, 0, "510.39.01"},
    {11, 6, 1, "510.47.03"},  {11, 7, 0, "515.43.04"}, {11, 7, 1, "515.48.07"},
    {11, 8, 0, "520.61.05"},  {12, 0, 0, "525.60.13"}, {12, 0, 1, "525.85.12"},
    {12, 1, 0, "530.30.02"},  {12, 2, 0, "535.54.03"}, {12, 2, 1, "535.86.09"},
    {12, 2, 2, "535.104.05"}, {12, 3, 0, "545.23.06"}, {12, 3, 1, "545.23.08"},
    {12, 4, 0, "550.54.14"},  {12, 4, 1, "550.54.15"}, {12, 5, 0, "555.42.02"},
    {12, 5, 1, "555.42.06"},  {12, 6, 0, "560.28.03"}, {12, 6, 1, "560.35.03"},
    {12, 6, 3, "560.35.05"},  {12, 8, 0, "570.26"},    {12, 8, 1, "570.124.06"},
    {12, 9, 0, "575.51.03"},  {12, 9, 1, "575.57.08"}, {13, 0, 0, "580.65.06"},
    {13, 0, 1, "580.82.07"},  {13, 0, 2, "580.95.05"},
}};

bool ParseInt(std::string_view text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// "12.2.2" / "12.2" / "12.6.20241114" -> CudaVersion.
Expected<CudaVersion> ParseDotted(std::string_view text) {
  text = platform::TrimSpace(text);
  CudaVersion v;
  const std::size_t first = text.find('.');
  if (first == std::string_view::npos) return MakeError("malformed CUDA version");
  const std::size_t second = text.find('.', first + 1);
  if (!ParseInt(text.substr(0, first), v.major) ||
      !ParseInt(text.substr(first + 1, second - first - 1), v.minor)) {
    return MakeError("malformed CUDA version \"" + std::string(text.substr(0, 32)) + "\"");
  }
  if (second != std::string_view::npos) {
    int third = 0;
    if (!ParseInt(text.substr(second + 1), third)) {
      return MakeError("malformed CUDA version \"" + std::string(text.substr(0, 32)) + "\"");
    }
    v.update = third < 100 ? third : -1;
  }
  if (v.major < 1 || v.major > 99 || v.minor < 0 || v.minor > 99) {
    return MakeError("implausible CUDA version \"" + std::string(text.substr(0, 32)) + "\"");
  }
  return v;
}

// Skips JSON whitespace.
std::size_t SkipSpace(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  return i;
}

}  // namespace

std::string CudaVersion::ToString() const {
  std::string out = std::to_string(major) + "." + std::to_string(minor);
  if (update > 0) out += " Update " + std::to_string(update);
  return out;
}

Expected<CudaVersion> ParseCudaVersionJson(std::string_view text) {
  // A targeted reader, not a JSON parser: find the top-level "cuda" object and its "version"
  // string. Other components ("cuda_cudart", ...) have keys that merely start with "cuda".
  std::size_t pos = 0;
  while ((pos = text.find("\"cuda\"", pos)) != std::string_view::npos) {
    std::size_t i = SkipSpace(text, pos + 6);
    pos += 6;
    if (i >= text.size() || text[i] != ':') continue;
    i = SkipSpace(text, i + 1);
    if (i >= text.size() || text[i] != '{') continue;
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) break;
    std::string_view object = text.substr(i, close - i);
    std::size_t key = object.find("\"version\"");
    if (key == std::string_view::npos) break;
    std::size_t j = SkipSpace(object, key + 9);
    if (j >= object.size() || object[j] != ':') break;
    j = SkipSpace(object, j + 1);
    if (j >= object.size() || object[j] != '"') break;
    const std::size_t end = object.find('"', j + 1);
    if (end == std::string_view::npos) break;
    return ParseDotted(object.substr(j + 1, end - j - 1));
  }
  return MakeError("no \"cuda\" version in version.json");
}

Expected<CudaVersion> ParseCudaVersionTxt(std::string_view text) {
  text = platform::TrimSpace(text);
  constexpr std::string_view kPrefix = "CUDA Version ";
  if (!text.starts_with(kPrefix)) return MakeError("unrecognised CUDA version.txt");
  Expected<CudaVersion> v = ParseDotted(text.substr(kPrefix.size(), text.find('\n')));
  if (!v) return v;
  v->update = 0;  // the third number is a build number, not an update
  return v;
}

std::optional<CudaVersion> CudaVersionFromRuntimeFile(std::string_view name) {
  constexpr std::string_view kPrefix = "libcudart.so.";
  if (!name.starts_with(kPrefix)) return std::nullopt;
  Expected<CudaVersion> v = ParseDotted(name.substr(kPrefix.size()));
  if (!v) return std::nullopt;
  v->update = 0;
  return *v;
}

std::optional<std::string_view> ToolkitDriverVersion(const CudaVersion& version) {
  const int update = version.update < 0 ? 0 : version.update;
  std::optional<std::string_view> found;
  for (const ToolkitRow& row : kToolkitDrivers) {
    if (row.major == version.major && row.minor == version.minor && row.update <= update) {
      found = row.driver;
    }
  }
  return found;
}

std::optional<std::string_view> MinorCompatibilityFloor(int major) {
  switch (major) {
    case 11:
      return "450.80.02";
    case 12:
      return "525.60.13";
    case 13:
      return "580.65.06";
    default:
      return std::nullopt;
  }
}

}  // namespace nodehealth
