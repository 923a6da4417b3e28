// GPU model names by PCI device id, for the moments NVML cannot tell: a node whose driver is
// broken still has GPUs on PCI, and `--profile auto` and the missing-GPU check must still know what
// they are. Names follow what NVML reports (nvidia-smi "Product Name") so a profile's `model`
// substring matches either source.
//
// Sources: pciutils pci.ids (vendor 10de), DCGM nvvs/diag-skus.yaml.in and the nvidia-smi captures
// in ../shared/fixtures/peer/gpud (see SOURCES.md there).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nodehealth {

// The NVML-style name for an NVIDIA PCI device id, or nullopt when the id is not in the table.
std::optional<std::string_view> GpuModelName(uint32_t pci_device_id);

// GpuModelName or "NVIDIA GPU 10de:<id>".
std::string GpuModelNameOrId(uint32_t pci_device_id);

}  // namespace nodehealth
