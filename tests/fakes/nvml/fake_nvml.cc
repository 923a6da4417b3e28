// A fake NVML: a real shared library exporting NVML's C entry points, loaded by nodehealth through
// the same dlopen path as libnvidia-ml.so.1 (--nvml-library). It answers from the scenario file
// named by NODEHEALTH_FAKE_NVML (re-read on every nvmlInit), which builds on real nvidia-smi -q
// captures (fake_gpu.h). Like DCGM's NVML injection library, but driven by captures.
//
// Built twice (tests/CMakeLists.txt): libnvml_fake.so exports the current versioned names;
// libnvml_fake_legacy.so (FAKE_NVML_LEGACY) exports only the unversioned names of old drivers and
// lacks the newer functions, to test symbol fallbacks and "missing means not supported".
//
// Scenario keys that make it misbehave: [nvml] init_error, hang = "<function>" (every call),
// hang_seconds (default: forever), remove = [bus ids]; per GPU lost = true, open_error,
// hang = "<function>", errors.<function> = "<NVML_ERROR_...>". XID events come from the file named
// by NODEHEALTH_FAKE_NVML_EVENTS (see nvmlEventSetWait_v2 below).
//
// Counters and power limits: PCIe replays and power limits come from the `-q` capture; NVLink
// error counters from an `nvidia-smi nvlink -e` capture named by [nvml] nvlink_errors. Per GPU:
// pcie_replay = N; power_limit_{enforced,requested,default,min,max}_w = W;
// nvlink_{replay,recovery,crc_flit,crc_data}_errors = [per link]; nvlink_errors_fields_only = true
// (the call says NOT_SUPPORTED, the field-values API answers, as on newer drivers).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "probes/platform/sysfs_values.h"
#include "tests/fakes/nvml/fake_gpu.h"

using nodehealth::fake_nvml::FakeGpu;
using nodehealth::fake_nvml::FakeNode;
namespace nvml = nodehealth::platform::nvml;
using Return = nvml::Return;

struct nvmlDevice_st {
  unsigned index;
};

namespace {

std::mutex g_mutex;
FakeNode g_node;
bool g_initialised = false;
nvmlDevice_st g_handles[256];

void MaybeHang(const std::string& function, const std::string& gpu_hang) {
  if (g_node.hang != function && gpu_hang != function) return;
  if (g_node.hang_seconds >= 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(g_node.hang_seconds));
    return;
  }
  for (;;) ::pause();  // a sick GPU: the call never comes back
}

// Common entry for per-device calls: validates the handle, applies lost/forced errors/hangs.
// Returns SUCCESS and sets *gpu when the call may proceed.
Return Enter(nvmlDevice_st* device, const char* function, FakeGpu** gpu) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (device == nullptr || device->index >= g_node.gpus.size()) return nvml::kErrorInvalidArgument;
  FakeGpu& g = g_node.gpus[device->index];
  MaybeHang(function, g.hang);
  if (g.lost) return nvml::kErrorGpuIsLost;
  if (auto it = g.errors.find(function); it != g.errors.end()) return it->second;
  *gpu = &g;
  return nvml::kSuccess;
}

template <class T, class U>
Return Answer(const nodehealth::fake_nvml::Field<T>& field, U* out) {
  if (out == nullptr) return nvml::kErrorInvalidArgument;
  if (field.r == nvml::kSuccess) *out = static_cast<U>(field.v);
  return field.r;
}

Return AnswerString(const nodehealth::fake_nvml::Field<std::string>& field, char* out,
                    unsigned length) {
  if (out == nullptr) return nvml::kErrorInvalidArgument;
  if (field.r != nvml::kSuccess) return field.r;
  if (field.v.size() + 1 > length) return nvml::kErrorInsufficientSize;
  std::memcpy(out, field.v.c_str(), field.v.size() + 1);
  return nvml::kSuccess;
}

Return InitCommon(const char* function) {
  std::lock_guard lock(g_mutex);
  const char* path = std::getenv("NODEHEALTH_FAKE_NVML");
  if (path == nullptr) return nvml::kErrorUnknown;
  auto node = nodehealth::fake_nvml::LoadFakeNode(path);
  if (!node) {
    std::fprintf(stderr, "fake NVML: %s\n", node.error().message.c_str());
    return nvml::kErrorUnknown;
  }
  g_node = std::move(*node);
  for (unsigned i = 0; i < 256; ++i) g_handles[i].index = i;
  MaybeHang(function, "");
  g_initialised = g_node.init_return == nvml::kSuccess;
  return g_node.init_return;
}

