// A fake CUDA driver: a real shared library, libcuda.so.1 (SONAME libcuda.so.1), exporting the
// driver API entry points nodehealth calls (probes/platform/cuda_driver_abi.h), loaded through
// the same dlopen path as NVIDIA's driver. It answers from the scenario named by
// NODEHEALTH_FAKE_GPU_SCENARIO (fake_gpu_scenario.h), which the fake libnccl.so.2 shares.
//
// Device memory is host memory of the process, so copies really move bytes and a test can check
// them; allocations beyond a GPU's memory_mib fail with CUDA_ERROR_OUT_OF_MEMORY. Each stream has
// a virtual clock: a copy moves it on by bytes / rate (the GPU's h2d, d2h or d2d rate, or the
// scenario's peer rate from the source to the destination device), cuEventRecord stores it and
// cuEventElapsedTime subtracts, so measured bandwidths are the scenario's exactly. Synchronising
// returns at once. As in the driver, a call before a successful cuInit answers
// CUDA_ERROR_NOT_INITIALIZED (cuDriverGetVersion and cuGetError* excepted), and memory, stream and
// event calls need a current context (CUDA_ERROR_INVALID_CONTEXT).
//
// Signatures: with cuda.h (CUDA 13.0; NODEHEALTH_FAKE_WITH_CUDA_H, see cuda_api.h) each definition
// below must match NVIDIA's declaration, whose line in cuda.h is given above it, or the build
// fails. The _v2 names are those cuda.h's `#define cuMemAlloc cuMemAlloc_v2` lines (89-172)
// select; the versionless cuDevicePrimaryCtxRelease and cuEventElapsedTime are exported too.
// Thread-safe: one lock around the driver's state (fake_driver.h).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "tests/fakes/cuda/cuda_api.h"
#include "tests/fakes/cuda/fake_driver.h"

namespace {

using nodehealth::fake_cuda::Driver;

// One entry point: hangs or fails as the scenario says, refuses before cuInit when `needs_init`,
// and counts successes for `fail ... after=N`.
template <class Body>
CUresult Enter(const char* entry, bool needs_init, Body body) {
  Driver& driver = Driver::Get();
  std::unique_lock lock(driver.mutex());
  if (driver.scenario().hang.count(entry) != 0) {
    lock.unlock();
    nodehealth::fake_cuda::HangForever();
  }
  if (needs_init && !driver.initialised()) return CUDA_ERROR_NOT_INITIALIZED;
  if (std::optional<int> forced = driver.ForcedResult(entry)) {
    return static_cast<CUresult>(*forced);
  }
  CUresult result = body(driver);
  if (result == CUDA_SUCCESS) driver.CountSuccess(entry);
  return result;
}

// An entry point that works in the calling thread's current context.
template <class Body>
CUresult InContext(const char* entry, Body body) {
  return Enter(entry, true, [&](Driver& driver) -> CUresult {
    CUctx_st* context = driver.Current();
    if (context == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
    return body(driver, *context);
  });
}

CUresult CopyString(const std::string& value, char* out, int length) {
  if (out == nullptr || length <= 0) return CUDA_ERROR_INVALID_VALUE;
  std::size_t n = std::min(value.size(), static_cast<std::size_t>(length) - 1);
  std::memcpy(out, value.data(), n);
  out[n] = '\0';
  return CUDA_SUCCESS;
}

// Copies `bytes` on `stream` (the context's null stream when null) and moves its clock on.
CUresult Copy(Driver& driver, const CUctx_st& context, CUstream stream, void* destination,
              const void* source, std::size_t bytes, double gbps) {
  CUstream_st* s = driver.Stream(stream, context.device);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (bytes > 0) std::memmove(destination, source, bytes);
  s->clock += static_cast<double>(bytes) / (gbps * 1e9);
  return CUDA_SUCCESS;
}

void* Host(CUdeviceptr pointer) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(pointer));
}

double DeviceToDeviceGbps(Driver& driver, int source, int destination) {
  return source == destination ? driver.gpu(source).d2d_gbps
                               : driver.scenario().PeerGbps(source, destination);
}

