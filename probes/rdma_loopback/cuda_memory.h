// GPU memory for GPUDirect RDMA, from the CUDA driver API loaded with dlopen("libcuda.so.1") like
// NVML, so nodehealth runs (and skips this) on nodes without CUDA. The buffer is exported as a
// dma-buf file descriptor (cuMemGetHandleForAddressRange, CUDA 11.7+) for ibv_reg_dmabuf_mr: the
// upstream path that needs no nvidia-peermem module.
//
// Thread safety: one CudaMemory per thread; the library handle is process-wide and never closed.
#pragma once

#include <cstdint>
#include <memory>

#include "probes/util/expected.h"

namespace nodehealth::rdma {

struct GpuBuffer {
  uint64_t device_pointer = 0;
  uint64_t bytes = 0;
  int dmabuf_fd = -1;
  int ordinal = 0;
};

class CudaMemory {
 public:
  // Loads libcuda and initialises it; Error names the step ("dlopen libcuda.so.1: ...").
  static Expected<std::unique_ptr<CudaMemory>> Open();
  ~CudaMemory();

  // CUDA devices that report CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED.
  int DmabufCapableDevices() const { return dmabuf_devices_; }
  // cuDeviceGetByPCIBusId: CUDA numbers devices fastest first, not in PCI order.
  Expected<int> OrdinalOf(const std::string& pci_bus_id) const;
  Expected<GpuBuffer> Allocate(int ordinal, uint64_t bytes);
  void Free(const GpuBuffer& buffer);

 private:
  struct Api;
  explicit CudaMemory(std::unique_ptr<Api> api);
  std::unique_ptr<Api> api_;
  int dmabuf_devices_ = 0;
};

}  // namespace nodehealth::rdma
