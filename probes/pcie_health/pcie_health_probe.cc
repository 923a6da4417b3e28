#include "probes/pcie_health/pcie_health_probe.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <set>
#include <sstream>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/pcie_events.h"
#include "probes/pcie_health/aer_stats.h"
#include "probes/platform/kernel_log_source.h"
#include "probes/platform/pci_devices.h"
#include "probes/platform/sysfs_values.h"
#include "probes/util/text.h"

namespace nodehealth {
namespace {

constexpr std::string_view kPciDevices = "/sys/bus/pci/devices";
constexpr uint32_t kClassNvme = 0x0108;         // mass storage, non-volatile memory (>> 8)
constexpr uint32_t kClassOtherBridge = 0x0680;  // NVSwitch functions (>> 8)
constexpr std::size_t kMaxDevices = 4096;       // functions judged, bridges included
constexpr std::size_t kMaxLogDevices = 1024;    // devices tallied from the kernel log
constexpr std::size_t kMaxNamesPerDevice = 32;  // error names remembered per device

const PcieExpectations& Expectations(const Profile* profile) {
  static const PcieExpectations kDefaults;
  return profile ? profile->pcie : kDefaults;
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// A function whose AER statistics are judged.
struct Target {
  std::string bus_id;
  std::string entity;
  std::string role;  // "GPU", "NVSwitch", "HCA mlx5_0", "NVMe nvme0", "HCA", "bridge"
  bool gpu = false;
  platform::PcieLink link;
  std::vector<std::string> below;  // bridges: "GPU 0000:19:00.0", ...
  std::string root_port;           // the first bridge of its path; empty when unknown
  // The link's speed follows a GPU's power state: the GPU's own link, seen from either end (an
  // idle NVIDIA GPU drops to Gen1 on purpose; gpu_health judges its speed with the P-state).
  bool speed_varies = false;
};

std::string Describe(const Target& t) {
  if (t.below.empty()) return t.role + " " + t.bus_id;
  std::string below;
  for (const std::string& b : t.below) below += (below.empty() ? "" : ", ") + b;
  return "bridge " + t.bus_id + " (above " + below + ")";
}

std::string Dir(std::string_view bus_id) { return platform::JoinPath(kPciDevices, bus_id); }

std::string Basename(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool IsBusId(std::string_view text) {
  Expected<std::string> normalized = platform::NormalizePciBusId(text);
  return normalized && *normalized == text;
}

// The class devices (/sys/class/<cls>/<name>/device -> ../../../0000:18:00.0) of a kind, as
// name -> bus id.
std::map<std::string, std::string> ClassDevices(const platform::FileSystem& fs,
                                                std::string_view cls) {
  std::map<std::string, std::string> out;
  const std::string dir = "/sys/class/" + std::string(cls);
  Expected<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names) return out;
  for (const std::string& name : *names) {
    if (out.size() >= 256) break;
    if (Expected<std::string> link = fs.ReadLink(dir + "/" + name + "/device")) {
      if (const std::string bus_id = Basename(*link); IsBusId(bus_id)) {
        out[name] = bus_id;
        continue;
      }
    }
    // The class entry itself links into /sys/devices/.../<bdf>/<cls>/<name>: the last bus id on
    // that path is the function (trees copied without the device link still have it).
    Expected<std::string> entry = fs.ReadLink(dir + "/" + name);
    if (!entry) continue;
    std::string_view rest = *entry;
    std::string last;
    for (int parts = 0; !rest.empty() && parts < 64; ++parts) {
      const std::size_t slash = rest.find('/');
      const std::string_view part = rest.substr(0, slash);
      if (IsBusId(part)) last = std::string(part);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
    }
    if (!last.empty()) out[name] = last;
  }
  return out;
}

// The first port of an RDMA device, as ib_ports names its entity.
std::string FirstPort(const platform::FileSystem& fs, const std::string& device) {
  Expected<std::vector<std::string>> ports =
      fs.ListDir("/sys/class/infiniband/" + device + "/ports");
  int first = 1;
  bool found = false;
  if (ports) {
    for (const std::string& p : *ports) {
      Expected<int64_t> n = platform::ParseDecimal(p);
      if (n && *n >= 0 && *n < 256 && (!found || *n < first)) {
        first = static_cast<int>(*n);
        found = true;
      }
    }
  }
  return std::to_string(first);
}

struct Discovery {
  std::map<std::string, Target> targets;  // by bus id
  std::vector<std::string> notes;
  int endpoints = 0;
  int hierarchy_hidden = 0;  // endpoints whose bridges could not be found
};

void AddEndpoint(const platform::FileSystem& fs, Discovery& d, Target target) {
  if (d.targets.size() >= kMaxDevices || d.targets.count(target.bus_id)) return;
  ++d.endpoints;
  const std::string bus_id = target.bus_id;
  const std::string label = target.role + " " + bus_id;
  const bool gpu = target.gpu;
  if (gpu) target.speed_varies = true;
  d.targets[bus_id] = std::move(target);
  // /sys/bus/pci/devices/<bdf> -> ../../../devices/pci0000:17/0000:17:01.0/0000:18:00.0/<bdf>:
  // every bus id before the last is a bridge on the way from the root complex.
  Expected<std::string> link = fs.ReadLink(Dir(bus_id));
  if (!link) {
    ++d.hierarchy_hidden;
    return;
  }
  std::vector<std::string> path;
  std::string_view rest = *link;
  while (!rest.empty() && path.size() < 32) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (IsBusId(part)) path.emplace_back(part);
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
  }
  if (path.empty() || path.back() != bus_id) {
    ++d.hierarchy_hidden;
    return;
  }
  path.pop_back();
  if (!path.empty()) d.targets[bus_id].root_port = path.front();
  for (const std::string& bridge : path) {
    auto it = d.targets.find(bridge);
    if (it == d.targets.end()) {
      if (d.targets.size() >= kMaxDevices) return;
      Target t;
      t.bus_id = bridge;
      t.entity = PciEntity(bridge);
      t.role = "bridge";
      t.root_port = path.front();
      t.link = platform::ReadPciDevice(fs, Dir(bridge), bridge).current_link;
      it = d.targets.emplace(bridge, std::move(t)).first;
    }
    if (it->second.below.size() < 16) it->second.below.push_back(label);
    if (gpu && bridge == path.back()) it->second.speed_varies = true;  // the GPU's link partner
  }
}

Expected<Discovery> Discover(const platform::FileSystem& fs, const NodeInventory& inventory) {
  Discovery d;
  Expected<platform::PciScan> nvidia =
      inventory.nvidia_pci ? inventory.nvidia_pci
                           : platform::ScanPciDevices(fs, platform::kPciVendorNvidia);
  if (!nvidia) return nvidia.error();
  Expected<platform::PciScan> mellanox = platform::ScanPciDevices(fs, platform::kPciVendorMellanox);
  if (!mellanox) return mellanox.error();
  for (const platform::PciScan* scan : {&*nvidia, &*mellanox}) {
    for (const std::string& bus_id : scan->unreadable) {
      d.notes.push_back("PCI function " + bus_id + ": vendor unreadable, not judged");
    }
  }
  for (const platform::PciDevice& dev : nvidia->devices) {
    Target t;
    t.bus_id = dev.bus_id;
    t.link = dev.current_link;
    if (platform::IsDisplayController(dev)) {
      t.gpu = true;
      t.role = "GPU";
      t.entity = GpuEntity(dev.bus_id);
    } else if ((dev.class_code >> 8) == kClassOtherBridge) {
      t.role = "NVSwitch";
      t.entity = PciEntity(dev.bus_id);
    } else {
      continue;  // audio functions of consumer cards and the like
    }
    AddEndpoint(fs, d, std::move(t));
  }
  const std::map<std::string, std::string> rdma = ClassDevices(fs, "infiniband");
  std::map<std::string, std::string> hca_by_bus;  // bus id -> device name
  for (const auto& [name, bus_id] : rdma) hca_by_bus.emplace(bus_id, name);
  std::set<std::string> mellanox_ids;
  for (const platform::PciDevice& dev : mellanox->devices) mellanox_ids.insert(dev.bus_id);
  for (const platform::PciDevice& dev : mellanox->devices) {
    // Network (0x02xx) and InfiniBand (0x0c06) functions only: the PCIe switch inside a
    // BlueField or ConnectX-8 is Mellanox too, and is read as a bridge above the HCA. SR-IOV
    // virtual functions (a physfn link) have no link or AER registers of their own.
    const bool hca = hca_by_bus.count(dev.bus_id) > 0;
    const bool network = (dev.class_code >> 16) == 0x02 || (dev.class_code >> 8) == 0x0c06;
    if (!hca && (!network || fs.Exists(Dir(dev.bus_id) + "/physfn"))) continue;
    Target t;
    t.bus_id = dev.bus_id;
    t.link = dev.current_link;
    if (auto it = hca_by_bus.find(dev.bus_id); it != hca_by_bus.end()) {
      t.role = "HCA " + it->second;
      t.entity = HcaEntity(it->second, FirstPort(fs, it->second));
    } else {
      t.role = "HCA";
      t.entity = PciEntity(dev.bus_id);
    }
    AddEndpoint(fs, d, std::move(t));
  }
  for (const auto& [bus_id, name] : hca_by_bus) {  // RDMA devices of other vendors
    if (mellanox_ids.count(bus_id)) continue;
    Target t;
    t.bus_id = bus_id;
    t.link = platform::ReadPciDevice(fs, Dir(bus_id), bus_id).current_link;
    t.role = "HCA " + name;
    t.entity = HcaEntity(name, FirstPort(fs, name));
    AddEndpoint(fs, d, std::move(t));
  }
  for (const auto& [name, bus_id] : ClassDevices(fs, "nvme")) {
    Expected<std::string> cls = fs.ReadAttribute(Dir(bus_id) + "/class");
    Expected<uint32_t> code = cls ? platform::ParseHexId(*cls) : Expected<uint32_t>(cls.error());
    if (code && (*code >> 8) != kClassNvme) continue;  // NVMe over fabrics has no PCI class
    Target t;
    t.bus_id = bus_id;
    t.link = platform::ReadPciDevice(fs, Dir(bus_id), bus_id).current_link;
    t.role = "NVMe " + name;
    t.entity = PciEntity(bus_id);
    AddEndpoint(fs, d, std::move(t));
  }
  if (d.hierarchy_hidden > 0) {
    d.notes.push_back(std::to_string(d.hierarchy_hidden) +
                      " devices are not links into /sys/devices, so the bridges above them are "
                      "not known and their AER counters not read");
  }
  return d;
}

// What one run saw of a device's AER files.
struct AerFiles {
  std::optional<pcie::AerStats> correctable, nonfatal, fatal;
  std::optional<uint64_t> root_cor, root_nonfatal, root_fatal;
  bool any() const {
    return correctable || nonfatal || fatal || root_cor || root_nonfatal || root_fatal;
  }
};

// Reads one file; nullopt when absent. Unreadable or malformed: probe_error on the entity.
template <class T, class Parse>
std::optional<T> ReadAer(const platform::FileSystem& fs, const Target& t, std::string_view file,
                         Parse parse, ProbeResult& result) {
  const std::string path = Dir(t.bus_id) + "/" + std::string(file);
  Expected<std::string> text = fs.ReadAttribute(path);
  if (!text) {
    if (text.error().sys_errno == ENOENT) return std::nullopt;
    MarkUndecided(
        result, codes::kProbeError, t.entity,
        "cannot read " + std::string(file) + " of " + Describe(t) + ": " + text.error().message,
        {{path, text.error().message, "readable"}});
    return std::nullopt;
  }
  Expected<T> parsed = parse(*text);
  if (!parsed) {
    MarkUndecided(result, codes::kProbeError, t.entity,
                  std::string(file) + " of " + Describe(t) +
                      " is not in the kernel's format: " + parsed.error().message,
                  {{path, parsed.error().message, "the format of drivers/pci/pcie/aer.c"}});
    return std::nullopt;
  }
  return *parsed;
}

// Uncorrectable evidence per entity, in order of discovery.
struct Uncorrectable {
  std::string entity;
  std::string subject;  // Describe(target)
  std::vector<Evidence> evidence;
  std::set<std::string> severities;  // "fatal", "nonfatal"
};

Uncorrectable& UncorrectableFor(std::vector<Uncorrectable>& list, const std::string& entity,
                                const std::string& subject) {
  for (Uncorrectable& u : list) {
    if (u.entity == entity) return u;
  }
  list.push_back({entity, subject, {}, {}});
  return list.back();
}

void AddAerMeasurements(const Target& t, const AerFiles& f, ProbeResult& result) {
  auto add = [&](const std::optional<pcie::AerStats>& stats, std::string_view severity) {
    if (!stats) return;
    result.measurements.push_back({"pcie_aer_messages_total",
                                   {{"device", t.bus_id}, {"severity", std::string(severity)}},
                                   static_cast<double>(stats->total)});
    // Kinds only once they count: a node has dozens of AER-capable functions with 8 + 2 x 18
    // kinds each, nearly all 0 for ever; TOTAL always appears.
    for (const pcie::AerKind& kind : stats->kinds) {
      if (kind.count == 0) continue;
      result.measurements.push_back(
          {"pcie_aer_errors_total",
           {{"device", t.bus_id}, {"kind", kind.name}, {"severity", std::string(severity)}},
           static_cast<double>(kind.count)});
    }
  };
  add(f.correctable, "correctable");
  add(f.nonfatal, "nonfatal");
  add(f.fatal, "fatal");
  auto root = [&](const std::optional<uint64_t>& total, std::string_view severity) {
    if (!total) return;
    result.measurements.push_back({"pcie_aer_rootport_messages_total",
                                   {{"device", t.bus_id}, {"severity", std::string(severity)}},
                                   static_cast<double>(*total)});
  };
  root(f.root_cor, "correctable");
  root(f.root_nonfatal, "nonfatal");
  root(f.root_fatal, "fatal");
}

// What the kernel log says, per device.
struct LogDevice {
  uint64_t corrected_errors = 0;    // "PCIe Bus Error: severity=Corrected" lines inside the window
  uint64_t corrected_received = 0;  // root-port "Corrected error ... from <this>" inside the window
  uint64_t uncorrectable = 0;       // uncorrectable bus-error lines since boot
  uint64_t uncorrectable_received = 0;  // root-port uncorrectable "... from <this>" since boot
  std::string last_uncorrectable;
  std::string last_corrected;
  std::set<std::string> corrected_names;  // from the "[nn] Name" lines
  std::set<std::string> uncorrectable_names;
  uint64_t link_downs = 0;  // pciehp inside the window
  std::string last_link_down;
  std::optional<pcie::AerSeverity> open_error;  // the severity of the last bus-error line
};

struct LogTally {
  std::map<std::string, LogDevice> devices;
  bool untimed = false;
  bool any = false;
  std::string error;  // the log could not be read
};

std::optional<double> UptimeSeconds(const platform::FileSystem& fs) {
  Expected<std::string> text = fs.ReadFile("/proc/uptime", 256);
  if (!text) return std::nullopt;
  double seconds = 0;
  if (std::sscanf(text->c_str(), "%lf", &seconds) != 1 || !(seconds >= 0)) return std::nullopt;
  return seconds;
}

LogTally ReadLog(const ProbeContext& context, double window) {
  LogTally tally;
  const std::optional<double> uptime = UptimeSeconds(context.fs);
  Expected<platform::KernelLogStats> stats =
      platform::ReadKernelLog(context.fs, context.deadline, [&](std::string_view line) {
        const KernelLogLine parsed = ParseKernelLogLine(line);
        if (parsed.continuation) return;
        std::optional<pcie::PcieLogEvent> event = pcie::ParsePcieLogEvent(parsed.message);
        if (!event) return;
        bool inside = true;
        if (parsed.monotonic_usec && uptime) {
          inside = *uptime - static_cast<double>(*parsed.monotonic_usec) / 1e6 <= window;
        } else {
          tally.untimed = true;
        }
        const std::string& key =
            event->kind == pcie::PcieLogKind::kAerReceived ? event->source : event->device;
        auto it = tally.devices.find(key);
        if (it == tally.devices.end()) {
          if (tally.devices.size() >= kMaxLogDevices) return;
          it = tally.devices.emplace(key, LogDevice{}).first;
        }
        LogDevice& d = it->second;
        tally.any = true;
        const std::string printable = Printable(line);
        switch (event->kind) {
          case pcie::PcieLogKind::kAerReceived:
            if (event->severity == pcie::AerSeverity::kCorrected) {
              if (inside) ++d.corrected_received;
            } else {
              ++d.uncorrectable_received;
              if (d.uncorrectable == 0) d.last_uncorrectable = printable;
            }
            break;
          case pcie::PcieLogKind::kAerBusError:
            d.open_error = event->severity;
            if (event->severity == pcie::AerSeverity::kCorrected) {
              if (inside) {
                ++d.corrected_errors;
                d.last_corrected = printable;
              } else {
                d.open_error.reset();  // its names belong to an error outside the window
              }
            } else {
              ++d.uncorrectable;
              d.last_uncorrectable = printable;
            }
            break;
          case pcie::PcieLogKind::kAerErrorBit:
            if (d.open_error) {
              auto& names = *d.open_error == pcie::AerSeverity::kCorrected ? d.corrected_names
                                                                           : d.uncorrectable_names;
              if (names.size() < kMaxNamesPerDevice) names.insert(event->name);
            }
            break;
          case pcie::PcieLogKind::kLinkDown:
            if (inside) {
              ++d.link_downs;
              d.last_link_down = printable;
            }
            break;
          case pcie::PcieLogKind::kLinkUp:
            break;
        }
      });
  if (!stats) tally.error = stats.error().message;
  return tally;
}

std::string JoinNames(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const Target* FindTarget(const Discovery& d, const std::string& bus_id) {
  auto it = d.targets.find(bus_id);
  return it == d.targets.end() ? nullptr : &it->second;
}

}  // namespace

const ProbeInfo& PcieHealthProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "pcie_health",
      .kind = ProbeKind::kPassive,
      .summary =
          "PCIe AER error counters and link retraining of GPUs, NVSwitches, HCAs, NVMe and the "
          "bridges above them",
      .reads = {"/sys/bus/pci/devices/*/aer_dev_*", "/sys/bus/pci/devices/*/aer_rootport_total_*",
                "/sys/bus/pci/devices/*/current_link_*", "/sys/class/infiniband/*/device",
                "/sys/class/nvme/*/device", "/proc/bus/pci/devices", "/proc/uptime", "/dev/kmsg"},
      .codes = {codes::kPcieAerUncorrectable, codes::kPcieAerCorrectable, codes::kPcieLinkRetrained,
                codes::kProbeError, codes::kProbeTimeout},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("pcie_device_info", "",
                               "a PCIe function pcie_health judges: its finding entity and role "
                               "(GPU, NVSwitch, HCA, NVMe, bridge), and whether its link speed "
                               "follows a GPU's power state; value always 1",
                               {"device", "entity", "role", "speed_varies"}),
              CounterMeasurement("pcie_aer_messages_total", "",
                                 "AER error messages a PCIe function reported since boot "
                                 "(TOTAL_ERR_COR|NONFATAL|FATAL of aer_dev_*)",
                                 {"device", "severity"}),
              CounterMeasurement("pcie_aer_errors_total", "",
                                 "AER errors of one kind a PCIe function reported since boot "
                                 "(the named lines of aer_dev_*; a kind appears once it counts)",
                                 {"device", "kind", "severity"}),
              CounterMeasurement("pcie_aer_rootport_messages_total", "",
                                 "AER error messages a root port received from its hierarchy "
                                 "since boot (aer_rootport_total_err_*)",
                                 {"device", "severity"}),
              GaugeMeasurement("pcie_link_width", "",
                               "lanes of a PCIe function's link now (current_link_width)",
                               {"device"}),
              GaugeMeasurement("pcie_link_generation", "",
                               "PCIe generation of a function's link speed now "
                               "(current_link_speed)",
                               {"device"}),
          },
      .subject = ProbeSubject::kNode,
  };
  return kInfo;
}

