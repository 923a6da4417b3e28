// The seam between the rdma_loopback probe and libibverbs (GUIDE.md: one interface per vendor
// library). The probe's control flow (which ports, skip or fail, memlock, floors, deadlines) is
// unit-tested against a fake Provider; VerbsProvider (verbs_provider.h) is the real one, always
// compiled and linked, exercised by the hw-ib tests where an HCA exists.
//
// Errors: every failure is an Error whose message starts with the verbs call that failed
// ("ibv_modify_qp(RTR)") and whose sys_errno is that call's errno (or the error number it
// returned), so the finding can name both.
//
// Thread safety: a Provider may be used from one thread at a time per LoopbackPair; separate
// LoopbackPairs may run on separate threads (the parallel mode).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::rdma {

enum class Memory { kHost, kGpu };

struct LoopbackConfig {
  std::string device;  // "mlx5_0"
  int port = 1;
  uint64_t buffer_bytes = 8u << 20;  // each of the two registered buffers
  int depth = 128;                   // send queue depth (WRITEs in flight)
  std::optional<int> numa_node;      // place host buffers there (mbind, then first touch)
  Memory memory = Memory::kHost;     // kGpu: the target buffer is GPU memory (dma-buf)
  int gpu_ordinal = 0;               // CUDA device for kGpu
};

// Two RC queue pairs on one port, connected to each other, with a source and a target buffer
// registered. Destroying it releases every verbs object it created.
class LoopbackPair {
 public:
  virtual ~LoopbackPair() = default;
  // Posts one signaled RDMA WRITE of `bytes` from the source buffer into the target buffer.
  virtual Expected<bool> PostWrite(uint64_t bytes) = 0;
  // Polls up to `max` completions; returns how many completed. A completion with an error status
  // is an Error ("work completion: <status>").
  virtual Expected<int> Poll(int max) = 0;
  // What was chosen while connecting, for the report ("LID 0x12", "RoCE v2 GID index 3").
  virtual std::string Addressing() const = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Names of the RDMA devices libibverbs sees. ENOSYS (no kernel support) and an empty list both
  // mean "no RDMA here".
  virtual Expected<std::vector<std::string>> ListDevices() = 0;
  // Number of GPUs whose memory can be registered through dma-buf, or an Error saying why none
  // (no libcuda, no dma-buf support in the driver or kernel).
  virtual Expected<int> GpuDirectDevices() = 0;
  // The CUDA ordinal of the GPU at PCI function `pci_bus_id` ("0000:97:00.0"), for
  // LoopbackConfig::gpu_ordinal; an Error when CUDA does not show it (CUDA_VISIBLE_DEVICES, no
  // CUDA). Only after GpuDirectDevices() succeeded.
  virtual Expected<int> GpuOrdinal(const std::string& pci_bus_id) = 0;
  virtual Expected<std::unique_ptr<LoopbackPair>> Connect(const LoopbackConfig& config) = 0;
};

// One entry of a port's GID table (ibv_query_gid_table).
struct GidEntry {
  int index = 0;
  int port = 0;
  std::array<uint8_t, 16> gid{};
  enum class Type { kInfiniband, kRoceV1, kRoceV2 } type = Type::kInfiniband;
};

// The GID a RoCE loopback should use on `port`: RoCE v2 (routable, what NCCL and perftest use by
// default), preferring an IPv4-mapped address (::ffff:a.b.c.d) over IPv6, never the all-zero GID.
// nullopt when the port has no RoCE v2 GID (no IP address on the netdev).
std::optional<GidEntry> ChooseRoceV2Gid(const std::vector<GidEntry>& table, int port);

}  // namespace nodehealth::rdma
