#include "probes/ib_ports/ib_sysfs.h"

#include <algorithm>
#include <cerrno>

#include "probes/platform/sysfs_values.h"

namespace nodehealth::ib {
namespace {

using platform::FileSystem;
using platform::JoinPath;

// Reads a short attribute. Absent: nullopt and no problem. Unreadable: nullopt and a problem.
std::optional<std::string> ReadAttribute(const FileSystem& fs, const std::string& path,
                                         std::vector<std::string>& problems) {
  Expected<std::string> text = fs.ReadAttribute(path);
  if (!text) {
    if (text.error().sys_errno != ENOENT) problems.push_back(text.error().message);
    return std::nullopt;
  }
  return std::string(platform::TrimSpace(*text));
}

template <class T, class Parse>
std::optional<T> ReadParsed(const FileSystem& fs, const std::string& path, Parse parse,
                            std::vector<std::string>& problems, std::string* raw = nullptr) {
  std::optional<std::string> text = ReadAttribute(fs, path, problems);
  if (!text) return std::nullopt;
  if (raw != nullptr) *raw = *text;
  Expected<T> parsed = parse(*text);
  if (!parsed) {
    problems.push_back(path + ": " + parsed.error().message);
    return std::nullopt;
  }
  return std::move(*parsed);
}

void ReadCounterDirectory(const FileSystem& fs, Port& port, std::string_view directory) {
  const std::string dir = JoinPath(port.dir, directory);
  Expected<std::vector<std::string>> files = fs.ListDir(dir);
  if (!files) {
    if (files.error().sys_errno != ENOENT) port.problems.push_back(files.error().message);
    return;
  }
  const bool hw = directory == "hw_counters";
  for (const std::string& file : *files) {
    const CounterSpec* spec = hw ? nullptr : FindCounterSpec(directory, file);
    if (!hw && spec == nullptr) continue;  // a counter nodehealth does not know: ignored
    if (hw && IsHwCounterSetting(file)) continue;
    const std::string path = JoinPath(dir, file);
    Expected<std::string> text = fs.ReadAttribute(path);
    if (!text) {
      // EISDIR and friends: not a counter file.
      if (text.error().sys_errno != ENOENT && text.error().sys_errno != EISDIR) {
        port.problems.push_back(text.error().message);
      }
      continue;
    }
    Expected<std::optional<uint64_t>> value = ParseCounter(*text);
    if (!value) {
      port.problems.push_back(path + ": " + value.error().message);
    } else if (!*value) {
      port.unreadable_counters.push_back(std::string(directory) + "/" + file);
    } else {
      port.counters.push_back({std::string(directory), file, **value, spec});
    }
  }
}

Port ReadPort(const FileSystem& fs, const std::string& ports_dir, const std::string& name,
              int number) {
  Port port;
  port.number = number;
  port.dir = JoinPath(ports_dir, name);
  auto id_name = [](std::string_view t) { return ParseIdAndName(t); };
  port.link_layer = ReadAttribute(fs, JoinPath(port.dir, "link_layer"), port.problems).value_or("");
  port.state = ReadParsed<IdAndName>(fs, JoinPath(port.dir, "state"), id_name, port.problems);
  port.phys_state =
      ReadParsed<IdAndName>(fs, JoinPath(port.dir, "phys_state"), id_name, port.problems);
  port.rate = ReadParsed<PortRate>(
      fs, JoinPath(port.dir, "rate"), [](std::string_view t) { return ParsePortRate(t); },
      port.problems, &port.rate_text);
  // Ethernet (RoCE) ports have a lid file reading 0x0; only InfiniBand lids mean anything.
  port.lid = ReadParsed<uint32_t>(
      fs, JoinPath(port.dir, "lid"), [](std::string_view t) { return ParseLid(t); }, port.problems);
  ReadCounterDirectory(fs, port, "counters");
  ReadCounterDirectory(fs, port, "counters_ext");
  ReadCounterDirectory(fs, port, "hw_counters");
  return port;
}

Device ReadDevice(const FileSystem& fs, const std::string& name) {
  Device device;
  device.name = name;
  const std::string dir = JoinPath(kInfinibandClassDir, name);
  device.board_id = ReadAttribute(fs, JoinPath(dir, "board_id"), device.problems).value_or("");
  device.fw_ver = ReadAttribute(fs, JoinPath(dir, "fw_ver"), device.problems).value_or("");
  device.hca_type = ReadAttribute(fs, JoinPath(dir, "hca_type"), device.problems).value_or("");
  device.node_guid = ReadAttribute(fs, JoinPath(dir, "node_guid"), device.problems).value_or("");
  if (Expected<std::string> link = fs.ReadLink(JoinPath(dir, "device"))) {
    const std::size_t slash = link->rfind('/');
    const std::string bus = slash == std::string::npos ? *link : link->substr(slash + 1);
    if (platform::NormalizePciBusId(bus)) {
      device.pci = platform::ReadPciDevice(fs, JoinPath(dir, "device"), bus);
    }
  }
  const std::string ports_dir = JoinPath(dir, "ports");
  Expected<std::vector<std::string>> ports = fs.ListDir(ports_dir);
  if (!ports) {
    device.problems.push_back(ports.error().message);
    return device;
  }
  for (const std::string& port_name : *ports) {
    Expected<int64_t> number = platform::ParseDecimal(port_name);
    if (!number || *number < 1 || *number > 255) {
      device.problems.push_back(ports_dir + ": unexpected entry \"" + port_name + "\"");
      continue;
    }
    device.ports.push_back(ReadPort(fs, ports_dir, port_name, static_cast<int>(*number)));
  }
  std::sort(device.ports.begin(), device.ports.end(),
            [](const Port& a, const Port& b) { return a.number < b.number; });
  return device;
}

}  // namespace

Expected<Scan> ScanInfiniband(const FileSystem& fs) {
  Scan scan;
  Expected<std::vector<std::string>> names = fs.ListDir(kInfinibandClassDir);
  if (!names) {
    if (names.error().sys_errno == ENOENT) return scan;
    return names.error();
  }
  scan.class_present = true;
  for (const std::string& name : *names) scan.devices.push_back(ReadDevice(fs, name));
  return scan;
}

}  // namespace nodehealth::ib
