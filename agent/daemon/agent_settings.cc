#include "agent/daemon/agent_settings.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "agent/http/listen_socket.h"
#include "probes/all_probes.h"
#include "probes/platform/file_system.h"

namespace nodehealth::agent {
namespace {

constexpr const char* kDefaultNvml = "libnvidia-ml.so.1";

bool Listed(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

Expected<ResolvedSettings> ResolveAgentSettings(const AgentOptions& options,
                                                const NodeFacts& facts) {
  const CheckOptions& common = options.common;
  Expected<Config> config = LoadConfig(common.config.value_or(std::string(kDefaultConfigPath)),
                                       /*optional=*/!common.config.has_value());
  if (!config) return MakeError("invalid config: " + config.error().message);

  ResolvedSettings s;
  const std::vector<std::string> only = common.only.empty() ? config->only : common.only;
  const std::vector<std::string> skip = common.skip.empty() ? config->skip : common.skip;
  for (const auto* list : {&only, &skip}) {
    for (const std::string& name : *list) {
      if (FindProbe(name) == nullptr) return MakeError("unknown probe \"" + name + "\"");
    }
  }

  const std::string requested = common.profile.value_or(config->profile.value_or("auto"));
  Expected<ProfileChoice> choice = ChooseProfile(requested, facts, ProfileSearchPath());
  if (!choice) return MakeError("invalid profile: " + choice.error().message);
  if (choice->profile) s.profile = std::make_shared<const Profile>(std::move(*choice->profile));
  s.profile_requested = choice->requested;
  s.profile_reason = choice->reason;

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
  s.nvml_library = common.nvml_library.value_or(config->nvml_library.value_or(kDefaultNvml));
  s.active_interval_seconds = config->agent.active_interval_seconds;

  for (const auto& probe : AllProbes()) {
    const ProbeInfo& info = probe->info();
    const bool selected = only.empty() ? !Listed(skip, info.name) : Listed(only, info.name);
    if (!selected) continue;
    if (info.agent_source == AgentSource::kKernelLogWatch) {
      s.kernel_log_probe = probe.get();  // the watch stands for it
      continue;
    }
    std::chrono::milliseconds timeout = info.timeout;
    if (auto it = config->probe_timeout_seconds.find(std::string(info.name));
        it != config->probe_timeout_seconds.end()) {
      timeout = std::chrono::milliseconds(static_cast<int64_t>(it->second * 1000));
    }
    if (info.kind == ProbeKind::kPassive) {
      // --timeout caps each passive probe: a round never takes longer.
      timeout = std::min(
          timeout, std::chrono::milliseconds(static_cast<int64_t>(common.timeout_seconds * 1000)));
      s.passive.push_back({probe.get(), timeout});
    } else if (config->agent.active_probes.empty() ||
               Listed(config->agent.active_probes, info.name)) {
      // Active probes load the hardware: never on the passive schedule, only on demand
      // (SIGUSR1) or every active_interval_seconds when the config names them.
      s.active.push_back({probe.get(), timeout});
    }
  }
  if (!config->agent.active_probes.empty() && !s.active_interval_seconds) {
    s.active_interval_seconds = 24 * 3600;
  }
  if (config->agent.active_probes.empty()) s.active_interval_seconds.reset();

  s.drain = config->drain;
  for (const auto& [code, action] : config->action_overrides) {
    CodeRule& rule = s.drain.codes[code];
    if (!rule.action) rule.action = action;
  }
  s.config = std::move(*config);
  return s;
}

}  // namespace nodehealth::agent
