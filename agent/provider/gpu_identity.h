// What a cloud's support needs to find a GPU in its fleet: serial number, model and UUID, by PCI
// bus id, read through the NVML runtime (platform/nvml_runtime.h: a call that hangs costs the
// deadline, never the caller). Azure's GPU categories take SerialNumber and ModelNumber
// ("fields specific to GPUs", learn.microsoft.com/azure/azure-impact-reporting/
// guest-health-impact-report); the support bundle's summary lists them too.
//
// Thread safety: as NvmlRuntime::Run. Failure: an empty map (NVML absent, not initialised, wedged
// or past the deadline); a GPU whose serial NVML does not know has an empty one.
#pragma once

#include <map>
#include <string>

#include "probes/platform/deadline.h"
#include "probes/platform/nvml_runtime.h"

namespace nodehealth::provider {

struct GpuIdentity {
  std::string serial;
  std::string model;  // NVML's name, "NVIDIA H100 80GB HBM3"
  std::string uuid;
};

// By bus id, "0000:19:00.0".
std::map<std::string, GpuIdentity> ReadGpuIdentities(platform::NvmlRuntime& nvml,
                                                     platform::Deadline deadline);

}  // namespace nodehealth::provider
