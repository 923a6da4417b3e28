// gpu_health: is each GPU fit to run jobs?
//
// Checks (per GPU, through NVML):
//   * uncorrectable ECC errors since the last reset (volatile counter) above the profile's
//     allowance (0 by default): gpu_ecc_uncorrectable;
//   * row remapping (Ampere and later): pending -> gpu_row_remap_pending, failure ->
//     gpu_row_remap_failure; page retirement (before Ampere): pending ->
//     gpu_retired_pages_pending, 63 or more pages retired (DCGM's limit) ->
//     gpu_retired_pages_limit;
//   * PCIe link: width below the maximum or the profile, generation below the maximum under load,
//     maximum generation below the profile: gpu_pcie_link_degraded. An idle GPU lowers its link
//     generation to save power (P8 runs at Gen1), so the current generation is judged only while
//     the GPU is busy (performance state P0-P2 and no "GPU idle" clock event); when idle it is
//     reported as not judged. Width does not change with power state and is always judged;
//   * NVLinks: every link the GPU has is active, and as many as the profile says: gpu_nvlink_down;
//   * temperature at or above the slowdown threshold or the profile's maximum:
//     gpu_temperature_high; hardware slowdown, hardware thermal, software thermal and power-brake
//     clock events: gpu_clock_slowdown;
//   * the driver's recovery action (NVML field 230, or NVML_ERROR_RESET_REQUIRED):
//     gpu_recovery_action with the action it names;
//   * NVSwitch systems: fabric registration not completed: gpu_fabric_not_ready;
//   * power: the enforced limit below the default limit times gpu.power_limit_min_ratio (1.0):
//     gpu_power_capped;
//   * NVML_ERROR_GPU_IS_LOST on any call: gpu_lost.
// In the agent (GpuCounterMemory, gpu_link_counters.h), across rounds: PCIe replays growing
// faster than gpu.pcie_replay_max per gpu.pcie_replay_window_seconds: gpu_pcie_replay_rate;
// NVLink replay/recovery errors growing by more than gpu.nvlink_error_max inside
// gpu.nvlink_error_window_seconds, or CRC errors at gpu.nvlink_crc_per_second_max per second or
// more between two rounds: gpu_nvlink_errors.
// Reads:   NVML only (about 35 calls per GPU, 18 of them NVLink states, plus 4 error counters per
//          present NVLink).
// Findings: the codes above, probe_timeout, probe_error (an NVML error other than "not
//          supported" on a GPU).
// Measurements: per GPU (label gpu = PCI bus id): ECC counters, remapped rows, retired pages,
//          PCIe generation and width, NVLinks, temperatures, clock events, performance state,
//          recovery action, fabric state, PCIe replays, NVLink error counters, power limits.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probes/gpu_common/gpu_inventory.h"
#include "probes/probe.h"

namespace nodehealth {

// One NVML answer: the return code and, with NVML_SUCCESS, the value.
template <class T>
struct NvmlField {
  platform::nvml::Return r = platform::nvml::kErrorUninitialized;
  T value{};
  bool ok() const { return r == platform::nvml::kSuccess; }
};

struct RemappedRows {
  unsigned correctable = 0;
  unsigned uncorrectable = 0;
  bool pending = false;
  bool failure = false;
};

struct PowerConstraints {
  unsigned min_mw = 0;
  unsigned max_mw = 0;
};

// One NVLink error counter of one link: kind "replay", "recovery", "crc_flit", "crc_data"
// (nvmlDeviceGetNvLinkErrorCounter) or "crc" (field NVML_FI_DEV_NVLINK_ERROR_DL_CRC, where the
// driver answers only the field-values API).
struct NvlinkErrorCount {
  unsigned link = 0;
  std::string kind;
  uint64_t value = 0;
};

struct FabricState {
  unsigned char state = 0;
  platform::nvml::Return status = platform::nvml::kSuccess;
};

// Everything gpu_health asks NVML about one GPU.
struct GpuHealthSample {
  std::string bus_id;
  std::string name;
  NvmlField<bool> ecc_enabled;
  NvmlField<uint64_t> ecc_uncorrected_volatile;
  NvmlField<uint64_t> ecc_uncorrected_aggregate;
  NvmlField<uint64_t> ecc_corrected_volatile;
  NvmlField<RemappedRows> remapped_rows;
  NvmlField<bool> retired_pages_pending;
  NvmlField<unsigned> retired_pages_sbe;
  NvmlField<unsigned> retired_pages_dbe;
  NvmlField<unsigned> pcie_generation;
  NvmlField<unsigned> pcie_width;
  NvmlField<unsigned> pcie_max_generation;  // negotiated with the host (device and slot)
  NvmlField<unsigned> pcie_max_width;
  NvmlField<unsigned> pcie_device_max_generation;  // the GPU alone
  NvmlField<platform::nvml::Pstate> performance_state;
  std::vector<platform::nvml::Return> nvlink_returns;  // per link index
  std::vector<bool> nvlink_active;                     // per link index (valid with success)
  NvmlField<unsigned> temperature;
  NvmlField<unsigned> slowdown_temperature;
  NvmlField<uint64_t> clock_event_reasons;
  NvmlField<unsigned> recovery_action;
  NvmlField<FabricState> fabric;
  // PCIe replays since the GPU's reset (nvmlDeviceGetPcieReplayCounter, or field
  // NVML_FI_DEV_PCIE_REPLAY_COUNTER where the call is not supported).
  NvmlField<unsigned> pcie_replays;
  // Power limits in mW: enforced (what holds now, out-of-band limits included), requested
  // (nvmlDeviceGetPowerManagementLimit), default (what the GPU boots with), constraints.
  NvmlField<unsigned> power_enforced_mw;
  NvmlField<unsigned> power_requested_mw;
  NvmlField<unsigned> power_default_mw;
  NvmlField<PowerConstraints> power_constraints;
  // NVLink error counters of the links that are present; "not supported" leaves them out.
  std::vector<NvlinkErrorCount> nvlink_errors;
  // Calls among the above that failed with something other than "not supported": call -> code.
  std::vector<std::pair<std::string, platform::nvml::Return>> counter_errors;
};

struct GpuHealthNvmlView {
  platform::NvmlCallStatus status = platform::NvmlCallStatus::kOk;
  std::string stuck_in;
  platform::NvmlStartup startup;
  NvmlGpuList list;
  std::vector<GpuHealthSample> samples;  // opened GPUs with a bus id
};

// Samples one GPU. Call on the NVML thread.
GpuHealthSample SampleGpuHealth(platform::NvmlLibrary& library, const NvmlGpu& gpu);

ProbeResult EvaluateGpuHealth(const NodeInventory& inventory, const Profile* profile,
                              const std::optional<GpuHealthNvmlView>& nvml);

class GpuHealthProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
  std::unique_ptr<RoundMemory> NewRoundMemory() const override;
};

}  // namespace nodehealth
