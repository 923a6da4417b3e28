// The catalogue of finding codes: every code nodehealth can report, with its default severity,
// default action, a one-line meaning and the next step for an operator. Modelled on DCGM's
// dcgm_errors.h: append-only, because Prometheus alert rules and Slurm scripts match on these
// codes.
//
// The codes of the original contract come first, in its order; extensions follow
// (docs/contract.md). docs/findings.md lists every code, generated from this catalogue. Probes may
// raise a finding's action above the default when the evidence says so (an XID 154 that asks for a
// reboot); the config can override a code's action.
//
// Thread safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

#include "probes/action.h"

namespace nodehealth {

// How the drain policy treats a code by default; [drain.<code>] in the config overrides it
// (agent/policy/drain_policy.h).
enum class DrainPersistence {
  kOneRun,  // drains on one failing run, released by the next passing run
  kNoisy,   // drains after [drain] noisy_rounds failing runs in a row (bandwidth, error counters)
  kSticky,  // a hard fault: drains at once and is held until a reboot or a passing run
};

// What the finding is about, for people and for routing (GPU vendor, fabric, the node, nodehealth
// itself).
enum class FindingCategory { kGpu, kNetwork, kNode, kProbe };
std::string_view ToString(FindingCategory category);  // "gpu", "network", "node", "probe"

struct CatalogEntry {
  std::string_view code;
  Severity severity;
  Action action;
  std::string_view meaning;
  std::string_view remedy;
  // The finding reports an event read from a log (an XID line), not a condition its probe reads
  // again on every run: a later run that no longer sees it (the ring buffer wrapped, the agent
  // restarted) proves nothing, so the drain policy releases such a fault only with a reboot.
  bool reports_event = false;
  DrainPersistence persistence = DrainPersistence::kOneRun;
  // kSticky only from this action up (gpu_xid: an XID whose catalogue action is reset_gpu or more
  // is a hard fault; an application XID is not).
  Action sticky_from = Action::kNone;
  FindingCategory category = FindingCategory::kNode;
};

// All entries, in catalogue order.
std::span<const CatalogEntry> FindingCatalog();

// The entry for `code`, or nullptr when the code is unknown.
const CatalogEntry* FindCatalogEntry(std::string_view code);

// Code names as constants, so a typo is a compile error rather than a silent new code.
namespace codes {
inline constexpr std::string_view kGpuMissing = "gpu_missing";
inline constexpr std::string_view kGpuLost = "gpu_lost";
inline constexpr std::string_view kGpuDriverNotLoaded = "gpu_driver_not_loaded";
inline constexpr std::string_view kGpuDriverLibraryMismatch = "gpu_driver_library_mismatch";
inline constexpr std::string_view kGpuDriverVersionMismatch = "gpu_driver_version_mismatch";
inline constexpr std::string_view kCudaVersionMismatch = "cuda_version_mismatch";
inline constexpr std::string_view kGpuEccUncorrectable = "gpu_ecc_uncorrectable";
inline constexpr std::string_view kGpuRowRemapPending = "gpu_row_remap_pending";
inline constexpr std::string_view kGpuRowRemapFailure = "gpu_row_remap_failure";
inline constexpr std::string_view kGpuPcieLinkDegraded = "gpu_pcie_link_degraded";
inline constexpr std::string_view kGpuNvlinkDown = "gpu_nvlink_down";
inline constexpr std::string_view kGpuXid = "gpu_xid";
inline constexpr std::string_view kIbHcaMissing = "ib_hca_missing";
inline constexpr std::string_view kIbPortDown = "ib_port_down";
inline constexpr std::string_view kIbPortRateDegraded = "ib_port_rate_degraded";
inline constexpr std::string_view kIbPortErrors = "ib_port_errors";
inline constexpr std::string_view kIbLinkFlapping = "ib_link_flapping";
inline constexpr std::string_view kRdmaLoopbackFailed = "rdma_loopback_failed";
inline constexpr std::string_view kRdmaLoopbackBandwidthLow = "rdma_loopback_bandwidth_low";
inline constexpr std::string_view kMpiAllreduceFailed = "mpi_allreduce_failed";
inline constexpr std::string_view kMpiAllreduceWrongResult = "mpi_allreduce_wrong_result";
inline constexpr std::string_view kMpiAllreduceBandwidthLow = "mpi_allreduce_bandwidth_low";
inline constexpr std::string_view kTopologyMismatch = "topology_mismatch";
inline constexpr std::string_view kPcieLinkDegraded = "pcie_link_degraded";
inline constexpr std::string_view kProbeTimeout = "probe_timeout";
inline constexpr std::string_view kProbeError = "probe_error";
// Extensions (docs/contract.md).
inline constexpr std::string_view kGpuVbiosMismatch = "gpu_vbios_mismatch";
inline constexpr std::string_view kGpuRetiredPagesPending = "gpu_retired_pages_pending";
inline constexpr std::string_view kGpuRetiredPagesLimit = "gpu_retired_pages_limit";
inline constexpr std::string_view kGpuTemperatureHigh = "gpu_temperature_high";
inline constexpr std::string_view kGpuClockSlowdown = "gpu_clock_slowdown";
inline constexpr std::string_view kGpuRecoveryAction = "gpu_recovery_action";
inline constexpr std::string_view kGpuFabricNotReady = "gpu_fabric_not_ready";
inline constexpr std::string_view kIbFirmwareMismatch = "ib_firmware_mismatch";
inline constexpr std::string_view kGpuCopyFailed = "gpu_copy_failed";
inline constexpr std::string_view kGpuCopyBandwidthLow = "gpu_copy_bandwidth_low";
inline constexpr std::string_view kGpuPeerBandwidthLow = "gpu_peer_bandwidth_low";
inline constexpr std::string_view kNcclAllreduceFailed = "nccl_allreduce_failed";
inline constexpr std::string_view kNcclAllreduceWrongResult = "nccl_allreduce_wrong_result";
inline constexpr std::string_view kNcclAllreduceBandwidthLow = "nccl_allreduce_bandwidth_low";
inline constexpr std::string_view kNodeMemoryMismatch = "node_memory_mismatch";
inline constexpr std::string_view kCpuCountMismatch = "cpu_count_mismatch";
inline constexpr std::string_view kNvmeMissing = "nvme_missing";
inline constexpr std::string_view kPcieAerUncorrectable = "pcie_aer_uncorrectable";
inline constexpr std::string_view kPcieAerCorrectable = "pcie_aer_correctable";
inline constexpr std::string_view kPcieLinkRetrained = "pcie_link_retrained";
inline constexpr std::string_view kGpuPcieReplayRate = "gpu_pcie_replay_rate";
inline constexpr std::string_view kGpuNvlinkErrors = "gpu_nvlink_errors";
inline constexpr std::string_view kGpuPowerCapped = "gpu_power_capped";
inline constexpr std::string_view kSourceDisagreement = "source_disagreement";
}  // namespace codes

}  // namespace nodehealth
