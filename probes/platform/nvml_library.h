// NvmlLibrary: NVML loaded at run time with dlopen (never linked), so one nodehealth binary runs
// on nodes with any driver, or none. Each function is resolved by its current versioned name with
// fallbacks to older names (nvmlInit_v2 -> nvmlInit, nvmlDeviceGetPciInfo_v3 -> _v2 -> plain, ...).
// A function the library lacks is not an error: its wrapper returns NVML_ERROR_FUNCTION_NOT_FOUND
// and probes treat that as "not supported on this driver".
//
// Ownership: the library stays loaded for the life of the process (NVML keeps driver state and
// threads; dlclose of a live NVML is not safe).
// Thread safety: NVML itself is thread safe, but nodehealth calls it from one thread only
// (NvmlRuntime) so that a call that never returns can be abandoned. The wrappers publish the
// function in flight (current_call()) for that thread's watchdog to report.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "probes/platform/nvml_api.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

class NvmlLibrary {
 public:
  // dlopen(path). An Error names the path and dlerror(); NVML itself is not initialised here.
  static Expected<std::unique_ptr<NvmlLibrary>> Open(const std::string& path);

  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  // The file the dynamic loader actually mapped (after symlinks), e.g.
  // "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.161.08". Empty if unknown.
  const std::string& loaded_file() const { return loaded_file_; }
  // "function -> symbol used" for every function, "(missing)" when absent: for diagnostics.
  std::vector<std::string> ResolvedSymbols() const;
  // The function being called right now on the NVML thread, or nullptr.
  const char* current_call() const { return current_call_.load(std::memory_order_acquire); }

  nvml::Return Init();
  nvml::Return Shutdown();
  nvml::Return SystemGetDriverVersion(std::string* version);
  nvml::Return SystemGetNvmlVersion(std::string* version);
  nvml::Return SystemGetCudaDriverVersion(int* version);  // 12020 for CUDA 12.2
  nvml::Return DeviceGetCount(unsigned* count);
  nvml::Return DeviceGetHandleByIndex(unsigned index, nvml::Device* device);
  nvml::Return DeviceGetHandleByPciBusId(const std::string& bus_id, nvml::Device* device);
  nvml::Return DeviceGetName(nvml::Device device, std::string* name);
  nvml::Return DeviceGetUuid(nvml::Device device, std::string* uuid);
  nvml::Return DeviceGetSerial(nvml::Device device, std::string* serial);
  // Bus id normalised to "0000:19:00.0" from the struct's numeric fields.
  nvml::Return DeviceGetPciBusId(nvml::Device device, std::string* bus_id, uint32_t* pci_device_id);
  nvml::Return DeviceGetMinorNumber(nvml::Device device, unsigned* minor);
  nvml::Return DeviceGetVbiosVersion(nvml::Device device, std::string* version);
  nvml::Return DeviceGetGspFirmwareVersion(nvml::Device device, std::string* version);
  nvml::Return DeviceGetEccMode(nvml::Device device, bool* current, bool* pending);
  nvml::Return DeviceGetTotalEccErrors(nvml::Device device, nvml::MemoryErrorType type,
                                       nvml::EccCounterType counter, uint64_t* count);
  nvml::Return DeviceGetRemappedRows(nvml::Device device, unsigned* correctable,
                                     unsigned* uncorrectable, bool* pending, bool* failure);
  nvml::Return DeviceGetRetiredPagesPendingStatus(nvml::Device device, bool* pending);
  // Number of pages retired for `cause`.
  nvml::Return DeviceGetRetiredPageCount(nvml::Device device, nvml::PageRetirementCause cause,
                                         unsigned* count);
  nvml::Return DeviceGetCurrPcieLinkGeneration(nvml::Device device, unsigned* generation);
  nvml::Return DeviceGetCurrPcieLinkWidth(nvml::Device device, unsigned* width);
  nvml::Return DeviceGetMaxPcieLinkGeneration(nvml::Device device, unsigned* generation);
  nvml::Return DeviceGetMaxPcieLinkWidth(nvml::Device device, unsigned* width);
  nvml::Return DeviceGetGpuMaxPcieLinkGeneration(nvml::Device device, unsigned* generation);
  nvml::Return DeviceGetPerformanceState(nvml::Device device, nvml::Pstate* pstate);
  nvml::Return DeviceGetNvLinkState(nvml::Device device, unsigned link, bool* active);
  nvml::Return DeviceGetTemperature(nvml::Device device, unsigned* celsius);
  nvml::Return DeviceGetTemperatureThreshold(nvml::Device device,
                                             nvml::TemperatureThreshold threshold,
                                             unsigned* celsius);
  nvml::Return DeviceGetCurrentClocksEventReasons(nvml::Device device, uint64_t* reasons);
  // Fabric registration state (Hopper+); uses the versioned call when present.
  nvml::Return DeviceGetGpuFabricState(nvml::Device device, unsigned char* state,
                                       nvml::Return* status);
  // Error counters and power limits (nvml.h as synced in NVIDIA/go-nvml). Optional symbols:
  // FUNCTION_NOT_FOUND on a library without them. Limits in milliwatts.
  nvml::Return DeviceGetPcieReplayCounter(nvml::Device device, unsigned* value);
  nvml::Return DeviceGetNvLinkErrorCounter(nvml::Device device, unsigned link,
                                           nvml::NvLinkErrorCounter counter, uint64_t* value);
  nvml::Return DeviceGetEnforcedPowerLimit(nvml::Device device, unsigned* milliwatts);
  nvml::Return DeviceGetPowerManagementLimit(nvml::Device device, unsigned* milliwatts);
  nvml::Return DeviceGetPowerManagementDefaultLimit(nvml::Device device, unsigned* milliwatts);
  nvml::Return DeviceGetPowerManagementLimitConstraints(nvml::Device device, unsigned* min_mw,
                                                        unsigned* max_mw);
  nvml::Return DeviceGetFieldValues(nvml::Device device, std::vector<nvml::FieldValue>* values);
  // XID events (nvmlEventSetCreate, nvmlDeviceRegisterEvents, nvmlEventSetWait_v2 with a
  // timeout in milliseconds: kErrorTimeout when no event came, nvmlEventSetFree).
  nvml::Return EventSetCreate(nvml::EventSet* set);
  nvml::Return DeviceRegisterEvents(nvml::Device device, unsigned long long types,
                                    nvml::EventSet set);
  nvml::Return EventSetWait(nvml::EventSet set, nvml::EventData* data, unsigned timeout_ms);
  nvml::Return EventSetFree(nvml::EventSet set);
  // nvmlErrorString, or our own name when the library lacks it.
  std::string ErrorString(nvml::Return value);

  ~NvmlLibrary();

 private:
  struct Symbols;
  NvmlLibrary(void* handle, std::string loaded_file);

  class CallScope;  // sets current_call_ for the duration of one NVML call

  void* handle_;
  std::string loaded_file_;
  std::unique_ptr<Symbols> symbols_;
  std::atomic<const char*> current_call_{nullptr};
};

}  // namespace nodehealth::platform
