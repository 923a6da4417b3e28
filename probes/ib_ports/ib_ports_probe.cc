#include "probes/ib_ports/ib_ports_probe.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/ib_ports/hca_sources.h"
#include "probes/ib_ports/ib_counters.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/link_events.h"
#include "probes/platform/kernel_log_source.h"
#include "probes/platform/sysfs_values.h"
#include "probes/util/text.h"

namespace nodehealth {
namespace {

using ib::Device;
using ib::Port;

const InfinibandExpectations& Expectations(const Profile* profile) {
  static const InfinibandExpectations kDefaults;
  return profile ? profile->infiniband : kDefaults;
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string DescribeState(const Port& port) {
  std::string out = port.state ? std::to_string(port.state->id) + ": " + port.state->name : "?";
  out += " / ";
  out += port.phys_state ? std::to_string(port.phys_state->id) + ": " + port.phys_state->name : "?";
  return out;
}

bool IsRail(const Port& port, const InfinibandExpectations& expect) {
  return std::find(expect.rail_link_layers.begin(), expect.rail_link_layers.end(),
                   port.link_layer) != expect.rail_link_layers.end();
}

bool IsUp(const Port& port) {
  return port.active() && (!port.phys_state || port.phys_state->id == ib::kPhysStateLinkUp);
}

void AddMeasurements(const Device& device, ProbeResult& result) {
  result.measurements.push_back({"ib_hca_info",
                                 {{"device", device.name},
                                  {"board_id", device.board_id},
                                  {"firmware_version", device.fw_ver},
                                  {"hca_type", device.hca_type}},
                                 1});
  for (const Port& port : device.ports) {
    const std::map<std::string, std::string> labels = {{"device", device.name},
                                                       {"port", std::to_string(port.number)}};
    auto with = [&](std::string key, std::string value) {
      auto out = labels;
      out[std::move(key)] = std::move(value);
      return out;
    };
    result.measurements.push_back({"ib_port_info", with("link_layer", port.link_layer), 1});
    if (port.state)
      result.measurements.push_back({"ib_port_state_id", labels, 1.0 * port.state->id});
    if (port.phys_state) {
      result.measurements.push_back(
          {"ib_port_physical_state_id", labels, 1.0 * port.phys_state->id});
    }
    if (port.rate) {
      result.measurements.push_back(
          {"ib_port_rate_bytes_per_second", labels, port.rate->bytes_per_second()});
    }
    for (const ib::PortCounter& counter : port.counters) {
      if (counter.spec != nullptr) {
        result.measurements.push_back(
            {std::string(counter.spec->metric), labels,
             static_cast<double>(counter.value) * counter.spec->multiplier});
      } else {
        result.measurements.push_back({"ib_port_hw_stat_total", with("counter", counter.file),
                                       static_cast<double>(counter.value)});
      }
    }
  }
}

// Problems reading a device or port: the probe cannot vouch for it.
void ReportProblems(const Device& device, ProbeResult& result) {
  for (const std::string& problem : device.problems) {
    const std::string entity =
        device.ports.empty() ? "node" : HcaEntity(device.name, device.ports.front().number);
    MarkUndecided(
        result, codes::kProbeError, entity,
        "cannot read InfiniBand device " + device.name + ": " + problem,
        {{std::string(ib::kInfinibandClassDir) + "/" + device.name, problem, "readable"}});
  }
  if (device.pci) {
    for (const std::string& problem : device.pci->problems) {
      result.notes.push_back("PCI function of " + device.name + ": " + problem);
    }
  }
  for (const Port& port : device.ports) {
    for (const std::string& problem : port.problems) {
      MarkUndecided(
          result, codes::kProbeError, HcaEntity(device.name, port.number),
          "cannot read port " + std::to_string(port.number) + " of " + device.name + ": " + problem,
          {{port.dir, problem, "readable"}});
    }
  }
}

void CheckRails(const ib::Scan& scan, const InfinibandExpectations& expect, ProbeResult& result) {
  std::vector<std::pair<const Device*, const Port*>> rails;
  int active = 0;
  for (const Device& device : scan.devices) {
    for (const Port& port : device.ports) {
      if (!IsRail(port, expect)) continue;
      rails.emplace_back(&device, &port);
      if (IsUp(port)) ++active;
    }
  }
  result.measurements.push_back({"ib_rails_active", {}, static_cast<double>(active)});
  if (!expect.port_count) return;
  const int expected = *expect.port_count;
  result.measurements.push_back({"ib_rails_expected", {}, static_cast<double>(expected)});
  std::string layers;
  for (const std::string& layer : expect.rail_link_layers)
    layers += (layers.empty() ? "" : "/") + layer;
  if (static_cast<int>(rails.size()) < expected) {
    std::string present;
    for (const auto& [device, port] : rails) {
      present += (present.empty() ? "" : ", ") + device->name + "/" + std::to_string(port->number);
    }
    result.findings.push_back(
        MakeFinding(codes::kIbHcaMissing, "node",
                    std::to_string(rails.size()) + " " + layers +
                        " ports present, the profile expects " + std::to_string(expected),
                    {{std::string(ib::kInfinibandClassDir),
                      std::to_string(rails.size()) + " ports with link layer " + layers +
                          (present.empty() ? "" : " (" + present + ")"),
                      std::to_string(expected)}}));
  }
  if (active >= expected) {
    for (const auto& [device, port] : rails) {
      if (!IsUp(*port)) {
        result.notes.push_back(device->name + " port " + std::to_string(port->number) + " is " +
                               DescribeState(*port) + "; enough other rails are up (" +
                               std::to_string(active) + " of " + std::to_string(expected) + ")");
      }
    }
    return;
  }
  for (const auto& [device, port] : rails) {
    if (IsUp(*port)) continue;
    std::string why = "port " + std::to_string(port->number) + " of " + device->name + " is " +
                      DescribeState(*port);
    if (port->state && port->state->id == 2 && port->phys_state &&
        port->phys_state->id == ib::kPhysStateLinkUp) {
      why += ": the link is up but no subnet manager has configured the port";
    } else if (port->phys_state && port->phys_state->id == 2) {
      why += ": no link partner (cable, transceiver or switch port)";
    }
    result.findings.push_back(
        MakeFinding(codes::kIbPortDown, HcaEntity(device->name, port->number), why,
                    {{port->dir + "/state", DescribeState(*port), "4: ACTIVE / 5: LinkUp"}}));
  }
}

void CheckRates(const ib::Scan& scan, const InfinibandExpectations& expect, ProbeResult& result) {
  if (!expect.rate_gbps) return;
  for (const Device& device : scan.devices) {
    for (const Port& port : device.ports) {
      if (!IsRail(port, expect) || !IsUp(port) || !port.rate) continue;
      if (port.rate->gbps + 1e-9 >= *expect.rate_gbps) continue;
      result.findings.push_back(MakeFinding(
          codes::kIbPortRateDegraded, HcaEntity(device.name, port.number),
          "port " + std::to_string(port.number) + " of " + device.name + " runs at " +
              port.rate_text + ", the profile expects " + FormatNumber(*expect.rate_gbps) +
              " Gb/sec",
          {{port.dir + "/rate", port.rate_text, FormatNumber(*expect.rate_gbps) + " Gb/sec"}}));
    }
  }
}

// HCAs of one type and board should run one firmware: a mix means a half-finished update.
void CheckFirmware(const ib::Scan& scan, const InfinibandExpectations& expect,
                   ProbeResult& result) {
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::vector<const Device*>>>
      groups;
  for (const Device& device : scan.devices) {
    const bool has_rail = std::any_of(device.ports.begin(), device.ports.end(),
                                      [&](const Port& p) { return IsRail(p, expect); });
    if (!has_rail || device.fw_ver.empty()) continue;
    groups[{device.hca_type, device.board_id}][device.fw_ver].push_back(&device);
  }
  for (const auto& [type, versions] : groups) {
    if (versions.size() < 2) continue;
    // The most common version is taken as the intended one (ties: the highest).
    auto majority = versions.begin();
    for (auto it = versions.begin(); it != versions.end(); ++it) {
      if (it->second.size() >= majority->second.size()) majority = it;
    }
    for (const auto& [version, devices] : versions) {
      if (version == majority->first) continue;
      for (const Device* device : devices) {
        const int port = device->ports.empty() ? 1 : device->ports.front().number;
        result.findings.push_back(
            MakeFinding(codes::kIbFirmwareMismatch, HcaEntity(device->name, port),
                        device->name + " runs firmware " + version + ", " +
                            std::to_string(majority->second.size()) + " other " + type.first +
                            " HCAs run " + majority->first,
                        {{std::string(ib::kInfinibandClassDir) + "/" + device->name + "/fw_ver",
                          version, majority->first}}));
      }
    }
  }
}

void CheckPcieLink(const Device& device, ProbeResult& result) {
  if (!device.pci) return;
  const platform::PciDevice& pci = *device.pci;
  const std::string dir = std::string(ib::kInfinibandClassDir) + "/" + device.name + "/device";
  std::vector<Evidence> evidence;
  const auto& cur = pci.current_link;
  const auto& max = pci.max_link;
  if (cur.width && max.width && *cur.width < *max.width) {
    evidence.push_back({dir + "/current_link_width", "x" + std::to_string(*cur.width),
                        "x" + std::to_string(*max.width) + " (max_link_width)"});
  }
  if (cur.generation && max.generation && *cur.generation < *max.generation) {
    evidence.push_back({dir + "/current_link_speed",
                        FormatNumber(platform::PcieGenerationRate(*cur.generation)) + " GT/s (Gen" +
                            std::to_string(*cur.generation) + ")",
                        FormatNumber(platform::PcieGenerationRate(*max.generation)) + " GT/s (Gen" +
                            std::to_string(*max.generation) + ", max_link_speed)"});
  }
  if (evidence.empty()) return;
  for (const Port& port : device.ports) {
    result.findings.push_back(MakeFinding(
        codes::kPcieLinkDegraded, HcaEntity(device.name, port.number),
        "the PCIe link of " + device.name + " (" + pci.bus_id + ") trained below its maximum",
        evidence));
  }
}

// The threshold for a counter: the profile's override, else the infiniband-diags default; nullopt
// for counters that are not judged (traffic, congestion).
std::optional<uint64_t> Threshold(const InfinibandExpectations& expect,
                                  const ib::CounterSpec& spec) {
  const auto it = expect.error_thresholds.find(std::string(spec.file));
  if (it != expect.error_thresholds.end()) return it->second;
  return spec.default_threshold;
}

void CheckErrorCounters(const Device& device, const InfinibandExpectations& expect,
                        ProbeResult& result) {
  for (const Port& port : device.ports) {
    std::vector<Evidence> evidence;
    std::string names;
    for (const ib::PortCounter& counter : port.counters) {
      if (counter.spec == nullptr) continue;
      const std::optional<uint64_t> limit = Threshold(expect, *counter.spec);
      if (!limit || counter.value <= *limit) continue;
      std::string observed = std::to_string(counter.value);
      if (ib::IsSaturated(counter.value, counter.spec->width_bits)) {
        observed += " (saturated " + std::to_string(counter.spec->width_bits) +
                    "-bit counter: at least this many)";
      }
      evidence.push_back({port.dir + "/" + counter.directory + "/" + counter.file, observed,
                          "<= " + std::to_string(*limit)});
      names += (names.empty() ? "" : ", ") + counter.file;
    }
    if (evidence.empty()) continue;
    result.findings.push_back(MakeFinding(
        codes::kIbPortErrors, HcaEntity(device.name, port.number),
        "port " + std::to_string(port.number) + " of " + device.name +
            " has error counters above their thresholds since the counters were last cleared: " +
            names,
        std::move(evidence)));
  }
}

void CheckLinkDowns(const InfinibandExpectations& expect,
                    const std::vector<LinkDownTally>& link_downs, ProbeResult& result) {
  for (const LinkDownTally& tally : link_downs) {
    if (tally.downs < expect.link_flap_down_events) continue;
    result.findings.push_back(MakeFinding(
        codes::kIbLinkFlapping, tally.entity,
        tally.interface + " lost its link " + std::to_string(tally.downs) + " times within " +
            FormatNumber(expect.link_flap_window_seconds) + " s",
        {{"/dev/kmsg", std::to_string(tally.downs) + " link-down lines; last: " + tally.last_line,
          "fewer than " + std::to_string(expect.link_flap_down_events) + " within " +
              FormatNumber(expect.link_flap_window_seconds) + " s"}}));
  }
}

// Which HCA port a network interface or PCI function belongs to.
struct PortIndex {
  std::map<std::string, std::string> by_interface;  // "ib0" -> "hca/mlx5_0/1"
  std::map<std::string, std::string> by_bus_id;     // "0000:18:00.0" -> "hca/mlx5_0/1"
};

PortIndex IndexPorts(const platform::FileSystem& fs, const ib::Scan& scan) {
  PortIndex index;
  for (const Device& device : scan.devices) {
    if (device.ports.empty()) continue;
    const int first = device.ports.front().number;
    if (device.pci) index.by_bus_id[device.pci->bus_id] = HcaEntity(device.name, first);
    const std::string net =
        std::string(ib::kInfinibandClassDir) + "/" + device.name + "/device/net";
    Expected<std::vector<std::string>> interfaces = fs.ListDir(net);
    if (!interfaces) continue;
    for (const std::string& name : *interfaces) {
      // IPoIB sets dev_port to the port number minus one.
      int port = first;
      if (Expected<std::string> dev_port = fs.ReadFile(net + "/" + name + "/dev_port", 64)) {
        if (Expected<int64_t> n = platform::ParseDecimal(*dev_port); n && *n >= 0 && *n < 255) {
          port = static_cast<int>(*n) + 1;
        }
      }
      index.by_interface[name] = HcaEntity(device.name, port);
    }
  }
  return index;
}

std::optional<double> UptimeSeconds(const platform::FileSystem& fs) {
  Expected<std::string> text = fs.ReadFile("/proc/uptime", 256);
  if (!text) return std::nullopt;
  double seconds = 0;
  if (std::sscanf(text->c_str(), "%lf", &seconds) != 1 || !(seconds >= 0)) return std::nullopt;
  return seconds;
}

}  // namespace

ProbeResult EvaluateIbPorts(const ib::Scan& scan, const Profile* profile,
                            const std::vector<LinkDownTally>& link_downs) {
  ProbeResult result;
  result.name = "ib_ports";
  const InfinibandExpectations& expect = Expectations(profile);
  for (const Device& device : scan.devices) {
    AddMeasurements(device, result);
    ReportProblems(device, result);
    CheckPcieLink(device, result);
    CheckErrorCounters(device, expect, result);
    for (const Port& port : device.ports) {
      if (!port.unreadable_counters.empty()) {
        result.notes.push_back(device.name + " port " + std::to_string(port.number) + ": " +
                               std::to_string(port.unreadable_counters.size()) +
                               " counters read \"N/A (no PMA)\" (no Performance Management "
                               "Agent): not judged");
      }
    }
  }
  CheckRails(scan, expect, result);
  CheckRates(scan, expect, result);
  CheckFirmware(scan, expect, result);
  CheckLinkDowns(expect, link_downs, result);
  if (!expect.port_count) {
    result.notes.push_back(profile ? "the profile sets no InfiniBand port count: rails not counted"
                                   : "observe-only: rails, rates and link states not judged");
  }
  FinalizeVerdict(result);
  return result;
}

namespace {

// The port measurements: the fixed ones, then one per known counter file (ib_counters.h).
std::vector<MeasurementSpec> IbMeasurements() {
  const std::vector<std::string> by_port = {"device", "port"};
  std::vector<MeasurementSpec> specs = {
      GaugeMeasurement("ib_hca_info", "",
                       "an RDMA adapter: board id, firmware version, type; value always 1",
                       {"board_id", "device", "firmware_version", "hca_type"}),
      GaugeMeasurement("ib_port_info", "", "an RDMA port and its link layer; value always 1",
                       {"device", "link_layer", "port"}),
      GaugeMeasurement("ib_port_state_id", "",
                       "logical port state (1 down, 2 init, 3 armed, 4 active, 5 active_defer)",
                       by_port),
      GaugeMeasurement("ib_port_physical_state_id", "",
                       "physical port state (0 no_state_change, 1 sleep, 2 polling, 3 disabled, 4 "
                       "port_configuration_training, 5 link_up, 6 link_error_recovery, 7 "
                       "phy_test)",
                       by_port),
      GaugeMeasurement("ib_port_rate_bytes_per_second", "bytes_per_second",
                       "the port's signalling rate (sysfs rate)", by_port),
      CounterMeasurement("ib_port_hw_stat_total", "",
                         "a driver-specific port statistic, hw_counters/<counter>",
                         {"counter", "device", "port"}),
      GaugeMeasurement("ib_rails_active", "",
                       "RDMA rails (ports of the profile's link layers) that are active"),
      GaugeMeasurement("ib_rails_expected", "", "RDMA rails the node's profile expects"),
  };
  for (MeasurementSpec& spec : HcaSourceMeasurements()) specs.push_back(std::move(spec));
  for (const ib::CounterSpec& counter : ib::CounterSpecs()) {
    const bool bytes = counter.multiplier != 1;
    specs.push_back(CounterMeasurement(std::string(counter.metric), bytes ? "bytes" : "",
                                       "port counter " + std::string(counter.directory) + "/" +
                                           std::string(counter.file) +
                                           (bytes ? " (4-byte words, exported in bytes)" : ""),
                                       by_port));
  }
  return specs;
}

}  // namespace

const ProbeInfo& IbPortsProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "ib_ports",
      .kind = ProbeKind::kPassive,
      .summary =
          "InfiniBand/RDMA ports: presence, state, rate, firmware, HCA PCIe link, error "
          "counters, link flaps",
      .reads = {"/sys/class/infiniband", "/sys/class/infiniband/*/device (PCI)", "/proc/uptime",
                "/dev/kmsg", "/sys/bus/pci/devices/* (Mellanox functions)",
                "/sys/class/infiniband_verbs/uverbs*/ibdev", "/dev/infiniband"},
      .codes = {codes::kIbHcaMissing, codes::kIbPortDown, codes::kIbPortRateDegraded,
                codes::kIbPortErrors, codes::kIbLinkFlapping, codes::kPcieLinkDegraded,
                codes::kIbFirmwareMismatch, codes::kSourceDisagreement, codes::kProbeError,
                codes::kProbeTimeout},
      .timeout = std::chrono::seconds(10),
      .measurements = IbMeasurements(),
      .subject = ProbeSubject::kNetwork,
  };
  return kInfo;
}