ProbeResult PcieHealthProbe::Run(const ProbeContext& context) const {
  ProbeResult result;
  result.name = "pcie_health";
  const PcieExpectations& expect = Expectations(context.profile);
  Expected<Discovery> found = Discover(context.fs, context.inventory);
  if (!found) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot list " + std::string(kPciDevices) + ": " + found.error().message,
                  {{std::string(kPciDevices), found.error().message, "readable"}});
    return result;
  }
  const Discovery& d = *found;
  if (d.targets.empty()) {
    MarkSkipped(result, "no GPU, NVSwitch, HCA or NVMe PCI function on this node");
    return result;
  }

  std::map<std::string, AerFiles> files;
  bool any_aer = false;
  // Root ports whose hierarchy holds a function that counted uncorrectable errors itself: their
  // aer_rootport_total_err_* count the same messages again and are not reported twice.
  std::set<std::string> covered;
  for (const auto& [bus_id, t] : d.targets) {
    AerFiles& f = files[bus_id];
    f.correctable =
        ReadAer<pcie::AerStats>(context.fs, t, "aer_dev_correctable", pcie::ParseAerStats, result);
    f.nonfatal =
        ReadAer<pcie::AerStats>(context.fs, t, "aer_dev_nonfatal", pcie::ParseAerStats, result);
    f.fatal = ReadAer<pcie::AerStats>(context.fs, t, "aer_dev_fatal", pcie::ParseAerStats, result);
    if (t.role == "bridge") {
      f.root_cor = ReadAer<uint64_t>(context.fs, t, "aer_rootport_total_err_cor",
                                     pcie::ParseAerRootportTotal, result);
      f.root_nonfatal = ReadAer<uint64_t>(context.fs, t, "aer_rootport_total_err_nonfatal",
                                          pcie::ParseAerRootportTotal, result);
      f.root_fatal = ReadAer<uint64_t>(context.fs, t, "aer_rootport_total_err_fatal",
                                       pcie::ParseAerRootportTotal, result);
    }
    any_aer = any_aer || f.any();
    const bool counted = (f.nonfatal && f.nonfatal->total > 0) || (f.fatal && f.fatal->total > 0);
    if (counted && !t.root_port.empty() && t.root_port != bus_id) covered.insert(t.root_port);
  }
  std::vector<Uncorrectable> uncorrectable;
  for (const auto& [bus_id, t] : d.targets) {
    const AerFiles& f = files[bus_id];
    result.measurements.push_back({"pcie_device_info",
                                   {{"device", bus_id},
                                    {"entity", t.entity},
                                    {"role", t.role},
                                    {"speed_varies", t.speed_varies ? "true" : "false"}},
                                   1});
    if (t.link.width) {
      result.measurements.push_back({"pcie_link_width", {{"device", bus_id}}, 1.0 * *t.link.width});
    }
    if (t.link.generation) {
      result.measurements.push_back(
          {"pcie_link_generation", {{"device", bus_id}}, 1.0 * *t.link.generation});
    }
    AddAerMeasurements(t, f, result);
    for (const auto& [stats, file, severity] :
         {std::tuple{&f.nonfatal, "aer_dev_nonfatal", "nonfatal"},
          std::tuple{&f.fatal, "aer_dev_fatal", "fatal"}}) {
      if (!*stats || (*stats)->total == 0) continue;
      const std::string kinds = pcie::DescribeNonZeroKinds(**stats);
      Uncorrectable& u = UncorrectableFor(uncorrectable, t.entity, Describe(t));
      u.severities.insert(severity);
      u.evidence.push_back({Dir(bus_id) + "/" + file,
                            std::string(file) + ": " + (*stats)->total_name + " " +
                                std::to_string((*stats)->total) +
                                (kinds.empty() ? "" : " (" + kinds + ")"),
                            "0"});
    }
    for (const auto& [total, file, severity] :
         {std::tuple{&f.root_nonfatal, "aer_rootport_total_err_nonfatal", "nonfatal"},
          std::tuple{&f.root_fatal, "aer_rootport_total_err_fatal", "fatal"}}) {
      if (!*total || **total == 0 || covered.count(bus_id)) continue;
      Uncorrectable& u = UncorrectableFor(uncorrectable, t.entity, Describe(t));
      u.severities.insert(severity);
      u.evidence.push_back({Dir(bus_id) + "/" + file,
                            std::string(file) + ": " + std::to_string(**total) +
                                " messages from the hierarchy below this root port",
                            "0"});
    }
  }

  const LogTally log = ReadLog(context, expect.aer_window_seconds);
  if (!log.error.empty()) {
    result.notes.push_back("kernel log not read, AER and pciehp lines not judged: " + log.error);
  } else if (log.untimed && log.any) {
    result.notes.push_back(
        "PCIe lines without a usable timestamp were all counted as inside the window");
  }
  if (!any_aer && !log.any && result.verdict != ProbeVerdict::kError) {
    result.measurements.clear();
    MarkSkipped(result,
                "no AER statistics in sysfs (aer_dev_* absent: no AER capability or no AER "
                "driver, as in most VMs) and no AER or pciehp line in the kernel log");
    return result;
  }
  if (!any_aer) {
    result.notes.push_back(
        "no AER statistics in sysfs: only the kernel log's AER and pciehp lines are judged");
  }

  const std::string window = FormatNumber(expect.aer_window_seconds) + " s";
  for (const auto& [bus_id, ld] : log.devices) {
    const Target* t = FindTarget(d, bus_id);
    const std::string entity = t ? t->entity : PciEntity(bus_id);
    const std::string subject = t ? Describe(*t) : "PCI function " + bus_id;
    // Uncorrectable lines since boot: the device's own bus-error lines, else the root port's
    // "received from" lines (when the device could not be read, aer.c prints no bus-error line).
    // One error gives a root-port line and a bus-error line: the larger count, not the sum.
    if (const uint64_t lines = std::max(ld.uncorrectable, ld.uncorrectable_received); lines > 0) {
      Uncorrectable& u = UncorrectableFor(uncorrectable, entity, subject);
      const std::string names = JoinNames(ld.uncorrectable_names);
      u.evidence.push_back({"/dev/kmsg",
                            std::to_string(lines) + " uncorrectable AER lines" +
                                (names.empty() ? "" : " (" + names + ")") +
                                "; last: " + ld.last_uncorrectable,
                            "none"});
    }
    const uint64_t corrected = std::max(ld.corrected_errors, ld.corrected_received);
    if (corrected > static_cast<uint64_t>(expect.aer_correctable_max)) {
      const std::string names = JoinNames(ld.corrected_names);
      result.findings.push_back(
          MakeFinding(codes::kPcieAerCorrectable, entity,
                      subject + " logged " + std::to_string(corrected) +
                          " corrected PCIe errors within " + window,
                      {{"/dev/kmsg",
                        std::to_string(corrected) + " corrected AER lines within " + window +
                            (names.empty() ? "" : " (" + names + ")") +
                            (ld.last_corrected.empty() ? "" : "; last: " + ld.last_corrected),
                        "at most " + std::to_string(expect.aer_correctable_max) +
                            " (a lower bound: kernels rate-limit these lines)"}}));
    }
    if (ld.link_downs > static_cast<uint64_t>(expect.link_retrain_max)) {
      result.findings.push_back(MakeFinding(
          codes::kPcieLinkRetrained, entity,
          "the PCIe link of " + subject + " went down " + std::to_string(ld.link_downs) +
              " times within " + window,
          {{"/dev/kmsg",
            std::to_string(ld.link_downs) + " pciehp Link Down lines; last: " + ld.last_link_down,
            "at most " + std::to_string(expect.link_retrain_max) + " within " + window}}));
    }
  }
  for (Uncorrectable& u : uncorrectable) {
    const bool fatal = u.severities.count("fatal") > 0;
    result.findings.push_back(MakeFinding(codes::kPcieAerUncorrectable, u.entity,
                                          u.subject + " reported " +
                                              (fatal ? "fatal" : "non-fatal") +
                                              " uncorrectable PCIe errors since boot",
                                          std::move(u.evidence)));
  }
  for (const std::string& note : d.notes) result.notes.push_back(note);
  FinalizeVerdict(result);
  return result;
}

