// GPUDirect pairing: which GPU each tested HCA port writes into. A loopback into a GPU across the
// socket link measures that link, not the rail, so each port is paired with the GPU its HCA is
// closest to in the topology, by the path classes `nvidia-smi topo -m` and the topology probe use
// (PIX < PXB < PHB < NODE < SYS; topo::FindNearestHca is the same relation seen from a GPU).
// On a DGX or HGX each GPU has one HCA behind its own PCIe switch (PIX): that is its pair. Where
// several GPUs are equally close (Azure's ND VMs show no bridges, so four GPUs and four HCAs share
// a NUMA node at NODE) each port gets a different GPU while unused ones remain, in bus-id order.
//
// Thread safety: a pure function.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/topology/topology_model.h"

namespace nodehealth::rdma {

struct GpuPair {
  std::string gpu_bus_id;  // "0000:97:00.0"
  topo::PathClass path = topo::PathClass::kSys;
};

// One entry per HCA in `hca_bus_ids` (the tested ports' PCI functions, in test order; the same
// function may appear for several ports): its GPU, or nullopt when the HCA is not in the topology
// or the topology has no GPU. Greedy over all (HCA, GPU) pairs ordered by path class, then the
// HCA's position, then the GPU's bus id: each HCA takes the closest GPU no other has taken; once
// every GPU is taken, the closest GPU again.
std::vector<std::optional<GpuPair>> PairHcasWithGpus(const topo::Topology& topology,
                                                     const std::vector<std::string>& hca_bus_ids);

}  // namespace nodehealth::rdma
