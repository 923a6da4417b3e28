// Proves at compile time that nodehealth's declarations of the CUDA driver API
// (probes/platform/cuda_driver_abi.h) are NVIDIA's: every ...Fn type against the declaration in
// cuda.h (for the _v2 entry points the _v2 function, and also the versionless original where
// nodehealth falls back to it, declared in tests/fakes/cuda/cuda_api.h), the handle types exactly,
// and every constant. Built (an object library, never linked) only when CMake finds
// cuda.h; a mismatch fails the build. Enums compare as int: see abi_normalize.h.
//
// Line numbers are those of CUDA 13.0's cuda.h (/usr/local/cuda/include/cuda.h).
#include <cstddef>
#include <type_traits>

#include "probes/platform/cuda_driver_abi.h"
#include "tests/abi/abi_normalize.h"
#include "tests/fakes/cuda/cuda_api.h"  // cuda.h, the two versionless declarations, cuda_results.h

#if !defined(NODEHEALTH_FAKE_WITH_CUDA_H)
#error "cuda_abi_check.cc is built only against cuda.h (NODEHEALTH_FAKE_WITH_CUDA_H)"
#endif

namespace nodehealth::cuda {
namespace {

// Handle and scalar types (cuda.h lines 274-292), exactly.
static_assert(std::is_same_v<CuDevice, CUdevice>);
static_assert(std::is_same_v<CuDevicePtr, CUdeviceptr>);
static_assert(std::is_same_v<CuContext, CUcontext>);
static_assert(std::is_same_v<CuStream, CUstream>);
static_assert(std::is_same_v<CuEvent, CUevent>);
static_assert(sizeof(CuResult) == sizeof(CUresult));
static_assert(sizeof(int) == sizeof(CUdevice_attribute));

// CUresult (enum cudaError_enum, lines 2511-3179).
NODEHEALTH_SAME_VALUE(kSuccess, CUDA_SUCCESS);
NODEHEALTH_SAME_VALUE(kErrorInvalidValue, CUDA_ERROR_INVALID_VALUE);
NODEHEALTH_SAME_VALUE(kErrorOutOfMemory, CUDA_ERROR_OUT_OF_MEMORY);
NODEHEALTH_SAME_VALUE(kErrorNotInitialized, CUDA_ERROR_NOT_INITIALIZED);
NODEHEALTH_SAME_VALUE(kErrorStubLibrary, CUDA_ERROR_STUB_LIBRARY);
NODEHEALTH_SAME_VALUE(kErrorDeviceUnavailable, CUDA_ERROR_DEVICE_UNAVAILABLE);
NODEHEALTH_SAME_VALUE(kErrorNoDevice, CUDA_ERROR_NO_DEVICE);
NODEHEALTH_SAME_VALUE(kErrorInvalidDevice, CUDA_ERROR_INVALID_DEVICE);
NODEHEALTH_SAME_VALUE(kErrorEccUncorrectable, CUDA_ERROR_ECC_UNCORRECTABLE);
NODEHEALTH_SAME_VALUE(kErrorPeerAccessAlreadyEnabled, CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
NODEHEALTH_SAME_VALUE(kErrorSystemDriverMismatch, CUDA_ERROR_SYSTEM_DRIVER_MISMATCH);
NODEHEALTH_SAME_VALUE(kErrorUnknown, CUDA_ERROR_UNKNOWN);

// Other constants (lines 738, 764, 3247, 429, 456).
NODEHEALTH_SAME_VALUE(kAttributeClockRate, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
NODEHEALTH_SAME_VALUE(kAttributeMemoryClockRate, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
NODEHEALTH_SAME_VALUE(kMemHostAllocPortable, CU_MEMHOSTALLOC_PORTABLE);
NODEHEALTH_SAME_VALUE(kStreamNonBlocking, CU_STREAM_NON_BLOCKING);
NODEHEALTH_SAME_VALUE(kEventDefault, CU_EVENT_DEFAULT);

// Signatures (the line of each declaration in cuda.h).
NODEHEALTH_SAME_SIGNATURE(InitFn, cuInit);                                           // 5207
NODEHEALTH_SAME_SIGNATURE(DriverGetVersionFn, cuDriverGetVersion);                   // 5245
NODEHEALTH_SAME_SIGNATURE(DeviceGetCountFn, cuDeviceGetCount);                       // 5317
NODEHEALTH_SAME_SIGNATURE(DeviceGetFn, cuDeviceGet);                                 // 5288
NODEHEALTH_SAME_SIGNATURE(DeviceGetNameFn, cuDeviceGetName);                         // 5349
NODEHEALTH_SAME_SIGNATURE(DeviceGetPciBusIdFn, cuDeviceGetPCIBusId);                 // 9217
NODEHEALTH_SAME_SIGNATURE(DeviceGetAttributeFn, cuDeviceGetAttribute);               // 5498
NODEHEALTH_SAME_SIGNATURE(DeviceCanAccessPeerFn, cuDeviceCanAccessPeer);             // 23842
NODEHEALTH_SAME_SIGNATURE(DevicePrimaryCtxRetainFn, cuDevicePrimaryCtxRetain);       // 5896
NODEHEALTH_SAME_SIGNATURE(DevicePrimaryCtxReleaseFn, cuDevicePrimaryCtxRelease_v2);  // 5937
NODEHEALTH_SAME_SIGNATURE(DevicePrimaryCtxReleaseFn, cuDevicePrimaryCtxRelease);     // 25682
NODEHEALTH_SAME_SIGNATURE(CtxSetCurrentFn, cuCtxSetCurrent);                         // 6423
NODEHEALTH_SAME_SIGNATURE(CtxEnablePeerAccessFn, cuCtxEnablePeerAccess);             // 23895
NODEHEALTH_SAME_SIGNATURE(MemGetInfoFn, cuMemGetInfo_v2);                            // 8575
NODEHEALTH_SAME_SIGNATURE(MemAllocFn, cuMemAlloc_v2);                                // 8609
NODEHEALTH_SAME_SIGNATURE(MemFreeFn, cuMemFree_v2);                                  // 8708
NODEHEALTH_SAME_SIGNATURE(MemHostAllocFn, cuMemHostAlloc);                           // 8906
NODEHEALTH_SAME_SIGNATURE(MemFreeHostFn, cuMemFreeHost);                             // 8823
NODEHEALTH_SAME_SIGNATURE(MemcpyHtoDAsyncFn, cuMemcpyHtoDAsync_v2);                  // 10571
NODEHEALTH_SAME_SIGNATURE(MemcpyDtoHAsyncFn, cuMemcpyDtoHAsync_v2);                  // 10612
NODEHEALTH_SAME_SIGNATURE(MemcpyDtoDAsyncFn, cuMemcpyDtoDAsync_v2);                  // 10653
NODEHEALTH_SAME_SIGNATURE(MemcpyPeerAsyncFn, cuMemcpyPeerAsync);                     // 10530
NODEHEALTH_SAME_SIGNATURE(StreamCreateFn, cuStreamCreate);                           // 14949
NODEHEALTH_SAME_SIGNATURE(StreamDestroyFn, cuStreamDestroy_v2);                      // 15825
NODEHEALTH_SAME_SIGNATURE(StreamDestroyFn, cuStreamDestroy);                         // 25679
NODEHEALTH_SAME_SIGNATURE(StreamSynchronizeFn, cuStreamSynchronize);                 // 15795
NODEHEALTH_SAME_SIGNATURE(EventCreateFn, cuEventCreate);                             // 15946
NODEHEALTH_SAME_SIGNATURE(EventRecordFn, cuEventRecord);                             // 15989
NODEHEALTH_SAME_SIGNATURE(EventSynchronizeFn, cuEventSynchronize);                   // 16102
NODEHEALTH_SAME_SIGNATURE(EventElapsedTimeFn, cuEventElapsedTime_v2);                // 16179
NODEHEALTH_SAME_SIGNATURE(EventElapsedTimeFn, cuEventElapsedTime);                   // 25681
NODEHEALTH_SAME_SIGNATURE(EventDestroyFn, cuEventDestroy_v2);                        // 16131
NODEHEALTH_SAME_SIGNATURE(EventDestroyFn, cuEventDestroy);                           // 25680
NODEHEALTH_SAME_SIGNATURE(GetErrorNameFn, cuGetErrorName);                           // 5170

}  // namespace
}  // namespace nodehealth::cuda
