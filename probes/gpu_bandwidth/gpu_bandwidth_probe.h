// gpu_bandwidth (active): GPU copy bandwidth through the CUDA driver API, measured by the GPU
// worker (nodehealth-gpu-worker, copy_bench.h) in a child process with a deadline.
//
// Checks:  host->device and device->host per GPU (pinned host memory on the GPU's NUMA node),
//          device->device inside each GPU, and peer copies for every ordered pair, against the
//          profile's [gpu_bandwidth] floors (decimal GB/s, as Azure NHC's check_gpu_bw), with a
//          warning band just above each floor, and against the node's own median so that one slow
//          GPU or pair is named without a floor (bandwidth_judgement.h). A low figure is measured
//          once more before it counts; the better of the two runs is judged.
// Skips:   no NVIDIA GPU on PCI, or libcuda.so.1 cannot be loaded, unless the profile says
//          `required = true`.
// Findings: gpu_copy_bandwidth_low (gpu), gpu_peer_bandwidth_low (gpu or gpu-pair),
//          gpu_copy_failed (gpu or node: cuInit or a CUDA call failed), probe_timeout (a CUDA
//          call hung: the worker was killed with its process group).
// Measurements: gpu_copy_bandwidth_bytes_per_second{direction,gpu},
//          gpu_peer_bandwidth_bytes_per_second{gpu,peer}.
#pragma once

#include "probes/gpu_bandwidth/gpu_worker.h"
#include "probes/probe.h"

namespace nodehealth {

class GpuBandwidthProbe final : public Probe {
 public:
  explicit GpuBandwidthProbe(gpu_worker::WorkerRunner runner = gpu_worker::DefaultWorkerRunner());
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;

 private:
  gpu_worker::WorkerRunner runner_;
};

// Shared with nccl_allreduce: a worker report's errors as findings (cuInit with what it means,
// per-GPU failures on the GPU); false when the worker could not even load the library, which
// the caller turns into a skip or, where required, a failure.
namespace gpu_worker {
struct LibraryMissing {
  bool missing = false;
  std::string reason;
};
LibraryMissing ErrorFindings(const Report& report, std::string_view failed_code,
                             const std::string& command, ProbeResult& result);
// The worker's --sysfs-root for this context ("/" on a live node).
std::string SysfsRoot(const ProbeContext& context);
}  // namespace gpu_worker

}  // namespace nodehealth