CUresult ElapsedTime(float* milliseconds, CUevent start, CUevent end) {
  return InContext("cuEventElapsedTime", [&](Driver& driver, CUctx_st&) -> CUresult {
    if (milliseconds == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.ValidEvent(start) || !driver.ValidEvent(end) || !start->recorded ||
        !end->recorded || ((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING) != 0) {
      return CUDA_ERROR_INVALID_HANDLE;
    }
    *milliseconds = static_cast<float>((end->time - start->time) * 1e3);
    return CUDA_SUCCESS;
  });
}

CUresult ReleasePrimaryContext(CUdevice dev) {
  return Enter("cuDevicePrimaryCtxRelease", true, [&](Driver& driver) -> CUresult {
    if (!driver.ValidDevice(dev)) return CUDA_ERROR_INVALID_DEVICE;
    return driver.Release(dev);
  });
}

struct ResultText {
  int value;
  const char* name;
  const char* text;
};
#define NODEHEALTH_RESULT_TEXT(name, value, line, text) {value, #name, text},
constexpr ResultText kResults[] = {NODEHEALTH_FAKE_CUDA_RESULTS(NODEHEALTH_RESULT_TEXT)};
#undef NODEHEALTH_RESULT_TEXT

// Unknown codes: *text = NULL and CUDA_ERROR_INVALID_VALUE, as the driver does.
CUresult LookUp(const char* entry, CUresult error, const char** text, bool name) {
  return Enter(entry, false, [&](Driver&) -> CUresult {
    if (text == nullptr) return CUDA_ERROR_INVALID_VALUE;
    for (const ResultText& result : kResults) {
      if (result.value == static_cast<int>(error)) {
        *text = name ? result.name : result.text;
        return CUDA_SUCCESS;
      }
    }
    *text = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  });
}

}  // namespace

// cuda.h line 5207.
NODEHEALTH_FAKE_EXPORT CUresult cuInit(unsigned int Flags) {
  return Enter("cuInit", false, [&](Driver& driver) -> CUresult {
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    return driver.Init();
  });
}

// cuda.h line 5245.
NODEHEALTH_FAKE_EXPORT CUresult cuDriverGetVersion(int* driverVersion) {
  return Enter("cuDriverGetVersion", false, [&](Driver& driver) -> CUresult {
    if (driverVersion == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = driver.scenario().driver_version;
    return CUDA_SUCCESS;
  });
}

// cuda.h line 5317.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceGetCount(int* count) {
  return Enter("cuDeviceGetCount", true, [&](Driver& driver) -> CUresult {
    if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *count = driver.device_count();
    return CUDA_SUCCESS;
  });
}

// cuda.h line 5288.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  return Enter("cuDeviceGet", true, [&](Driver& driver) -> CUresult {
    if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.ValidDevice(ordinal)) return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
  });
}

// cuda.h line 5349.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  return Enter("cuDeviceGetName", true, [&](Driver& driver) -> CUresult {
    if (!driver.ValidDevice(dev)) return CUDA_ERROR_INVALID_DEVICE;
    return CopyString(driver.gpu(dev).name, name, len);
  });
}

// cuda.h line 9217.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceGetPCIBusId(char* pciBusId, int len, CUdevice dev) {
  return Enter("cuDeviceGetPCIBusId", true, [&](Driver& driver) -> CUresult {
    if (!driver.ValidDevice(dev)) return CUDA_ERROR_INVALID_DEVICE;
    return CopyString(driver.gpu(dev).bus_id, pciBusId, len);
  });
}

// cuda.h line 5498.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib,
                                                     CUdevice dev) {
  return Enter("cuDeviceGetAttribute", true, [&](Driver& driver) -> CUresult {
    if (pi == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.ValidDevice(dev)) return CUDA_ERROR_INVALID_DEVICE;
    if (attrib == CU_DEVICE_ATTRIBUTE_CLOCK_RATE) {
      *pi = driver.gpu(dev).sm_clock_mhz * 1000;
    } else if (attrib == CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE) {
      *pi = driver.gpu(dev).memory_clock_mhz * 1000;
    } else {
      return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
  });
}

// cuda.h line 23842.
NODEHEALTH_FAKE_EXPORT CUresult cuDeviceCanAccessPeer(int* canAccessPeer, CUdevice dev,
                                                      CUdevice peerDev) {
  return Enter("cuDeviceCanAccessPeer", true, [&](Driver& driver) -> CUresult {
    if (canAccessPeer == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.ValidDevice(dev) || !driver.ValidDevice(peerDev)) return CUDA_ERROR_INVALID_DEVICE;
    *canAccessPeer = dev != peerDev && driver.scenario().no_peer.count({dev, peerDev}) == 0;
    return CUDA_SUCCESS;
  });
}

// cuda.h line 5896.
NODEHEALTH_FAKE_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  return Enter("cuDevicePrimaryCtxRetain", true, [&](Driver& driver) -> CUresult {
    if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.ValidDevice(dev)) return CUDA_ERROR_INVALID_DEVICE;
    *pctx = driver.Retain(dev);
    return CUDA_SUCCESS;
  });
}

// cuda.h line 5937 (cuDevicePrimaryCtxRelease, #defined to the _v2 name at line 149).
NODEHEALTH_FAKE_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  return ReleasePrimaryContext(dev);
}

// cuda.h line 25682 (the versionless original; see cuda_api.h).
NODEHEALTH_FAKE_EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice dev) {
  return ReleasePrimaryContext(dev);
}

