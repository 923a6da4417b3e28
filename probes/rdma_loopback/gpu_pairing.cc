#include "probes/rdma_loopback/gpu_pairing.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace nodehealth::rdma {

std::vector<std::optional<GpuPair>> PairHcasWithGpus(const topo::Topology& topology,
                                                     const std::vector<std::string>& hca_bus_ids) {
  std::vector<std::optional<GpuPair>> out(hca_bus_ids.size());
  const std::vector<const topo::Device*> gpus = topology.OfKind(topo::DeviceKind::kGpu);
  std::vector<const topo::Device*> hcas(hca_bus_ids.size(), nullptr);
  for (std::size_t i = 0; i < hca_bus_ids.size(); ++i) {
    for (const topo::Device& d : topology.devices) {
      if (d.bus_id == hca_bus_ids[i] && !hca_bus_ids[i].empty()) hcas[i] = &d;
    }
  }
  // (path class, HCA position, GPU bus id): the order in which pairs are considered.
  std::vector<std::tuple<topo::PathClass, std::size_t, const topo::Device*>> candidates;
  for (std::size_t i = 0; i < hcas.size(); ++i) {
    if (hcas[i] == nullptr) continue;
    for (const topo::Device* gpu : gpus) {
      candidates.emplace_back(topo::ClassifyPath(*gpu, *hcas[i]), i, gpu);
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(std::get<0>(a), std::get<1>(a), std::get<2>(a)->bus_id) <
           std::make_tuple(std::get<0>(b), std::get<1>(b), std::get<2>(b)->bus_id);
  });
  std::set<const topo::Device*> taken;
  for (const auto& [path, i, gpu] : candidates) {
    if (out[i] || taken.count(gpu)) continue;
    out[i] = GpuPair{gpu->bus_id, path};
    taken.insert(gpu);
  }
  // More ports than GPUs: the rest share, each with its closest GPU.
  for (const auto& [path, i, gpu] : candidates) {
    if (!out[i]) out[i] = GpuPair{gpu->bus_id, path};
  }
  return out;
}

}  // namespace nodehealth::rdma
