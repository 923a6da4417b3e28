#include "probes/ib_ports/hca_sources.h"

#include <algorithm>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/platform/pci_devices.h"
#include "probes/platform/sysfs_values.h"

namespace nodehealth {
namespace {

constexpr std::string_view kPciDevices = "/sys/bus/pci/devices";
constexpr std::string_view kVerbsClass = "/sys/class/infiniband_verbs";
constexpr std::string_view kDevInfiniband = "/dev/infiniband";
// More uverbs entries than any node has adapters (virtual functions included): a bound on reads.
constexpr std::size_t kMaxUverbs = 1024;
constexpr std::size_t kMaxListed = 16;

// "uverbs<N>": the verbs class also holds abi_version.
bool IsUverbsName(std::string_view name) {
  constexpr std::string_view kPrefix = "uverbs";
  if (name.size() <= kPrefix.size() || name.substr(0, kPrefix.size()) != kPrefix) return false;
  return std::all_of(name.begin() + kPrefix.size(), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

template <typename Range, typename Format>
std::string DescribeSet(const Range& items, Format format) {
  if (items.empty()) return "none (0)";
  std::string out;
  std::size_t listed = 0;
  for (const auto& item : items) {
    if (listed == kMaxListed) {
      out += " ...";
      break;
    }
    if (!out.empty()) out += ' ';
    out += format(item);
    ++listed;
  }
  return out + " (" + std::to_string(items.size()) + ")";
}

std::vector<Evidence> ListSources(const HcaSources& s) {
  std::vector<Evidence> evidence;
  evidence.push_back({"pci",
                      s.pci ? DescribeSet(*s.pci, [](const std::string& id) { return id; })
                            : "not compared: Mellanox PCI functions not all readable",
                      ""});
  evidence.push_back({"class",
                      DescribeSet(s.devices,
                                  [](const IbClassDevice& d) {
                                    return d.name + "=" + (d.bus_id ? *d.bus_id : "no PCI link");
                                  }),
                      ""});
  evidence.push_back({"uverbs",
                      s.uverbs
                          ? DescribeSet(*s.uverbs,
                                        [](const std::pair<const std::string, std::string>& u) {
                                          return u.first + "=" + u.second;
                                        })
                          : "not compared: no readable /sys/class/infiniband_verbs",
                      ""});
  evidence.push_back({"devnode",
                      s.devnodes ? DescribeSet(*s.devnodes, [](const std::string& n) { return n; })
                                 : "not compared: /dev/infiniband cannot be listed",
                      ""});
  return evidence;
}

std::string ClassHex(uint32_t class_code) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 20; shift >= 0; shift -= 4) out += kDigits[(class_code >> shift) & 0xf];
  return out;
}

}  // namespace

HcaSources ReadHcaSources(const platform::FileSystem& fs, const ib::Scan& scan) {
  HcaSources s;
  for (const ib::Device& device : scan.devices) {
    IbClassDevice d;
    d.name = device.name;
    if (device.pci) {
      d.bus_id = device.pci->bus_id;
      d.function_present = fs.Exists(std::string(kPciDevices) + "/" + device.pci->bus_id);
    }
    if (!device.ports.empty()) d.first_port = device.ports.front().number;
    s.devices.push_back(std::move(d));
  }
  if (scan.devices.empty()) return s;  // nothing to compare: read no more

  if (Expected<platform::PciScan> pci = platform::ScanPciDevices(fs, platform::kPciVendorMellanox);
      pci && pci->unreadable.empty()) {
    std::vector<std::string> rdma;
    bool complete = true;
    for (const platform::PciDevice& device : pci->devices) {
      const uint32_t subclass = device.class_code >> 8;
      if (device.class_code == 0) complete = false;  // class unreadable: cannot tell
      const bool infiniband = subclass == 0x0207;
      const bool roce = subclass == 0x0200 &&
                        fs.Exists(std::string(kPciDevices) + "/" + device.bus_id + "/infiniband");
      if (infiniband || roce) {
        rdma.push_back(device.bus_id);
        s.pci_class[device.bus_id] = device.class_code;
      }
    }
    if (complete) s.pci = std::move(rdma);
  }

  if (Expected<std::vector<std::string>> names = fs.ListDir(kVerbsClass)) {
    std::map<std::string, std::string> uverbs;
    bool readable = true;
    for (const std::string& name : *names) {
      if (!IsUverbsName(name)) continue;
      if (uverbs.size() >= kMaxUverbs) break;
      Expected<std::string> ibdev =
          fs.ReadAttribute(std::string(kVerbsClass) + "/" + name + "/ibdev");
      const std::string_view value = ibdev ? platform::TrimSpace(*ibdev) : std::string_view();
      if (value.empty()) {
        readable = false;
        break;
      }
      uverbs[name] = std::string(value);
    }
    if (readable) s.uverbs = std::move(uverbs);
  }
  if (Expected<std::vector<std::string>> names = fs.ListDir(kDevInfiniband)) {
    s.devnodes.emplace(names->begin(), names->end());
  }
  return s;
}

void CompareHcaSources(const HcaSources& s, ProbeResult& result) {
  if (s.devices.empty()) return;
  result.measurements.push_back(
      {"ib_hcas", {{"source", "class"}}, static_cast<double>(s.devices.size())});
  if (s.pci) {
    result.measurements.push_back(
        {"ib_hcas", {{"source", "pci"}}, static_cast<double>(s.pci->size())});
  }
  if (s.uverbs) {
    result.measurements.push_back(
        {"ib_hcas", {{"source", "uverbs"}}, static_cast<double>(s.uverbs->size())});
  }

  std::vector<Finding> found;
  auto add = [&](std::string entity, std::string message) {
    found.push_back(MakeFinding(codes::kSourceDisagreement, std::move(entity), std::move(message),
                                ListSources(s)));
  };
  std::set<std::string> linked;
  std::set<std::string> names;
  for (const IbClassDevice& d : s.devices) {
    names.insert(d.name);
    if (!d.bus_id) continue;
    linked.insert(*d.bus_id);
    if (!d.function_present) {
      add(HcaEntity(d.name, d.first_port), "RDMA device " + d.name + " links to PCI function " +
                                               *d.bus_id +
                                               ", which is gone from /sys/bus/pci/devices");
    }
  }
  if (s.pci) {
    for (const std::string& id : *s.pci) {
      if (linked.contains(id)) continue;
      const auto cls = s.pci_class.find(id);
      add(PciEntity(id), "Mellanox RDMA function " + id + " (class " +
                             (cls == s.pci_class.end() ? "?" : ClassHex(cls->second)) +
                             ") has no device in /sys/class/infiniband");
    }
  }
  if (s.uverbs) {
    std::set<std::string> with_verbs;
    for (const auto& [node, ibdev] : *s.uverbs) {
      with_verbs.insert(ibdev);
      if (!names.contains(ibdev)) {
        add(std::string(kNodeEntity), std::string(kVerbsClass) + "/" + node + " names " + ibdev +
                                          ", which is not in /sys/class/infiniband");
      } else if (s.devnodes && !s.devnodes->contains(node)) {
        const auto d =
            std::find_if(s.devices.begin(), s.devices.end(),
                         [&ibdev = ibdev](const IbClassDevice& x) { return x.name == ibdev; });
        add(HcaEntity(ibdev, d->first_port), "RDMA device " + ibdev + " has " + node +
                                                 " in sysfs but no /dev/infiniband/" + node +
                                                 ": jobs cannot open it");
      }
    }
    for (const IbClassDevice& d : s.devices) {
      if (with_verbs.contains(d.name)) continue;
      add(HcaEntity(d.name, d.first_port),
          "RDMA device " + d.name +
              " has no uverbs device in /sys/class/infiniband_verbs: jobs cannot open it");
    }
  }
  if (found.empty()) return;
  for (Finding& f : found) result.findings.push_back(std::move(f));
  FinalizeVerdict(result);
}

std::vector<MeasurementSpec> HcaSourceMeasurements() {
  return {GaugeMeasurement("ib_hcas", "",
                           "RDMA adapters found, by source: pci (Mellanox InfiniBand/RoCE "
                           "functions), class (/sys/class/infiniband), uverbs "
                           "(/sys/class/infiniband_verbs)",
                           {"source"})};
}

}  // namespace nodehealth
