#include "probes/rdma_loopback/cuda_memory.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace nodehealth::rdma {
namespace {

// CUDA driver API types and constants (cuda.h, CUDA 12): opaque handles and plain integers, so no
// CUDA headers are needed to build nodehealth.
using CUresult = int;
using CUdevice = int;
using CUcontext = void*;
using CUdeviceptr = unsigned long long;
constexpr CUresult kCudaSuccess = 0;
constexpr int kAttributeDmaBufSupported = 124;  // CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED
constexpr int kHandleTypeDmaBufFd = 1;          // CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD

}  // namespace

struct CudaMemory::Api {
  CUresult (*cuInit)(unsigned int) = nullptr;
  CUresult (*cuDeviceGetCount)(int*) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemGetHandleForAddressRange)(void*, CUdeviceptr, size_t, int,
                                            unsigned long long) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char**) = nullptr;
  CUresult (*cuDeviceGetByPCIBusId)(CUdevice*, const char*) = nullptr;  // optional

  std::string Describe(const char* call, CUresult r) const {
    const char* name = nullptr;
    if (cuGetErrorName == nullptr || cuGetErrorName(r, &name) != kCudaSuccess || name == nullptr) {
      name = "CUDA error";
    }
    return std::string(call) + ": " + name + " (" + std::to_string(r) + ")";
  }
};

namespace {

template <class F>
bool Bind(void* library, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(library, name));
  return out != nullptr;
}

}  // namespace

CudaMemory::CudaMemory(std::unique_ptr<Api> api) : api_(std::move(api)) {}
CudaMemory::~CudaMemory() = default;

Expected<std::unique_ptr<CudaMemory>> CudaMemory::Open() {
  // Never dlclose'd: the driver keeps threads that outlive a close.
  void* library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    return MakeError(std::string("dlopen libcuda.so.1: ") + (why ? why : "not found"), ENOENT);
  }
  auto api = std::make_unique<Api>();
  const bool bound = Bind(library, "cuInit", api->cuInit) &&
                     Bind(library, "cuDeviceGetCount", api->cuDeviceGetCount) &&
                     Bind(library, "cuDeviceGet", api->cuDeviceGet) &&
                     Bind(library, "cuDeviceGetAttribute", api->cuDeviceGetAttribute) &&
                     Bind(library, "cuDevicePrimaryCtxRetain", api->cuDevicePrimaryCtxRetain) &&
                     Bind(library, "cuCtxSetCurrent", api->cuCtxSetCurrent) &&
                     Bind(library, "cuMemAlloc_v2", api->cuMemAlloc) &&
                     Bind(library, "cuMemFree_v2", api->cuMemFree) &&
                     Bind(library, "cuGetErrorName", api->cuGetErrorName);
  if (!bound) return MakeError("libcuda.so.1 lacks a CUDA driver API entry point", ENOSYS);
  if (!Bind(library, "cuMemGetHandleForAddressRange", api->cuMemGetHandleForAddressRange)) {
    return MakeError("libcuda.so.1 has no cuMemGetHandleForAddressRange (needs CUDA 11.7+)",
                     ENOSYS);
  }
  Bind(library, "cuDeviceGetByPCIBusId", api->cuDeviceGetByPCIBusId);
  if (CUresult r = api->cuInit(0); r != kCudaSuccess) return MakeError(api->Describe("cuInit", r));
  int count = 0;
  if (CUresult r = api->cuDeviceGetCount(&count); r != kCudaSuccess) {
    return MakeError(api->Describe("cuDeviceGetCount", r));
  }
  std::unique_ptr<CudaMemory> memory(new CudaMemory(std::move(api)));
  for (int i = 0; i < count; ++i) {
    CUdevice device = 0;
    int supported = 0;
    if (memory->api_->cuDeviceGet(&device, i) == kCudaSuccess &&
        memory->api_->cuDeviceGetAttribute(&supported, kAttributeDmaBufSupported, device) ==
            kCudaSuccess &&
        supported != 0) {
      ++memory->dmabuf_devices_;
    }
  }
  return memory;
}

Expected<GpuBuffer> CudaMemory::Allocate(int ordinal, uint64_t bytes) {
  CUdevice device = 0;
  if (CUresult r = api_->cuDeviceGet(&device, ordinal); r != kCudaSuccess) {
    return MakeError(api_->Describe("cuDeviceGet", r));
  }
  CUcontext context = nullptr;
  if (CUresult r = api_->cuDevicePrimaryCtxRetain(&context, device); r != kCudaSuccess) {
    return MakeError(api_->Describe("cuDevicePrimaryCtxRetain", r));
  }
  if (CUresult r = api_->cuCtxSetCurrent(context); r != kCudaSuccess) {
    return MakeError(api_->Describe("cuCtxSetCurrent", r));
  }
  GpuBuffer buffer;
  buffer.ordinal = ordinal;
  buffer.bytes = bytes;
  CUdeviceptr pointer = 0;
  if (CUresult r = api_->cuMemAlloc(&pointer, bytes); r != kCudaSuccess) {
    return MakeError(api_->Describe("cuMemAlloc", r));
  }
  buffer.device_pointer = pointer;
  if (CUresult r = api_->cuMemGetHandleForAddressRange(&buffer.dmabuf_fd, buffer.device_pointer,
                                                       bytes, kHandleTypeDmaBufFd, 0);
      r != kCudaSuccess) {
    api_->cuMemFree(buffer.device_pointer);
    return MakeError(api_->Describe("cuMemGetHandleForAddressRange(DMA_BUF_FD)", r));
  }
  return buffer;
}

Expected<int> CudaMemory::OrdinalOf(const std::string& pci_bus_id) const {
  if (api_->cuDeviceGetByPCIBusId == nullptr) {
    return MakeError("libcuda.so.1 has no cuDeviceGetByPCIBusId", ENOSYS);
  }
  CUdevice device = 0;
  if (CUresult r = api_->cuDeviceGetByPCIBusId(&device, pci_bus_id.c_str()); r != kCudaSuccess) {
    return MakeError(api_->Describe(("cuDeviceGetByPCIBusId(" + pci_bus_id + ")").c_str(), r));
  }
  return static_cast<int>(device);
}

void CudaMemory::Free(const GpuBuffer& buffer) {
  if (buffer.dmabuf_fd >= 0) ::close(buffer.dmabuf_fd);
  if (buffer.device_pointer != 0) api_->cuMemFree(buffer.device_pointer);
}

}  // namespace nodehealth::rdma
