// pcie_health: are the PCIe links of the node's GPUs, NVSwitches, HCAs and NVMe drives, and of
// every bridge above them, free of errors and stable? A grey failure (a marginal riser, lane or
// cable) shows as AER errors and link retraining long before a device falls off the bus.
//
// Checks:  the AER statistics in sysfs (aer_stats.h) of each such device and each bridge on its
//          path to the root complex, because the kernel ABI says an endpoint's errors may be
//          counted at its link partner (sysfs-bus-pci-devices-aer_stats); the root ports'
//          aer_rootport_total_err_* files; AER and pciehp lines in the kernel log (pcie_events.h).
// Reads:   /sys/bus/pci/devices/* (the link target gives the bridges above a device),
//          /sys/class/infiniband/*/device, /sys/class/nvme/*/device, /proc/bus/pci/devices,
//          /proc/uptime, /dev/kmsg.
// Findings: pcie_aer_uncorrectable: a fatal or non-fatal AER counter above 0 (counters count since
//          boot), or an uncorrectable AER line in the kernel log; a root port's
//          aer_rootport_total_err_* only when no function below it counted the errors itself.
//          pcie_aer_correctable: in one run, more than pcie.aer_correctable_max corrected AER lines
//          of a device in the kernel log inside pcie.aer_window_seconds (the log undercounts:
//          kernels rate-limit these lines); in the agent also growth of TOTAL_ERR_COR above that
//          inside the window (RoundMemory).
//          pcie_link_retrained: more than pcie.link_retrain_max pciehp "Link Down" lines of a port
//          inside the window; in the agent also link speed/width changes between rounds (width
//          only for a GPU's link, seen from either end: an idle GPU lowers its speed on purpose).
//          probe_error for an AER file that is unreadable or not in the kernel's format.
//          Entities: gpu/<bdf> for GPUs, hca/<dev>/<port> for HCAs (as ib_ports), pci/<bdf> for
//          NVSwitches, NVMe controllers and bridges (the message names the devices below a
//          bridge).
// Devices: NVIDIA display controllers (GPUs) and 0x0680 functions (NVSwitches); Mellanox network
//          and InfiniBand functions (not SR-IOV virtual functions, not the PCIe switch inside a
//          BlueField) and every /sys/class/infiniband device; /sys/class/nvme controllers.
// Measurements: pcie_device_info{device,entity,role,speed_varies}, pcie_aer_messages_total{device,
//          severity}, pcie_aer_errors_total{device,kind,severity} (kinds that counted),
//          pcie_aer_rootport_messages_total{device,severity}, pcie_link_width{device},
//          pcie_link_generation{device}. The topology probe exports no per-device link metric and
//          gpu_health exports only the GPUs' (from NVML), so these are not duplicates.
// Cost: three small reads per device plus one pass over the kernel log (fixture HGX H100 tree,
//          27 functions: about 5 ms).
// Skips:   a node with none of those devices, or with no AER statistics in sysfs and no PCIe
//          line in the kernel log (a VM without AER).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probes/kernel_log/link_events.h"
#include "probes/probe.h"

namespace nodehealth {

// The agent's memory of pcie_health results (exposed for tests): the TOTAL_ERR_COR samples and
// link changes of each device inside the profile's pcie.aer_window_seconds. AfterRun adds
// pcie_aer_correctable for growth above pcie.aer_correctable_max and pcie_link_retrained for more
// than pcie.link_retrain_max speed/width changes, unless the run already reported that entity. A
// result that is an error or a skip is left alone. A counter that decreases (AER stats restart
// when the device is removed and added again) restarts that device's history.
class PcieHistory final : public RoundMemory {
 public:
  void AfterRun(const Profile* profile, double now, ProbeResult& result) override;
  std::string SaveHistory() const override;
  void RestoreHistory(std::string_view text) override;

 private:
  struct Link {
    int generation = 0;  // 0: unknown
    int width = 0;       // 0: unknown
    uint64_t changes = 0;
    bool gpu = false;
    bool seen = false;  // sampled at least once
  };
  void SetWindow(double window_seconds);
  double window_seconds_ = -1;
  ib::CounterWindow corrected_{0};  // key: bus id, value: TOTAL_ERR_COR
  ib::CounterWindow retrains_{0};   // key: bus id, value: Link::changes
  std::map<std::string, Link> links_;
  std::map<std::string, std::string> last_change_;      // bus id -> "x16 Gen5 -> x8 Gen5"
  std::string restored_corrected_, restored_retrains_;  // RestoreHistory's, until SetWindow
};

class PcieHealthProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
  std::string Summarize(const ProbeResult& result) const override;
  std::unique_ptr<RoundMemory> NewRoundMemory() const override;
};

}  // namespace nodehealth