std::string PcieHealthProbe::Summarize(const ProbeResult& result) const {
  if (result.verdict == ProbeVerdict::kSkip) return "";
  int devices = 0;
  for (const Measurement& m : result.measurements) devices += m.name == "pcie_device_info";
  if (devices == 0) return "";
  return std::to_string(devices) + " PCIe function" + (devices == 1 ? "" : "s") +
         " checked for AER errors.";
}

std::unique_ptr<RoundMemory> PcieHealthProbe::NewRoundMemory() const {
  return std::make_unique<PcieHistory>();
}

// ---- PcieHistory ----

void PcieHistory::SetWindow(double window_seconds) {
  if (window_seconds == window_seconds_) return;  // a reload with the same window keeps it
  window_seconds_ = window_seconds;
  corrected_ = ib::CounterWindow(window_seconds);
  retrains_ = ib::CounterWindow(window_seconds);
  // What RestoreHistory took back waits for the window the profile sets.
  corrected_.Restore(restored_corrected_);
  retrains_.Restore(restored_retrains_);
  restored_corrected_.clear();
  restored_retrains_.clear();
}

void PcieHistory::AfterRun(const Profile* profile, double now, ProbeResult& result) {
  const PcieExpectations& expect = Expectations(profile);
  SetWindow(expect.aer_window_seconds);
  if (result.verdict == ProbeVerdict::kError || result.verdict == ProbeVerdict::kSkip) return;
  struct Seen {
    std::string entity, role;
    bool speed_varies = false;
    std::optional<uint64_t> corrected;
    int generation = 0, width = 0;
  };
  std::map<std::string, Seen> seen;
  for (const Measurement& m : result.measurements) {
    const auto device = m.labels.find("device");
    if (device == m.labels.end()) continue;
    Seen& s = seen[device->second];
    if (m.name == "pcie_device_info") {
      s.entity = m.labels.count("entity") ? m.labels.at("entity") : "";
      s.role = m.labels.count("role") ? m.labels.at("role") : "";
      s.speed_varies = m.labels.count("speed_varies") && m.labels.at("speed_varies") == "true";
    } else if (m.name == "pcie_aer_messages_total" && m.labels.count("severity") &&
               m.labels.at("severity") == "correctable" && m.value >= 0) {
      s.corrected = static_cast<uint64_t>(m.value);
    } else if (m.name == "pcie_link_width") {
      s.width = static_cast<int>(m.value);
    } else if (m.name == "pcie_link_generation") {
      s.generation = static_cast<int>(m.value);
    }
  }
  const std::string window = FormatNumber(expect.aer_window_seconds) + " s";
  auto flagged = [&](std::string_view code, const std::string& entity) {
    return std::any_of(result.findings.begin(), result.findings.end(),
                       [&](const Finding& f) { return f.code == code && f.entity == entity; });
  };
  std::vector<Finding> added;
  for (const auto& [bus_id, s] : seen) {
    if (s.entity.empty()) continue;
    if (s.corrected) {
      corrected_.Add(bus_id, now, *s.corrected);
      const uint64_t grew = corrected_.Increase(bus_id);
      if (grew > static_cast<uint64_t>(expect.aer_correctable_max) &&
          !flagged(codes::kPcieAerCorrectable, s.entity)) {
        added.push_back(MakeFinding(codes::kPcieAerCorrectable, s.entity,
                                    s.role + " " + bus_id + " reported " + std::to_string(grew) +
                                        " corrected PCIe error messages within " + window,
                                    {{Dir(bus_id) + "/aer_dev_correctable",
                                      "TOTAL_ERR_COR +" + std::to_string(grew) + " within " +
                                          window + " (now " + std::to_string(*s.corrected) + ")",
                                      "at most +" + std::to_string(expect.aer_correctable_max)}}));
      }
    }
    const bool gpu = s.speed_varies;
    Link& link = links_[bus_id];
    const bool known = link.seen;
    const bool width_changed = link.width != s.width;
    const bool speed_changed = !gpu && link.generation != s.generation;
    if (known && (width_changed || speed_changed)) {
      ++link.changes;
      last_change_[bus_id] = "x" + std::to_string(link.width) + " Gen" +
                             std::to_string(link.generation) + " -> x" + std::to_string(s.width) +
                             " Gen" + std::to_string(s.generation);
    }
    link.width = s.width;
    link.generation = s.generation;
    link.gpu = gpu;
    link.seen = true;
    retrains_.Add(bus_id, now, link.changes);
    const uint64_t retrained = retrains_.Increase(bus_id);
    if (retrained > static_cast<uint64_t>(expect.link_retrain_max) &&
        !flagged(codes::kPcieLinkRetrained, s.entity)) {
      const auto change = last_change_.find(bus_id);
      added.push_back(MakeFinding(
          codes::kPcieLinkRetrained, s.entity,
          "the PCIe link of " + s.role + " " + bus_id + " changed " + std::to_string(retrained) +
              " times within " + window,
          {{Dir(bus_id) + (gpu ? "/current_link_width" : "/current_link_{speed,width}"),
            std::to_string(retrained) + " changes within " + window +
                (change == last_change_.end() ? "" : "; last: " + change->second),
            "at most " + std::to_string(expect.link_retrain_max) +
                (gpu ? " (width only: the link of a GPU, which lowers its speed when idle)"
                     : "")}}));
    }
  }
  if (added.empty()) return;
  for (Finding& f : added) result.findings.push_back(std::move(f));
  result.verdict = ProbeVerdict::kPass;
  FinalizeVerdict(result);
}

