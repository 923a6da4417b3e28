#include "tests/support/fixture_node.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "probes/util/lines.h"
#include "tests/support/lspci_capture.h"
#include "tests/support/scenario.h"
#include "tests/support/smi_capture.h"
#include "tests/support/ttar.h"

#ifndef NODEHEALTH_SCENARIO_DIR
#define NODEHEALTH_SCENARIO_DIR ""
#endif

namespace nodehealth::testing {
namespace {

namespace fs = std::filesystem;

struct Writer {
  std::string root;
  std::string error;

  void File(const std::string& path, const std::string& content) {
    const fs::path full = fs::path(root) / path;
    std::error_code ec;
    fs::create_directories(full.parent_path(), ec);
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out && error.empty()) error = "cannot write " + full.string();
  }
  void Dir(const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(root) / path, ec);
  }
  void Symlink(const std::string& path, const std::string& target) {
    const fs::path full = fs::path(root) / path;
    std::error_code ec;
    fs::create_directories(full.parent_path(), ec);
    fs::remove(full, ec);
    fs::create_symlink(target, full, ec);
  }
};

// [trees] "<dest>" = "<source>": a directory copied as is, or "<archive.ttar>:<member>" whose
// entries below <member> land below <dest>.
Expected<bool> CopyTree(Writer& w, const std::string& dest, const std::string& source) {
  const std::size_t ttar = source.find(".ttar:");
  if (ttar == std::string::npos) {
    std::error_code ec;
    const fs::path to = fs::path(w.root) / dest;
    fs::create_directories(to, ec);
    fs::copy(source, to,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
    if (ec) return MakeError("cannot copy " + source + ": " + ec.message());
    return true;
  }
  const std::string archive = source.substr(0, ttar + 5);
  std::string member = source.substr(ttar + 6);
  while (!member.empty() && member.back() == '/') member.pop_back();
  Expected<std::string> text = ReadWholeFile(archive);
  if (!text) return text.error();
  Expected<std::vector<TtarEntry>> entries = ParseTtar(*text);
  if (!entries) return MakeError(archive + ": " + entries.error().message);
  int copied = 0;
  for (const TtarEntry& entry : *entries) {
    if (entry.path != member && !entry.path.starts_with(member + "/")) continue;
    const std::string path = dest + entry.path.substr(member.size());
    ++copied;
    switch (entry.kind) {
      case TtarEntry::Kind::kDirectory:
        w.Dir(path);
        break;
      case TtarEntry::Kind::kFile:
        w.File(path, entry.content);
        break;
      case TtarEntry::Kind::kSymlink:
        w.Symlink(path, entry.target);
        break;
    }
  }
  if (copied == 0) return MakeError(archive + " has nothing under " + member);
  return true;
}

// A CPU mask as sysfs prints it: 32-bit hex words, most significant first, comma separated.
// Appends `item` to a list joined by `separator`. (Written without `(sep) + std::string(item)`:
// GCC 12 at -O3 raises a false -Wrestrict inside libstdc++ for `const char* + std::string&&`,
// GCC bug 105329.)
void AppendItem(std::string& list, char separator, std::string_view item) {
  if (!list.empty()) list += separator;
  list += item;
}

std::string CpuMask(int first, int count, int total) {
  std::vector<uint32_t> words(static_cast<std::size_t>((total + 31) / 32), 0);
  for (int cpu = first; cpu < first + count; ++cpu) words[cpu / 32] |= 1u << (cpu % 32);
  std::string out;
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%08x", *it);
    AppendItem(out, ',', buffer);
  }
  return out;
}

std::string Range(int first, int count) {
  return count == 1 ? std::to_string(first)
                    : std::to_string(first) + "-" + std::to_string(first + count - 1);
}

