// nodehealth.toml: settings shared by `check`, `burnin` and `agent` (CONTRACT.md --config).
// Command-line options override the file. Strict like profiles: unknown keys are errors.
//
//   profile = "auto"                       # FILE | NAME | auto | none
//   nvml_library = "libnvidia-ml.so.1"
//   topology_baseline = "/var/lib/nodehealth/topology.json"   # from `nodehealth topology save`
//   [mpi_allreduce]
//   ranks = 8                              # all-reduce ranks on this node (wins over the profile)
//   [probes]
//   skip = ["gpu_xid"]                     # or only = [...]
//   [probes.timeout_seconds]
//   gpu_health = 15                        # per-probe deadline inside the run's --timeout
//   [actions]
//   gpu_clock_slowdown = "drain"           # per-code action override (none .. replace)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/action.h"
#include "probes/util/expected.h"

namespace nodehealth {

struct Config {
  std::string path;  // empty when no file was read
  std::optional<std::string> profile;
  std::optional<std::string> nvml_library;
  std::optional<std::string> topology_baseline;
  std::optional<int> mpi_allreduce_ranks;
  std::vector<std::string> only;
  std::vector<std::string> skip;
  std::map<std::string, double> probe_timeout_seconds;
  std::map<std::string, Action> action_overrides;
};

inline constexpr std::string_view kDefaultConfigPath = "/etc/nodehealth/nodehealth.toml";

Expected<Config> ParseConfig(std::string_view text, const std::string& origin);

// Reads `path`; with `optional`, a missing file yields the defaults (the default path need not
// exist), any other problem is an error.
Expected<Config> LoadConfig(const std::string& path, bool optional);

}  // namespace nodehealth