// Format: "pcie_health/1", then "[corrected]", "[retrains]" (CounterWindow::Serialize lines) and
// "[links]" ("<bus id> <generation> <width> <changes> <gpu 0|1>") sections.
std::string PcieHistory::SaveHistory() const {
  if (links_.empty()) return "";
  std::ostringstream out;
  out << "pcie_health/1\n[corrected]\n"
      << corrected_.Serialize() << "[retrains]\n"
      << retrains_.Serialize() << "[links]\n";
  for (const auto& [bus_id, link] : links_) {
    out << bus_id << ' ' << link.generation << ' ' << link.width << ' ' << link.changes << ' '
        << (link.gpu ? 1 : 0) << '\n';
  }
  return out.str();
}

void PcieHistory::RestoreHistory(std::string_view text) {
  if (!text.starts_with("pcie_health/1\n") || text.size() > (8u << 20)) return;
  text.remove_prefix(std::string_view("pcie_health/1\n").size());
  std::string corrected, retrains;
  std::map<std::string, Link> links;
  std::string* section = nullptr;
  bool in_links = false;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line == "[corrected]") {
      section = &corrected;
      in_links = false;
    } else if (line == "[retrains]") {
      section = &retrains;
      in_links = false;
    } else if (line == "[links]") {
      section = nullptr;
      in_links = true;
    } else if (section) {
      *section += std::string(line) + "\n";
    } else if (in_links && links.size() < kMaxDevices) {
      std::istringstream in{std::string(line)};
      std::string bus_id;
      Link link;
      int gpu = 0;
      if (in >> bus_id >> link.generation >> link.width >> link.changes >> gpu && IsBusId(bus_id) &&
          link.generation >= 0 && link.generation < 16 && link.width >= 0 && link.width <= 64) {
        link.gpu = gpu == 1;
        link.seen = true;
        links[bus_id] = link;
      }
    }
  }
  // The windows are sized by the profile, which the first AfterRun brings (SetWindow).
  window_seconds_ = -1;
  restored_corrected_ = std::move(corrected);
  restored_retrains_ = std::move(retrains);
  links_ = std::move(links);
}

}  // namespace nodehealth
