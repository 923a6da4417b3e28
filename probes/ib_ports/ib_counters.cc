#include "probes/ib_ports/ib_counters.h"

#include <array>

namespace nodehealth::ib {
namespace {

constexpr std::optional<uint64_t> kNoThreshold;

// Widths: IBTA PortCounters attribute layout. The kernel prefers PortCountersExtended (64-bit) for
// data/packet counters when the HCA supports it, so those are listed with width 64 unless only the
// 32-bit form exists (port_xmit_wait).
constexpr std::array<CounterSpec, 30> kSpecs = {{
    {"counters", "symbol_error", "ib_port_symbol_error_total", 1, 16, 10},
    {"counters", "link_error_recovery", "ib_port_link_error_recovery_total", 1, 8, 10},
    {"counters", "link_downed", "ib_port_link_downed_total", 1, 8, 10},
    {"counters", "port_rcv_errors", "ib_port_errors_received_total", 1, 16, 10},
    {"counters", "port_rcv_remote_physical_errors", "ib_port_receive_remote_physical_errors_total",
     1, 16, 100},
    {"counters", "port_rcv_switch_relay_errors", "ib_port_receive_switch_relay_errors_total", 1, 16,
     100},
    {"counters", "port_xmit_discards", "ib_port_discards_transmitted_total", 1, 16, 100},
    {"counters", "port_xmit_constraint_errors", "ib_port_constraint_errors_transmitted_total", 1, 8,
     100},
    {"counters", "port_rcv_constraint_errors", "ib_port_constraint_errors_received_total", 1, 8,
     100},
    {"counters", "local_link_integrity_errors", "ib_port_local_link_integrity_errors_total", 1, 4,
     10},
    {"counters", "excessive_buffer_overrun_errors", "ib_port_excessive_buffer_overrun_errors_total",
     1, 4, 10},
    {"counters", "VL15_dropped", "ib_port_vl15_dropped_total", 1, 16, 100},
    // Not errors: congestion and traffic. infiniband-diags lists PortXmitWait=1000 too, but on a
    // busy fabric it grows by millions an hour; nodehealth exports it and does not judge it.
    {"counters", "port_xmit_wait", "ib_port_transmit_wait_total", 1, 32, kNoThreshold},
    {"counters", "port_rcv_discards", "ib_port_discards_received_total", 1, 16, kNoThreshold},
    {"counters", "port_rcv_data", "ib_port_data_received_bytes_total", 4, 64, kNoThreshold},
    {"counters", "port_xmit_data", "ib_port_data_transmitted_bytes_total", 4, 64, kNoThreshold},
    {"counters", "port_rcv_packets", "ib_port_packets_received_total", 1, 64, kNoThreshold},
    {"counters", "port_xmit_packets", "ib_port_packets_transmitted_total", 1, 64, kNoThreshold},
    {"counters", "unicast_rcv_packets", "ib_port_unicast_packets_received_total", 1, 64,
     kNoThreshold},
    {"counters", "unicast_xmit_packets", "ib_port_unicast_packets_transmitted_total", 1, 64,
     kNoThreshold},
    {"counters", "multicast_rcv_packets", "ib_port_multicast_packets_received_total", 1, 64,
     kNoThreshold},
    {"counters", "multicast_xmit_packets", "ib_port_multicast_packets_transmitted_total", 1, 64,
     kNoThreshold},
    // counters_ext/: the 64-bit PortCountersExtended of older drivers (mlx4), exported under the
    // "legacy" names node_exporter uses.
    {"counters_ext", "port_rcv_data_64", "ib_port_legacy_data_received_bytes_total", 4, 64,
     kNoThreshold},
    {"counters_ext", "port_xmit_data_64", "ib_port_legacy_data_transmitted_bytes_total", 4, 64,
     kNoThreshold},
    {"counters_ext", "port_rcv_packets_64", "ib_port_legacy_packets_received_total", 1, 64,
     kNoThreshold},
    {"counters_ext", "port_xmit_packets_64", "ib_port_legacy_packets_transmitted_total", 1, 64,
     kNoThreshold},
    {"counters_ext", "port_unicast_rcv_packets", "ib_port_legacy_unicast_packets_received_total", 1,
     64, kNoThreshold},
    {"counters_ext", "port_unicast_xmit_packets",
     "ib_port_legacy_unicast_packets_transmitted_total", 1, 64, kNoThreshold},
    {"counters_ext", "port_multicast_rcv_packets",
     "ib_port_legacy_multicast_packets_received_total", 1, 64, kNoThreshold},
    {"counters_ext", "port_multicast_xmit_packets",
     "ib_port_legacy_multicast_packets_transmitted_total", 1, 64, kNoThreshold},
}};

}  // namespace

std::span<const CounterSpec> CounterSpecs() { return kSpecs; }

const CounterSpec* FindCounterSpec(std::string_view directory, std::string_view file) {
  for (const CounterSpec& spec : kSpecs) {
    if (spec.directory == directory && spec.file == file) return &spec;
  }
  return nullptr;
}

bool IsSaturated(uint64_t value, int width_bits) {
  if (width_bits >= 64) return value == UINT64_MAX;
  return value == (uint64_t{1} << width_bits) - 1;
}

bool IsHwCounterSetting(std::string_view file) {
  // lifespan: how long (ms) the driver caches hw counter reads.
  return file == "lifespan";
}

}  // namespace nodehealth::ib