// [cpu_topology] packages, cores_per_package, threads_per_core (1), memory_gib_per_node (16),
// distance_remote (21): one NUMA node per package, the CPU and node files hwloc and the
// topology probe read (/sys/devices/system/{cpu,node}).
void WriteCpuTopology(Writer& w, const toml::table& cpu) {
  auto integer = [&](const char* key, int64_t fallback) {
    auto v = cpu.get_as<int64_t>(key);
    return static_cast<int>(v ? v->get() : fallback);
  };
  const int packages = integer("packages", 1);
  const int cores = integer("cores_per_package", 1);
  const int threads = integer("threads_per_core", 1);
  const int memory_gib = integer("memory_gib_per_node", 16);
  const int remote = integer("distance_remote", 21);
  const int per_package = cores * threads;
  const int total = packages * per_package;
  const std::string all = Range(0, total);
  for (const char* file : {"online", "possible", "present"}) {
    w.File("sys/devices/system/cpu/" + std::string(file), all + "\n");
  }
  w.File("sys/devices/system/node/online", Range(0, packages) + "\n");
  w.File("sys/devices/system/node/possible", Range(0, packages) + "\n");
  w.File("sys/devices/system/node/has_cpu", Range(0, packages) + "\n");
  for (int p = 0; p < packages; ++p) {
    const std::string node = "sys/devices/system/node/node" + std::to_string(p);
    const int first = p * per_package;
    w.File(node + "/cpulist", Range(first, per_package) + "\n");
    w.File(node + "/cpumap", CpuMask(first, per_package, total) + "\n");
    std::string distance;
    for (int q = 0; q < packages; ++q)
      AppendItem(distance, ' ', std::to_string(p == q ? 10 : remote));
    w.File(node + "/distance", distance + "\n");
    w.File(node + "/meminfo", "Node " + std::to_string(p) + " MemTotal:       " +
                                  std::to_string(int64_t{memory_gib} << 20) + " kB\n");
    for (int c = 0; c < cores; ++c) {
      for (int t = 0; t < threads; ++t) {
        // Linux numbers the first thread of every core first, then the siblings.
        const int id = first + c + t * cores;
        const std::string dir = "sys/devices/system/cpu/cpu" + std::to_string(id);
        std::string siblings;
        for (int u = 0; u < threads; ++u) {
          AppendItem(siblings, ',', std::to_string(first + c + u * cores));
        }
        w.File(dir + "/online", "1\n");
        w.File(dir + "/topology/physical_package_id", std::to_string(p) + "\n");
        w.File(dir + "/topology/core_id", std::to_string(c) + "\n");
        w.File(dir + "/topology/die_id", "0\n");
        std::vector<uint32_t> sibling_words(static_cast<std::size_t>((total + 31) / 32), 0);
        for (int u = 0; u < threads; ++u) {
          const int sibling = first + c + u * cores;
          sibling_words[sibling / 32] |= 1u << (sibling % 32);
        }
        std::string sibling_mask;
        for (auto it = sibling_words.rbegin(); it != sibling_words.rend(); ++it) {
          char buffer[16];
          std::snprintf(buffer, sizeof buffer, "%08x", *it);
          AppendItem(sibling_mask, ',', buffer);
        }
        const std::string package_mask = CpuMask(first, per_package, total);
        w.File(dir + "/topology/thread_siblings_list", siblings + "\n");
        w.File(dir + "/topology/thread_siblings", sibling_mask + "\n");
        w.File(dir + "/topology/core_cpus_list", siblings + "\n");
        w.File(dir + "/topology/core_cpus", sibling_mask + "\n");
        w.File(dir + "/topology/core_siblings_list", Range(first, per_package) + "\n");
        w.File(dir + "/topology/core_siblings", package_mask + "\n");
        w.File(dir + "/topology/package_cpus_list", Range(first, per_package) + "\n");
        w.File(dir + "/topology/package_cpus", package_mask + "\n");
        w.File(node + "/cpu" + std::to_string(id) + "/online", "1\n");
      }
    }
  }
}

std::string Hex(uint32_t value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%0*x\n", digits, value);
  return buffer;
}

struct PciEntry {
  uint32_t vendor = 0;
  uint32_t device = 0;
  uint32_t class_code = 0;
  std::optional<int> numa_node;
  std::string max_speed, current_speed;
  std::optional<int> max_width, current_width;
  std::string driver;
};

std::string NormalizeBus(std::string bus) {
  // "00000000:19:00.0" -> "0000:19:00.0"; lower case.
  for (char& c : bus) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (bus.size() == 16 && bus.starts_with("0000")) bus = bus.substr(4);
  return bus;
}

std::string GenerationSpeed(const std::optional<std::string>& generation) {
  static const char* kSpeeds[] = {"",
                                  "2.5 GT/s PCIe",
                                  "5.0 GT/s PCIe",
                                  "8.0 GT/s PCIe",
                                  "16.0 GT/s PCIe",
                                  "32.0 GT/s PCIe",
                                  "64.0 GT/s PCIe"};
  int g = 0;
  if (generation) std::from_chars(generation->data(), generation->data() + generation->size(), g);
  return g >= 1 && g <= 6 ? kSpeeds[g] : "";
}

std::optional<int> Width(const std::optional<std::string>& text) {
  int w = 0;
  if (!text) return std::nullopt;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), w);
  return ec == std::errc() ? std::optional<int>(w) : std::nullopt;
}

