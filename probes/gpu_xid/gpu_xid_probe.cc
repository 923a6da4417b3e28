#include "probes/gpu_xid/gpu_xid_probe.h"

#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/gpu_common/node_inventory.h"
#include "probes/gpu_xid/xid_catalog.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/xid_event.h"
#include "probes/platform/kernel_log_source.h"
#include "probes/util/text.h"

namespace nodehealth {

void XidTally::AddLine(std::string_view line) {
  ++lines_;
  const KernelLogLine parsed = ParseKernelLogLine(line);
  if (parsed.continuation) return;
  if (parsed.sequence) {
    if (last_sequence_ && *parsed.sequence > *last_sequence_ + 1) ++sequence_gaps_;
    last_sequence_ = parsed.sequence;
  }
  const std::optional<XidEvent> event = ParseXidMessage(parsed.message);
  if (!event) return;
  Entry& entry = entries_[{event->bus_id, event->xid}];
  entry.bus_id = event->bus_id;
  entry.xid = event->xid;
  entry.fallen_off_bus_report |= event->fallen_off_bus_report;
  const std::string printable = Printable(line);
  if (entry.count == 0) entry.first_line = printable;
  entry.last_line = printable;
  entry.last_detail = std::string(event->detail.substr(0, 512));
  // The worst occurrence decides (a fatal NVLink5 XID among non-fatal ones), except for XIDs whose
  // meaning depends on the latest line or on other XIDs; ReportXids handles those.
  const XidVerdict verdict = ClassifyXid(event->xid, event->detail, /*solo=*/true);
  if (entry.count == 0 || verdict.action > entry.worst_action) {
    entry.worst_action = verdict.action;
    entry.worst_reason = std::string(verdict.reason);
  }
  ++entry.count;
}

void ReportXids(const XidTally& tally, std::string_view source, ProbeResult& result) {
  // Which GPUs saw more than one XID: XID 45 alone means something else than XID 45 after others.
  std::map<std::string, std::set<int>> xids_by_gpu;
  for (const auto& [key, entry] : tally.entries()) xids_by_gpu[key.first].insert(key.second);

  for (const auto& [key, entry] : tally.entries()) {
    const bool solo = xids_by_gpu[entry.bus_id].size() == 1;
    // XID 154 states the current recovery action: its latest line counts. XIDs 45 and 48 depend
    // on whether other XIDs hit the same GPU.
    const XidBucket bucket =
        FindXid(entry.xid) ? FindXid(entry.xid)->immediate : XidBucket::kUnclassified;
    XidVerdict verdict{entry.worst_action, entry.worst_reason};
    if (bucket == XidBucket::kFollowXid154 || bucket == XidBucket::kWorkflowXid45 ||
        bucket == XidBucket::kWorkflowXid48) {
      verdict = ClassifyXid(entry.xid, entry.last_detail, solo);
    }
    const XidCatalogEntry* catalog = FindXid(entry.xid);
    const std::string gpu = entry.bus_id.empty() ? "an unnamed GPU" : "GPU " + entry.bus_id;
    const std::string name = catalog ? " (" + std::string(catalog->mnemonic) + ")" : "";
    std::string message = entry.fallen_off_bus_report && entry.xid == kXidFallenOffBus
                              ? gpu +
                                    " has fallen off the bus (reported without an XID; "
                                    "treated as XID 79)"
                              : "XID " + std::to_string(entry.xid) + name + " on " + gpu;
    if (entry.count > 1) message += ", " + std::to_string(entry.count) + " times";
    message += ": " + std::string(verdict.reason);

    std::vector<Evidence> evidence;
    evidence.push_back({std::string(source), entry.first_line, ""});
    if (entry.count > 1) evidence.push_back({std::string(source), entry.last_line, ""});
    evidence.push_back(
        {"NVIDIA XID catalogue",
         "XID " + std::to_string(entry.xid) + ": immediate " +
             std::string(ToString(catalog ? catalog->immediate : XidBucket::kUnclassified)) +
             (catalog && !catalog->investigatory.empty()
                  ? ", then " + std::string(catalog->investigatory)
                  : ""),
         ""});
    Finding finding =
        MakeFinding(codes::kGpuXid, entry.bus_id.empty() ? "node" : GpuEntity(entry.bus_id),
                    std::move(message), std::move(evidence));
    finding.action = verdict.action;
    finding.severity = ImpliesDrain(verdict.action) ? Severity::kFail : Severity::kWarn;
    result.findings.push_back(std::move(finding));
    result.measurements.push_back({"gpu_xid_events_total",
                                   {{"gpu", entry.bus_id}, {"xid", std::to_string(entry.xid)}},
                                   static_cast<double>(entry.count)});
  }
  result.measurements.push_back({"kernel_log_lines", {}, static_cast<double>(tally.lines())});
  result.measurements.push_back(
      {"kernel_log_sequence_gaps", {}, static_cast<double>(tally.sequence_gaps())});
}

const ProbeInfo& GpuXidProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_xid",
      .kind = ProbeKind::kPassive,
      .summary = "XID errors in the kernel log since boot, classified by NVIDIA's XID catalogue",
      .reads = {"/dev/kmsg"},
      .codes = {codes::kGpuXid, codes::kProbeError, codes::kProbeTimeout},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("kernel_log_lines", "", "kernel log records read for XIDs"),
              GaugeMeasurement("kernel_log_sequence_gaps", "",
                               "gaps in the kernel log's record numbers: records lost before they "
                               "were read"),
              CounterMeasurement("gpu_xid_events_total", "",
                                 "NVIDIA XID events in the kernel log this boot, by GPU and XID",
                                 {"gpu", "xid"}),
          },
  };
  return kInfo;
}

ProbeResult GpuXidProbe::Run(const ProbeContext& context) const {
  ProbeResult result;
  result.name = "gpu_xid";
  const bool expects_gpus = context.profile && context.profile->gpu.count.value_or(0) > 0;
  if (!context.inventory.HasNvidiaSigns() && !expects_gpus) {
    MarkSkipped(result, "no NVIDIA GPU or driver on this node and the profile expects none");
    return result;
  }
  XidTally tally;
  Expected<platform::KernelLogStats> stats = platform::ReadKernelLog(
      context.fs, context.deadline, [&tally](std::string_view line) { tally.AddLine(line); });
  if (!stats) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot read the kernel log: " + stats.error().message,
                  {{"/dev/kmsg", stats.error().message, "readable"}});
    return result;
  }
  // Evidence names the node's path; under --sysroot the file read lives elsewhere on the host.
  ReportXids(tally, "/dev/kmsg", result);
  if (stats->overwritten > 0) {
    result.notes.push_back(std::to_string(stats->overwritten) +
                           " kernel log records were overwritten while reading");
  }
  if (tally.sequence_gaps() > 0) {
    result.notes.push_back("the kernel log has " + std::to_string(tally.sequence_gaps()) +
                           " sequence gaps (records lost to ring-buffer wrap)");
  }
  if (!stats->complete) {
    MarkUndecided(result, codes::kProbeTimeout, "node",
                  "the kernel log was not read to the end before the deadline (" +
                      std::to_string(tally.lines()) + " lines read)");
    return result;
  }
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
