// The copy-engine measurements of the GPU worker, in the spirit of NVIDIA's nvbandwidth (which
// Azure's health checks run): host->device and device->host per GPU from pinned host memory
// allocated by a thread pinned to the GPU's NUMA node, device->device inside each GPU, and peer
// copies (cuMemcpyPeerAsync) for every ordered pair of GPUs. Each figure is `iterations` copies of
// `bytes` after one warm-up copy, timed with CUDA events on the copy's stream, so host-side
// overhead (the worker's start, allocation, JSON) is outside the timed span.
//
// Thread safety: one thread (the worker's).
#pragma once

#include <cstdint>

#include "probes/gpu_bandwidth/gpu_session.h"

namespace nodehealth::gpu_worker {

struct CopyOptions {
  uint64_t bytes = 256u << 20;
  int iterations = 20;
  bool local = true;  // host<->device and device->device per GPU
  bool peer = true;   // every ordered pair of GPUs
};

// Appends to report.copies; failures go to report.errors with the GPU, and the worker goes on
// with the next GPU or pair.
void RunCopies(GpuSession& session, const CopyOptions& options, Report& report);

}  // namespace nodehealth::gpu_worker
