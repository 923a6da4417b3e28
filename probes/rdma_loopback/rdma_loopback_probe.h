// rdma_loopback (active): can each HCA port move data, and how fast? Two RC queue pairs on the
// same port write into each other (rdma_provider.h), first with host memory on the HCA's NUMA
// node, then, where the node has GPUs with dma-buf support, into GPU memory (GPUDirect RDMA):
// each port into the GPU closest to its HCA in the topology (gpu_pairing.h), by position where
// the topology cannot tell (a note says which and why).
//
// Checks:  every port that ib_ports would count as a rail (all ACTIVE ports in observe-only
//          mode) completes the loopback; bandwidth at least the profile's floors.
// Reads:   libibverbs (device list, port, GID table), /sys/class/infiniband (ports, NUMA node,
//          local CPUs), RLIMIT_MEMLOCK and CAP_IPC_LOCK, libcuda.so.1 for the GPU variant, and
//          for it the topology (hwloc, or --topology-xml).
// Findings: rdma_loopback_failed (hca/<device>/<port>: the failing call and errno; node: no RDMA
//          device though the profile expects ports, memlock too small),
//          rdma_loopback_bandwidth_low, probe_timeout (ports left untested at the deadline).
// Measurements: rdma_loopback_bandwidth_bytes_per_second{device,port} (host memory),
//          rdma_loopback_gpu_bandwidth_bytes_per_second{device,port,gpu} (gpu: CUDA ordinal),
//          rdma_loopback_latency_seconds{device,port} and ..._p99_seconds (one 8-byte WRITE,
//          post to completion).
// Cost: duration_seconds x 1.2 per port and memory variant (profile [rdma_loopback]).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "probes/probe.h"
#include "probes/rdma_loopback/loopback_measure.h"
#include "probes/rdma_loopback/rdma_provider.h"

namespace nodehealth {

// What limits registered memory for this process.
struct LockLimits {
  std::optional<uint64_t> memlock_bytes;  // nullopt: unlimited
  bool cap_ipc_lock = false;              // CAP_IPC_LOCK ignores the limit
};
LockLimits ReadLockLimits();

struct RdmaLoopbackDeps {
  std::function<std::unique_ptr<rdma::Provider>()> make_provider;
  std::function<LockLimits()> lock_limits;
  rdma::Clock clock;
};
RdmaLoopbackDeps DefaultRdmaLoopbackDeps();  // libibverbs, getrlimit, steady_clock

class RdmaLoopbackProbe final : public Probe {
 public:
  explicit RdmaLoopbackProbe(RdmaLoopbackDeps deps = DefaultRdmaLoopbackDeps());
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;

 private:
  RdmaLoopbackDeps deps_;
};

}  // namespace nodehealth
