#include "probes/entity.h"

#include <utility>

namespace nodehealth {

std::string GpuEntity(std::string_view bus_id) { return "gpu/" + std::string(bus_id); }

std::string HcaEntity(std::string_view device, std::string_view port) {
  std::string entity = "hca/";
  entity.append(device).append("/").append(port);
  return entity;
}

std::string HcaEntity(std::string_view device, int port) {
  return HcaEntity(device, std::to_string(port));
}

std::string PciEntity(std::string_view bus_id) { return "pci/" + std::string(bus_id); }

std::string GpuPairEntity(std::string_view bus_id, std::string_view other_bus_id) {
  if (other_bus_id < bus_id) std::swap(bus_id, other_bus_id);
  std::string entity = "gpu-pair/";
  entity.append(bus_id).append(",").append(other_bus_id);
  return entity;
}

}  // namespace nodehealth
