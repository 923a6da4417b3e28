// The in-node NCCL all-reduce of the GPU worker, measured as nccl-tests' all_reduce_perf measures
// it (the test Azure's health checks run on 8 GPUs at 16 GiB): one process, one communicator per
// GPU (ncclCommInitAll), float32 sums out of place, `warmup` untimed calls, then `iterations`
// timed with CUDA events on each GPU's stream; the slowest GPU's time is the call's time.
// algorithm bandwidth = size / time, bus bandwidth = algorithm bandwidth * 2(n-1)/n.
//
// Every element of every GPU's result is checked on the host afterwards: rank r sends
// (e mod 4099) + r + 1 at element e, so every sum is an exact small integer in float32 and a
// shifted or corrupted block shows. A size that does not fit in GPU memory is halved (down to
// 1 MiB) with a note.
//
// Thread safety: one thread (the worker's).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "probes/gpu_bandwidth/gpu_session.h"
#include "probes/platform/nccl_library.h"

namespace nodehealth::gpu_worker {

struct NcclOptions {
  std::vector<uint64_t> sizes = {1ull << 30};
  int iterations = 20;
  int warmup = 5;
  uint64_t min_size = 1u << 20;  // halving stops here
};

// Fills report.nccl; errors (with the call that failed) go to report.errors.
void RunNccl(GpuSession& session, std::shared_ptr<const platform::NcclLibrary> nccl,
             const NcclOptions& options, Report& report);

// The element rank `rank` sends at `index`, and the sum every rank must receive over `ranks`.
float SentValue(int rank, uint64_t index);
float ExpectedSum(int ranks, uint64_t index);

}  // namespace nodehealth::gpu_worker
