#include "probes/entity.h"

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

}  // namespace nodehealth
