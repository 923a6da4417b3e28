// Test-only entry points of the fake libcuda.so.1 (tests/fakes/cuda/fake_cuda.cc), all named
// nodehealth_fake_*: the fake libnccl.so.2 reaches the fake driver's scenario, memory and stream
// clocks through them (it links to the fake libcuda.so.1), and in-process tests reset the fakes
// between scenarios. No real driver has them; nodehealth never calls them. Thread-safe (the
// driver's lock); plain C types only, except the scenario, which both libraries are built from.
#pragma once

#include <cstddef>

#include "tests/fakes/cuda/fake_gpu_scenario.h"

struct CUstream_st;

extern "C" {

// The scenario, read on first use (NODEHEALTH_FAKE_GPU_SCENARIO). Valid until the next reset.
const nodehealth::fake_gpu::Scenario* nodehealth_fake_gpu_scenario(void);

// Counts resets; the fake NCCL drops its communicators when it changes.
unsigned long long nodehealth_fake_gpu_generation(void);

// Forgets every context, allocation, stream, event and call count; the next call reads the
// scenario again. For in-process tests; handles from before are invalid afterwards.
void nodehealth_fake_gpu_reset(void);

// cuInit(0), failures and hangs of the scenario included; returns its CUresult.
int nodehealth_fake_cuda_init(void);

// The ordinal of the device whose live allocation holds [pointer, pointer + bytes), or -1.
int nodehealth_fake_cuda_device_of(unsigned long long pointer, std::size_t bytes);

// The device `stream` belongs to (the null stream: `device`'s), or -1 for an unknown stream.
int nodehealth_fake_cuda_stream_device(CUstream_st* stream, int device);

// Moves the virtual clock of `stream` (the null stream: `device`'s) on by `seconds`. Returns 0, or
// CUDA_ERROR_INVALID_HANDLE (400) for an unknown stream.
int nodehealth_fake_cuda_advance_stream(CUstream_st* stream, int device, double seconds);

// Live device allocations + host allocations + streams + events: 0 once a program freed all.
long long nodehealth_fake_cuda_live_objects(void);

}  // extern "C"
