#include "agent/provider/provider_catalog.h"

#include <array>
#include <cctype>

namespace nodehealth::provider {
namespace {

constexpr std::string_view kUnhealthy = "Resource.Hpc.Unhealthy.";
constexpr std::string_view kGpuError = "UNRECOVERABLE_GPU_ERROR";
constexpr std::string_view kPerformance = "PERFORMANCE";
constexpr std::string_view kCorruption = "SILENT_DATA_CORRUPTION";

struct Row {
  std::string_view code;
  std::string_view azure;  // after "Resource.Hpc.Unhealthy."
  std::string_view gcp;
  bool automatic;
};

// Codes the drain policy holds as hard faults report on their own; the rest on request.
constexpr std::array kRows = {
    Row{"gpu_missing", "HpcMissingGpu", kGpuError, true},
    Row{"gpu_lost", "XID79FallenOffBus", kGpuError, true},
    Row{"gpu_row_remap_failure", "HpcRowRemapFailure", kGpuError, true},
    Row{"gpu_retired_pages_limit", "ECCPageRetirementTableFull", kGpuError, true},
    // A volatile uncorrectable ECC count is what XID 48 (double-bit ECC) reports as an event.
    Row{"gpu_ecc_uncorrectable", "XID48DoubleBitECC", kGpuError, true},
    Row{"gpu_nvlink_down", "NvLink", kPerformance, true},
    Row{"gpu_recovery_action", "GpuXIDError", kGpuError, true},
    Row{"ib_hca_missing", "MissingIB", kPerformance, true},
    Row{"ib_port_down", "IBPortDown", kPerformance, true},
    Row{"ib_link_flapping", "IBPortFlapping", kPerformance, false},
    Row{"ib_port_rate_degraded", "IBPerformance", kPerformance, false},
    Row{"ib_port_errors", "IBPerformance", kPerformance, false},
    Row{"rdma_loopback_failed", "IBPerformance", kPerformance, false},
    Row{"rdma_loopback_bandwidth_low", "IBPerformance", kPerformance, false},
    Row{"gpu_copy_failed", "HpcGenericFailure", kGpuError, false},
    Row{"gpu_copy_bandwidth_low", "GPUMemoryBWFailure", kPerformance, false},
    Row{"gpu_peer_bandwidth_low", "NvLink", kPerformance, false},
    // A wrong sum is corrupted data on a node that goes on running.
    Row{"nccl_allreduce_wrong_result", "HpcGenericFailure", kCorruption, false},
    Row{"mpi_allreduce_wrong_result", "HpcGenericFailure", kCorruption, false},
    Row{"nvme_missing", "HpcGenericFailure", "", false},
};

// XIDs Azure names a category for; every other XID is GpuXIDError.
std::string_view AzureXidCategory(int xid) {
  switch (xid) {
    case 48:
      return "XID48DoubleBitECC";
    case 79:
      return "XID79FallenOffBus";
    case 94:
      return "XID94ContainedECCError";
    case 95:
      return "XID95UncontainedECCError";
    case 74:
      return "NvLink";  // NVLink error
    default:
      return "GpuXIDError";
  }
}

}  // namespace

std::optional<ProviderCategory> CategoryOf(std::string_view code, int xid) {
  if (code == "gpu_xid") {
    ProviderCategory c;
    c.azure = std::string(kUnhealthy) + std::string(AzureXidCategory(xid));
    c.gcp = xid == 74 ? kPerformance : kGpuError;
    c.automatic = true;
    return c;
  }
  for (const Row& row : kRows) {
    if (row.code != code) continue;
    ProviderCategory c;
    c.azure = std::string(kUnhealthy) + std::string(row.azure);
    c.gcp = std::string(row.gcp);
    c.automatic = row.automatic;
    return c;
  }
  return std::nullopt;
}

int XidOfMessage(std::string_view message) {
  const size_t at = message.find("XID ");
  if (at != std::string_view::npos) {
    int xid = 0;
    size_t i = at + 4;
    for (; i < message.size() && i < at + 8 && std::isdigit(static_cast<unsigned char>(message[i]));
         ++i) {
      xid = xid * 10 + (message[i] - '0');
    }
    if (i > at + 4) return xid;
  }
  if (message.find("fallen off the bus") != std::string_view::npos) return 79;
  return 0;
}

}  // namespace nodehealth::provider
