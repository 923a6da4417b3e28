#include "probes/platform/cuda_driver.h"

#include <cerrno>

namespace nodehealth::platform {

namespace {

// The names of the results nodehealth explains, for a library that cannot name them itself (the
// toolkit's stub libcuda.so answers cuGetErrorName with CUDA_ERROR_STUB_LIBRARY too).
const char* KnownName(cuda::CuResult result) {
  switch (result) {
    case cuda::kErrorInvalidValue:
      return "CUDA_ERROR_INVALID_VALUE";
    case cuda::kErrorOutOfMemory:
      return "CUDA_ERROR_OUT_OF_MEMORY";
    case cuda::kErrorNotInitialized:
      return "CUDA_ERROR_NOT_INITIALIZED";
    case cuda::kErrorStubLibrary:
      return "CUDA_ERROR_STUB_LIBRARY";
    case cuda::kErrorDeviceUnavailable:
      return "CUDA_ERROR_DEVICE_UNAVAILABLE";
    case cuda::kErrorNoDevice:
      return "CUDA_ERROR_NO_DEVICE";
    case cuda::kErrorInvalidDevice:
      return "CUDA_ERROR_INVALID_DEVICE";
    case cuda::kErrorEccUncorrectable:
      return "CUDA_ERROR_ECC_UNCORRECTABLE";
    case cuda::kErrorPeerAccessAlreadyEnabled:
      return "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED";
    case cuda::kErrorSystemDriverMismatch:
      return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
    case cuda::kErrorUnknown:
      return "CUDA_ERROR_UNKNOWN";
    default:
      return "CUDA error";
  }
}

}  // namespace

std::string CudaDriver::Describe(const char* call, cuda::CuResult result) const {
  const char* name = nullptr;
  if (GetErrorName == nullptr || GetErrorName(result, &name) != cuda::kSuccess || name == nullptr) {
    name = KnownName(result);
  }
  return std::string(call) + ": " + name + " (" + std::to_string(result) + ")";
}

namespace {

// Binds `out` to the first name the library exports; records the first missing entry point.
template <class Fn>
void Bind(const SharedLibrary& library, Fn& out, std::initializer_list<const char*> names,
          std::string& missing) {
  out = reinterpret_cast<Fn>(FindSymbol(library, names));
  if (out == nullptr && missing.empty()) missing = *names.begin();
}

}  // namespace

Expected<std::shared_ptr<const CudaDriver>> LoadCudaDriver(const std::string& path) {
  Expected<SharedLibrary> library = LoadSharedLibrary(path.empty() ? kDefaultCudaLibrary : path);
  if (!library) return library.error();
  auto d = std::make_shared<CudaDriver>();
  d->library = *library;
  std::string missing;
  const SharedLibrary& l = d->library;
  Bind(l, d->Init, {"cuInit"}, missing);
  Bind(l, d->DriverGetVersion, {"cuDriverGetVersion"}, missing);
  Bind(l, d->DeviceGetCount, {"cuDeviceGetCount"}, missing);
  Bind(l, d->DeviceGet, {"cuDeviceGet"}, missing);
  Bind(l, d->DeviceGetName, {"cuDeviceGetName"}, missing);
  Bind(l, d->DeviceGetPciBusId, {"cuDeviceGetPCIBusId"}, missing);
  Bind(l, d->DeviceGetAttribute, {"cuDeviceGetAttribute"}, missing);
  Bind(l, d->DeviceCanAccessPeer, {"cuDeviceCanAccessPeer"}, missing);
  Bind(l, d->DevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"}, missing);
  Bind(l, d->DevicePrimaryCtxRelease, {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
       missing);
  Bind(l, d->CtxSetCurrent, {"cuCtxSetCurrent"}, missing);
  Bind(l, d->CtxEnablePeerAccess, {"cuCtxEnablePeerAccess"}, missing);
  Bind(l, d->MemGetInfo, {"cuMemGetInfo_v2"}, missing);
  Bind(l, d->MemAlloc, {"cuMemAlloc_v2"}, missing);
  Bind(l, d->MemFree, {"cuMemFree_v2"}, missing);
  Bind(l, d->MemHostAlloc, {"cuMemHostAlloc"}, missing);
  Bind(l, d->MemFreeHost, {"cuMemFreeHost"}, missing);
  Bind(l, d->MemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"}, missing);
  Bind(l, d->MemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"}, missing);
  Bind(l, d->MemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"}, missing);
  Bind(l, d->MemcpyPeerAsync, {"cuMemcpyPeerAsync"}, missing);
  Bind(l, d->StreamCreate, {"cuStreamCreate"}, missing);
  Bind(l, d->StreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"}, missing);
  Bind(l, d->StreamSynchronize, {"cuStreamSynchronize"}, missing);
  Bind(l, d->EventCreate, {"cuEventCreate"}, missing);
  Bind(l, d->EventRecord, {"cuEventRecord"}, missing);
  Bind(l, d->EventSynchronize, {"cuEventSynchronize"}, missing);
  Bind(l, d->EventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, missing);
  Bind(l, d->EventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"}, missing);
  Bind(l, d->GetErrorName, {"cuGetErrorName"}, missing);
  if (!missing.empty()) {
    return MakeError(l.loaded_file + " lacks the CUDA driver entry point " + missing, ENOSYS);
  }
  return std::shared_ptr<const CudaDriver>(std::move(d));
}

}  // namespace nodehealth::platform
