// nodehealth.toml: settings shared by `check`, `burnin` and `agent` (docs/contract.md --config).
// Command-line options override the file. Strict like profiles: unknown keys are errors.
//
//   profile = "auto"                       # FILE | NAME | auto | none
//   nvml_library = "libnvidia-ml.so.1"
//   cuda_library = "libcuda.so.1"          # the GPU worker's CUDA driver (gpu_bandwidth, nccl_...)
//   nccl_library = "libnccl.so.2"          # ... and NCCL (nccl_allreduce)
//   topology_baseline = "/var/lib/nodehealth/topology.json"   # from `nodehealth topology save`
//   state_dir = "/var/lib/nodehealth"      # agent: policy state and status file
//   [mpi_allreduce]
//   ranks = 8                              # all-reduce ranks on this node (wins over the profile)
//   [probes]
//   skip = ["gpu_xid"]                     # or only = [...]
//   [probes.timeout_seconds]
//   gpu_health = 15                        # per-probe deadline inside the run's --timeout
//   [actions]
//   gpu_clock_slowdown = "drain"           # per-code action override (none .. replace)
//   [agent]
//   listen = "0.0.0.0:9840"
//   interval_seconds = 60                  # passive probes (1 .. 86400)
//   jitter = 0.1                           # +- fraction of the interval (0 .. 0.5)
//   active_probes = ["rdma_loopback"]      # active probes the agent runs on a schedule
//   active_interval_seconds = 86400        # (60 .. 30 days)
//   http_threads = 4                       # (1 .. 64) accepted, unused since 0.2: one event loop
//   web_config = "/etc/nodehealth/web.yml" # TLS and basic auth (agent/http/web_config.h)
//   report_process_names = false           # true: /report keeps users' PIDs and process names
//   [drain]
//   noisy_rounds = 3                       # failing runs before a noisy code drains (1 .. 1000)
//   history_seconds = 604800               # XID history kept (60 .. 366 days, >= every window)
//   [drain.codes.ib_port_errors]
//   action = "drain"                       # replaces the finding's action
//   rounds = 5                             # failing runs in a row (1 .. 1000)
//   sticky = true                          # held until reboot or a passing run
//   [slurm]                                # `nodehealth slurm-healthcheck` (docs/slurm.md)
//   scontrol = "/usr/bin/scontrol"         # default: /usr/bin, /usr/local/bin, /opt/slurm/bin
//   slurm_conf = "/etc/slurm/slurm.conf"   # exported as SLURM_CONF to scontrol
//   agent_url = "http://127.0.0.1:9840"    # default: from [agent] listen, on loopback
//   agent_timeout_seconds = 5              # (0.1 .. 10)
//   fallback = "check"                     # no agent answers: "check" (bounded) or "none"
//   check_timeout_seconds = 30             # (1 .. 30)
//   max_drained_fraction = 0.1             # blast radius, per partition (0 .. 1], >= 1 node
//   max_drained_nodes = 0                  # 0: no count limit
//   [provider]                             # reports to the cloud (docs/cloud.md)
//   kind = "azure"                         # "none" (default), "azure" or "gcp"
//   from_agent = true                      # the agent reports hard faults itself
//   ca_file = "/etc/ssl/certs/ca.pem"      # replaces the system trust store for https
//   timeout_seconds = 10                   # each HTTP exchange (1 .. 60)
//   poll_interval_seconds = 300            # the report's status afterwards (30 .. 86400)
//   report_interval_seconds = 30           # the agent looks for faults to report (1 .. 3600)
//   [provider.azure]
//   imds_endpoint = "http://169.254.169.254"
//   management_endpoint = "https://management.azure.com"
//   api_version = "2025-01-01-preview"
//   client_id = ""                         # a user-assigned identity (or object_id, msi_res_id)
//   kvp_pool_file = "/var/lib/hyperv/.kvp_pool_3"   # PhysicalHostName (Hyper-V data exchange)
//   physical_host_name = ""                # instead of the KVP pool
//   [provider.gcp]
//   metadata_endpoint = "http://metadata.google.internal"
//   compute_endpoint = "https://compute.googleapis.com"
//   disruption_schedule = "IMMEDIATE"      # or "FUTURE"
//   [drain.xid.31]                         # XID number 1 .. 1000
//   count = 10                             # required (1 .. 100000)
//   window_seconds = 3600                  # (1 .. 30 days; default 3600)
//   action = "drain"                       # (default drain)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "probes/action.h"
#include "probes/util/expected.h"