void AddPciFromSmi(const SmiCapture& smi, std::map<std::string, PciEntry>& pci) {
  for (const SmiGpu& gpu : smi.gpus) {
    PciEntry e;
    e.vendor = 0x10de;
    e.class_code = 0x030200;
    if (auto id = gpu.Get("PCI/Device Id"); id && id->size() > 2) {
      uint32_t combined = 0;
      std::from_chars(id->data() + 2, id->data() + id->size(), combined, 16);
      e.device = combined >> 16;
    }
    e.current_speed = GenerationSpeed(gpu.Get("PCI/GPU Link Info/PCIe Generation/Current"));
    e.max_speed = GenerationSpeed(gpu.Get("PCI/GPU Link Info/PCIe Generation/Max"));
    e.current_width = Width(gpu.Get("PCI/GPU Link Info/Link Width/Current"));
    e.max_width = Width(gpu.Get("PCI/GPU Link Info/Link Width/Max"));
    e.driver = "nvidia";
    pci[NormalizeBus(gpu.header_bus_id)] = e;
  }
}

const toml::table* SubTable(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  return n ? n->as_table() : nullptr;
}

std::string StringOr(const toml::table* t, std::string_view key, std::string fallback = "") {
  if (!t) return fallback;
  return t->get_as<std::string>(key) ? t->get_as<std::string>(key)->get() : fallback;
}

}  // namespace

