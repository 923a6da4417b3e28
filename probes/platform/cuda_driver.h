// The CUDA driver API (libcuda.so.1) loaded with dlopen, as NVML is: nodehealth builds without the
// CUDA toolkit and runs, skipping GPU work with the reason, on nodes without a driver. Versioned
// entry points are bound by their newest name with fallbacks to older ones (cuEventElapsedTime_v2
// appeared in CUDA 12.8; cuDevicePrimaryCtxRelease_v2 in 11.0).
//
// Only the GPU worker (nodehealth-gpu-worker) calls this: CUDA calls may block forever on a sick
// GPU, so they run in a child process that the agent can kill (see gpu_bandwidth/).
//
// Thread safety: the table is immutable once loaded; the CUDA driver API itself is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "probes/platform/cuda_driver_abi.h"
#include "probes/platform/shared_library.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

struct CudaDriver {
  SharedLibrary library;
  cuda::InitFn Init = nullptr;
  cuda::DriverGetVersionFn DriverGetVersion = nullptr;
  cuda::DeviceGetCountFn DeviceGetCount = nullptr;
  cuda::DeviceGetFn DeviceGet = nullptr;
  cuda::DeviceGetNameFn DeviceGetName = nullptr;
  cuda::DeviceGetPciBusIdFn DeviceGetPciBusId = nullptr;
  cuda::DeviceGetAttributeFn DeviceGetAttribute = nullptr;
  cuda::DeviceCanAccessPeerFn DeviceCanAccessPeer = nullptr;
  cuda::DevicePrimaryCtxRetainFn DevicePrimaryCtxRetain = nullptr;
  cuda::DevicePrimaryCtxReleaseFn DevicePrimaryCtxRelease = nullptr;
  cuda::CtxSetCurrentFn CtxSetCurrent = nullptr;
  cuda::CtxEnablePeerAccessFn CtxEnablePeerAccess = nullptr;
  cuda::MemGetInfoFn MemGetInfo = nullptr;
  cuda::MemAllocFn MemAlloc = nullptr;
  cuda::MemFreeFn MemFree = nullptr;
  cuda::MemHostAllocFn MemHostAlloc = nullptr;
  cuda::MemFreeHostFn MemFreeHost = nullptr;
  cuda::MemcpyHtoDAsyncFn MemcpyHtoDAsync = nullptr;
  cuda::MemcpyDtoHAsyncFn MemcpyDtoHAsync = nullptr;
  cuda::MemcpyDtoDAsyncFn MemcpyDtoDAsync = nullptr;
  cuda::MemcpyPeerAsyncFn MemcpyPeerAsync = nullptr;
  cuda::StreamCreateFn StreamCreate = nullptr;
  cuda::StreamDestroyFn StreamDestroy = nullptr;
  cuda::StreamSynchronizeFn StreamSynchronize = nullptr;
  cuda::EventCreateFn EventCreate = nullptr;
  cuda::EventRecordFn EventRecord = nullptr;
  cuda::EventSynchronizeFn EventSynchronize = nullptr;
  cuda::EventElapsedTimeFn EventElapsedTime = nullptr;
  cuda::EventDestroyFn EventDestroy = nullptr;
  cuda::GetErrorNameFn GetErrorName = nullptr;

  // "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2)".
  std::string Describe(const char* call, cuda::CuResult result) const;
};

// Loads `path` (default "libcuda.so.1") and binds every entry point above. Error: the library
// cannot be loaded, or it lacks an entry point ("libcuda.so.1 lacks cuMemcpyPeerAsync"). Does not
// call cuInit.
Expected<std::shared_ptr<const CudaDriver>> LoadCudaDriver(const std::string& path);

inline constexpr const char* kDefaultCudaLibrary = "libcuda.so.1";

}  // namespace nodehealth::platform