// cuda.h line 6423.
NODEHEALTH_FAKE_EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
  return Enter("cuCtxSetCurrent", true, [&](Driver& driver) -> CUresult {
    if (ctx != nullptr && !driver.Active(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
    driver.SetCurrent(ctx);
    return CUDA_SUCCESS;
  });
}

// cuda.h line 23895.
NODEHEALTH_FAKE_EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags) {
  return InContext("cuCtxEnablePeerAccess", [&](Driver& driver, CUctx_st& current) -> CUresult {
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    if (!driver.Active(peerContext) || peerContext == &current) return CUDA_ERROR_INVALID_CONTEXT;
    if (driver.scenario().no_peer.count({current.device, peerContext->device}) != 0) {
      return CUDA_ERROR_PEER_ACCESS_UNSUPPORTED;
    }
    if (!current.peers.insert(peerContext->device).second) {
      return CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
    }
    return CUDA_SUCCESS;
  });
}

// cuda.h line 8575 (cuMemGetInfo, #defined to the _v2 name at line 92).
NODEHEALTH_FAKE_EXPORT CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
  return InContext("cuMemGetInfo", [&](Driver& driver, CUctx_st& context) -> CUresult {
    if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *total = driver.TotalBytes(context.device);
    *free = *total - driver.UsedBytes(context.device);
    return CUDA_SUCCESS;
  });
}

// cuda.h line 8609 (cuMemAlloc, line 93).
NODEHEALTH_FAKE_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
  return InContext("cuMemAlloc", [&](Driver& driver, CUctx_st& context) -> CUresult {
    if (dptr == nullptr) return CUDA_ERROR_INVALID_VALUE;
    return driver.Allocate(context.device, bytesize, dptr);
  });
}

// cuda.h line 8708 (cuMemFree, line 95).
NODEHEALTH_FAKE_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
  return InContext("cuMemFree",
                   [&](Driver& driver, CUctx_st&) -> CUresult { return driver.Free(dptr); });
}

// cuda.h line 8906.
NODEHEALTH_FAKE_EXPORT CUresult cuMemHostAlloc(void** pp, size_t bytesize, unsigned int Flags) {
  return InContext("cuMemHostAlloc", [&](Driver& driver, CUctx_st&) -> CUresult {
    constexpr unsigned int kKnown =
        CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED;
    if (pp == nullptr || (Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
    return driver.HostAllocate(bytesize, pp);
  });
}

// cuda.h line 8823.
NODEHEALTH_FAKE_EXPORT CUresult cuMemFreeHost(void* p) {
  return InContext("cuMemFreeHost",
                   [&](Driver& driver, CUctx_st&) -> CUresult { return driver.HostFree(p); });
}

// cuda.h line 10571 (cuMemcpyHtoDAsync, line 117).
NODEHEALTH_FAKE_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void* srcHost,
                                                     size_t ByteCount, CUstream hStream) {
  return InContext("cuMemcpyHtoDAsync", [&](Driver& driver, CUctx_st& context) -> CUresult {
    int device = driver.DeviceOf(dstDevice, ByteCount);
    if (device < 0 || (srcHost == nullptr && ByteCount > 0)) return CUDA_ERROR_INVALID_VALUE;
    return Copy(driver, context, hStream, Host(dstDevice), srcHost, ByteCount,
                driver.gpu(device).h2d_gbps);
  });
}

// cuda.h line 10612 (cuMemcpyDtoHAsync, line 118).
NODEHEALTH_FAKE_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dstHost, CUdeviceptr srcDevice,
                                                     size_t ByteCount, CUstream hStream) {
  return InContext("cuMemcpyDtoHAsync", [&](Driver& driver, CUctx_st& context) -> CUresult {
    int device = driver.DeviceOf(srcDevice, ByteCount);
    if (device < 0 || (dstHost == nullptr && ByteCount > 0)) return CUDA_ERROR_INVALID_VALUE;
    return Copy(driver, context, hStream, dstHost, Host(srcDevice), ByteCount,
                driver.gpu(device).d2h_gbps);
  });
}

// cuda.h line 10653 (cuMemcpyDtoDAsync, line 119).
NODEHEALTH_FAKE_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
                                                     size_t ByteCount, CUstream hStream) {
  return InContext("cuMemcpyDtoDAsync", [&](Driver& driver, CUctx_st& context) -> CUresult {
    int destination = driver.DeviceOf(dstDevice, ByteCount);
    int source = driver.DeviceOf(srcDevice, ByteCount);
    if (destination < 0 || source < 0) return CUDA_ERROR_INVALID_VALUE;
    return Copy(driver, context, hStream, Host(dstDevice), Host(srcDevice), ByteCount,
                DeviceToDeviceGbps(driver, source, destination));
  });
}

