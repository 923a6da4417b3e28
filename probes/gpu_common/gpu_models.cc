#include "probes/gpu_common/gpu_models.h"

#include <array>
#include <cstdio>
#include <utility>

namespace nodehealth {
namespace {

constexpr std::array<std::pair<uint32_t, std::string_view>, 24> kModels = {{
    {0x1db1, "Tesla V100-SXM2-16GB"},
    {0x1db4, "Tesla V100-PCIE-16GB"},
    {0x1db5, "Tesla V100-SXM2-32GB"},
    {0x1db6, "Tesla V100-PCIE-32GB"},
    {0x1d81, "NVIDIA TITAN V"},
    {0x1eb8, "Tesla T4"},
    {0x20b0, "NVIDIA A100-SXM4-40GB"},
    {0x20b1, "NVIDIA A100-PCIE-40GB"},
    {0x20b2, "NVIDIA A100-SXM4-80GB"},
    {0x20b5, "NVIDIA A100 80GB PCIe"},
    {0x20b7, "NVIDIA A30"},
    {0x20f1, "NVIDIA A100-PCIE-40GB"},
    {0x2236, "NVIDIA A10"},
    {0x2321, "NVIDIA H100 NVL"},
    {0x2324, "NVIDIA H800"},
    {0x2330, "NVIDIA H100 80GB HBM3"},
    {0x2331, "NVIDIA H100 PCIe"},
    {0x2335, "NVIDIA H200"},
    {0x233a, "NVIDIA H100 NVL"},
    {0x2684, "NVIDIA GeForce RTX 4090"},
    {0x26b5, "NVIDIA L40"},
    {0x26b9, "NVIDIA L40S"},
    {0x27b8, "NVIDIA L4"},
    {0x2901, "NVIDIA B200"},
}};

}  // namespace

std::optional<std::string_view> GpuModelName(uint32_t pci_device_id) {
  for (const auto& [id, name] : kModels) {
    if (id == pci_device_id) return name;
  }
  return std::nullopt;
}

std::string GpuModelNameOrId(uint32_t pci_device_id) {
  if (auto name = GpuModelName(pci_device_id)) return std::string(*name);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "NVIDIA GPU 10de:%04x", pci_device_id);
  return buffer;
}

}  // namespace nodehealth
