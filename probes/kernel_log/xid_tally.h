// XID occurrences tallied from kernel-log lines, and the gpu_xid findings and measurements a
// tally makes. Shared by the gpu_xid probe (one pass over the log) and the agent's kernel-log watch
// (which follows the log between rounds), so `check` and the agent report the same findings.
//
// Thread safety: XidTally is a plain value; ReportXids is pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "probes/action.h"
#include "probes/probe_result.h"

namespace nodehealth {

// XID occurrences gathered from log lines: pure, so tests can feed lines directly.
class XidTally {
 public:
  // Feeds one raw log line (any supported format).
  void AddLine(std::string_view line);

  struct Entry {
    std::string bus_id;  // empty when the line names no GPU
    int xid = 0;
    uint64_t count = 0;
    std::string first_line;
    std::string last_line;
    std::string last_detail;  // XID 154 acts on its latest occurrence
    Action worst_action = Action::kNone;
    std::string worst_reason;
    bool fallen_off_bus_report = false;
  };

  // Keyed by (bus id, XID).
  const std::map<std::pair<std::string, int>, Entry>& entries() const { return entries_; }
  uint64_t lines() const { return lines_; }
  uint64_t sequence_gaps() const { return sequence_gaps_; }

 private:
  std::map<std::pair<std::string, int>, Entry> entries_;
  uint64_t lines_ = 0;
  uint64_t sequence_gaps_ = 0;
  std::optional<uint64_t> last_sequence_;
};

// Findings and measurements from a finished tally.
void ReportXids(const XidTally& tally, std::string_view source, ProbeResult& result);

}  // namespace nodehealth