Return HandleByIndex(unsigned index, nvmlDevice_st** device) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (device == nullptr || index >= g_node.count) return nvml::kErrorInvalidArgument;
  // A capture that stops early (truncated) cannot describe the GPUs it lost.
  if (index >= g_node.gpus.size()) return nvml::kErrorUnknown;
  const FakeGpu& gpu = g_node.gpus[index];
  MaybeHang("nvmlDeviceGetHandleByIndex", gpu.hang);
  if (gpu.lost) return nvml::kErrorGpuIsLost;
  if (gpu.open_error != nvml::kSuccess) return gpu.open_error;
  *device = &g_handles[index];
  return nvml::kSuccess;
}

Return HandleByBusId(const char* bus_id, nvmlDevice_st** device) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (bus_id == nullptr || device == nullptr) return nvml::kErrorInvalidArgument;
  auto normal = nodehealth::platform::NormalizePciBusId(bus_id);
  for (unsigned i = 0; i < g_node.gpus.size(); ++i) {
    const FakeGpu& gpu = g_node.gpus[i];
    if (!normal || gpu.bus_id != *normal) continue;
    if (gpu.lost) return nvml::kErrorGpuIsLost;
    if (gpu.open_error != nvml::kSuccess) return gpu.open_error;
    *device = &g_handles[i];
    return nvml::kSuccess;
  }
  return g_node.count > g_node.gpus.size() ? nvml::kErrorUnknown : nvml::kErrorNotFound;
}

Return PciInfo(nvmlDevice_st* d, nvml::PciInfo* pci, bool legacy) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPciInfo", &g); r != nvml::kSuccess) return r;
  if (pci == nullptr) return nvml::kErrorInvalidArgument;
  std::memset(pci, 0, legacy ? offsetof(nvml::PciInfo, bus_id) : sizeof(*pci));
  pci->domain = g->domain;
  pci->bus = g->bus;
  pci->device = g->device;
  pci->pci_device_id = g->pci_device_id;
  std::snprintf(pci->bus_id_legacy, sizeof pci->bus_id_legacy, "%04X:%02X:%02X.0",
                g->domain & 0xffff, g->bus, g->device);
  if (!legacy) {
    pci->pci_subsystem_id = g->pci_subsystem_id;
    std::snprintf(pci->bus_id, sizeof pci->bus_id, "%08X:%02X:%02X.0", g->domain, g->bus,
                  g->device);
  }
  return nvml::kSuccess;
}

}  // namespace

#define EXPORT extern "C" __attribute__((visibility("default")))

EXPORT Return nvmlInit() { return InitCommon("nvmlInit"); }
EXPORT Return nvmlShutdown() {
  std::lock_guard lock(g_mutex);
  g_initialised = false;
  return nvml::kSuccess;
}
EXPORT const char* nvmlErrorString(Return r) { return nvml::ReturnName(r); }

