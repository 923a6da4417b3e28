// `nodehealth agent`: its command-line options, and the settings resolved from them, the config
// file and the profile. Resolved at start and again on SIGHUP (a reload that fails keeps the
// running settings).
//
// Precedence: command line, then nodehealth.toml, then defaults ($STATE_DIRECTORY, set by
// systemd's StateDirectory=, before /var/lib/nodehealth).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/profile_selector.h"
#include "agent/config/state_dir.h"
#include "agent/engine/check_run.h"
#include "agent/engine/run_plan.h"
#include "agent/http/http_server.h"
#include "agent/policy/drain_policy.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

struct AgentOptions {
  CheckOptions common;  // --profile, --config, --sysroot, --nvml-library, --only, --skip, ...
  std::optional<std::string> listen;       // --listen ADDR:PORT
  std::optional<double> interval_seconds;  // --interval
  std::optional<std::string> state_dir;    // --state-dir
  std::optional<std::string> web_config;   // --web-config FILE
};

inline constexpr double kDefaultIntervalSeconds = 60;
inline constexpr double kDefaultJitter = 0.1;
inline constexpr const char* kDefaultListen = "0.0.0.0:9840";

struct ResolvedSettings {
  // The config, the profile and the probes, chosen as `check` chooses them (run_plan.h, kAgent):
  // passive probes every round, active ones on SIGUSR1 and every active_interval when the config
  // names them; plan.kernel_log_probe is the selected probe the kernel-log watch reports for
  // (null: the watch still follows the log and XIDs count in the policy, but no such probe is
  // reported).
  RunPlan plan;
  std::string listen;
  double interval_seconds = kDefaultIntervalSeconds;
  double jitter = kDefaultJitter;  // +- this fraction of the interval
  std::string state_dir;
  // The web config (--web-config, else [agent] web_config; empty: none), read and its certificate
  // files loaded: null security means plain HTTP without authentication.
  std::string web_config;
  std::shared_ptr<const http::ServerSecurity> web_security;
  bool report_process_names = false;
  std::string nvml_library;
  std::string cuda_library;  // empty: the GPU worker's default (libcuda.so.1)
  std::string nccl_library;  // empty: libnccl.so.2
  std::optional<double> active_interval_seconds;
  DrainPolicyConfig drain;  // with [actions] folded in as code actions
};

// Errors: unreadable or invalid config, profile or web config (certificate files included),
// unknown probe names: what `check` exits 2 for.
Expected<ResolvedSettings> ResolveAgentSettings(const AgentOptions& options,
                                                const NodeFacts& facts);

}  // namespace nodehealth::agent
