#include "agent/policy/report_support.h"

#include <unistd.h>

#include <chrono>

#include "probes/platform/sysfs_values.h"

namespace nodehealth {

std::string NodeName(const platform::FileSystem& fs) {
  // Under --sysroot the recorded node's own hostname names the report.
  if (Expected<std::string> name = fs.ReadFile("/proc/sys/kernel/hostname", 256)) {
    std::string_view trimmed = platform::TrimSpace(*name);
    if (!trimmed.empty()) return std::string(trimmed);
  }
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) == 0) return buffer;
  return "unknown";
}

std::string BootId(const platform::FileSystem& fs) {
  if (Expected<std::string> id = fs.ReadFile("/proc/sys/kernel/random/boot_id", 128)) {
    const std::string_view trimmed = platform::TrimSpace(*id);
    if (!trimmed.empty()) return std::string(trimmed);
  }
  return "unknown";
}

void ApplyActionOverrides(const std::map<std::string, Action>& overrides, ProbeResult& probe) {
  if (overrides.empty()) return;
  for (Finding& finding : probe.findings) {
    const auto it = overrides.find(finding.code);
    if (it == overrides.end()) continue;
    finding.action = it->second;
    finding.severity = ImpliesDrain(it->second) ? Severity::kFail : Severity::kWarn;
  }
  if (probe.verdict == ProbeVerdict::kFail || probe.verdict == ProbeVerdict::kWarn ||
      probe.verdict == ProbeVerdict::kPass) {
    probe.verdict = ProbeVerdict::kPass;
    FinalizeVerdict(probe);
  }
}

void ApplyActionOverrides(const std::map<std::string, Action>& overrides,
                          std::vector<ProbeResult>& results) {
  for (ProbeResult& probe : results) ApplyActionOverrides(overrides, probe);
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace nodehealth
