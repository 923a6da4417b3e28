// Chooses the profile for a run: a file, a shipped profile by name, or `auto`, which matches the
// shipped profiles against what the node shows (DMI, vCPU count, GPU PCI ids, InfiniBand) and falls
// back to observe-only when none or several match equally well, saying so.
//
// Shipped profiles are found, first match wins, in: $NODEHEALTH_PROFILE_PATH (colon-separated),
// /etc/nodehealth/profiles, <executable>/../share/nodehealth/profiles, and the source tree's
// profiles/ (so a build directory works without installing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/file_system.h"
#include "probes/profile.h"
#include "probes/util/expected.h"

namespace nodehealth {

// What `--profile auto` looks at.
struct NodeFacts {
  std::string dmi_sys_vendor;
  std::string dmi_product_name;
  std::optional<int> cpu_count;
  std::vector<uint32_t> gpu_pci_device_ids;  // one per NVIDIA GPU on PCI
  bool infiniband = false;                   // a port with link layer InfiniBand exists

  std::string Describe() const;  // for the selection reason
};

NodeFacts GatherNodeFacts(const platform::FileSystem& fs, const NodeInventory& inventory);

struct ProfileChoice {
  std::optional<Profile> profile;  // nullopt: observe-only
  std::string requested;           // "auto", a name, or a path
  std::string reason;              // how it was chosen, for people and the report
};

std::vector<std::string> ProfileSearchPath();

// All profiles in `dirs` (*.toml), first occurrence of a name wins. A malformed file is an error:
// shipping a broken profile must not silently fall back to observe-only.
Expected<std::vector<Profile>> LoadProfiles(const std::vector<std::string>& dirs);

// -1 when `match` does not hold for `facts`, else the number of conditions it has (more
// conditions: more specific). A profile with an empty [match] never matches automatically.
int MatchScore(const ProfileMatch& match, const NodeFacts& facts);

// '*' matches any run of characters; everything else literally.
bool GlobMatch(std::string_view pattern, std::string_view text);

// `requested`: "auto", "none"/"observe-only", a path (contains '/' or ends in .toml), or a name.
Expected<ProfileChoice> ChooseProfile(const std::string& requested, const NodeFacts& facts,
                                      const std::vector<std::string>& dirs);

}  // namespace nodehealth
