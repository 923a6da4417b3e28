// What /report leaves out by default: the process names and PIDs that kernel-log lines carry.
// The NVIDIA driver names the process that owned the faulting channel in XID lines, and the mlx5
// driver the task that issued a failing command; on a shared node those are other users' jobs,
// which `dmesg_restrict` hides from them, while /report may be read by anyone who reaches the
// endpoint. `[agent] report_process_names = true` keeps them (docs/agent.md, "What the endpoint
// shows").
//
// The forms, from the driver sources' messages and the captures in tests/fixtures and
// ../shared/fixtures/peer:
//   NVRM: Xid (PCI:0000:53:00): 31, pid=1234, name=python3, Ch 00000008, ...
//       -> pid=<redacted>, name=<redacted>, Ch 00000008, ...
//   NVRM: Xid (PCI:0000:53:00): 13, pid='<unknown>', name=<unknown>, Graphics ...   (kept: no data)
//   mlx5_core 0000:0c:00.0: mlx5_cmd_out_err:838:(pid 1234): CREATE_MKEY(0x200) ...
//       -> (pid <redacted>)
//   CPU: 3 PID: 1234 Comm: nvidia-smi Tainted: P  OE ...     (a kernel warning's header)
//       -> PID: <redacted> Comm: <redacted> Tainted: ...
// A process name runs to the next ", " (the driver's separator) or the end of the line: a name
// that itself contains ", " loses only its first part, which its own owner chose.
//
// Only the served report is redacted: the findings the drain policy reads, the status file and
// `check`'s output (root's, for root) keep the lines whole.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nodehealth::agent {

inline constexpr std::string_view kRedacted = "<redacted>";

std::string RedactProcessIdentities(std::string_view text);

// Every string in `json` (keys untouched).
void RedactProcessIdentities(nlohmann::ordered_json& json);

}  // namespace nodehealth::agent
