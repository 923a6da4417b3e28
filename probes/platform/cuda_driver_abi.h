// The part of the CUDA driver API (libcuda.so.1) nodehealth calls, declared without NVIDIA's
// headers so that nodehealth builds on a node with no CUDA toolkit. Every type, constant and
// signature is taken from NVIDIA's public header cuda.h (CUDA 12.x and 13.0; the "_v2" entry points
// are the ones cuda.h's `#define cuMemAlloc cuMemAlloc_v2` lines select). When cuda.h is present at
// build time, tests/abi/cuda_abi_check.cc proves each declaration here against it, and the fake
// libcuda.so.1 (tests/fakes/cuda) is compiled against the real header, so the product and its
// fake cannot agree on a wrong ABI.
//
// The opaque handle structs keep NVIDIA's tags (CUctx_st, ...) at global scope: declaring them
// again is harmless next to cuda.h and makes the handle types identical to NVIDIA's.
#pragma once

#include <cstddef>

struct CUctx_st;
struct CUstream_st;
struct CUevent_st;

namespace nodehealth::cuda {

using CuResult = int;                    // enum cudaError_enum (CUresult)
using CuDevice = int;                    // CUdevice_v1
using CuDevicePtr = unsigned long long;  // CUdeviceptr_v2
using CuContext = CUctx_st*;
using CuStream = CUstream_st*;
using CuEvent = CUevent_st*;

// CUresult values (cuda.h enum cudaError_enum).
inline constexpr CuResult kSuccess = 0;                          // CUDA_SUCCESS
inline constexpr CuResult kErrorInvalidValue = 1;                // CUDA_ERROR_INVALID_VALUE
inline constexpr CuResult kErrorOutOfMemory = 2;                 // CUDA_ERROR_OUT_OF_MEMORY
inline constexpr CuResult kErrorNotInitialized = 3;              // CUDA_ERROR_NOT_INITIALIZED
inline constexpr CuResult kErrorStubLibrary = 34;                // CUDA_ERROR_STUB_LIBRARY
inline constexpr CuResult kErrorDeviceUnavailable = 46;          // CUDA_ERROR_DEVICE_UNAVAILABLE
inline constexpr CuResult kErrorNoDevice = 100;                  // CUDA_ERROR_NO_DEVICE
inline constexpr CuResult kErrorInvalidDevice = 101;             // CUDA_ERROR_INVALID_DEVICE
inline constexpr CuResult kErrorEccUncorrectable = 214;          // CUDA_ERROR_ECC_UNCORRECTABLE
inline constexpr CuResult kErrorPeerAccessAlreadyEnabled = 704;  // CUDA_ERROR_PEER_ACCESS_...
inline constexpr CuResult kErrorSystemDriverMismatch = 803;  // CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
inline constexpr CuResult kErrorUnknown = 999;               // CUDA_ERROR_UNKNOWN

// CUdevice_attribute values (cuda.h enum CUdevice_attribute_enum).
inline constexpr int kAttributeClockRate = 13;        // CU_DEVICE_ATTRIBUTE_CLOCK_RATE (kHz)
inline constexpr int kAttributeMemoryClockRate = 36;  // CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE (kHz)

inline constexpr unsigned int kMemHostAllocPortable = 0x01;  // CU_MEMHOSTALLOC_PORTABLE
inline constexpr unsigned int kStreamNonBlocking = 0x1;      // CU_STREAM_NON_BLOCKING
inline constexpr unsigned int kEventDefault = 0x0;           // CU_EVENT_DEFAULT

// Signatures, named after the entry point without its version suffix.
using InitFn = CuResult (*)(unsigned int flags);
using DriverGetVersionFn = CuResult (*)(int* driver_version);
using DeviceGetCountFn = CuResult (*)(int* count);
using DeviceGetFn = CuResult (*)(CuDevice* device, int ordinal);
using DeviceGetNameFn = CuResult (*)(char* name, int len, CuDevice dev);
using DeviceGetPciBusIdFn = CuResult (*)(char* pci_bus_id, int len, CuDevice dev);
using DeviceGetAttributeFn = CuResult (*)(int* value, int attribute, CuDevice dev);
using DeviceCanAccessPeerFn = CuResult (*)(int* can_access, CuDevice dev, CuDevice peer);
using DevicePrimaryCtxRetainFn = CuResult (*)(CuContext* context, CuDevice dev);
using DevicePrimaryCtxReleaseFn = CuResult (*)(CuDevice dev);  // _v2, else the original
using CtxSetCurrentFn = CuResult (*)(CuContext context);
using CtxEnablePeerAccessFn = CuResult (*)(CuContext peer_context, unsigned int flags);
using MemGetInfoFn = CuResult (*)(std::size_t* free, std::size_t* total);  // _v2
using MemAllocFn = CuResult (*)(CuDevicePtr* pointer, std::size_t bytes);  // _v2
using MemFreeFn = CuResult (*)(CuDevicePtr pointer);                       // _v2
using MemHostAllocFn = CuResult (*)(void** pointer, std::size_t bytes, unsigned int flags);
using MemFreeHostFn = CuResult (*)(void* pointer);
using MemcpyHtoDAsyncFn = CuResult (*)(CuDevicePtr dst, const void* src, std::size_t bytes,
                                       CuStream stream);  // _v2
using MemcpyDtoHAsyncFn = CuResult (*)(void* dst, CuDevicePtr src, std::size_t bytes,
                                       CuStream stream);  // _v2
using MemcpyDtoDAsyncFn = CuResult (*)(CuDevicePtr dst, CuDevicePtr src, std::size_t bytes,
                                       CuStream stream);  // _v2
using MemcpyPeerAsyncFn = CuResult (*)(CuDevicePtr dst, CuContext dst_context, CuDevicePtr src,
                                       CuContext src_context, std::size_t bytes, CuStream stream);
using StreamCreateFn = CuResult (*)(CuStream* stream, unsigned int flags);
using StreamDestroyFn = CuResult (*)(CuStream stream);  // _v2
using StreamSynchronizeFn = CuResult (*)(CuStream stream);
using EventCreateFn = CuResult (*)(CuEvent* event, unsigned int flags);
using EventRecordFn = CuResult (*)(CuEvent event, CuStream stream);
using EventSynchronizeFn = CuResult (*)(CuEvent event);
using EventElapsedTimeFn = CuResult (*)(float* milliseconds, CuEvent start, CuEvent end);  // _v2
using EventDestroyFn = CuResult (*)(CuEvent event);                                        // _v2
using GetErrorNameFn = CuResult (*)(CuResult error, const char** name);

}  // namespace nodehealth::cuda
