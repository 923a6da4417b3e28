// The GPU worker's view of the node through the CUDA driver API: cuInit, every device with its PCI
// bus id, name, clocks and NUMA node, and each device's primary context (retained for the session,
// released at the end). Used only inside nodehealth-gpu-worker, never in the agent's process.
//
// Errors are recorded as gpu_worker::StageError (the call, the GPU, CUresult, message) so the
// probes can name the failing step; Open fails only when no device can be used at all.
//
// Thread safety: one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "probes/gpu_bandwidth/worker_report.h"
#include "probes/platform/cuda_driver.h"

namespace nodehealth::gpu_worker {

struct SessionDevice {
  Device info;
  cuda::CuDevice device = 0;
  cuda::CuContext context = nullptr;
};

class GpuSession {
 public:
  // cuInit, enumerate, retain primary contexts. On a fatal error the report's `errors` say why and
  // the result is null. `sysfs_root` is where /sys/bus/pci/devices is read for NUMA nodes and
  // local CPUs ("/" on a node).
  static std::unique_ptr<GpuSession> Open(std::shared_ptr<const platform::CudaDriver> driver,
                                          const std::string& sysfs_root, Report& report);
  ~GpuSession();
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  const platform::CudaDriver& driver() const { return *driver_; }
  std::vector<SessionDevice>& devices() { return devices_; }
  // Makes `device`'s context current on this thread. False (and an error recorded) on failure.
  bool MakeCurrent(const SessionDevice& device, Report& report) const;
  // Pins this thread to the CPUs local to `device` (its NUMA node), so pinned host memory that
  // the thread touches first lands there. False when sysfs does not say (not an error).
  bool PinToLocalCpus(const SessionDevice& device) const;

 private:
  GpuSession(std::shared_ptr<const platform::CudaDriver> driver, std::string sysfs_root)
      : driver_(std::move(driver)), sysfs_root_(std::move(sysfs_root)) {}
  std::shared_ptr<const platform::CudaDriver> driver_;
  std::string sysfs_root_;
  std::vector<SessionDevice> devices_;
};

// Records a failed call in `report` and returns false; true when `result` is success.
bool Check(const platform::CudaDriver& driver, cuda::CuResult result, const char* call,
           const std::string& gpu, Report& report);

}  // namespace nodehealth::gpu_worker