EXPORT Return nvmlSystemGetDriverVersion(char* out, unsigned length) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  MaybeHang("nvmlSystemGetDriverVersion", "");
  return AnswerString(g_node.driver_version, out, length);
}
EXPORT Return nvmlSystemGetNVMLVersion(char* out, unsigned length) {
  return AnswerString(g_node.nvml_version, out, length);
}
EXPORT Return nvmlSystemGetCudaDriverVersion(int* version) {
  return Answer(g_node.cuda_version, version);
}
EXPORT Return nvmlDeviceGetCount(unsigned* count) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  MaybeHang("nvmlDeviceGetCount", "");
  if (count == nullptr) return nvml::kErrorInvalidArgument;
  *count = g_node.count;
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetHandleByIndex(unsigned index, nvmlDevice_st** device) {
  return HandleByIndex(index, device);
}
EXPORT Return nvmlDeviceGetHandleByPciBusId(const char* bus_id, nvmlDevice_st** device) {
  return HandleByBusId(bus_id, device);
}
EXPORT Return nvmlDeviceGetPciInfo(nvmlDevice_st* d, nvml::PciInfo* pci) {
  return PciInfo(d, pci, /*legacy=*/true);
}
EXPORT Return nvmlDeviceGetName(nvmlDevice_st* d, char* out, unsigned length) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetName", &g); r != nvml::kSuccess) return r;
  return AnswerString(g->name, out, length);
}
EXPORT Return nvmlDeviceGetUUID(nvmlDevice_st* d, char* out, unsigned length) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetUUID", &g); r != nvml::kSuccess) return r;
  return AnswerString(g->uuid, out, length);
}
EXPORT Return nvmlDeviceGetMinorNumber(nvmlDevice_st* d, unsigned* minor) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetMinorNumber", &g); r != nvml::kSuccess) return r;
  return Answer(g->minor, minor);
}
EXPORT Return nvmlDeviceGetVbiosVersion(nvmlDevice_st* d, char* out, unsigned length) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetVbiosVersion", &g); r != nvml::kSuccess) return r;
  return AnswerString(g->vbios, out, length);
}
EXPORT Return nvmlDeviceGetEccMode(nvmlDevice_st* d, int* current, int* pending) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetEccMode", &g); r != nvml::kSuccess) return r;
  if (pending) *pending = g->ecc_enabled.v ? 1 : 0;
  return Answer(g->ecc_enabled, current);
}
EXPORT Return nvmlDeviceGetTotalEccErrors(nvmlDevice_st* d, int type, int counter,
                                          unsigned long long* count) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetTotalEccErrors", &g); r != nvml::kSuccess) return r;
  if (type == nvml::kMemoryErrorUncorrected) {
    return Answer(
        counter == nvml::kVolatileEcc ? g->ecc_uncorrected_volatile : g->ecc_uncorrected_aggregate,
        count);
  }
  return Answer(g->ecc_corrected_volatile, count);
}
EXPORT Return nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_st* d, int* pending) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetRetiredPagesPendingStatus", &g); r != nvml::kSuccess)
    return r;
  return Answer(g->retired_pending, pending);
}
EXPORT Return nvmlDeviceGetRetiredPages(nvmlDevice_st* d, int cause, unsigned* count,
                                        unsigned long long* addresses) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetRetiredPages", &g); r != nvml::kSuccess) return r;
  const auto& field = cause == nvml::kRetiredDbe ? g->retired_dbe : g->retired_sbe;
  if (field.r != nvml::kSuccess) return field.r;
  if (count == nullptr) return nvml::kErrorInvalidArgument;
  const unsigned capacity = *count;
  *count = field.v;
  if (capacity < field.v) return nvml::kErrorInsufficientSize;
  for (unsigned i = 0; addresses && i < field.v; ++i) addresses[i] = 0x1000ull * (i + 1);
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_st* d, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetCurrPcieLinkGeneration", &g); r != nvml::kSuccess) return r;
  return Answer(g->pcie_generation, v);
}
EXPORT Return nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_st* d, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetCurrPcieLinkWidth", &g); r != nvml::kSuccess) return r;
  return Answer(g->pcie_width, v);
}
EXPORT Return nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_st* d, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetMaxPcieLinkGeneration", &g); r != nvml::kSuccess) return r;
  return Answer(g->pcie_max_generation, v);
}
EXPORT Return nvmlDeviceGetMaxPcieLinkWidth(nvmlDevice_st* d, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetMaxPcieLinkWidth", &g); r != nvml::kSuccess) return r;
  return Answer(g->pcie_max_width, v);
}
EXPORT Return nvmlDeviceGetPerformanceState(nvmlDevice_st* d, int* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPerformanceState", &g); r != nvml::kSuccess) return r;
  return Answer(g->performance_state, v);
}
EXPORT Return nvmlDeviceGetTemperature(nvmlDevice_st* d, int sensor, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetTemperature", &g); r != nvml::kSuccess) return r;
  if (sensor != nvml::kTemperatureGpu) return nvml::kErrorInvalidArgument;
  return Answer(g->temperature, v);
}
EXPORT Return nvmlDeviceGetTemperatureThreshold(nvmlDevice_st* d, int threshold, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetTemperatureThreshold", &g); r != nvml::kSuccess) return r;
  if (threshold == nvml::kThresholdSlowdown) return Answer(g->slowdown_temperature, v);
  if (threshold == nvml::kThresholdShutdown) return Answer(g->shutdown_temperature, v);
  return nvml::kErrorNotSupported;
}
EXPORT Return nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_st* d, unsigned long long* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetCurrentClocksEventReasons", &g); r != nvml::kSuccess)
    return r;
  return Answer(g->clock_event_reasons, v);
}

#ifndef FAKE_NVML_LEGACY
// Entry points of current drivers (R535+); the legacy build stops above.
EXPORT Return nvmlInit_v2() { return InitCommon("nvmlInit_v2"); }
EXPORT Return nvmlSystemGetCudaDriverVersion_v2(int* version) {
  return Answer(g_node.cuda_version, version);
}
EXPORT Return nvmlDeviceGetCount_v2(unsigned* count) { return nvmlDeviceGetCount(count); }
EXPORT Return nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_st** device) {
  return HandleByIndex(index, device);
}
EXPORT Return nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, nvmlDevice_st** device) {
  return HandleByBusId(bus_id, device);
}
EXPORT Return nvmlDeviceGetPciInfo_v3(nvmlDevice_st* d, nvml::PciInfo* pci) {
  return PciInfo(d, pci, /*legacy=*/false);
}
EXPORT Return nvmlDeviceGetPciInfo_v2(nvmlDevice_st* d, nvml::PciInfo* pci) {
  return PciInfo(d, pci, /*legacy=*/false);
}
EXPORT Return nvmlDeviceGetSerial(nvmlDevice_st* d, char* out, unsigned length) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetSerial", &g); r != nvml::kSuccess) return r;
  return AnswerString(g->serial, out, length);
}
EXPORT Return nvmlDeviceGetGspFirmwareVersion(nvmlDevice_st* d, char* out) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetGspFirmwareVersion", &g); r != nvml::kSuccess) return r;
  return AnswerString(g->gsp_firmware, out, nvml::kGspFirmwareBufferSize);
}
EXPORT Return nvmlDeviceGetArchitecture(nvmlDevice_st* d, unsigned* arch) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetArchitecture", &g); r != nvml::kSuccess) return r;
  return Answer(g->architecture, arch);
}
EXPORT Return nvmlDeviceGetRemappedRows(nvmlDevice_st* d, unsigned* corr, unsigned* unc,
                                        unsigned* pending, unsigned* failure) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetRemappedRows", &g); r != nvml::kSuccess) return r;
  if (g->remap_correctable.r != nvml::kSuccess) return g->remap_correctable.r;
  if (!corr || !unc || !pending || !failure) return nvml::kErrorInvalidArgument;
  *corr = g->remap_correctable.v;
  *unc = g->remap_uncorrectable.v;
  *pending = g->remap_pending.v ? 1 : 0;
  *failure = g->remap_failure.v ? 1 : 0;
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetGpuMaxPcieLinkGeneration(nvmlDevice_st* d, unsigned* v) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetGpuMaxPcieLinkGeneration", &g); r != nvml::kSuccess)
    return r;
  return Answer(g->pcie_device_max_generation, v);
}
EXPORT Return nvmlDeviceGetNvLinkState(nvmlDevice_st* d, unsigned link, int* active) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetNvLinkState", &g); r != nvml::kSuccess) return r;
  if (g->nvlinks.empty()) return nvml::kErrorNotSupported;
  if (link >= g->nvlinks.size()) return nvml::kErrorInvalidArgument;
  if (active == nullptr) return nvml::kErrorInvalidArgument;
  *active = g->nvlinks[link];
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_st* d, unsigned long long* v) {
  return nvmlDeviceGetCurrentClocksThrottleReasons(d, v);
}
EXPORT Return nvmlDeviceGetGpuFabricInfoV(nvmlDevice_st* d, nvml::GpuFabricInfoV2* info) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetGpuFabricInfo", &g); r != nvml::kSuccess) return r;
  if (info == nullptr) return nvml::kErrorInvalidArgument;
  if (info->version != nvml::kGpuFabricInfoV2Version) return 25;  // ARGUMENT_VERSION_MISMATCH
  if (g->fabric_state.r != nvml::kSuccess) return g->fabric_state.r;
  info->state = g->fabric_state.v;
  info->status = g->fabric_status;
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetGpuFabricInfo(nvmlDevice_st* d, nvml::GpuFabricInfo* info) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetGpuFabricInfo", &g); r != nvml::kSuccess) return r;
  if (info == nullptr) return nvml::kErrorInvalidArgument;
  if (g->fabric_state.r != nvml::kSuccess) return g->fabric_state.r;
  info->state = g->fabric_state.v;
  info->status = g->fabric_status;
  return nvml::kSuccess;
}
// Error counters and power limits; signatures from nvml.h as synced in NVIDIA/go-nvml
// (pkg/nvml/nvml.h, 2f9e261f): nvmlDeviceGetPcieReplayCounter(nvmlDevice_t, unsigned int*),
// nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t, unsigned int, nvmlNvLinkErrorCounter_t,
// unsigned long long*), nvmlDeviceGet{Enforced,PowerManagement,PowerManagementDefault}Limit(
// nvmlDevice_t, unsigned int*), nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t,
// unsigned int*, unsigned int*).
EXPORT Return nvmlDeviceGetPcieReplayCounter(nvmlDevice_st* d, unsigned* value) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPcieReplayCounter", &g); r != nvml::kSuccess) return r;
  return Answer(g->pcie_replay, value);
}
EXPORT Return nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_st* d, unsigned link, int counter,
                                              unsigned long long* value) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetNvLinkErrorCounter", &g); r != nvml::kSuccess) return r;
  if (g->nvlinks.empty() || g->nvlink_errors_fields_only) return nvml::kErrorNotSupported;
  if (link >= g->nvlinks.size() || value == nullptr || counter < 0 || counter > 4) {
    return nvml::kErrorInvalidArgument;
  }
  const auto it = g->nvlink_errors.find(static_cast<int>(link));
  if (it == g->nvlink_errors.end() || static_cast<std::size_t>(counter) >= it->second.size() ||
      it->second[static_cast<std::size_t>(counter)] == UINT64_MAX) {
    return nvml::kErrorNotSupported;
  }
  *value = it->second[static_cast<std::size_t>(counter)];
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_st* d, unsigned* limit) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetEnforcedPowerLimit", &g); r != nvml::kSuccess) return r;
  return Answer(g->power_enforced_mw, limit);
}
EXPORT Return nvmlDeviceGetPowerManagementLimit(nvmlDevice_st* d, unsigned* limit) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPowerManagementLimit", &g); r != nvml::kSuccess) return r;
  return Answer(g->power_requested_mw, limit);
}
EXPORT Return nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_st* d, unsigned* limit) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPowerManagementDefaultLimit", &g); r != nvml::kSuccess)
    return r;
  return Answer(g->power_default_mw, limit);
}
EXPORT Return nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_st* d, unsigned* min_limit,
                                                           unsigned* max_limit) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetPowerManagementLimitConstraints", &g); r != nvml::kSuccess)
    return r;
  if (min_limit == nullptr || max_limit == nullptr) return nvml::kErrorInvalidArgument;
  if (g->power_min_mw.r != nvml::kSuccess) return g->power_min_mw.r;
  if (g->power_max_mw.r != nvml::kSuccess) return g->power_max_mw.r;
  *min_limit = g->power_min_mw.v;
  *max_limit = g->power_max_mw.v;
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceGetFieldValues(nvmlDevice_st* d, int count, nvml::FieldValue* values) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceGetFieldValues", &g); r != nvml::kSuccess) return r;
  if (values == nullptr || count <= 0) return nvml::kErrorInvalidArgument;
  // NVLink DL counters by field (161 replay, 162 recovery, 163 CRC: flit + data), link in scopeId.
  auto link_count = [&](const nvml::FieldValue& f, std::initializer_list<int> kinds) {
    const auto it = g->nvlink_errors.find(static_cast<int>(f.scope_id));
    if (g->nvlinks.empty() || it == g->nvlink_errors.end()) return std::optional<uint64_t>();
    std::optional<uint64_t> total;
    for (int kind : kinds) {
      const std::size_t k = static_cast<std::size_t>(kind);
      if (k < it->second.size() && it->second[k] != UINT64_MAX)
        total = total.value_or(0) + it->second[k];
    }
    return total;
  };
  for (int i = 0; i < count; ++i) {
    nvml::FieldValue& f = values[i];
    std::optional<uint64_t> counter;
    if (f.field_id == nvml::kFieldNvlinkErrorDlReplay) {
      counter = link_count(f, {nvml::kNvlinkErrorDlReplay});
    } else if (f.field_id == nvml::kFieldNvlinkErrorDlRecovery) {
      counter = link_count(f, {nvml::kNvlinkErrorDlRecovery});
    } else if (f.field_id == nvml::kFieldNvlinkErrorDlCrc) {
      counter = link_count(f, {nvml::kNvlinkErrorDlCrcFlit, nvml::kNvlinkErrorDlCrcData});
    }
    if (f.field_id == nvml::kFieldNvlinkErrorDlReplay ||
        f.field_id == nvml::kFieldNvlinkErrorDlRecovery ||
        f.field_id == nvml::kFieldNvlinkErrorDlCrc) {
      f.nvml_return = counter ? nvml::kSuccess : nvml::kErrorNotSupported;
      f.value_type = nvml::kValueTypeUnsignedLongLong;
      f.value.ull = counter.value_or(0);
    } else if (f.field_id == nvml::kFieldPcieReplayCounter) {
      f.nvml_return = g->pcie_replay.r;
      f.value_type = nvml::kValueTypeUnsignedInt;
      f.value.ui = g->pcie_replay.v;
    } else if (f.field_id == nvml::kFieldGpuRecoveryAction) {
      f.nvml_return = g->recovery_action.r;
      f.value_type = nvml::kValueTypeUnsignedInt;
      f.value.ui = g->recovery_action.v;
    } else {
      f.nvml_return = nvml::kErrorNotSupported;
    }
  }
  return nvml::kSuccess;
}
#endif  // FAKE_NVML_LEGACY

