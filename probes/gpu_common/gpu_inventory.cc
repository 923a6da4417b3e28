#include "probes/gpu_common/gpu_inventory.h"

#include <algorithm>

#include "probes/finding_catalog.h"

namespace nodehealth {

namespace nvml = platform::nvml;

const NvmlGpu* NvmlGpuList::FindByBusId(const std::string& bus_id) const {
  for (const NvmlGpu& gpu : gpus) {
    if (!gpu.bus_id.empty() && gpu.bus_id == bus_id) return &gpu;
  }
  return nullptr;
}

NvmlGpuList ListNvmlGpus(platform::NvmlLibrary& library) {
  NvmlGpuList list;
  list.count_return = library.DeviceGetCount(&list.count);
  if (list.count_return != nvml::kSuccess) return list;
  // A count above the PCI limit of a node is nonsense; cap it so a broken library cannot make
  // us loop for minutes.
  const unsigned count = std::min(list.count, 256u);
  for (unsigned i = 0; i < count; ++i) {
    NvmlGpu gpu;
    gpu.index = i;
    gpu.handle_return = library.DeviceGetHandleByIndex(i, &gpu.handle);
    if (gpu.opened()) {
      auto note = [&gpu](nvml::Return r) {
        if (r != nvml::kSuccess && gpu.identity_return == nvml::kSuccess) {
          gpu.identity_return = r;
        }
      };
      note(library.DeviceGetPciBusId(gpu.handle, &gpu.bus_id, nullptr));
      note(library.DeviceGetName(gpu.handle, &gpu.name));
      note(library.DeviceGetUuid(gpu.handle, &gpu.uuid));
      unsigned minor = 0;
      const nvml::Return r = library.DeviceGetMinorNumber(gpu.handle, &minor);
      if (r == nvml::kSuccess) {
        gpu.minor = minor;
      } else if (r != nvml::kErrorNotSupported && r != nvml::kErrorFunctionNotFound) {
        note(r);
      }
    }
    list.gpus.push_back(std::move(gpu));
  }
  return list;
}

std::string DescribeNvmlReturn(nvml::Return value) {
  return std::string(nvml::ReturnName(value)) + " (" + std::to_string(value) + ")";
}

std::string DescribeNvmlStartup(const platform::NvmlStartup& startup) {
  if (!startup.loaded) return startup.load_error;
  if (startup.init_return != nvml::kSuccess) {
    // nvmlErrorString's text ("Driver Not Loaded") adds to the code's name; a library that
    // returns the name itself adds nothing.
    const bool adds =
        !startup.init_error.empty() && startup.init_error != nvml::ReturnName(startup.init_return);
    return "nvmlInit: " + DescribeNvmlReturn(startup.init_return) +
           (adds ? ": " + startup.init_error : "");
  }
  return "NVML ready (" + startup.loaded_file + ")";
}

}  // namespace nodehealth

namespace nodehealth {

void MarkNvmlTimeout(ProbeResult& result, platform::NvmlCallStatus status,
                     const std::string& stuck_in) {
  const std::string message =
      status == platform::NvmlCallStatus::kWedged
          ? "NVML is stuck in an earlier call (" + stuck_in + "); not called again"
          : "NVML did not answer before the deadline: stuck in " + stuck_in;
  MarkUndecided(result, codes::kProbeTimeout, "node", message,
                {{"nvml", stuck_in, "an answer before the deadline"}});
}

std::string JoinLimited(const std::vector<std::string>& items, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
  return out;
}

}  // namespace nodehealth
