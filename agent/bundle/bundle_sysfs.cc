#include "agent/bundle/bundle_sysfs.h"

#include <sys/utsname.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "probes/platform/sysfs_values.h"

namespace nodehealth::bundle {
namespace {

using platform::JoinPath;

// An attribute's value trimmed, or "(error)" for one that exists but cannot be read; nullopt when
// absent.
std::optional<std::string> Attribute(const platform::FileSystem& fs, const std::string& path) {
  Expected<std::string> value = fs.ReadAttribute(path);
  if (value) return std::string(platform::TrimSpace(*value));
  if (value.error().sys_errno == ENOENT) return std::nullopt;
  return "(cannot read: " + std::string(std::strerror(value.error().sys_errno)) + ")";
}

std::vector<std::string> List(const platform::FileSystem& fs, const std::string& dir) {
  Expected<std::vector<std::string>> names = fs.ListDir(dir);
  return names ? *names : std::vector<std::string>{};
}

// "name=value" for each attribute present.
std::string Fields(const platform::FileSystem& fs, const std::string& dir,
                   std::initializer_list<const char*> names) {
  std::string line;
  for (const char* name : names) {
    if (std::optional<std::string> value = Attribute(fs, JoinPath(dir, name))) {
      line += std::string(" ") + name + "=" + *value;
    }
  }
  return line;
}

std::string FirstLine(std::string_view text) {
  return std::string(platform::TrimSpace(text.substr(0, text.find('\n'))));
}

}  // namespace

std::string PciView(const platform::FileSystem& fs) {
  const std::string root = "/sys/bus/pci/devices";
  std::string out = "# " + root + ": one line per device\n";
  for (const std::string& device : List(fs, root)) {
    out += device +
           Fields(fs, JoinPath(root, device),
                  {"vendor", "device", "subsystem_vendor", "subsystem_device", "class",
                   "current_link_speed", "current_link_width", "max_link_speed", "max_link_width",
                   "numa_node"}) +
           "\n";
  }
  return out;
}

std::string InfinibandView(const platform::FileSystem& fs) {
  const std::string root = "/sys/class/infiniband";
  std::string out = "# " + root + "\n";
  for (const std::string& device : List(fs, root)) {
    const std::string dir = JoinPath(root, device);
    out += device + Fields(fs, dir, {"fw_ver", "board_id", "hca_type", "node_guid"}) + "\n";
    for (const std::string& port : List(fs, JoinPath(dir, "ports"))) {
      const std::string port_dir = JoinPath(JoinPath(dir, "ports"), port);
      out += "  port " + port +
             Fields(fs, port_dir, {"state", "phys_state", "rate", "link_layer"}) + "\n";
      for (const char* group : {"counters", "hw_counters"}) {
        const std::string counters = JoinPath(port_dir, group);
        for (const std::string& counter : List(fs, counters)) {
          if (std::optional<std::string> value = Attribute(fs, JoinPath(counters, counter))) {
            out += "    " + std::string(group) + "/" + counter + " " + *value + "\n";
          }
        }
      }
    }
  }
  return out;
}

std::string DmiView(const platform::FileSystem& fs) {
  const std::string root = "/sys/class/dmi/id";
  std::string out = "# " + root + "\n";
  for (const std::string& name : List(fs, root)) {
    Expected<std::string> value = fs.ReadAttribute(JoinPath(root, name));
    if (value) {
      out += name + ": " + std::string(platform::TrimSpace(*value)) + "\n";
    } else if (value.error().sys_errno != EISDIR) {
      // product_serial, board_serial, chassis_serial, product_uuid: root-only (0400).
      out += name + ": (cannot read: " + std::strerror(value.error().sys_errno) + ")\n";
    }
  }
  return out;
}

NodeVersions GatherVersions(const platform::FileSystem& fs, bool live) {
  NodeVersions v;
  if (Expected<std::string> text = fs.ReadFile("/proc/version", 4096)) {
    v.kernel = FirstLine(*text);
  } else if (struct utsname u{}; live && ::uname(&u) == 0) {
    v.kernel = std::string(u.sysname) + " " + u.release + " " + u.version;
  }
  if (Expected<std::string> text = fs.ReadFile("/proc/driver/nvidia/version", 16384)) {
    v.driver = FirstLine(*text);
  }
  if (std::optional<std::string> module = Attribute(fs, "/sys/module/nvidia/version")) {
    v.driver_module = *module;
  }
  for (const std::string& device : List(fs, "/sys/class/infiniband")) {
    if (std::optional<std::string> fw =
            Attribute(fs, JoinPath(JoinPath("/sys/class/infiniband", device), "fw_ver"))) {
      v.hca_firmware[device] = *fw;
    }
  }
  return v;
}

std::string RenderVersions(const NodeVersions& v, const std::string& nodehealth_version) {
  auto line = [](const char* name, const std::string& value) {
    return std::string(name) + ": " + (value.empty() ? "(unknown)" : value) + "\n";
  };
  std::string out = line("kernel", v.kernel) + line("nvidia_driver", v.driver) +
                    line("nvidia_module", v.driver_module) + line("nvml_driver", v.driver_nvml) +
                    line("cuda", v.cuda) + line("fabric_manager", v.fabric_manager);
  for (const auto& [device, fw] : v.hca_firmware)
    out += "hca_firmware " + device + ": " + fw + "\n";
  out += line("nodehealth", nodehealth_version);
  return out;
}

}  // namespace nodehealth::bundle