// XID events. NODEHEALTH_FAKE_NVML_EVENTS names a file of "<bus id> <xid>" lines that tests append
// to; each wait hands out the next line whose GPU is registered in the set, as the driver hands
// out the XIDs it raised. Without the variable the set never has an event.
struct nvmlEventSet_st {
  std::vector<unsigned> devices;  // registered device indices
  std::size_t offset = 0;         // bytes of the events file already handed out
};

namespace {

Return NextEvent(nvmlEventSet_st* set, nvml::EventData* data) {
  const char* path = std::getenv("NODEHEALTH_FAKE_NVML_EVENTS");
  if (path == nullptr) return nvml::kErrorTimeout;
  FILE* file = std::fopen(path, "re");
  if (file == nullptr) return nvml::kErrorTimeout;
  std::fseek(file, static_cast<long>(set->offset), SEEK_SET);
  char line[256];
  Return result = nvml::kErrorTimeout;
  while (result == nvml::kErrorTimeout && std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strchr(line, '\n') == nullptr) break;  // a line still being written
    set->offset += std::strlen(line);
    char bus[64] = {};
    unsigned long long xid = 0;
    if (std::sscanf(line, "%63s %llu", bus, &xid) != 2) continue;
    for (unsigned index : set->devices) {
      if (g_node.gpus[index].bus_id != bus) continue;
      data->device = &g_handles[index];
      data->event_type = nvml::kEventTypeXidCriticalError;
      data->event_data = xid;
      data->gpu_instance_id = 0xFFFFFFFF;
      data->compute_instance_id = 0xFFFFFFFF;
      result = nvml::kSuccess;
    }
  }
  std::fclose(file);
  return result;
}

