#include "tests/fakes/nvml/fake_gpu.h"

#include <charconv>

#include "probes/platform/sysfs_values.h"
#include "tests/support/scenario.h"
#include "tests/support/smi_capture.h"

namespace nodehealth::fake_nvml {
namespace {

using testing::SmiGpu;

// Leading unsigned number of "29 C", "16x", "81559 MiB".
template <class T>
Field<T> Number(const std::optional<std::string>& text) {
  Field<T> f;
  if (!text) return f;  // absent: UNKNOWN
  if (*text == "N/A") {
    f.r = nvml::kErrorNotSupported;
    return f;
  }
  const char* first = text->data();
  const char* last = first + text->size();
  if (text->size() > 1 && text->front() == 'P') ++first;  // "P0"
  auto [ptr, ec] = std::from_chars(first, last, f.v);
  f.r = ec == std::errc() && ptr != first ? nvml::kSuccess : nvml::kErrorUnknown;
  return f;
}

// "700.00 W" -> 700000 (mW, what NVML's power-limit calls answer).
Field<unsigned> Milliwatts(const std::optional<std::string>& text) {
  Field<unsigned> f;
  if (!text) return f;
  if (*text == "N/A") {
    f.r = nvml::kErrorNotSupported;
    return f;
  }
  double watts = 0;
  const char* first = text->data();
  const char* last = first + text->size();
  auto [ptr, ec] = std::from_chars(first, last, watts);
  if (ec != std::errc() || ptr == first || std::string_view(ptr, last - ptr) != " W" || watts < 0 ||
      watts > 4e6) {
    return f;  // garbled: UNKNOWN
  }
  f = {nvml::kSuccess, static_cast<unsigned>(watts * 1000 + 0.5)};
  return f;
}

Field<bool> YesNo(const std::optional<std::string>& text) {
  Field<bool> f;
  if (!text) return f;
  if (*text == "N/A") {
    f.r = nvml::kErrorNotSupported;
  } else if (*text == "Yes" || *text == "Enabled" || *text == "Active") {
    f = {nvml::kSuccess, true};
  } else if (*text == "No" || *text == "Disabled" || *text == "Not Active") {
    f = {nvml::kSuccess, false};
  }
  return f;
}

Field<std::string> Text(const std::optional<std::string>& text) {
  Field<std::string> f;
  if (!text) return f;
  if (*text == "N/A") {
    f.r = nvml::kErrorNotSupported;
  } else {
    f = {nvml::kSuccess, *text};
  }
  return f;
}

template <class T>
Field<T> Sum(std::initializer_list<Field<T>> parts) {
  Field<T> total{nvml::kSuccess, 0};
  bool any = false;
  for (const Field<T>& p : parts) {
    if (p.r == nvml::kSuccess) {
      total.v += p.v;
      any = true;
    } else if (p.r == nvml::kErrorUnknown) {
      continue;  // older captures print fewer SRAM lines; a missing part adds nothing
    } else {
      return p;
    }
  }
  if (!any) total.r = nvml::kErrorUnknown;
  return total;
}

unsigned ArchitectureCode(const std::string& name) {
  if (name == "Volta") return 5;
  if (name == "Turing") return 6;
  if (name == "Ampere") return 7;
  if (name == "Ada Lovelace") return 8;
  if (name == "Hopper") return 9;
  if (name == "Blackwell") return 10;
  return 0xffffffff;
}

FakeGpu FromCapture(const SmiGpu& g) {
  FakeGpu gpu;
  Expected<std::string> bus = platform::NormalizePciBusId(g.header_bus_id);
  gpu.bus_id = bus ? *bus : g.header_bus_id;
  unsigned domain = 0, b = 0, d = 0;
  std::sscanf(gpu.bus_id.c_str(), "%x:%x:%x", &domain, &b, &d);
  gpu.domain = domain;
  gpu.bus = b;
  gpu.device = d;
  if (auto id = g.Get("PCI/Device Id"); id && id->size() > 2) {
    std::from_chars(id->data() + 2, id->data() + id->size(), gpu.pci_device_id, 16);
  }
  if (auto id = g.Get("PCI/Sub System Id"); id && id->size() > 2) {
    std::from_chars(id->data() + 2, id->data() + id->size(), gpu.pci_subsystem_id, 16);
  }
  gpu.name = Text(g.Get("Product Name"));
  gpu.uuid = Text(g.Get("GPU UUID"));
  gpu.serial = Text(g.Get("Serial Number"));
  gpu.vbios = Text(g.Get("VBIOS Version"));
  gpu.gsp_firmware = Text(g.Get("GSP Firmware Version"));
  gpu.minor = Number<unsigned>(g.Get("Minor Number"));
  if (auto arch = g.Get("Product Architecture"))
    gpu.architecture = {nvml::kSuccess, ArchitectureCode(*arch)};
  gpu.ecc_enabled = YesNo(g.Get("ECC Mode/Current"));
  const std::string v = "ECC Errors/Volatile/";
  const std::string a = "ECC Errors/Aggregate/";
  gpu.ecc_uncorrected_volatile =
      Sum<uint64_t>({Number<uint64_t>(g.Get(v + "DRAM Uncorrectable")),
                     Number<uint64_t>(g.Get(v + "SRAM Uncorrectable")),
                     Number<uint64_t>(g.Get(v + "SRAM Uncorrectable Parity")),
                     Number<uint64_t>(g.Get(v + "SRAM Uncorrectable SEC-DED"))});
  gpu.ecc_uncorrected_aggregate =
      Sum<uint64_t>({Number<uint64_t>(g.Get(a + "DRAM Uncorrectable")),
                     Number<uint64_t>(g.Get(a + "SRAM Uncorrectable")),
                     Number<uint64_t>(g.Get(a + "SRAM Uncorrectable Parity")),
                     Number<uint64_t>(g.Get(a + "SRAM Uncorrectable SEC-DED"))});
  gpu.ecc_corrected_volatile = Sum<uint64_t>({Number<uint64_t>(g.Get(v + "DRAM Correctable")),
                                              Number<uint64_t>(g.Get(v + "SRAM Correctable"))});
  if (g.Get("Remapped Rows") == std::optional<std::string>("N/A")) {
    gpu.remap_correctable.r = nvml::kErrorNotSupported;
  } else {
    gpu.remap_correctable = Number<unsigned>(g.Get("Remapped Rows/Correctable Error"));
    gpu.remap_uncorrectable = Number<unsigned>(g.Get("Remapped Rows/Uncorrectable Error"));
    gpu.remap_pending = YesNo(g.Get("Remapped Rows/Pending"));
    gpu.remap_failure = YesNo(g.Get("Remapped Rows/Remapping Failure Occurred"));
    for (nvml::Return r : {gpu.remap_uncorrectable.r, gpu.remap_pending.r, gpu.remap_failure.r}) {
      if (r != nvml::kSuccess) gpu.remap_correctable.r = r;
    }
  }
  gpu.retired_pending = YesNo(g.Get("Retired Pages/Pending Page Blacklist"));
  gpu.retired_sbe = Number<unsigned>(g.Get("Retired Pages/Single Bit ECC"));
  gpu.retired_dbe = Number<unsigned>(g.Get("Retired Pages/Double Bit ECC"));
  const std::string link = "PCI/GPU Link Info/";
  gpu.pcie_generation = Number<unsigned>(g.Get(link + "PCIe Generation/Current"));
  gpu.pcie_max_generation = Number<unsigned>(g.Get(link + "PCIe Generation/Max"));
  gpu.pcie_device_max_generation = Number<unsigned>(g.Get(link + "PCIe Generation/Device Max"));
  gpu.pcie_width = Number<unsigned>(g.Get(link + "Link Width/Current"));
  gpu.pcie_max_width = Number<unsigned>(g.Get(link + "Link Width/Max"));
  gpu.performance_state = Number<int>(g.Get("Performance State"));
  gpu.pcie_replay = Number<unsigned>(g.Get("PCI/Replays Since Reset"));
  // R535+ prints "GPU Power Readings" (and "Module Power Readings" for Grace Hopper modules);
  // older drivers "Power Readings" with "Enforced Power Limit" for the current one.
  std::string power = "GPU Power Readings/";
  if (!g.Get(power + "Default Power Limit") && g.Get("Power Readings/Default Power Limit")) {
    power = "Power Readings/";
  }
  gpu.power_enforced_mw = Milliwatts(g.Get(power + "Current Power Limit"));
  if (!g.Get(power + "Current Power Limit")) {
    gpu.power_enforced_mw = Milliwatts(g.Get(power + "Enforced Power Limit"));
  }
  gpu.power_requested_mw = Milliwatts(g.Get(power + "Requested Power Limit"));
  gpu.power_default_mw = Milliwatts(g.Get(power + "Default Power Limit"));
  gpu.power_min_mw = Milliwatts(g.Get(power + "Min Power Limit"));
  gpu.power_max_mw = Milliwatts(g.Get(power + "Max Power Limit"));
  // Clock event reasons: all nine lines must be readable, or NVML "could not answer".
  std::string reasons = "Clocks Event Reasons/";
  if (!g.Get(reasons + "Idle")) reasons = "Clocks Throttle Reasons/";  // drivers before 535
  const std::pair<const char*, uint64_t> kBits[] = {
      {"Idle", nvml::kClocksGpuIdle},
      {"Applications Clocks Setting", nvml::kClocksApplicationsClocksSetting},
      {"SW Power Cap", nvml::kClocksSwPowerCap},
      {"HW Slowdown", nvml::kClocksHwSlowdown},
      {"HW Slowdown/HW Thermal Slowdown", nvml::kClocksHwThermalSlowdown},
      {"HW Slowdown/HW Power Brake Slowdown", nvml::kClocksHwPowerBrakeSlowdown},
      {"Sync Boost", nvml::kClocksSyncBoost},
      {"SW Thermal Slowdown", nvml::kClocksSwThermalSlowdown},
      {"Display Clock Setting", nvml::kClocksDisplayClockSetting},
  };
  gpu.clock_event_reasons = {nvml::kSuccess, 0};
  for (const auto& [key, bit] : kBits) {
    // "HW Slowdown" is itself a heading of the two lines below it and a value line.
    Field<bool> on = YesNo(g.Get(reasons + key));
    if (on.r != nvml::kSuccess) {
      gpu.clock_event_reasons.r = nvml::kErrorUnknown;
      break;
    }
    if (on.v) gpu.clock_event_reasons.v |= bit;
  }
  gpu.temperature = Number<unsigned>(g.Get("Temperature/GPU Current Temp"));
  // Absolute thresholds only; T.Limit-relative captures (H100) leave them unanswered.
  gpu.slowdown_temperature = Number<unsigned>(g.Get("Temperature/GPU Slowdown Temp"));
  gpu.shutdown_temperature = Number<unsigned>(g.Get("Temperature/GPU Shutdown Temp"));
  if (!g.Get("Temperature/GPU Slowdown Temp") && g.Get("Temperature/GPU Current Temp")) {
    gpu.slowdown_temperature.r = nvml::kErrorNotSupported;
  }
  // nvidia-smi's "GPU Reset Status" (R535.183+) is what field 230 reports; absent before that.
  const Field<bool> reset = YesNo(g.Get("GPU Reset Status/Reset Required"));
  const Field<bool> drain = YesNo(g.Get("GPU Reset Status/Drain and Reset Recommended"));
  if (reset.r == nvml::kSuccess && drain.r == nvml::kSuccess) {
    gpu.recovery_action = {nvml::kSuccess,
                           drain.v ? nvml::kRecoveryDrainAndReset
                                   : (reset.v ? nvml::kRecoveryGpuReset : nvml::kRecoveryNone)};
  } else {
    gpu.recovery_action.r = nvml::kErrorNotSupported;
  }
  if (auto state = g.Get("Fabric/State")) {
    if (*state == "Completed")
      gpu.fabric_state = {nvml::kSuccess, nvml::kFabricStateCompleted};
    else if (*state == "In Progress")
      gpu.fabric_state = {nvml::kSuccess, nvml::kFabricStateInProgress};
    else if (*state == "Not Started")
      gpu.fabric_state = {nvml::kSuccess, nvml::kFabricStateNotStarted};
    else if (*state == "N/A")
      gpu.fabric_state = {nvml::kSuccess, nvml::kFabricStateNotSupported};
    auto status = g.Get("Fabric/Status");
    gpu.fabric_status = status && *status != "Success" ? nvml::kErrorUnknown : nvml::kSuccess;
  } else {
    gpu.fabric_state.r = nvml::kErrorNotSupported;
  }
  return gpu;
}

template <class T>
void SetInt(const toml::table& t, std::string_view key, Field<T>& field) {
  if (auto v = t.get_as<int64_t>(key)) field = {nvml::kSuccess, static_cast<T>(v->get())};
  if (auto s = t.get_as<std::string>(key)) {
    if (auto r = ReturnByName(s->get()))
      field.r = *r;
    else if (s->get() == "N/A")
      field.r = nvml::kErrorNotSupported;
  }
}

// "power_limit_enforced_w = 500" -> 500000 mW.
void SetWatts(const toml::table& t, std::string_view key, Field<unsigned>& field) {
  if (auto v = t.get_as<int64_t>(key))
    field = {nvml::kSuccess, static_cast<unsigned>(v->get()) * 1000};
  if (auto v = t.get_as<double>(key)) {
    field = {nvml::kSuccess, static_cast<unsigned>(v->get() * 1000 + 0.5)};
  }
  if (auto v = t.get_as<std::string>(key)) {
    if (auto r = ReturnByName(v->get())) field.r = *r;
    if (v->get() == "N/A") field.r = nvml::kErrorNotSupported;
  }
}

// nvlink_replay_errors = [0, 3, ...]: one value per link.
void SetLinkCounts(const toml::table& t, std::string_view key, int kind, FakeGpu& gpu) {
  const toml::array* values = t.get_as<toml::array>(key);
  if (values == nullptr) return;
  for (std::size_t link = 0; link < values->size(); ++link) {
    auto v = (*values)[link].value<int64_t>();
    if (!v) continue;
    std::vector<uint64_t>& kinds = gpu.nvlink_errors[static_cast<int>(link)];
    if (kinds.size() < 4) kinds.resize(4, UINT64_MAX);
    kinds[static_cast<std::size_t>(kind)] = static_cast<uint64_t>(*v);
  }
}

void SetBool(const toml::table& t, std::string_view key, Field<bool>& field) {
  if (auto v = t.get_as<bool>(key)) field = {nvml::kSuccess, v->get()};
}

void SetText(const toml::table& t, std::string_view key, Field<std::string>& field) {
  if (auto v = t.get_as<std::string>(key)) {
    field = v->get() == "N/A" ? Field<std::string>{nvml::kErrorNotSupported, ""}
                              : Field<std::string>{nvml::kSuccess, v->get()};
  }
}

void ApplyOverrides(const toml::table& t, FakeGpu& gpu) {
  SetText(t, "name", gpu.name);
  SetText(t, "uuid", gpu.uuid);
  SetText(t, "vbios", gpu.vbios);
  SetText(t, "gsp_firmware", gpu.gsp_firmware);
  if (auto arch = t.get_as<std::string>("architecture"))
    gpu.architecture = {nvml::kSuccess, ArchitectureCode(arch->get())};
  SetBool(t, "ecc_enabled", gpu.ecc_enabled);
  SetInt(t, "ecc_uncorrected_volatile", gpu.ecc_uncorrected_volatile);
  SetInt(t, "ecc_uncorrected_aggregate", gpu.ecc_uncorrected_aggregate);
  SetInt(t, "ecc_corrected_volatile", gpu.ecc_corrected_volatile);
  if (t.get_as<std::string>("remapped_rows") &&
      t.get_as<std::string>("remapped_rows")->get() == "N/A") {
    gpu.remap_correctable.r = nvml::kErrorNotSupported;
  }
  SetBool(t, "remapped_rows_pending", gpu.remap_pending);
  SetBool(t, "remapped_rows_failure", gpu.remap_failure);
  SetInt(t, "remapped_rows_correctable", gpu.remap_correctable);
  SetInt(t, "remapped_rows_uncorrectable", gpu.remap_uncorrectable);
  SetBool(t, "retired_pages_pending", gpu.retired_pending);
  SetInt(t, "retired_pages_sbe", gpu.retired_sbe);
  SetInt(t, "retired_pages_dbe", gpu.retired_dbe);
  SetInt(t, "pcie_generation", gpu.pcie_generation);
  SetInt(t, "pcie_max_generation", gpu.pcie_max_generation);
  SetInt(t, "pcie_width", gpu.pcie_width);
  SetInt(t, "pcie_max_width", gpu.pcie_max_width);
  SetInt(t, "performance_state", gpu.performance_state);
  SetInt(t, "clock_event_reasons", gpu.clock_event_reasons);
  SetInt(t, "temperature", gpu.temperature);
  SetInt(t, "slowdown_temperature", gpu.slowdown_temperature);
  SetInt(t, "recovery_action", gpu.recovery_action);
  if (auto f = t.get_as<std::string>("fabric_state")) {
    const std::string s = f->get();
    const unsigned char state = s == "completed"     ? nvml::kFabricStateCompleted
                                : s == "in_progress" ? nvml::kFabricStateInProgress
                                : s == "not_started" ? nvml::kFabricStateNotStarted
                                                     : nvml::kFabricStateNotSupported;
    gpu.fabric_state = {nvml::kSuccess, state};
  }
  if (auto s = t.get_as<std::string>("fabric_status")) {
    gpu.fabric_status = ReturnByName(s->get()).value_or(nvml::kErrorUnknown);
  }
  if (auto n = t.get_as<int64_t>("nvlinks"))
    gpu.nvlinks.assign(static_cast<std::size_t>(n->get()), 1);
  if (auto n = t.get_as<int64_t>("nvlinks_active")) {
    for (std::size_t i = 0; i < gpu.nvlinks.size(); ++i) {
      gpu.nvlinks[i] = static_cast<int64_t>(i) < n->get() ? 1 : 0;
    }
  }
  SetInt(t, "pcie_replay", gpu.pcie_replay);
  SetWatts(t, "power_limit_enforced_w", gpu.power_enforced_mw);
  SetWatts(t, "power_limit_requested_w", gpu.power_requested_mw);
  SetWatts(t, "power_limit_default_w", gpu.power_default_mw);
  SetWatts(t, "power_limit_min_w", gpu.power_min_mw);
  SetWatts(t, "power_limit_max_w", gpu.power_max_mw);
  SetLinkCounts(t, "nvlink_replay_errors", nvml::kNvlinkErrorDlReplay, gpu);
  SetLinkCounts(t, "nvlink_recovery_errors", nvml::kNvlinkErrorDlRecovery, gpu);
  SetLinkCounts(t, "nvlink_crc_flit_errors", nvml::kNvlinkErrorDlCrcFlit, gpu);
  SetLinkCounts(t, "nvlink_crc_data_errors", nvml::kNvlinkErrorDlCrcData, gpu);
  if (auto f = t.get_as<bool>("nvlink_errors_fields_only"))
    gpu.nvlink_errors_fields_only = f->get();
  if (auto lost = t.get_as<bool>("lost")) gpu.lost = lost->get();
  if (auto e = t.get_as<std::string>("open_error")) {
    gpu.open_error = ReturnByName(e->get()).value_or(nvml::kErrorUnknown);
  }
  if (auto hang = t.get_as<std::string>("hang")) gpu.hang = hang->get();
  if (const toml::table* errors = t.get_as<toml::table>("errors")) {
    for (const auto& [fn, value] : *errors) {
      if (auto name = value.value<std::string>()) {
        gpu.errors[std::string(fn.str())] = ReturnByName(*name).value_or(nvml::kErrorUnknown);
      }
    }
  }
}

}  // namespace

std::optional<nvml::Return> ReturnByName(const std::string& name) {
  for (nvml::Return r = 0; r <= 30; ++r) {
    if (name == nvml::ReturnName(r)) return r;
  }
  if (name == nvml::ReturnName(nvml::kErrorUnknown)) return nvml::kErrorUnknown;
  return std::nullopt;
}

Expected<FakeNode> LoadFakeNode(const std::string& path) {
  Expected<toml::table> scenario = testing::LoadScenario(path);
  if (!scenario) return scenario.error();
  const toml::table* n = scenario->get_as<toml::table>("nvml");
  if (n == nullptr) return MakeError(path + ": no [nvml] section");
  FakeNode node;
  if (auto smi_path = n->get_as<std::string>("smi")) {
    Expected<std::string> text = testing::ReadWholeFile(smi_path->get());
    if (!text) return text.error();
    const testing::SmiCapture capture = testing::ParseSmiCapture(*text);
    node.driver_version = Text(capture.Top("Driver Version"));
    if (node.driver_version.r == nvml::kSuccess) {
      node.nvml_version = {nvml::kSuccess, "12." + node.driver_version.v};
    }
    if (auto cuda = capture.Top("CUDA Version")) {
      int major = 0, minor = 0;
      if (std::sscanf(cuda->c_str(), "%d.%d", &major, &minor) == 2) {
        node.cuda_version = {nvml::kSuccess, major * 1000 + minor * 10};
      }
    }
    for (const testing::SmiGpu& g : capture.gpus) node.gpus.push_back(FromCapture(g));
    node.count = static_cast<unsigned>(
        std::max<int>(capture.attached_gpus, static_cast<int>(node.gpus.size())));
  }
  if (auto links = n->get_as<int64_t>("nvlinks")) {
    for (FakeGpu& gpu : node.gpus) gpu.nvlinks.assign(static_cast<std::size_t>(links->get()), 1);
  }
  if (auto status = n->get_as<std::string>("nvlink_status")) {
    Expected<std::string> text = testing::ReadWholeFile(status->get());
    if (!text) return text.error();
    for (const auto& [index, up] : testing::ParseNvlinkStatus(*text)) {
      if (index < 0 || static_cast<std::size_t>(index) >= node.gpus.size()) continue;
      FakeGpu& gpu = node.gpus[static_cast<std::size_t>(index)];
      for (int& link : gpu.nvlinks) link = 0;
      for (int l : up) {
        if (static_cast<std::size_t>(l) < gpu.nvlinks.size())
          gpu.nvlinks[static_cast<std::size_t>(l)] = 1;
      }
    }
  }
  // `nvidia-smi nvlink -e`: "Replay Errors", "Recovery Errors", "CRC Errors" per link. The
  // published format has one CRC line; it is read as the flit CRC counter (the CRC data counter
  // then has no data); "CRC Flit Errors" / "CRC Data Errors" lines are taken as such. Kinds the
  // capture does not print answer NOT_SUPPORTED.
  if (auto path = n->get_as<std::string>("nvlink_errors")) {
    Expected<std::string> text = testing::ReadWholeFile(path->get());
    if (!text) return text.error();
    for (const auto& [index, links] : testing::ParseNvlinkErrors(*text)) {
      if (index < 0 || static_cast<std::size_t>(index) >= node.gpus.size()) continue;
      FakeGpu& gpu = node.gpus[static_cast<std::size_t>(index)];
      for (const auto& [link, counters] : links) {
        std::vector<uint64_t>& kinds = gpu.nvlink_errors[link];
        kinds.assign(4, UINT64_MAX);
        const std::pair<const char*, int> kNames[] = {
            {"Replay Errors", nvml::kNvlinkErrorDlReplay},
            {"Recovery Errors", nvml::kNvlinkErrorDlRecovery},
            {"CRC Errors", nvml::kNvlinkErrorDlCrcFlit},
            {"CRC Flit Errors", nvml::kNvlinkErrorDlCrcFlit},  // some versions split CRC
            {"CRC Data Errors", nvml::kNvlinkErrorDlCrcData},
        };
        for (const auto& [name, kind] : kNames) {
          if (auto it = counters.find(name); it != counters.end())
            kinds[static_cast<std::size_t>(kind)] = it->second;
        }
      }
    }
  }
  if (auto e = n->get_as<std::string>("init_error"))
    node.init_return = ReturnByName(e->get()).value_or(nvml::kErrorUnknown);
  SetText(*n, "driver_version", node.driver_version);
  SetText(*n, "nvml_version", node.nvml_version);
  SetInt(*n, "cuda_version", node.cuda_version);
  if (auto c = n->get_as<int64_t>("count")) node.count = static_cast<unsigned>(c->get());
  if (auto h = n->get_as<std::string>("hang")) node.hang = h->get();
  if (auto s = n->get_as<double>("hang_seconds")) node.hang_seconds = s->get();
  if (auto s = n->get_as<int64_t>("hang_seconds"))
    node.hang_seconds = static_cast<double>(s->get());
  // GPUs gone from the node altogether (fallen off PCI): NVML no longer counts them.
  if (const toml::array* remove = n->get_as<toml::array>("remove")) {
    for (const auto& item : *remove) {
      if (auto bus = item.value<std::string>()) {
        std::erase_if(node.gpus, [&](const FakeGpu& g) { return g.bus_id == *bus; });
        if (node.count > 0) --node.count;
      }
    }
  }
  if (const toml::table* gpus = n->get_as<toml::table>("gpu")) {
    for (const auto& [bus, overrides] : *gpus) {
      if (!overrides.is_table()) continue;
      for (FakeGpu& gpu : node.gpus) {
        if (gpu.bus_id == bus.str()) ApplyOverrides(*overrides.as_table(), gpu);
      }
    }
  }
  return node;
}

}  // namespace nodehealth::fake_nvml
