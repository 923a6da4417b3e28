#include "probes/platform/pci_devices.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include "probes/platform/sysfs_values.h"

namespace nodehealth::platform {
namespace {

constexpr std::string_view kPciDevicesDir = "/sys/bus/pci/devices";

// Reads an optional attribute: absent (ENOENT) is normal and yields nullopt; present but
// malformed is recorded in `problems`.
template <class T, class Parse>
std::optional<T> ReadOptional(const FileSystem& fs, const std::string& dir, std::string_view name,
                              Parse parse, std::vector<std::string>& problems) {
  Expected<std::string> text = fs.ReadFile(JoinPath(dir, name), 256);
  if (!text) {
    if (text.error().sys_errno != ENOENT) problems.push_back(text.error().message);
    return std::nullopt;
  }
  auto parsed = parse(*text);
  if (!parsed) {
    problems.push_back(JoinPath(dir, name) + ": " + parsed.error().message);
    return std::nullopt;
  }
  return static_cast<T>(*parsed);
}

void ReadLink(const FileSystem& fs, const std::string& dir, PciDevice& device) {
  auto generation = [](std::string_view text) -> Expected<int> {
    Expected<std::optional<int>> speed = ParsePcieLinkSpeed(text);
    if (!speed) return speed.error();
    return speed->value_or(0);  // 0: link reports Unknown speed
  };
  auto width = [](std::string_view text) -> Expected<int64_t> { return ParseDecimal(text); };
  auto known = [](std::optional<int> v) { return v && *v > 0 ? v : std::nullopt; };
  device.current_link.generation =
      known(ReadOptional<int>(fs, dir, "current_link_speed", generation, device.problems));
  device.max_link.generation =
      known(ReadOptional<int>(fs, dir, "max_link_speed", generation, device.problems));
  device.current_link.width =
      known(ReadOptional<int>(fs, dir, "current_link_width", width, device.problems));
  device.max_link.width =
      known(ReadOptional<int>(fs, dir, "max_link_width", width, device.problems));
}

}  // namespace

PciDevice ReadPciDevice(const FileSystem& fs, const std::string& dir, std::string_view name) {
  PciDevice device;
  Expected<std::string> bus_id = NormalizePciBusId(name);
  device.bus_id = bus_id ? *bus_id : std::string(name);
  auto hex = [](std::string_view text) { return ParseHexId(text); };
  auto decimal = [](std::string_view text) { return ParseDecimal(text); };
  if (auto id = ReadOptional<uint32_t>(fs, dir, "device", hex, device.problems)) {
    device.device = *id;
  } else {
    device.problems.push_back(dir + "/device: missing");
  }
  if (auto cls = ReadOptional<uint32_t>(fs, dir, "class", hex, device.problems)) {
    device.class_code = *cls;
  } else {
    device.problems.push_back(dir + "/class: missing");
  }
  // numa_node is -1 on single-socket machines and in many VMs: no NUMA affinity.
  if (auto numa = ReadOptional<int>(fs, dir, "numa_node", decimal, device.problems);
      numa && *numa >= 0) {
    device.numa_node = numa;
  }
  ReadLink(fs, dir, device);
  if (Expected<std::string> driver = fs.ReadLink(JoinPath(dir, "driver"))) {
    const std::size_t slash = driver->rfind('/');
    device.driver = slash == std::string::npos ? *driver : driver->substr(slash + 1);
  }
  return device;
}

bool IsDisplayController(const PciDevice& device) { return (device.class_code >> 16) == 0x03; }

Expected<PciScan> ScanPciDevices(const FileSystem& fs, uint32_t vendor) {
  Expected<std::vector<std::string>> names = fs.ListDir(kPciDevicesDir);
  if (!names) return names.error();
  std::optional<std::map<std::string, std::vector<uint32_t>>> listed;
  if (Expected<std::string> proc = fs.ReadFile("/proc/bus/pci/devices", 4u << 20)) {
    listed = ParseProcBusPciDevices(*proc);
  }
  PciScan scan;
  scan.total_devices = static_cast<int>(names->size());
  for (const std::string& name : *names) {
    if (listed) {
      // "0000:19:00.0" -> "19:00.0": skip functions that procfs says are another vendor's.
      const std::size_t colon = name.find(':');
      const auto it = listed->find(colon == std::string::npos ? name : name.substr(colon + 1));
      if (it != listed->end() &&
          std::find(it->second.begin(), it->second.end(), vendor) == it->second.end()) {
        continue;
      }
    }
    const std::string dir = JoinPath(kPciDevicesDir, name);
    Expected<std::string> vendor_text = fs.ReadFile(JoinPath(dir, "vendor"), 64);
    Expected<uint32_t> vendor_id =
        vendor_text ? ParseHexId(*vendor_text) : Expected<uint32_t>(vendor_text.error());
    if (!vendor_id) {
      scan.unreadable.push_back(dir + "/vendor: " + vendor_id.error().message);
      continue;
    }
    if (*vendor_id != vendor) continue;

    PciDevice device = ReadPciDevice(fs, dir, name);
    device.vendor = *vendor_id;
    scan.devices.push_back(std::move(device));
  }
  std::sort(scan.devices.begin(), scan.devices.end(),
            [](const PciDevice& a, const PciDevice& b) { return a.bus_id < b.bus_id; });
  return scan;
}

}  // namespace nodehealth::platform