Return EventSetWait(nvmlEventSet_st* set, nvml::EventData* data, unsigned timeout_ms,
                    const char* function) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (set == nullptr || data == nullptr) return nvml::kErrorInvalidArgument;
  MaybeHang(function, "");
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    {
      std::lock_guard lock(g_mutex);
      if (Return r = NextEvent(set, data); r != nvml::kErrorTimeout) return r;
    }
    if (std::chrono::steady_clock::now() >= until) return nvml::kErrorTimeout;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

EXPORT Return nvmlEventSetCreate(nvmlEventSet_st** set) {
  if (!g_initialised) return nvml::kErrorUninitialized;
  if (set == nullptr) return nvml::kErrorInvalidArgument;
  *set = new nvmlEventSet_st();
  return nvml::kSuccess;
}
EXPORT Return nvmlDeviceRegisterEvents(nvmlDevice_st* d, unsigned long long types,
                                       nvmlEventSet_st* set) {
  FakeGpu* g = nullptr;
  if (Return r = Enter(d, "nvmlDeviceRegisterEvents", &g); r != nvml::kSuccess) return r;
  if (set == nullptr) return nvml::kErrorInvalidArgument;
  if ((types & ~nvml::kEventTypeXidCriticalError) != 0) return nvml::kErrorNotSupported;
  set->devices.push_back(d->index);
  return nvml::kSuccess;
}
EXPORT Return nvmlEventSetFree(nvmlEventSet_st* set) {
  delete set;
  return nvml::kSuccess;
}
#ifdef FAKE_NVML_LEGACY
EXPORT Return nvmlEventSetWait(nvmlEventSet_st* set, nvml::EventData* data, unsigned timeout_ms) {
  return EventSetWait(set, data, timeout_ms, "nvmlEventSetWait");
}
#else
EXPORT Return nvmlEventSetWait_v2(nvmlEventSet_st* set, nvml::EventData* data,
                                  unsigned timeout_ms) {
  return EventSetWait(set, data, timeout_ms, "nvmlEventSetWait_v2");
}
#endif
