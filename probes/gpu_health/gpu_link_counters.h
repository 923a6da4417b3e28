// GpuCounterMemory: gpu_health's memory across the agent's rounds, for counters whose growth
// matters more than their total (a GPU that has 120 PCIe replays since its reset may have had
// them all at boot; one that gains 40 a minute has a bad link now).
//
// It reads the probe's own measurements (gpu_pcie_replays_total{gpu},
// gpu_nvlink_errors_total{gpu,link,kind}) into ib::CounterWindow windows (safe across counter
// resets: a decrease restarts the history) and judges, per GPU or link:
//   * gpu_pcie_replay_rate (warn): replays per gpu.pcie_replay_window_seconds (60) above
//     gpu.pcie_replay_max (8; DCGM_LIMIT_MAX_PCIREPLAY_RATE, "8 replays per minute is the maximum
//     recommended by RM"). The rate is the growth between the oldest sample the window keeps and
//     the latest, times window / max(span, window): samples further apart than the window (rounds
//     every 120 s) are scaled down to one window, and growth seen over less than a window (the
//     second round after a start) counts as it is, never extrapolated upwards.
//   * gpu_nvlink_errors (fail), replay and recovery: growth above gpu.nvlink_error_max (0) inside
//     gpu.nvlink_error_window_seconds (3600). DCGM fails on any growth inside one minute; with the
//     default of 0 the window does not change what triggers (any growth does), only how long the
//     finding holds after the last error: an hour, so that one bad minute cannot drain and undrain
//     the node in two rounds. A larger nvlink_error_max makes the window an allowance per hour.
//   * gpu_nvlink_errors (fail), CRC (crc_flit, crc_data, crc): the per-second rate between the
//     last two rounds at or above gpu.nvlink_crc_per_second_max (100; DCGM: "CRC errors only
//     matter at rates of 100+ per second"). Lower CRC growth is retried by the link layer; DCGM
//     only warns on it and NVSentinel maps that warning to no action, so it is a note, not a
//     finding.
// The history is saved (SaveHistory) as the windows' samples, one "<window> <key> <time> <value>"
// line each, and restored into windows sized from the first run's profile.
//
// Thread safety: the agent's scheduler thread only (RoundMemory).
#pragma once

#include <string>
#include <string_view>

#include "probes/kernel_log/link_events.h"
#include "probes/probe.h"

namespace nodehealth {

class GpuCounterMemory final : public RoundMemory {
 public:
  void AfterRun(const Profile* profile, double now, ProbeResult& result) override;
  std::string SaveHistory() const override;
  void RestoreHistory(std::string_view text) override;

 private:
  void Resize(const GpuExpectations& gpu);

  double pcie_window_seconds_ = -1;
  double nvlink_window_seconds_ = -1;
  ib::CounterWindow pcie_{0};
  ib::CounterWindow nvlink_{0};
  ib::CounterWindow crc_{0};  // window 0: the last two samples
  std::string pending_restore_;
};

}  // namespace nodehealth
