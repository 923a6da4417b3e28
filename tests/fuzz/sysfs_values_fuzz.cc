// The small sysfs/procfs values and version files nodehealth parses.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/gpu_driver/cuda_compat.h"
#include "probes/gpu_driver/driver_versions.h"
#include "probes/pcie_health/aer_stats.h"
#include "probes/platform/sysfs_values.h"
#include "probes/sku_inventory/sku_values.h"

namespace p = nodehealth::platform;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  p::ParseHexId(input);
  p::ParseDecimal(input);
  if (auto speed = p::ParsePcieLinkSpeed(input); speed && speed->has_value()) {
    if (**speed < 1 || **speed > 6) std::abort();
  }
  if (auto cpus = p::CountCpuList(input); cpus && *cpus < 1) std::abort();
  if (auto ranges = p::ParseCpuRanges(input)) {
    for (const auto& [first, last] : *ranges) {
      if (first < 0 || last < first) std::abort();
    }
  }
  if (auto bus = p::NormalizePciBusId(input)) {
    // Normalising a normalised id is the identity.
    auto again = p::NormalizePciBusId(*bus);
    if (!again || *again != *bus) std::abort();
  }
  const std::size_t half = input.size() / 2;
  if (auto cmp = p::CompareDottedVersions(input.substr(0, half), input.substr(half))) {
    auto reverse = p::CompareDottedVersions(input.substr(half), input.substr(0, half));
    if (!reverse || *reverse != -*cmp) std::abort();  // antisymmetric
  }
  if (auto table = p::ParseProcBusPciDevices(input)) {
    for (const auto& [address, vendors] : *table) {
      if (address.size() != 7 || vendors.empty()) std::abort();
    }
  }
  if (auto kib = nodehealth::sku::ParseMemTotalKib(input)) {
    if (*kib == 0 || *kib > nodehealth::sku::kMaxMemTotalKib) std::abort();
    // Within the loader's bounds the band holds its centre and never wraps.
    const auto band = nodehealth::sku::MemoryBandAround(*kib, static_cast<double>(size % 51));
    if (!band.Contains(*kib) || band.low_kib > band.high_kib) std::abort();
  }
  if (auto aer = nodehealth::pcie::ParseAerStats(input)) {
    if (aer->kinds.size() >= nodehealth::pcie::kMaxAerLines) std::abort();
    if (aer->total_name.rfind("TOTAL_", 0) != 0) std::abort();
    nodehealth::pcie::DescribeNonZeroKinds(*aer);
  }
  nodehealth::pcie::ParseAerRootportTotal(input);
  nodehealth::sku::IsNvmeControllerName(input);
  nodehealth::ParseProcDriverVersion(input);
  nodehealth::DriverVersionFromNvmlVersion(input);
  nodehealth::DriverVersionFromLibraryFile(input);
  nodehealth::FindFabricManagerPackage(input);
  if (auto cuda = nodehealth::ParseCudaVersionJson(input)) nodehealth::ToolkitDriverVersion(*cuda);
  nodehealth::ParseCudaVersionTxt(input);
  nodehealth::CudaVersionFromRuntimeFile(input);
  return 0;
}