std::string IbPortsProbe::Summarize(const ProbeResult& result) const {
  if (result.verdict == ProbeVerdict::kSkip) return "";
  int ports = 0;
  for (const Measurement& m : result.measurements) ports += m.name == "ib_port_info" ? 1 : 0;
  for (const Measurement& m : result.measurements) {
    if (m.name != "ib_rails_active") continue;
    const int rails = static_cast<int>(m.value);
    return std::to_string(ports) + " RDMA port" + (ports == 1 ? "" : "s") + ", " +
           std::to_string(rails) + " active rail" + (rails == 1 ? "" : "s") + ".";
  }
  return "";
}

namespace {

class LinkDownedMemory final : public RoundMemory {
 public:
  void AfterRun(const Profile* profile, double now, ProbeResult& result) override {
    const double window =
        (profile ? profile->infiniband : InfinibandExpectations{}).link_flap_window_seconds;
    if (window != window_seconds_) {  // a reload with the same window keeps the history
      window_seconds_ = window;
      counters_ = ib::CounterWindow(window);
      counters_.Restore(restored_);  // RestoreHistory's samples wait for the profile's window
      restored_.clear();
    }
    AddLinkDownedGrowth(counters_, profile, now, result);
  }
  std::string SaveHistory() const override { return counters_.Serialize(); }
  void RestoreHistory(std::string_view text) override {
    if (text.size() <= (4u << 20)) restored_ = std::string(text);
  }

