// The test hooks of the fake libcuda.so.1 (fake_gpu_hooks.h), over the fake driver's state.
#include "tests/fakes/cuda/fake_gpu_hooks.h"

#include <mutex>

#include "tests/fakes/cuda/cuda_api.h"
#include "tests/fakes/cuda/fake_driver.h"

using nodehealth::fake_cuda::Driver;

NODEHEALTH_FAKE_EXPORT const nodehealth::fake_gpu::Scenario* nodehealth_fake_gpu_scenario(void) {
  std::lock_guard lock(Driver::Get().mutex());
  return &Driver::Get().scenario();
}

NODEHEALTH_FAKE_EXPORT unsigned long long nodehealth_fake_gpu_generation(void) {
  std::lock_guard lock(Driver::Get().mutex());
  return Driver::Get().generation();
}

NODEHEALTH_FAKE_EXPORT void nodehealth_fake_gpu_reset(void) {
  std::lock_guard lock(Driver::Get().mutex());
  Driver::Get().Reset();
}

NODEHEALTH_FAKE_EXPORT int nodehealth_fake_cuda_init(void) { return cuInit(0); }

NODEHEALTH_FAKE_EXPORT int nodehealth_fake_cuda_device_of(unsigned long long pointer,
                                                          std::size_t bytes) {
  std::lock_guard lock(Driver::Get().mutex());
  return Driver::Get().DeviceOf(pointer, bytes);
}

NODEHEALTH_FAKE_EXPORT int nodehealth_fake_cuda_stream_device(CUstream_st* stream, int device) {
  std::lock_guard lock(Driver::Get().mutex());
  CUstream_st* s = Driver::Get().Stream(stream, device);
  return s == nullptr ? -1 : s->device;
}

NODEHEALTH_FAKE_EXPORT int nodehealth_fake_cuda_advance_stream(CUstream_st* stream, int device,
                                                               double seconds) {
  std::lock_guard lock(Driver::Get().mutex());
  CUstream_st* s = Driver::Get().Stream(stream, device);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  s->clock += seconds;
  return CUDA_SUCCESS;
}

NODEHEALTH_FAKE_EXPORT long long nodehealth_fake_cuda_live_objects(void) {
  std::lock_guard lock(Driver::Get().mutex());
  return Driver::Get().LiveObjects();
}
