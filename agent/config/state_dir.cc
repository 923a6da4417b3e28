#include "agent/config/state_dir.h"

#include <cstdlib>
#include <filesystem>

#include "probes/platform/file_system.h"

namespace nodehealth::agent {
namespace {

// `path` with symbolic links resolved as far as it exists, "." and ".." folded and no trailing
// separator, so that "/var/lib/nodehealth/" and "/var/lib/../lib/nodehealth" name one directory.
std::filesystem::path Normalized(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(path, ec);
  if (ec) p = std::filesystem::path(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

bool SamePath(const std::string& a, const std::string& b) { return Normalized(a) == Normalized(b); }

}  // namespace

bool IsLiveRoot(const std::string& sysroot) { return sysroot.empty() || SamePath(sysroot, "/"); }

Expected<std::string> ResolveStateDir(const std::optional<std::string>& option,
                                      const Config& config, const std::string& sysroot) {
  const char* systemd_state = std::getenv("STATE_DIRECTORY");  // StateDirectory= (systemd.exec)
  const std::string live = config.state_dir                  ? *config.state_dir
                           : systemd_state && *systemd_state ? std::string(systemd_state)
                                                             : kDefaultStateDir;
  if (IsLiveRoot(sysroot)) return option.value_or(live);
  // A recorded node (--sysroot) keeps its own state: sticky faults found on a fixture must never
  // reach the live node's status file, which slurm-healthcheck turns into a drain of this node.
  const std::string chosen = option.value_or(platform::JoinPath(sysroot, kDefaultStateDir));
  for (const std::string& forbidden : {live, std::string(kDefaultStateDir)}) {
    if (SamePath(chosen, forbidden)) {
      return MakeError("the state directory " + chosen +
                       " is the live node's; a --sysroot run needs its own (--state-dir DIR, "
                       "default SYSROOT" +
                       kDefaultStateDir + ")");
    }
  }
  return chosen;
}

}  // namespace nodehealth::agent