 private:
  double window_seconds_ = -1;
  ib::CounterWindow counters_{0};
  std::string restored_;  // what RestoreHistory took, until the first AfterRun sizes the window
};

}  // namespace

std::unique_ptr<RoundMemory> IbPortsProbe::NewRoundMemory() const {
  return std::make_unique<LinkDownedMemory>();
}

ProbeResult IbPortsProbe::Run(const ProbeContext& context) const {
  const InfinibandExpectations& expect = Expectations(context.profile);
  Expected<ib::Scan> scan = ib::ScanInfiniband(context.fs);
  if (!scan) {
    ProbeResult result;
    result.name = "ib_ports";
    MarkUndecided(
        result, codes::kProbeError, "node",
        "cannot list " + std::string(ib::kInfinibandClassDir) + ": " + scan.error().message,
        {{std::string(ib::kInfinibandClassDir), scan.error().message, "readable"}});
    return result;
  }
  const bool expects_ports = expect.port_count.value_or(0) > 0;
  if (scan->devices.empty() && !expects_ports) {
    ProbeResult result;
    result.name = "ib_ports";
    MarkSkipped(result,
                scan->class_present
                    ? "no RDMA devices under /sys/class/infiniband and the profile expects none"
                    : "no /sys/class/infiniband (no RDMA driver loaded) and the profile "
                      "expects no InfiniBand ports");
    return result;
  }

  // Link-down lines in the kernel log, inside the flap window when timestamps allow.
  std::vector<LinkDownTally> tallies;
  std::vector<std::string> notes;
  if (!scan->devices.empty()) {
    const PortIndex index = IndexPorts(context.fs, *scan);
    const std::optional<double> uptime = UptimeSeconds(context.fs);
    std::map<std::string, LinkDownTally> by_key;
    bool untimed = false;
    Expected<platform::KernelLogStats> stats =
        platform::ReadKernelLog(context.fs, context.deadline, [&](std::string_view line) {
          const KernelLogLine parsed = ParseKernelLogLine(line);
          if (parsed.continuation) return;
          std::optional<ib::LinkEvent> event = ib::ParseLinkEvent(parsed.message);
          if (!event || !event->down) return;
          std::string entity;
          if (auto it = index.by_interface.find(event->interface); it != index.by_interface.end()) {
            entity = it->second;
          } else if (auto jt = index.by_bus_id.find(event->bus_id); jt != index.by_bus_id.end()) {
            entity = jt->second;
          } else if (event->interface.starts_with("ib")) {
            entity = "node";  // an IPoIB interface nodehealth cannot map to an HCA port
          } else {
            return;  // an Ethernet interface of no RDMA device: not ours
          }
          if (parsed.monotonic_usec && uptime) {
            const double age = *uptime - static_cast<double>(*parsed.monotonic_usec) / 1e6;
            if (age > expect.link_flap_window_seconds) return;
          } else {
            untimed = true;
          }
          const std::string key = entity + "|" + event->interface;
          LinkDownTally& tally = by_key[key];
          tally.entity = entity;
          tally.interface = event->interface.empty() ? event->bus_id : event->interface;
          ++tally.downs;
          tally.last_line = Printable(line);
        });
    if (!stats) {
      notes.push_back("kernel log not read, link flaps not judged: " + stats.error().message);
    } else if (untimed && !by_key.empty()) {
      notes.push_back("link-down lines without a usable timestamp were all counted (no window)");
    }
    for (auto& [key, tally] : by_key) tallies.push_back(std::move(tally));
  }
  ProbeResult result = EvaluateIbPorts(*scan, context.profile, tallies);
  CompareHcaSources(ReadHcaSources(context.fs, *scan), result);  // hca_sources.h
  result.notes.insert(result.notes.end(), notes.begin(), notes.end());
  return result;
}