std::string ScenarioDir() { return NODEHEALTH_SCENARIO_DIR; }
std::string ScenarioPath(const std::string& name) { return ScenarioDir() + "/" + name; }

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "nodehealth-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Expected<bool> MaterializeNode(const std::string& scenario_path, const std::string& root) {
  Expected<toml::table> loaded = LoadScenario(scenario_path);
  if (!loaded) return loaded.error();
  const toml::table& s = *loaded;
  Writer w{root, ""};
  w.Dir("sys/bus/pci/devices");
  w.Dir("dev");
  w.Dir("proc/sys/kernel");

  w.File("proc/sys/kernel/hostname", StringOr(&s, "hostname", "fixture-node") + "\n");
  if (auto cpus = s.get_as<std::string>("cpu_online"))
    w.File("sys/devices/system/cpu/online", cpus->get() + "\n");
  if (const toml::table* cpu = SubTable(s, "cpu_topology")) WriteCpuTopology(w, *cpu);

  if (const toml::table* dmi = SubTable(s, "dmi")) {
    std::string vendor = StringOr(dmi, "sys_vendor");
    std::string product = StringOr(dmi, "product_name");
    if (auto capture = dmi->get_as<std::string>("dmidecode")) {
      Expected<std::string> text = ReadWholeFile(capture->get());
      if (!text) return text.error();
      bool in_system = false;
      ForEachLine(*text, [&](std::string_view line) {
        if (line == "System Information") {
          in_system = true;
        } else if (!line.empty() && line[0] != '\t' && line[0] != ' ') {
          in_system = false;
        }
        auto take = [&](std::string_view field, std::string& out) {
          const std::size_t at = line.find(std::string(field) + ": ");
          if (in_system && at != std::string_view::npos && out.empty()) {
            out = std::string(line.substr(at + field.size() + 2));
          }
        };
        take("Manufacturer", vendor);
        take("Product Name", product);
      });
    }
    w.File("sys/class/dmi/id/sys_vendor", vendor + "\n");
    w.File("sys/class/dmi/id/product_name", product + "\n");
  }

  std::map<std::string, PciEntry> pci;
  const toml::table* pci_table = SubTable(s, "pci");
  if (auto lspci = pci_table ? pci_table->get_as<std::string>("lspci") : nullptr) {
    Expected<std::string> text = ReadWholeFile(lspci->get());
    if (!text) return text.error();
    for (const LspciDevice& d : ParseLspciVvv(*text)) {
      pci[d.bus_id] = {d.vendor,        d.device,    d.class_code,    d.numa_node, d.max_speed,
                       d.current_speed, d.max_width, d.current_width, d.driver};
    }
  }
  if (auto smi = pci_table ? pci_table->get_as<std::string>("smi") : nullptr) {
    Expected<std::string> text = ReadWholeFile(smi->get());
    if (!text) return text.error();
    AddPciFromSmi(ParseSmiCapture(*text), pci);
  }
  if (const toml::array* remove = pci_table ? pci_table->get_as<toml::array>("remove") : nullptr) {
    for (const auto& item : *remove) {
      if (auto bus = item.value<std::string>()) pci.erase(*bus);
    }
  }
  int nvidia_gpus = 0;
  std::string proc_devices;  // /proc/bus/pci/devices: "<bus><devfn>\t<vendor><device>\t<irq>"
  for (const auto& [bus, e] : pci) {
    unsigned b = 0, d = 0, f = 0;
    if (std::sscanf(bus.c_str() + bus.find(':') + 1, "%x:%x.%x", &b, &d, &f) == 3) {
      char line[64];
      std::snprintf(line, sizeof line, "%02x%02x\t%04x%04x\t0\t%s\n", b, (d << 3) | f, e.vendor,
                    e.device, e.driver.c_str());
      proc_devices += line;
    }
    const std::string dir = "sys/bus/pci/devices/" + bus + "/";
    w.File(dir + "vendor", Hex(e.vendor, 4));
    w.File(dir + "device", Hex(e.device, 4));
    w.File(dir + "class", Hex(e.class_code, 6));
    w.File(dir + "numa_node", std::to_string(e.numa_node.value_or(-1)) + "\n");
    if (!e.max_speed.empty()) w.File(dir + "max_link_speed", e.max_speed + "\n");
    if (!e.current_speed.empty()) w.File(dir + "current_link_speed", e.current_speed + "\n");
    if (e.max_width) w.File(dir + "max_link_width", std::to_string(*e.max_width) + "\n");
    if (e.current_width)
      w.File(dir + "current_link_width", std::to_string(*e.current_width) + "\n");
    if (!e.driver.empty()) w.Symlink(dir + "driver", "../../../../bus/pci/drivers/" + e.driver);
    if (e.vendor == 0x10de && (e.class_code >> 16) == 0x03) ++nvidia_gpus;
  }
  w.File("proc/bus/pci/devices", proc_devices);
  if (const toml::table* overrides = pci_table ? SubTable(*pci_table, "override") : nullptr) {
    for (const auto& [bus, attrs] : *overrides) {
      if (!attrs.is_table()) continue;
      for (const auto& [attr, value] : *attrs.as_table()) {
        if (auto text = value.value<std::string>()) {
          w.File("sys/bus/pci/devices/" + std::string(bus.str()) + "/" + std::string(attr.str()),
                 *text);
        }
      }
    }
  }

  if (const toml::table* driver = SubTable(s, "driver")) {
    const std::string version = StringOr(driver, "version");
    const bool loaded_module =
        driver->get_as<bool>("loaded") ? driver->get_as<bool>("loaded")->get() : true;
    if (loaded_module && !version.empty()) {
      w.File("sys/module/nvidia/version", version + "\n");
      const bool open = driver->get_as<bool>("open") && driver->get_as<bool>("open")->get();
      std::string line = StringOr(driver, "proc_version");
      if (line.empty()) {
        line =
            open ? "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  " + version +
                       "  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Feb  8 21:21:21 UTC 2024"
                 : "NVRM version: NVIDIA UNIX x86_64 Kernel Module  " + version +
                       "  Thu Feb  8 21:21:21 UTC 2024";
      }
      w.File("proc/driver/nvidia/version",
             line + "\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n");
    }
    int nodes = nvidia_gpus;
    if (auto n = driver->get_as<int64_t>("dev_nodes")) nodes = static_cast<int>(n->get());
    if (loaded_module) {
      for (int i = 0; i < nodes; ++i) w.File("dev/nvidia" + std::to_string(i), "");
      w.File("dev/nvidiactl", "");
    }
  }

  if (const toml::table* kmsg = SubTable(s, "kmsg")) {
    std::string log;
    if (const toml::array* files = kmsg->get_as<toml::array>("files")) {
      for (const auto& f : *files) {
        if (auto path = f.value<std::string>()) {
          Expected<std::string> text = ReadWholeFile(*path);
          if (!text) return text.error();
          log += *text;
          if (!log.empty() && log.back() != '\n') log += '\n';
        }
      }
    }
    if (const toml::array* lines = kmsg->get_as<toml::array>("lines")) {
      for (const auto& l : *lines) {
        if (auto line = l.value<std::string>()) log += *line + "\n";
      }
    }
    w.File("dev/kmsg", log);
  }

  if (const toml::table* trees = SubTable(s, "trees")) {
    for (const auto& [dest, source] : *trees) {
      const std::optional<std::string> from = source.value<std::string>();
      if (!from) return MakeError("[trees] values must be strings");
      Expected<bool> copied = CopyTree(w, std::string(dest.str()), *from);
      if (!copied) return copied.error();
    }
  }
  if (const toml::table* files = SubTable(s, "files")) {
    for (const auto& [path, content] : *files) {
      if (auto text = content.value<std::string>()) w.File(std::string(path.str()), *text);
    }
  }
  if (const toml::table* links = SubTable(s, "symlinks")) {
    for (const auto& [path, target] : *links) {
      if (auto text = target.value<std::string>()) w.Symlink(std::string(path.str()), *text);
    }
  }
  // remove = ["<path below the root>", ...]: a device that a fault scenario takes away from its
  // base.
  if (const toml::array* remove = s.get_as<toml::array>("remove")) {
    for (const auto& item : *remove) {
      if (auto path = item.value<std::string>()) {
        std::error_code ec;
        std::filesystem::remove_all(std::filesystem::path(w.root) / *path, ec);
      }
    }
  }
  if (!w.error.empty()) return MakeError(w.error);
  return true;
}

}  // namespace nodehealth::testing
