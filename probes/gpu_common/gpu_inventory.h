// The GPUs NVML can see, gathered on the NVML thread (inside NvmlRuntime::Run) and shared by the
// GPU probes. Identity only: index, handle, PCI bus id, name, UUID, minor number, and the NVML
// return code of each step so that a GPU NVML cannot open is named, not dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/platform/nvml_library.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/probe_result.h"

namespace nodehealth {

struct NvmlGpu {
  unsigned index = 0;
  platform::nvml::Return handle_return = platform::nvml::kSuccess;
  platform::nvml::Device handle = nullptr;  // valid on the NVML thread only
  std::string bus_id;                       // "0000:19:00.0"; empty when unknown
  std::string name;
  std::string uuid;
  std::optional<unsigned> minor;
  platform::nvml::Return identity_return = platform::nvml::kSuccess;  // first identity error

  bool opened() const { return handle_return == platform::nvml::kSuccess && handle != nullptr; }
};

struct NvmlGpuList {
  platform::nvml::Return count_return = platform::nvml::kSuccess;
  unsigned count = 0;
  std::vector<NvmlGpu> gpus;

  const NvmlGpu* FindByBusId(const std::string& bus_id) const;
};

// Enumerates GPUs by index. Call on the NVML thread with an initialised library.
NvmlGpuList ListNvmlGpus(platform::NvmlLibrary& library);

// "NVML_ERROR_GPU_IS_LOST (15)".
std::string DescribeNvmlReturn(platform::nvml::Return value);

// The evidence line for an NVML that could not be used: the dlopen error or the nvmlInit error.
std::string DescribeNvmlStartup(const platform::NvmlStartup& startup);

}  // namespace nodehealth

namespace nodehealth {

// Records that NVML did not answer: verdict error and a probe_timeout finding on the node naming
// the stuck call. For outcomes kTimedOut and kWedged.
void MarkNvmlTimeout(ProbeResult& result, platform::NvmlCallStatus status,
                     const std::string& stuck_in);

// Joins up to `max` items with ", " and appends "and N more".
std::string JoinLimited(const std::vector<std::string>& items, std::size_t max = 8);

}  // namespace nodehealth
