// gpu_driver: can jobs use this node's driver and CUDA?
//
// Checks:  the kernel module is loaded when GPUs are present; NVML starts (init errors mapped to
//          their meaning: driver not loaded; driver/library mismatch after an upgrade without a
//          reboot); kernel module against the user-space library version; driver version and the
//          CUDA version it supports against the profile; installed CUDA toolkits and runtimes that
//          need a newer driver than the loaded one (NVIDIA's minimum-driver table, with minor-
//          version compatibility and forward-compatibility packages taken into account); Fabric
//          Manager version against the driver; GSP firmware against the driver and VBIOS
//          uniformity across GPUs of one model.
// Reads:   /sys/module/nvidia/version, /proc/driver/nvidia/version, /usr/local/cuda*/version.json
//          (or version.txt) and compat/, /usr/lib/x86_64-linux-gnu/libcudart.so.*,
//          /usr/bin/nv-fabricmanager and /var/lib/dpkg/status (only when Fabric Manager is
//          installed), NVML (driver, NVML and CUDA versions; per GPU VBIOS and GSP firmware).
// Findings: gpu_driver_not_loaded, gpu_driver_library_mismatch, gpu_driver_version_mismatch,
//          cuda_version_mismatch, gpu_vbios_mismatch, gpu_fabric_not_ready, probe_timeout,
//          probe_error.
// Measurements: driver_info{driver_version, cuda_version, kernel_module_version, ...} = 1,
//          gpu_info{gpu, pci_bus_id, uuid, name, driver_version, vbios_version} = 1.
// Cost: a few small files plus one directory listing of the library directory; 3 + 2 per GPU
//          NVML calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/gpu_common/gpu_inventory.h"
#include "probes/gpu_driver/cuda_compat.h"
#include "probes/gpu_driver/driver_versions.h"
#include "probes/probe.h"

namespace nodehealth {

struct CudaInstall {
  std::string path;  // version file or library that told us
  CudaVersion version;
  bool runtime_only = false;                 // a libcudart without a toolkit
  std::optional<std::string> compat_driver;  // forward-compatibility libcuda.so.<version>
};

struct DriverFileFacts {
  std::optional<std::string> module_version;        // /sys/module/nvidia/version
  std::optional<KernelModuleVersion> proc_version;  // /proc/driver/nvidia/version
  std::vector<std::string> problems;                // present but unreadable or malformed
  bool fabric_manager_installed = false;            // /usr/bin/nv-fabricmanager
  std::optional<InstalledPackage> fabric_manager_package;
  std::vector<CudaInstall> cuda;
};

struct DriverNvmlFacts {
  platform::NvmlCallStatus status = platform::NvmlCallStatus::kOk;
  std::string stuck_in;
  platform::NvmlStartup startup;
  platform::nvml::Return driver_version_return = platform::nvml::kErrorUninitialized;
  std::string driver_version;
  platform::nvml::Return nvml_version_return = platform::nvml::kErrorUninitialized;
  std::string nvml_version;
  platform::nvml::Return cuda_version_return = platform::nvml::kErrorUninitialized;
  int cuda_version = 0;
  struct Gpu {
    std::string bus_id;
    std::string name;
    std::string uuid;
    platform::nvml::Return vbios_return = platform::nvml::kErrorUninitialized;
    std::string vbios;
    platform::nvml::Return gsp_return = platform::nvml::kErrorUninitialized;
    std::string gsp_firmware;
  };
  std::vector<Gpu> gpus;
};

DriverFileFacts GatherDriverFiles(const platform::FileSystem& fs);

ProbeResult EvaluateGpuDriver(const NodeInventory& inventory, const Profile* profile,
                              const DriverFileFacts& files,
                              const std::optional<DriverNvmlFacts>& nvml);

class GpuDriverProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth
