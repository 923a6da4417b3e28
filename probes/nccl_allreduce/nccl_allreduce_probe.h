// nccl_allreduce (active): the in-node NCCL all-reduce over every GPU, measured by the GPU worker
// (nodehealth-gpu-worker, nccl_bench.h) in a child process with a deadline, as nccl-tests'
// all_reduce_perf measures it (Azure NHC's check_nccl_allreduce: 8 GPUs, 16 GiB on ND H100 v5).
//
// Checks:  every element of every GPU's result (wrong sums name the GPU); the bus bandwidth at the
//          profile's size against [nccl_allreduce] bus_gigabytes_per_second_min, with a warning
//          band above it and one re-run before a low figure counts. With
//          net_bus_gigabytes_per_second_min the all-reduce runs again with NCCL_P2P_DISABLE=1 and
//          NCCL_SHM_DISABLE=1, so the traffic crosses the HCAs (GPUDirect RDMA loopback; Azure
//          NHC's check_nccl_allreduce_ib_loopback).
// Bisection: when the bus bandwidth stays low, the worker measures every GPU's copies and every
//          pair (as gpu_bandwidth does) and the finding names the GPU or pair below the others or
//          the copy floors; the node only when none stands out.
// Skips:   no NVIDIA GPU on PCI, or libcuda.so.1 / libnccl.so.2 cannot be loaded, unless the
//          profile says `required = true`.
// Findings: nccl_allreduce_failed, nccl_allreduce_wrong_result (gpu), nccl_allreduce_bandwidth_low
//          (gpu, gpu-pair or node), probe_timeout.
// Measurements: nccl_allreduce_bus_bandwidth_bytes_per_second{path,size_bytes},
//          nccl_allreduce_algorithm_bandwidth_bytes_per_second{path,size_bytes},
//          nccl_allreduce_ranks.
#pragma once

#include "probes/gpu_bandwidth/gpu_worker.h"
#include "probes/probe.h"

namespace nodehealth {

class NcclAllreduceProbe final : public Probe {
 public:
  explicit NcclAllreduceProbe(gpu_worker::WorkerRunner runner = gpu_worker::DefaultWorkerRunner());
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;

 private:
  gpu_worker::WorkerRunner runner_;
};

}  // namespace nodehealth
