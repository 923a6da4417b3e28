#include "agent/policy/kernel_xid_events.h"

#include <cmath>

#include "agent/policy/report_support.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/xid_event.h"
#include "probes/platform/kernel_log_source.h"

namespace nodehealth::agent {

KernelClock ReadKernelClock(const platform::FileSystem& fs) {
  KernelClock clock;
  clock.now = UnixNow();
  Expected<std::string> text = fs.ReadFile("/proc/uptime", 256);
  if (!text) return clock;
  try {
    const double uptime = std::stod(*text);
    // "nan" or "inf" parse too; a time computed from them would fall outside every window.
    if (std::isfinite(uptime) && uptime >= 0) clock.uptime = uptime;
  } catch (...) {  // std::stod throws on text that is not a number: no uptime, records are "now"
  }
  return clock;
}

double KernelRecordTime(std::optional<uint64_t> monotonic_usec, const KernelClock& clock) {
  if (!monotonic_usec || !clock.uptime) return clock.now;
  const double since_boot = static_cast<double>(*monotonic_usec) / 1e6;
  if (since_boot > *clock.uptime) return clock.now;
  return clock.now - (*clock.uptime - since_boot);
}

Expected<std::vector<XidEventRecord>> ReadKernelXidEvents(const platform::FileSystem& fs,
                                                          const std::string& boot_id,
                                                          platform::Deadline deadline) {
  const KernelClock clock = ReadKernelClock(fs);
  std::vector<XidEventRecord> events;
  Expected<platform::KernelLogStats> stats =
      platform::ReadKernelLog(fs, deadline, [&](std::string_view line) {
        // Every NVIDIA driver report carries "NVRM": one search rejects the other lines, which
        // are almost all of them.
        if (line.find("NVRM") == std::string_view::npos) return;
        const KernelLogLine parsed = ParseKernelLogLine(line);
        if (parsed.continuation) return;
        const std::optional<XidEvent> xid = ParseXidMessage(parsed.message);
        if (!xid) return;
        events.push_back(XidEventRecord{.boot_id = boot_id,
                                        .sequence = parsed.sequence.value_or(0),
                                        .time = KernelRecordTime(parsed.monotonic_usec, clock),
                                        .bus_id = xid->bus_id,
                                        .xid = xid->xid});
      });
  if (!stats) return stats.error();
  return events;
}

}  // namespace nodehealth::agent
