// ib_ports: is the fabric side of the node fit? Every RDMA device and port under
// /sys/class/infiniband, judged against the profile.
//
// Checks:  rails (ports whose link layer the profile counts, InfiniBand by default) present and
//          ACTIVE/LinkUp, rate at least the profile's, firmware the same on HCAs of one type, the
//          HCA's PCIe link at its maximum width and speed, error counters under thresholds
//          (infiniband-diags defaults), link-down lines in the kernel log inside a window; the
//          adapters PCI, /sys/class/infiniband and the uverbs devices show, against each other
//          (hca_sources.h).
// Reads:   /sys/class/infiniband/** (ib_sysfs.h), the HCA's PCI function through <dev>/device,
//          <dev>/device/net/*/dev_port, /proc/uptime, /dev/kmsg, Mellanox functions in
//          /sys/bus/pci/devices, /sys/class/infiniband_verbs/uverbs*/ibdev, /dev/infiniband.
// Findings: ib_hca_missing (node), ib_port_down, ib_port_rate_degraded, ib_port_errors,
//          ib_link_flapping, pcie_link_degraded, ib_firmware_mismatch (hca/<device>/<port>),
//          source_disagreement (hca/<device>/<port>, pci/<bus id> or node), probe_error.
// Measurements: ib_hca_info, ib_port_info, ib_port_state_id, ib_port_physical_state_id,
//          ib_port_rate_bytes_per_second, one series per counter (ib_counters.h),
//          ib_port_hw_stat_total{counter}, ib_rails_active, ib_rails_expected,
//          ib_hcas{source=pci|class|uverbs}.
// Cost: about 50 small file reads per port (fixture 8x H100 tree: see bench/README.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "probes/ib_ports/ib_sysfs.h"
#include "probes/kernel_log/link_events.h"
#include "probes/probe.h"

namespace nodehealth {

// Link-down lines of one port (or of an interface nodehealth could not map to a port) in the
// kernel log, inside the flap window.
struct LinkDownTally {
  std::string entity;     // "hca/mlx5_0/1", or "node" when the interface is not an HCA port's
  std::string interface;  // as the log names it
  int downs = 0;
  std::string last_line;
};

// The decision on plain values (tests drive it directly).
ProbeResult EvaluateIbPorts(const ib::Scan& scan, const Profile* profile,
                            const std::vector<LinkDownTally>& link_downs);

// For the agent, which sees every round: feeds the ib_port_link_downed_total measurements of an
// ib_ports result into `window` (time `now`, Unix seconds) and adds ib_link_flapping for a port
// whose counter grew by the profile's link_flap_down_events or more inside its
// link_flap_window_seconds, unless the kernel log already flagged that port. Catches flaps whose
// log lines were lost (ring-buffer wrap, a link that flaps below the netdev). A result that is
// an error or a skip is left alone.
void AddLinkDownedGrowth(ib::CounterWindow& window, const Profile* profile, double now,
                         ProbeResult& result);

class IbPortsProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
  // "N RDMA ports, M active rails." when the probe ran and counted rails.
  std::string Summarize(const ProbeResult& result) const override;
  // AddLinkDownedGrowth over the profile's link_flap_window_seconds; a profile with another
  // window starts a new history.
  std::unique_ptr<RoundMemory> NewRoundMemory() const override;
};

}  // namespace nodehealth
