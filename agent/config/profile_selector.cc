#include "agent/config/profile_selector.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "agent/config/profile_loader.h"
#include "probes/platform/sysfs_values.h"

#ifndef NODEHEALTH_SOURCE_PROFILE_DIR
#define NODEHEALTH_SOURCE_PROFILE_DIR ""
#endif

namespace nodehealth {
namespace {

std::string ReadTrimmed(const platform::FileSystem& fs, std::string_view path) {
  Expected<std::string> text = fs.ReadFile(path, 4096);
  return text ? std::string(platform::TrimSpace(*text)) : std::string();
}

std::vector<std::string> ListTomlFiles(const std::string& dir) {
  std::vector<std::string> files;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      if (name.size() > 5 && name.ends_with(".toml")) files.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Hex(uint32_t id) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%04x", id);
  return buffer;
}

}  // namespace

std::string NodeFacts::Describe() const {
  std::string out = "DMI vendor \"" + dmi_sys_vendor + "\", product \"" + dmi_product_name + "\"";
  out += cpu_count ? ", " + std::to_string(*cpu_count) + " CPUs" : ", CPU count unknown";
  out += ", " + std::to_string(gpu_pci_device_ids.size()) + " NVIDIA GPUs";
  std::set<uint32_t> ids(gpu_pci_device_ids.begin(), gpu_pci_device_ids.end());
  if (!ids.empty()) {
    out += " (";
    bool first = true;
    for (uint32_t id : ids) {
      out += (first ? "" : ", ") + Hex(id);
      first = false;
    }
    out += ")";
  }
  out += infiniband ? ", InfiniBand present" : ", no InfiniBand";
  return out;
}

NodeFacts GatherNodeFacts(const platform::FileSystem& fs, const NodeInventory& inventory) {
  NodeFacts facts;
  facts.dmi_sys_vendor = ReadTrimmed(fs, "/sys/class/dmi/id/sys_vendor");
  facts.dmi_product_name = ReadTrimmed(fs, "/sys/class/dmi/id/product_name");
  if (Expected<std::string> online = fs.ReadFile("/sys/devices/system/cpu/online", 4096)) {
    if (Expected<int> count = platform::CountCpuList(*online)) facts.cpu_count = *count;
  }
  for (const platform::PciDevice& gpu : inventory.PciGpus()) {
    facts.gpu_pci_device_ids.push_back(gpu.device);
  }
  if (Expected<std::vector<std::string>> devices = fs.ListDir("/sys/class/infiniband")) {
    for (const std::string& device : *devices) {
      const std::string ports = "/sys/class/infiniband/" + device + "/ports";
      Expected<std::vector<std::string>> names = fs.ListDir(ports);
      if (!names) continue;
      for (const std::string& port : *names) {
        if (ReadTrimmed(fs, ports + "/" + port + "/link_layer") == "InfiniBand") {
          facts.infiniband = true;
        }
      }
    }
  }
  return facts;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with backtracking to the last '*'.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

int MatchScore(const ProfileMatch& match, const NodeFacts& facts) {
  if (match.empty()) return -1;
  int score = 0;
  if (!match.dmi_sys_vendor.empty()) {
    if (std::find(match.dmi_sys_vendor.begin(), match.dmi_sys_vendor.end(), facts.dmi_sys_vendor) ==
        match.dmi_sys_vendor.end()) {
      return -1;
    }
    ++score;
  }
  if (!match.dmi_product_name.empty()) {
    if (std::none_of(match.dmi_product_name.begin(), match.dmi_product_name.end(),
                     [&](const std::string& p) { return GlobMatch(p, facts.dmi_product_name); })) {
      return -1;
    }
    ++score;
  }
  if (match.cpu_count) {
    if (facts.cpu_count != match.cpu_count) return -1;
    ++score;
  }
  if (!match.gpu_pci_device_ids.empty()) {
    // One GPU of the model is enough: a node that lost GPUs must still get its profile so the
    // loss is reported against it.
    if (std::none_of(
            facts.gpu_pci_device_ids.begin(), facts.gpu_pci_device_ids.end(), [&](uint32_t id) {
              return std::find(match.gpu_pci_device_ids.begin(), match.gpu_pci_device_ids.end(),
                               id) != match.gpu_pci_device_ids.end();
            })) {
      return -1;
    }
    ++score;
  }
  if (match.infiniband) {
    if (*match.infiniband != facts.infiniband) return -1;
    ++score;
  }
  return score;
}

std::vector<std::string> ProfileSearchPath() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("NODEHEALTH_PROFILE_PATH"); env && *env) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      if (colon != 0) dirs.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  dirs.emplace_back("/etc/nodehealth/profiles");
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string path(exe, static_cast<std::size_t>(n));
    path = path.substr(0, path.rfind('/'));
    dirs.push_back(path + "/../share/nodehealth/profiles");
  }
  if (*NODEHEALTH_SOURCE_PROFILE_DIR) dirs.emplace_back(NODEHEALTH_SOURCE_PROFILE_DIR);
  return dirs;
}

Expected<std::vector<Profile>> LoadProfiles(const std::vector<std::string>& dirs) {
  std::vector<Profile> profiles;
  std::set<std::string> names;
  for (const std::string& dir : dirs) {
    for (const std::string& file : ListTomlFiles(dir)) {
      Expected<Profile> profile = LoadProfileFile(file);
      if (!profile) return profile.error();
      if (names.insert(profile->name).second) profiles.push_back(std::move(*profile));
    }
  }
  return profiles;
}

Expected<ProfileChoice> ChooseProfile(const std::string& requested, const NodeFacts& facts,
                                      const std::vector<std::string>& dirs) {
  ProfileChoice choice;
  choice.requested = requested;
  if (requested == "none" || requested == "observe-only") {
    choice.reason = "observe-only requested: nothing is compared with expectations";
    return choice;
  }
  if (requested.find('/') != std::string::npos || requested.ends_with(".toml")) {
    Expected<Profile> profile = LoadProfileFile(requested);
    if (!profile) return profile.error();
    choice.reason = "loaded from " + requested;
    choice.profile = std::move(*profile);
    return choice;
  }
  Expected<std::vector<Profile>> profiles = LoadProfiles(dirs);
  if (!profiles) return profiles.error();
  if (requested != "auto") {
    for (Profile& profile : *profiles) {
      if (profile.name == requested) {
        choice.reason = "shipped profile " + profile.path;
        choice.profile = std::move(profile);
        return choice;
      }
    }
    std::string known;
    for (const Profile& p : *profiles) known += (known.empty() ? "" : ", ") + p.name;
    return MakeError("unknown profile \"" + requested + "\" (known: " + known + ")");
  }
  int best = -1;
  std::vector<const Profile*> winners;
  for (const Profile& profile : *profiles) {
    const int score = MatchScore(profile.match, facts);
    if (score < 0) continue;
    if (score > best) {
      best = score;
      winners.clear();
    }
    if (score == best) winners.push_back(&profile);
  }
  if (winners.size() == 1) {
    choice.profile = *winners.front();
    choice.reason = "auto: matched " + winners.front()->name + " on " + facts.Describe();
  } else if (winners.empty()) {
    choice.reason = "auto: no shipped profile matches (" + facts.Describe() +
                    "); observe-only, nothing is compared with expectations";
  } else {
    std::string names;
    for (const Profile* p : winners) names += (names.empty() ? "" : ", ") + p->name;
    choice.reason = "auto: several profiles match equally (" + names + ") on " + facts.Describe() +
                    "; observe-only, choose one with --profile";
  }
  return choice;
}

}  // namespace nodehealth
