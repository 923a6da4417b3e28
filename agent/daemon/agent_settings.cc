#include "agent/daemon/agent_settings.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "agent/http/listen_socket.h"
#include "probes/platform/file_system.h"

namespace nodehealth::agent {
Expected<ResolvedSettings> ResolveAgentSettings(const AgentOptions& options,
                                                const NodeFacts& facts) {
  const CheckOptions& common = options.common;
  Expected<RunPlan> plan = PlanRun(RunMode::kAgent, common, facts);
  if (!plan) return plan.error();
  ResolvedSettings s;
  s.plan = std::move(*plan);
  const Config* config = &s.plan.config;

  s.listen = options.listen.value_or(config->agent.listen.value_or(kDefaultListen));
  // A malformed address is a usage error; one that cannot be bound now is retried (agent.cc).
  if (Expected<http::ListenAddress> address = http::ParseListenAddress(s.listen); !address) {
    return address.error();
  }
  s.interval_seconds = options.interval_seconds.value_or(
      config->agent.interval_seconds.value_or(kDefaultIntervalSeconds));
  s.jitter = config->agent.jitter_fraction.value_or(kDefaultJitter);
  Expected<std::string> state_dir = ResolveStateDir(options.state_dir, *config, common.sysroot);
  if (!state_dir) return state_dir.error();
  s.state_dir = std::move(*state_dir);
  s.web_config = options.web_config.value_or(config->agent.web_config.value_or(""));
  if (!s.web_config.empty()) {
    Expected<http::WebConfig> web = http::LoadWebConfig(s.web_config);
    if (!web) return web.error();
    Expected<std::shared_ptr<const http::ServerSecurity>> security =
        http::BuildServerSecurity(*web);
    if (!security) return security.error();
    s.web_security = *security;
  }
  s.report_process_names = config->agent.report_process_names.value_or(false);
  s.nvml_library =
      common.nvml_library.value_or(config->nvml_library.value_or(std::string(kDefaultNvmlLibrary)));
  s.cuda_library = common.cuda_library.value_or(config->cuda_library.value_or(""));
  s.nccl_library = common.nccl_library.value_or(config->nccl_library.value_or(""));
  s.active_interval_seconds = config->agent.active_interval_seconds;

  if (!config->agent.active_probes.empty() && !s.active_interval_seconds) {
    s.active_interval_seconds = 24 * 3600;
  }
  if (config->agent.active_probes.empty()) s.active_interval_seconds.reset();

  s.drain = config->drain;
  for (const auto& [code, action] : config->action_overrides) {
    CodeRule& rule = s.drain.codes[code];
    if (!rule.action) rule.action = action;
  }
  return s;
}

}  // namespace nodehealth::agent
