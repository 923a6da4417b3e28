#include "probes/kernel_log/xid_tally.h"

#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/xid_catalog.h"
#include "probes/kernel_log/xid_event.h"
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

}  // namespace nodehealth
