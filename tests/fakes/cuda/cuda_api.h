// What the fake CUDA driver is compiled against. With NODEHEALTH_FAKE_WITH_CUDA_H (CMake sets it
// when it finds NVIDIA's cuda.h) that is cuda.h itself, so every definition in fake_cuda.cc must
// have NVIDIA's exact signature or the build fails ("conflicting declaration of C function").
// Without cuda.h the same names are declared from nodehealth's own ABI header
// (probes/platform/cuda_driver_abi.h, itself taken from cuda.h) and the values in cuda_results.h:
// the fake then agrees with the product, and the ABI check (tests/abi) is skipped.
//
// Line numbers are those of CUDA 13.0's cuda.h (/usr/local/cuda/include/cuda.h, CUDA_VERSION
// 13000).
#pragma once

#include "tests/fakes/cuda/cuda_results.h"

// Marks the C entry points the fake exports; everything else is hidden (-fvisibility=hidden and
// the version script libcuda.map).
#define NODEHEALTH_FAKE_EXPORT extern "C" __attribute__((visibility("default")))

#if defined(NODEHEALTH_FAKE_WITH_CUDA_H)

#include <cuda.h>

// cuda.h maps the versionless names of these entry points to their successors (lines 140, 141,
// 149 and 172, e.g. `#define cuEventElapsedTime cuEventElapsedTime_v2`), so its declarations at
// lines 15825, 16131, 5937 and 16179 declare the _v2 functions. The driver still exports the
// original names for programs built against older headers, and nodehealth falls back to them;
// cuda.h declares them only in its __CUDA_API_VERSION_INTERNAL section (lines 25407 to 25831),
// from which these declarations are copied (lines 25679 to 25682). The fake defines the last two
// (see fake_cuda.cc); tests/abi/cuda_abi_check.cc checks all four.
#undef cuStreamDestroy
#undef cuEventDestroy
#undef cuEventElapsedTime
#undef cuDevicePrimaryCtxRelease
extern "C" {
CUresult CUDAAPI cuStreamDestroy(CUstream hStream);
CUresult CUDAAPI cuEventDestroy(CUevent hEvent);
CUresult CUDAAPI cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd);
CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev);
}