namespace nodehealth {

// [agent]: the daemon's schedule and HTTP endpoint; unset keys take the agent's defaults.
struct AgentSettings {
  std::optional<std::string> listen;
  std::optional<double> interval_seconds;
  std::optional<double> jitter_fraction;  // key "jitter"
  std::vector<std::string> active_probes;
  std::optional<double> active_interval_seconds;
  std::optional<int> http_threads;        // accepted for old configs; the endpoint ignores it
  std::optional<std::string> web_config;  // a web configuration file (--web-config wins)
  std::optional<bool> report_process_names;
};

// [slurm]: the Slurm health check. Its time budget (agent + check + scontrol calls) must stay
// inside the 60 s Slurm gives a HealthCheckProgram, hence the ranges.
struct SlurmSettings {
  std::optional<std::string> scontrol;
  std::optional<std::string> slurm_conf;
  std::optional<std::string> agent_url;
  double agent_timeout_seconds = 5;
  std::string fallback = "check";  // "check" or "none"
  double check_timeout_seconds = 30;
  double max_drained_fraction = 0.1;
  int max_drained_nodes = 0;
};

// [provider]: hard faults reported to the node's cloud (agent/provider/). Endpoints are checked
// by endpoint_policy.h when the file is read.
struct ProviderSettings {
  std::string kind = "none";  // "none", "azure", "gcp"
  bool from_agent = true;
  std::string ca_file;
  double timeout_seconds = 10;
  double poll_interval_seconds = 300;
  double report_interval_seconds = 30;
  std::string azure_imds_endpoint = "http://169.254.169.254";
  std::string azure_management_endpoint = "https://management.azure.com";
  std::string azure_api_version = "2025-01-01-preview";
  std::string azure_client_id;
  std::string azure_object_id;
  std::string azure_msi_res_id;
  std::string azure_kvp_pool_file = "/var/lib/hyperv/.kvp_pool_3";
  std::string azure_physical_host_name;
  std::string gcp_metadata_endpoint = "http://metadata.google.internal";
  std::string gcp_compute_endpoint = "https://compute.googleapis.com";
  std::string gcp_disruption_schedule = "IMMEDIATE";
};

struct Config {
  std::string path;  // empty when no file was read
  std::optional<std::string> profile;
  std::optional<std::string> nvml_library;
  std::optional<std::string> cuda_library;
  std::optional<std::string> nccl_library;
  std::optional<std::string> topology_baseline;
  std::optional<std::string> state_dir;
  std::optional<int> mpi_allreduce_ranks;
  std::vector<std::string> only;
  std::vector<std::string> skip;
  std::map<std::string, double> probe_timeout_seconds;
  std::map<std::string, Action> action_overrides;
  AgentSettings agent;
  agent::DrainPolicyConfig drain;
  SlurmSettings slurm;
  ProviderSettings provider;
};

inline constexpr std::string_view kDefaultConfigPath = "/etc/nodehealth/nodehealth.toml";

Expected<Config> ParseConfig(std::string_view text, const std::string& origin);

// Reads `path`; with `optional`, a missing file yields the defaults (the default path need not
// exist), any other problem is an error.
Expected<Config> LoadConfig(const std::string& path, bool optional);

}  // namespace nodehealth
