#include "agent/provider/gpu_identity.h"

namespace nodehealth::provider {

std::map<std::string, GpuIdentity> ReadGpuIdentities(platform::NvmlRuntime& nvml,
                                                     platform::Deadline deadline) {
  using GpuMap = std::map<std::string, GpuIdentity>;
  platform::NvmlOutcome<GpuMap> outcome =
      nvml.Run<GpuMap>(deadline, [](platform::NvmlSession& session) {
        GpuMap gpus;
        platform::NvmlLibrary* lib = session.library();
        if (lib == nullptr || !session.startup().ready()) return gpus;
        unsigned count = 0;
        if (lib->DeviceGetCount(&count) != platform::nvml::kSuccess) return gpus;
        for (unsigned i = 0; i < count && i < 64; ++i) {
          platform::nvml::Device device{};
          if (lib->DeviceGetHandleByIndex(i, &device) != platform::nvml::kSuccess) continue;
          std::string bus_id;
          uint32_t pci_device_id = 0;
          if (lib->DeviceGetPciBusId(device, &bus_id, &pci_device_id) != platform::nvml::kSuccess)
            continue;
          GpuIdentity id;
          if (lib->DeviceGetSerial(device, &id.serial) != platform::nvml::kSuccess)
            id.serial.clear();
          if (lib->DeviceGetName(device, &id.model) != platform::nvml::kSuccess) id.model.clear();
          if (lib->DeviceGetUuid(device, &id.uuid) != platform::nvml::kSuccess) id.uuid.clear();
          gpus[bus_id] = std::move(id);
        }
        return gpus;
      });
  if (outcome.status != platform::NvmlCallStatus::kOk) return {};
  return std::move(outcome.value);
}

}  // namespace nodehealth::provider
