#include "probes/platform/nvml_library.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "probes/platform/regular_file.h"

namespace nodehealth::platform {

using nvml::Device;
using nvml::Return;

// Function pointer types, from the declarations in nvml.h.
using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using StringFn = Return (*)(char*, unsigned);
using IntOutFn = Return (*)(int*);
using UnsignedOutFn = Return (*)(unsigned*);
using HandleByIndexFn = Return (*)(unsigned, Device*);
using HandleByBusIdFn = Return (*)(const char*, Device*);
using DeviceStringFn = Return (*)(Device, char*, unsigned);
using DeviceStringNoLenFn = Return (*)(Device, char*);
using DevicePciFn = Return (*)(Device, nvml::PciInfo*);
using DeviceUnsignedFn = Return (*)(Device, unsigned*);
using DeviceEccModeFn = Return (*)(Device, nvml::EnableState*, nvml::EnableState*);
using DeviceTotalEccFn = Return (*)(Device, nvml::MemoryErrorType, nvml::EccCounterType,
                                    unsigned long long*);
using DeviceRemappedRowsFn = Return (*)(Device, unsigned*, unsigned*, unsigned*, unsigned*);
using DeviceEnableStateFn = Return (*)(Device, nvml::EnableState*);
using DeviceRetiredPagesFn = Return (*)(Device, nvml::PageRetirementCause, unsigned*,
                                        unsigned long long*);
using DevicePstateFn = Return (*)(Device, nvml::Pstate*);
using DeviceNvLinkStateFn = Return (*)(Device, unsigned, nvml::EnableState*);
using DeviceTemperatureFn = Return (*)(Device, nvml::TemperatureSensor, unsigned*);
using DeviceThresholdFn = Return (*)(Device, nvml::TemperatureThreshold, unsigned*);
using DeviceUllFn = Return (*)(Device, unsigned long long*);
using DeviceFabricFn = Return (*)(Device, nvml::GpuFabricInfo*);
using DeviceFabricVFn = Return (*)(Device, nvml::GpuFabricInfoV2*);
using DeviceFieldValuesFn = Return (*)(Device, int, nvml::FieldValue*);
using DeviceNvLinkErrorFn = Return (*)(Device, unsigned, nvml::NvLinkErrorCounter,
                                       unsigned long long*);
using DeviceTwoUnsignedFn = Return (*)(Device, unsigned*, unsigned*);
using EventSetCreateFn = Return (*)(nvml::EventSet*);
using RegisterEventsFn = Return (*)(Device, unsigned long long, nvml::EventSet);
using EventSetWaitFn = Return (*)(nvml::EventSet, nvml::EventData*, unsigned);
using EventSetFreeFn = Return (*)(nvml::EventSet);

template <class Fn>
struct Slot {
  Fn fn = nullptr;
  const char* symbol = nullptr;    // the name that resolved
  const char* function = nullptr;  // the name we call it by (first candidate)
};

struct NvmlLibrary::Symbols {
  Slot<InitFn> init;
  Slot<ShutdownFn> shutdown;
  Slot<ErrorStringFn> error_string;
  Slot<StringFn> driver_version;
  Slot<StringFn> nvml_version;
  Slot<IntOutFn> cuda_driver_version;
  Slot<UnsignedOutFn> device_count;
  Slot<HandleByIndexFn> handle_by_index;
  Slot<HandleByBusIdFn> handle_by_bus_id;
  Slot<DeviceStringFn> name;
  Slot<DeviceStringFn> uuid;
  Slot<DeviceStringFn> serial;
  Slot<DevicePciFn> pci_info;
  Slot<DeviceUnsignedFn> minor_number;
  Slot<DeviceStringFn> vbios_version;
  Slot<DeviceStringNoLenFn> gsp_firmware_version;
  Slot<DeviceEccModeFn> ecc_mode;
  Slot<DeviceTotalEccFn> total_ecc_errors;
  Slot<DeviceRemappedRowsFn> remapped_rows;
  Slot<DeviceEnableStateFn> retired_pages_pending;
  Slot<DeviceRetiredPagesFn> retired_pages;
  Slot<DeviceUnsignedFn> curr_pcie_generation;
  Slot<DeviceUnsignedFn> curr_pcie_width;
  Slot<DeviceUnsignedFn> max_pcie_generation;
  Slot<DeviceUnsignedFn> max_pcie_width;
  Slot<DeviceUnsignedFn> gpu_max_pcie_generation;
  Slot<DevicePstateFn> performance_state;
  Slot<DeviceNvLinkStateFn> nvlink_state;
  Slot<DeviceTemperatureFn> temperature;
  Slot<DeviceThresholdFn> temperature_threshold;
  Slot<DeviceUllFn> clocks_event_reasons;
  Slot<DeviceFabricVFn> fabric_info_v;
  Slot<DeviceFabricFn> fabric_info;
  Slot<DeviceFieldValuesFn> field_values;
  Slot<DeviceUnsignedFn> pcie_replay_counter;
  Slot<DeviceNvLinkErrorFn> nvlink_error_counter;
  Slot<DeviceUnsignedFn> enforced_power_limit;
  Slot<DeviceUnsignedFn> power_management_limit;
  Slot<DeviceUnsignedFn> power_default_limit;
  Slot<DeviceTwoUnsignedFn> power_limit_constraints;
  Slot<EventSetCreateFn> event_set_create;
  Slot<RegisterEventsFn> register_events;
  Slot<EventSetWaitFn> event_set_wait;
  Slot<EventSetFreeFn> event_set_free;

