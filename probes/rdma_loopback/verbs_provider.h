// The real Provider: libibverbs (rdma-core). The sequence per port is the one perftest's
// ib_write_bw uses for a loopback run: open the device, query the port, allocate a protection
// domain, one completion queue, register a source and a target buffer, create two RC queue pairs
// and move each through INIT -> RTR -> RTS aimed at the other (the port's own LID on InfiniBand, a
// RoCE v2 GID from the port's GID table on Ethernet).
//
// Host buffers are mmap'ed, bound to the HCA's NUMA node (mbind, MPOL_PREFERRED) and touched
// before registration, so the pages land next to the HCA. GPU buffers come from CudaMemory and are
// registered with ibv_reg_dmabuf_mr.
//
// Thread safety: see rdma_provider.h.
#pragma once

#include <memory>

#include "probes/rdma_loopback/rdma_provider.h"

namespace nodehealth::rdma {

std::unique_ptr<Provider> MakeVerbsProvider();

}  // namespace nodehealth::rdma