// cuda.h line 10530.
NODEHEALTH_FAKE_EXPORT CUresult cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext,
                                                  CUdeviceptr srcDevice, CUcontext srcContext,
                                                  size_t ByteCount, CUstream hStream) {
  return InContext("cuMemcpyPeerAsync", [&](Driver& driver, CUctx_st& context) -> CUresult {
    if (!driver.Active(dstContext) || !driver.Active(srcContext)) {
      return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (driver.DeviceOf(dstDevice, ByteCount) != dstContext->device ||
        driver.DeviceOf(srcDevice, ByteCount) != srcContext->device) {
      return CUDA_ERROR_INVALID_VALUE;
    }
    return Copy(driver, context, hStream, Host(dstDevice), Host(srcDevice), ByteCount,
                DeviceToDeviceGbps(driver, srcContext->device, dstContext->device));
  });
}

// cuda.h line 14949.
NODEHEALTH_FAKE_EXPORT CUresult cuStreamCreate(CUstream* phStream, unsigned int Flags) {
  return InContext("cuStreamCreate", [&](Driver& driver, CUctx_st& context) -> CUresult {
    if (phStream == nullptr || (Flags & ~static_cast<unsigned int>(CU_STREAM_NON_BLOCKING)) != 0) {
      return CUDA_ERROR_INVALID_VALUE;
    }
    *phStream = driver.NewStream(context.device);
    return CUDA_SUCCESS;
  });
}

// cuda.h line 15825 (cuStreamDestroy, line 140).
NODEHEALTH_FAKE_EXPORT CUresult cuStreamDestroy_v2(CUstream hStream) {
  return InContext("cuStreamDestroy", [&](Driver& driver, CUctx_st&) -> CUresult {
    return driver.DestroyStream(hStream) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
  });
}

// cuda.h line 15795.
NODEHEALTH_FAKE_EXPORT CUresult cuStreamSynchronize(CUstream hStream) {
  return InContext("cuStreamSynchronize", [&](Driver& driver, CUctx_st& context) -> CUresult {
    return driver.Stream(hStream, context.device) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
  });
}

// cuda.h line 15946.
NODEHEALTH_FAKE_EXPORT CUresult cuEventCreate(CUevent* phEvent, unsigned int Flags) {
  return InContext("cuEventCreate", [&](Driver& driver, CUctx_st& context) -> CUresult {
    constexpr unsigned int kKnown =
        CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
    if (phEvent == nullptr || (Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
    *phEvent = driver.NewEvent(context.device, Flags);
    return CUDA_SUCCESS;
  });
}

// cuda.h line 15989.
NODEHEALTH_FAKE_EXPORT CUresult cuEventRecord(CUevent hEvent, CUstream hStream) {
  return InContext("cuEventRecord", [&](Driver& driver, CUctx_st& context) -> CUresult {
    CUstream_st* stream = driver.Stream(hStream, context.device);
    if (!driver.ValidEvent(hEvent) || stream == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    hEvent->recorded = true;
    hEvent->time = stream->clock;
    return CUDA_SUCCESS;
  });
}

// cuda.h line 16102.
NODEHEALTH_FAKE_EXPORT CUresult cuEventSynchronize(CUevent hEvent) {
  return InContext("cuEventSynchronize", [&](Driver& driver, CUctx_st&) -> CUresult {
    return driver.ValidEvent(hEvent) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
  });
}

// cuda.h line 16179 (cuEventElapsedTime, #defined to the _v2 name at line 172).
NODEHEALTH_FAKE_EXPORT CUresult cuEventElapsedTime_v2(float* pMilliseconds, CUevent hStart,
                                                      CUevent hEnd) {
  return ElapsedTime(pMilliseconds, hStart, hEnd);
}

// cuda.h line 25681 (the versionless original; see cuda_api.h).
NODEHEALTH_FAKE_EXPORT CUresult cuEventElapsedTime(float* pMilliseconds, CUevent hStart,
                                                   CUevent hEnd) {
  return ElapsedTime(pMilliseconds, hStart, hEnd);
}

// cuda.h line 16131 (cuEventDestroy, line 141).
NODEHEALTH_FAKE_EXPORT CUresult cuEventDestroy_v2(CUevent hEvent) {
  return InContext("cuEventDestroy", [&](Driver& driver, CUctx_st&) -> CUresult {
    return driver.DestroyEvent(hEvent) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
  });
}

// cuda.h line 5170.
NODEHEALTH_FAKE_EXPORT CUresult cuGetErrorName(CUresult error, const char** pStr) {
  return LookUp("cuGetErrorName", error, pStr, true);
}

// cuda.h line 5149.
NODEHEALTH_FAKE_EXPORT CUresult cuGetErrorString(CUresult error, const char** pStr) {
  return LookUp("cuGetErrorString", error, pStr, false);
}