  template <class Fn>
  void Resolve(void* handle, Slot<Fn>& slot, std::initializer_list<const char*> names) {
    slot.function = *names.begin();
    for (const char* name : names) {
      if (void* address = ::dlsym(handle, name)) {
        slot.fn = reinterpret_cast<Fn>(address);
        slot.symbol = name;
        return;
      }
    }
  }

  void ResolveAll(void* h) {
    // Newest name first: the header #defines the plain name to the newest ABI, and the plain
    // symbol that older libraries export keeps the old behaviour (nvmlInit v1 fails when any
    // GPU is bad; nvmlDeviceGetCount v1 skips inaccessible GPUs).
    Resolve(h, init, {"nvmlInit_v2", "nvmlInit"});
    Resolve(h, shutdown, {"nvmlShutdown"});
    Resolve(h, error_string, {"nvmlErrorString"});
    Resolve(h, driver_version, {"nvmlSystemGetDriverVersion"});
    Resolve(h, nvml_version, {"nvmlSystemGetNVMLVersion"});
    // _v2 asks libcuda itself; the plain one returns a built-in guess when libcuda is absent.
    Resolve(h, cuda_driver_version,
            {"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"});
    Resolve(h, device_count, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
    Resolve(h, handle_by_index, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
    Resolve(h, handle_by_bus_id,
            {"nvmlDeviceGetHandleByPciBusId_v2", "nvmlDeviceGetHandleByPciBusId"});
    Resolve(h, name, {"nvmlDeviceGetName"});
    Resolve(h, uuid, {"nvmlDeviceGetUUID"});
    Resolve(h, serial, {"nvmlDeviceGetSerial"});
    Resolve(h, pci_info,
            {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo"});
    Resolve(h, minor_number, {"nvmlDeviceGetMinorNumber"});
    Resolve(h, vbios_version, {"nvmlDeviceGetVbiosVersion"});
    Resolve(h, gsp_firmware_version, {"nvmlDeviceGetGspFirmwareVersion"});
    Resolve(h, ecc_mode, {"nvmlDeviceGetEccMode"});
    Resolve(h, total_ecc_errors, {"nvmlDeviceGetTotalEccErrors"});
    Resolve(h, remapped_rows, {"nvmlDeviceGetRemappedRows"});
    Resolve(h, retired_pages_pending, {"nvmlDeviceGetRetiredPagesPendingStatus"});
    Resolve(h, retired_pages, {"nvmlDeviceGetRetiredPages"});
    Resolve(h, curr_pcie_generation, {"nvmlDeviceGetCurrPcieLinkGeneration"});
    Resolve(h, curr_pcie_width, {"nvmlDeviceGetCurrPcieLinkWidth"});
    Resolve(h, max_pcie_generation, {"nvmlDeviceGetMaxPcieLinkGeneration"});
    Resolve(h, max_pcie_width, {"nvmlDeviceGetMaxPcieLinkWidth"});
    Resolve(h, gpu_max_pcie_generation, {"nvmlDeviceGetGpuMaxPcieLinkGeneration"});
    Resolve(h, performance_state, {"nvmlDeviceGetPerformanceState"});
    Resolve(h, nvlink_state, {"nvmlDeviceGetNvLinkState"});
    Resolve(h, temperature, {"nvmlDeviceGetTemperature"});
    Resolve(h, temperature_threshold, {"nvmlDeviceGetTemperatureThreshold"});
    // Renamed in CUDA 12.3-era headers; same signature and bits.
    Resolve(
        h, clocks_event_reasons,
        {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"});
    Resolve(h, fabric_info_v, {"nvmlDeviceGetGpuFabricInfoV"});
    Resolve(h, fabric_info, {"nvmlDeviceGetGpuFabricInfo"});
    Resolve(h, field_values, {"nvmlDeviceGetFieldValues"});
    // Signatures from nvml.h as synced in NVIDIA/go-nvml (2f9e261f); all optional.
    Resolve(h, pcie_replay_counter, {"nvmlDeviceGetPcieReplayCounter"});
    Resolve(h, nvlink_error_counter, {"nvmlDeviceGetNvLinkErrorCounter"});
    Resolve(h, enforced_power_limit, {"nvmlDeviceGetEnforcedPowerLimit"});
    Resolve(h, power_management_limit, {"nvmlDeviceGetPowerManagementLimit"});
    Resolve(h, power_default_limit, {"nvmlDeviceGetPowerManagementDefaultLimit"});
    Resolve(h, power_limit_constraints, {"nvmlDeviceGetPowerManagementLimitConstraints"});
    Resolve(h, event_set_create, {"nvmlEventSetCreate"});
    Resolve(h, register_events, {"nvmlDeviceRegisterEvents"});
    // The old entry point writes only the first three fields of the (larger) struct we pass.
    Resolve(h, event_set_wait, {"nvmlEventSetWait_v2", "nvmlEventSetWait"});
    Resolve(h, event_set_free, {"nvmlEventSetFree"});
  }

  template <class Fn>
  static void Describe(std::vector<std::string>& out, const Slot<Fn>& slot) {
    out.push_back(std::string(slot.function) + " -> " + (slot.symbol ? slot.symbol : "(missing)"));
  }
};

// Publishes the function in flight so that a watchdog on another thread can name a hung call.
class NvmlLibrary::CallScope {
 public:
  CallScope(std::atomic<const char*>& current, const char* function) : current_(current) {
    current_.store(function, std::memory_order_release);
  }
  ~CallScope() { current_.store(nullptr, std::memory_order_release); }

 private:
  std::atomic<const char*>& current_;
};

namespace {

// NVML writes NUL-terminated strings; guard against a library that does not.
std::string FromBuffer(const char* buffer, std::size_t size) {
  return std::string(buffer, strnlen(buffer, size));
}

}  // namespace

Expected<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Open(const std::string& path) {
  // A path (not a name for the loader to search) must be a regular file: dlopen's open(2) of a
  // FIFO never returns, and it holds the loader's lock meanwhile, so every later dlopen in the
  // process (hwloc's plugins, NSS) would wait too.
  if (path.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return MakeError("cannot load " + path + ": it is " + DescribeFileType(st.st_mode) +
                           ", not a shared library",
                       EINVAL);
    }
  }
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return MakeError("cannot load " + path + ": " + (why ? why : "unknown dlopen error"));
  }
  std::string loaded_file;
  link_map* map = nullptr;
  if (::dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr) {
    loaded_file = map->l_name;
    if (char* real = ::realpath(map->l_name, nullptr)) {
      loaded_file = real;
      std::free(real);
    }
  }
  std::unique_ptr<NvmlLibrary> library(new NvmlLibrary(handle, std::move(loaded_file)));
  return library;
}

NvmlLibrary::NvmlLibrary(void* handle, std::string loaded_file)
    : handle_(handle), loaded_file_(std::move(loaded_file)), symbols_(new Symbols) {
  symbols_->ResolveAll(handle_);
}

NvmlLibrary::~NvmlLibrary() = default;  // deliberately no dlclose: see the header

std::vector<std::string> NvmlLibrary::ResolvedSymbols() const {
  std::vector<std::string> out;
  const Symbols& s = *symbols_;
  Symbols::Describe(out, s.init);
  Symbols::Describe(out, s.device_count);
  Symbols::Describe(out, s.handle_by_index);
  Symbols::Describe(out, s.handle_by_bus_id);
  Symbols::Describe(out, s.pci_info);
  Symbols::Describe(out, s.cuda_driver_version);
  Symbols::Describe(out, s.clocks_event_reasons);
  Symbols::Describe(out, s.fabric_info_v);
  Symbols::Describe(out, s.fabric_info);
  Symbols::Describe(out, s.remapped_rows);
  Symbols::Describe(out, s.gsp_firmware_version);
  Symbols::Describe(out, s.field_values);
  Symbols::Describe(out, s.pcie_replay_counter);
  Symbols::Describe(out, s.nvlink_error_counter);
  Symbols::Describe(out, s.enforced_power_limit);
  Symbols::Describe(out, s.power_management_limit);
  Symbols::Describe(out, s.power_default_limit);
  Symbols::Describe(out, s.power_limit_constraints);
  Symbols::Describe(out, s.event_set_create);
  Symbols::Describe(out, s.register_events);
  Symbols::Describe(out, s.event_set_wait);
  Symbols::Describe(out, s.event_set_free);
  return out;
}

// Calls slot.fn(args...) with the call published, or returns FUNCTION_NOT_FOUND.
#define NH_NVML_CALL(slot, ...)                                            \
  ([&]() -> Return {                                                       \
    if (symbols_->slot.fn == nullptr) return nvml::kErrorFunctionNotFound; \
    CallScope scope(current_call_, symbols_->slot.function);               \
    return symbols_->slot.fn(__VA_ARGS__);                                 \
  }())

Return NvmlLibrary::Init() {
  if (symbols_->init.fn == nullptr) return nvml::kErrorFunctionNotFound;
  CallScope scope(current_call_, symbols_->init.symbol);
  return symbols_->init.fn();
}

Return NvmlLibrary::Shutdown() { return NH_NVML_CALL(shutdown); }

std::string NvmlLibrary::ErrorString(Return value) {
  if (symbols_->error_string.fn != nullptr) {
    if (const char* text = symbols_->error_string.fn(value)) return text;
  }
  return nvml::ReturnName(value);
}

Return NvmlLibrary::SystemGetDriverVersion(std::string* version) {
  char buffer[nvml::kVersionBufferSize] = {};
  const Return r = NH_NVML_CALL(driver_version, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *version = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::SystemGetNvmlVersion(std::string* version) {
  char buffer[nvml::kVersionBufferSize] = {};
  const Return r = NH_NVML_CALL(nvml_version, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *version = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::SystemGetCudaDriverVersion(int* version) {
  return NH_NVML_CALL(cuda_driver_version, version);
}

Return NvmlLibrary::DeviceGetCount(unsigned* count) { return NH_NVML_CALL(device_count, count); }

Return NvmlLibrary::DeviceGetHandleByIndex(unsigned index, Device* device) {
  return NH_NVML_CALL(handle_by_index, index, device);
}

Return NvmlLibrary::DeviceGetHandleByPciBusId(const std::string& bus_id, Device* device) {
  return NH_NVML_CALL(handle_by_bus_id, bus_id.c_str(), device);
}

Return NvmlLibrary::DeviceGetName(Device device, std::string* name) {
  char buffer[nvml::kNameBufferSize] = {};
  const Return r = NH_NVML_CALL(name, device, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *name = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::DeviceGetUuid(Device device, std::string* uuid) {
  char buffer[nvml::kUuidBufferSize] = {};
  const Return r = NH_NVML_CALL(uuid, device, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *uuid = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::DeviceGetSerial(Device device, std::string* serial) {
  char buffer[nvml::kSerialBufferSize] = {};
  const Return r = NH_NVML_CALL(serial, device, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *serial = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::DeviceGetPciBusId(Device device, std::string* bus_id, uint32_t* pci_device_id) {
  nvml::PciInfo info = {};
  const Return r = NH_NVML_CALL(pci_info, device, &info);
  if (r != nvml::kSuccess) return r;
  // Formatted from the numeric fields: the oldest entry points do not fill busId, and NVML's
  // own format (upper case, 8-digit domain) differs from sysfs'.
  char buffer[32];
  if (info.domain <= 0xffff) {
    std::snprintf(buffer, sizeof buffer, "%04x:%02x:%02x.0", info.domain, info.bus & 0xff,
                  info.device & 0x1f);
  } else {
    std::snprintf(buffer, sizeof buffer, "%08x:%02x:%02x.0", info.domain, info.bus & 0xff,
                  info.device & 0x1f);
  }
  *bus_id = buffer;
  if (pci_device_id != nullptr) *pci_device_id = info.pci_device_id;
  return r;
}

Return NvmlLibrary::DeviceGetMinorNumber(Device device, unsigned* minor) {
  return NH_NVML_CALL(minor_number, device, minor);
}

Return NvmlLibrary::DeviceGetVbiosVersion(Device device, std::string* version) {
  char buffer[nvml::kVbiosBufferSize] = {};
  const Return r = NH_NVML_CALL(vbios_version, device, buffer, sizeof buffer);
  if (r == nvml::kSuccess) *version = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::DeviceGetGspFirmwareVersion(Device device, std::string* version) {
  // No length argument in the ABI: NVML writes at most NVML_GSP_FIRMWARE_VERSION_BUF_SIZE.
  char buffer[nvml::kGspFirmwareBufferSize * 2] = {};
  const Return r = NH_NVML_CALL(gsp_firmware_version, device, buffer);
  if (r == nvml::kSuccess) *version = FromBuffer(buffer, sizeof buffer);
  return r;
}

Return NvmlLibrary::DeviceGetEccMode(Device device, bool* current, bool* pending) {
  nvml::EnableState cur = nvml::kFeatureDisabled;
  nvml::EnableState pen = nvml::kFeatureDisabled;
  const Return r = NH_NVML_CALL(ecc_mode, device, &cur, &pen);
  if (r == nvml::kSuccess) {
    *current = cur == nvml::kFeatureEnabled;
    *pending = pen == nvml::kFeatureEnabled;
  }
  return r;
}

Return NvmlLibrary::DeviceGetTotalEccErrors(Device device, nvml::MemoryErrorType type,
                                            nvml::EccCounterType counter, uint64_t* count) {
  unsigned long long value = 0;
  const Return r = NH_NVML_CALL(total_ecc_errors, device, type, counter, &value);
  if (r == nvml::kSuccess) *count = value;
  return r;
}

Return NvmlLibrary::DeviceGetRemappedRows(Device device, unsigned* correctable,
                                          unsigned* uncorrectable, bool* pending, bool* failure) {
  unsigned is_pending = 0;
  unsigned failure_occurred = 0;
  const Return r = NH_NVML_CALL(remapped_rows, device, correctable, uncorrectable, &is_pending,
                                &failure_occurred);
  if (r == nvml::kSuccess) {
    *pending = is_pending != 0;
    *failure = failure_occurred != 0;
  }
  return r;
}

Return NvmlLibrary::DeviceGetRetiredPagesPendingStatus(Device device, bool* pending) {
  nvml::EnableState state = nvml::kFeatureDisabled;
  const Return r = NH_NVML_CALL(retired_pages_pending, device, &state);
  if (r == nvml::kSuccess) *pending = state == nvml::kFeatureEnabled;
  return r;
}

Return NvmlLibrary::DeviceGetRetiredPageCount(Device device, nvml::PageRetirementCause cause,
                                              unsigned* count) {
  // Asking with a zero-sized buffer returns the count (INSUFFICIENT_SIZE when non-zero).
  unsigned page_count = 0;
  const Return r = NH_NVML_CALL(retired_pages, device, cause, &page_count, nullptr);
  if (r == nvml::kSuccess || r == nvml::kErrorInsufficientSize) {
    *count = page_count;
    return nvml::kSuccess;
  }
  return r;
}

Return NvmlLibrary::DeviceGetCurrPcieLinkGeneration(Device device, unsigned* generation) {
  return NH_NVML_CALL(curr_pcie_generation, device, generation);
}

Return NvmlLibrary::DeviceGetCurrPcieLinkWidth(Device device, unsigned* width) {
  return NH_NVML_CALL(curr_pcie_width, device, width);
}

Return NvmlLibrary::DeviceGetMaxPcieLinkGeneration(Device device, unsigned* generation) {
  return NH_NVML_CALL(max_pcie_generation, device, generation);
}

Return NvmlLibrary::DeviceGetMaxPcieLinkWidth(Device device, unsigned* width) {
  return NH_NVML_CALL(max_pcie_width, device, width);
}

Return NvmlLibrary::DeviceGetGpuMaxPcieLinkGeneration(Device device, unsigned* generation) {
  return NH_NVML_CALL(gpu_max_pcie_generation, device, generation);
}

Return NvmlLibrary::DeviceGetPerformanceState(Device device, nvml::Pstate* pstate) {
  return NH_NVML_CALL(performance_state, device, pstate);
}

Return NvmlLibrary::DeviceGetNvLinkState(Device device, unsigned link, bool* active) {
  nvml::EnableState state = nvml::kFeatureDisabled;
  const Return r = NH_NVML_CALL(nvlink_state, device, link, &state);
  if (r == nvml::kSuccess) *active = state == nvml::kFeatureEnabled;
  return r;
}

Return NvmlLibrary::DeviceGetTemperature(Device device, unsigned* celsius) {
  return NH_NVML_CALL(temperature, device, nvml::kTemperatureGpu, celsius);
}

Return NvmlLibrary::DeviceGetTemperatureThreshold(Device device,
                                                  nvml::TemperatureThreshold threshold,
                                                  unsigned* celsius) {
  return NH_NVML_CALL(temperature_threshold, device, threshold, celsius);
}

Return NvmlLibrary::DeviceGetCurrentClocksEventReasons(Device device, uint64_t* reasons) {
  unsigned long long value = 0;
  const Return r = NH_NVML_CALL(clocks_event_reasons, device, &value);
  if (r == nvml::kSuccess) *reasons = value;
  return r;
}

Return NvmlLibrary::DeviceGetGpuFabricState(Device device, unsigned char* state, Return* status) {
  if (symbols_->fabric_info_v.fn != nullptr) {
    nvml::GpuFabricInfoV2 info = {};
    info.version = nvml::kGpuFabricInfoV2Version;
    const Return r = NH_NVML_CALL(fabric_info_v, device, &info);
    // A driver that knows the V entry point but not this struct version says so; fall back.
    if (r != nvml::kErrorFunctionNotFound && r != 25 /* ARGUMENT_VERSION_MISMATCH */) {
      if (r == nvml::kSuccess) {
        *state = info.state;
        *status = info.status;
      }
      return r;
    }
  }
  nvml::GpuFabricInfo info = {};
  const Return r = NH_NVML_CALL(fabric_info, device, &info);
  if (r == nvml::kSuccess) {
    *state = info.state;
    *status = info.status;
  }
  return r;
}

Return NvmlLibrary::DeviceGetFieldValues(Device device, std::vector<nvml::FieldValue>* values) {
  return NH_NVML_CALL(field_values, device, static_cast<int>(values->size()), values->data());
}

Return NvmlLibrary::DeviceGetPcieReplayCounter(Device device, unsigned* value) {
  return NH_NVML_CALL(pcie_replay_counter, device, value);
}

Return NvmlLibrary::DeviceGetNvLinkErrorCounter(Device device, unsigned link,
                                                nvml::NvLinkErrorCounter counter, uint64_t* value) {
  unsigned long long v = 0;
  const Return r = NH_NVML_CALL(nvlink_error_counter, device, link, counter, &v);
  if (r == nvml::kSuccess) *value = v;
  return r;
}

Return NvmlLibrary::DeviceGetEnforcedPowerLimit(Device device, unsigned* milliwatts) {
  return NH_NVML_CALL(enforced_power_limit, device, milliwatts);
}

Return NvmlLibrary::DeviceGetPowerManagementLimit(Device device, unsigned* milliwatts) {
  return NH_NVML_CALL(power_management_limit, device, milliwatts);
}

Return NvmlLibrary::DeviceGetPowerManagementDefaultLimit(Device device, unsigned* milliwatts) {
  return NH_NVML_CALL(power_default_limit, device, milliwatts);
}

Return NvmlLibrary::DeviceGetPowerManagementLimitConstraints(Device device, unsigned* min_mw,
                                                             unsigned* max_mw) {
  unsigned lo = 0;
  unsigned hi = 0;
  const Return r = NH_NVML_CALL(power_limit_constraints, device, &lo, &hi);
  if (r == nvml::kSuccess) {
    *min_mw = lo;
    *max_mw = hi;
  }
  return r;
}

Return NvmlLibrary::EventSetCreate(nvml::EventSet* set) {
  return NH_NVML_CALL(event_set_create, set);
}

Return NvmlLibrary::DeviceRegisterEvents(Device device, unsigned long long types,
                                         nvml::EventSet set) {
  return NH_NVML_CALL(register_events, device, types, set);
}

Return NvmlLibrary::EventSetWait(nvml::EventSet set, nvml::EventData* data, unsigned timeout_ms) {
  *data = {};
  return NH_NVML_CALL(event_set_wait, set, data, timeout_ms);
}

Return NvmlLibrary::EventSetFree(nvml::EventSet set) { return NH_NVML_CALL(event_set_free, set); }

#undef NH_NVML_CALL

}  // namespace nodehealth::platform
