// Small pieces shared by `check`/`burnin` and the agent when they assemble a report.
//
// Thread safety: pure functions (NodeName and BootId read files).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "probes/action.h"
#include "probes/platform/file_system.h"
#include "probes/probe_result.h"

namespace nodehealth {

// The node's name: the recorded node's hostname under --sysroot, else gethostname(2).
std::string NodeName(const platform::FileSystem& fs);

// /proc/sys/kernel/random/boot_id (the recorded node's under --sysroot), "unknown" when absent.
std::string BootId(const platform::FileSystem& fs);

// The config's per-code action overrides ([actions]); severity follows the new action and the
// probe's verdict is recomputed.
void ApplyActionOverrides(const std::map<std::string, Action>& overrides, ProbeResult& result);
void ApplyActionOverrides(const std::map<std::string, Action>& overrides,
                          std::vector<ProbeResult>& results);

// Now as Unix time in seconds (the agent's timestamps: findings, policy, metrics).
double UnixNow();

}  // namespace nodehealth
