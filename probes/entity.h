// The entity a finding is about (docs/contract.md "entity"), built in one place so that every
// probe, the drain policy and Slurm's reason strings spell an entity the same way:
//   "node"                  the node as a whole
//   "gpu/<PCI bus id>"      "gpu/0000:19:00.0" (domain:bus:device.function, lower case)
//   "hca/<device>/<port>"   "hca/mlx5_0/1"
//   "pci/<PCI bus id>"      another PCI device
//   "gpu-pair/<id>,<id>"    two GPUs together (a weak link between them), lower bus id first
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace nodehealth {

inline constexpr std::string_view kNodeEntity = "node";

std::string GpuEntity(std::string_view bus_id);
std::string HcaEntity(std::string_view device, int port);
std::string HcaEntity(std::string_view device, std::string_view port);
std::string PciEntity(std::string_view bus_id);
// The pair in either order names the same entity.
std::string GpuPairEntity(std::string_view bus_id, std::string_view other_bus_id);

}  // namespace nodehealth