void AddLinkDownedGrowth(ib::CounterWindow& window, const Profile* profile, double now,
                         ProbeResult& result) {
  if (result.verdict == ProbeVerdict::kError || result.verdict == ProbeVerdict::kSkip) return;
  const InfinibandExpectations expect = profile ? profile->infiniband : InfinibandExpectations{};
  std::vector<Finding> added;
  for (const Measurement& m : result.measurements) {
    if (m.name != "ib_port_link_downed_total") continue;
    const auto device = m.labels.find("device");
    const auto port = m.labels.find("port");
    if (device == m.labels.end() || port == m.labels.end()) continue;
    const std::string entity = HcaEntity(device->second, port->second);
    window.Add(entity, now, static_cast<uint64_t>(m.value));
    const uint64_t grew = window.Increase(entity);
    if (grew < static_cast<uint64_t>(expect.link_flap_down_events)) continue;
    const bool flagged = std::any_of(
        result.findings.begin(), result.findings.end(),
        [&](const Finding& f) { return f.code == codes::kIbLinkFlapping && f.entity == entity; });
    if (flagged) continue;
    added.push_back(MakeFinding(codes::kIbLinkFlapping, entity,
                                "port " + port->second + " of " + device->second + " went down " +
                                    std::to_string(grew) + " times within " +
                                    FormatNumber(expect.link_flap_window_seconds) +
                                    " s (its link_downed counter)",
                                {{"/sys/class/infiniband/" + device->second + "/ports/" +
                                      port->second + "/counters/link_downed",
                                  "+" + std::to_string(grew) + " within " +
                                      FormatNumber(expect.link_flap_window_seconds) + " s",
                                  "fewer than " + std::to_string(expect.link_flap_down_events)}}));
  }
  if (added.empty()) return;
  for (Finding& f : added) result.findings.push_back(std::move(f));
  result.verdict = ProbeVerdict::kPass;
  FinalizeVerdict(result);
}

}  // namespace nodehealth