#define NODEHEALTH_CHECK_RESULT(name, value, line, text) \
  static_assert(name == value, #name " is not cuda.h's value");
NODEHEALTH_FAKE_CUDA_RESULTS(NODEHEALTH_CHECK_RESULT)
#undef NODEHEALTH_CHECK_RESULT
#define NODEHEALTH_CHECK_CONSTANT(name, type, value, line) \
  static_assert(name == value, #name " is not cuda.h's value");
NODEHEALTH_FAKE_CUDA_CONSTANTS(NODEHEALTH_CHECK_CONSTANT)
#undef NODEHEALTH_CHECK_CONSTANT

#else  // no cuda.h: nodehealth's declarations

#include <type_traits>

#include "probes/platform/cuda_driver_abi.h"

#define CUDAAPI
using CUresult = nodehealth::cuda::CuResult;
using CUdevice = nodehealth::cuda::CuDevice;
using CUdeviceptr = nodehealth::cuda::CuDevicePtr;
using CUcontext = nodehealth::cuda::CuContext;
using CUstream = nodehealth::cuda::CuStream;
using CUevent = nodehealth::cuda::CuEvent;
using CUdevice_attribute = int;

#define NODEHEALTH_DEFINE_RESULT(name, value, line, text) inline constexpr CUresult name = value;
NODEHEALTH_FAKE_CUDA_RESULTS(NODEHEALTH_DEFINE_RESULT)
#undef NODEHEALTH_DEFINE_RESULT
#define NODEHEALTH_DEFINE_CONSTANT(name, type, value, line) inline constexpr type name = value;
NODEHEALTH_FAKE_CUDA_CONSTANTS(NODEHEALTH_DEFINE_CONSTANT)
#undef NODEHEALTH_DEFINE_CONSTANT

// Each entry point declared with the type the product calls it through.
namespace nodehealth::fake_cuda::abi {
template <class Pointer>
using Function = std::remove_pointer_t<Pointer>;
}  // namespace nodehealth::fake_cuda::abi

extern "C" {
#define NODEHEALTH_DECLARE(fn, type) \
  nodehealth::fake_cuda::abi::Function<nodehealth::cuda::type> fn;
NODEHEALTH_DECLARE(cuInit, InitFn)
NODEHEALTH_DECLARE(cuDriverGetVersion, DriverGetVersionFn)
NODEHEALTH_DECLARE(cuDeviceGetCount, DeviceGetCountFn)
NODEHEALTH_DECLARE(cuDeviceGet, DeviceGetFn)
NODEHEALTH_DECLARE(cuDeviceGetName, DeviceGetNameFn)
NODEHEALTH_DECLARE(cuDeviceGetPCIBusId, DeviceGetPciBusIdFn)
NODEHEALTH_DECLARE(cuDeviceGetAttribute, DeviceGetAttributeFn)
NODEHEALTH_DECLARE(cuDeviceCanAccessPeer, DeviceCanAccessPeerFn)
NODEHEALTH_DECLARE(cuDevicePrimaryCtxRetain, DevicePrimaryCtxRetainFn)
NODEHEALTH_DECLARE(cuDevicePrimaryCtxRelease_v2, DevicePrimaryCtxReleaseFn)
NODEHEALTH_DECLARE(cuDevicePrimaryCtxRelease, DevicePrimaryCtxReleaseFn)
NODEHEALTH_DECLARE(cuCtxSetCurrent, CtxSetCurrentFn)
NODEHEALTH_DECLARE(cuCtxEnablePeerAccess, CtxEnablePeerAccessFn)
NODEHEALTH_DECLARE(cuMemGetInfo_v2, MemGetInfoFn)
NODEHEALTH_DECLARE(cuMemAlloc_v2, MemAllocFn)
NODEHEALTH_DECLARE(cuMemFree_v2, MemFreeFn)
NODEHEALTH_DECLARE(cuMemHostAlloc, MemHostAllocFn)
NODEHEALTH_DECLARE(cuMemFreeHost, MemFreeHostFn)
NODEHEALTH_DECLARE(cuMemcpyHtoDAsync_v2, MemcpyHtoDAsyncFn)
NODEHEALTH_DECLARE(cuMemcpyDtoHAsync_v2, MemcpyDtoHAsyncFn)
NODEHEALTH_DECLARE(cuMemcpyDtoDAsync_v2, MemcpyDtoDAsyncFn)
NODEHEALTH_DECLARE(cuMemcpyPeerAsync, MemcpyPeerAsyncFn)
NODEHEALTH_DECLARE(cuStreamCreate, StreamCreateFn)
NODEHEALTH_DECLARE(cuStreamDestroy_v2, StreamDestroyFn)
NODEHEALTH_DECLARE(cuStreamSynchronize, StreamSynchronizeFn)
NODEHEALTH_DECLARE(cuEventCreate, EventCreateFn)
NODEHEALTH_DECLARE(cuEventRecord, EventRecordFn)
NODEHEALTH_DECLARE(cuEventSynchronize, EventSynchronizeFn)
NODEHEALTH_DECLARE(cuEventElapsedTime_v2, EventElapsedTimeFn)
NODEHEALTH_DECLARE(cuEventElapsedTime, EventElapsedTimeFn)
NODEHEALTH_DECLARE(cuEventDestroy_v2, EventDestroyFn)
NODEHEALTH_DECLARE(cuGetErrorName, GetErrorNameFn)
NODEHEALTH_DECLARE(cuGetErrorString, GetErrorNameFn)  // same signature (cuda.h line 5149)
#undef NODEHEALTH_DECLARE
}

#endif  // NODEHEALTH_FAKE_WITH_CUDA_H
