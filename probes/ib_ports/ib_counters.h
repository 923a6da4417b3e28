// What nodehealth knows about each InfiniBand port counter file: the metric it becomes, its unit,
// its width, and whether it counts errors.
//
// Sources (facts, not code):
//   * metric names follow prometheus/node_exporter's infiniband collector, so dashboards map one to
//     one: node_infiniband_<x> becomes nodehealth_ib_port_<x without a leading "port_">;
//   * data counters count 4-byte words (IBTA PortCounters PortXmitData/PortRcvData);
//   * widths are the IBTA PortCounters field widths: a counter stuck at 2^width - 1 has saturated
//     and only says "at least this many" (LinkDowned is 8 bits: 255; ExcessiveBufferOverrun 4: 15);
//   * error thresholds default to infiniband-diags' etc/error_thresholds (rdma-core).
//
// Thread safety: immutable static data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace nodehealth::ib {

struct CounterSpec {
  std::string_view directory;  // "counters" or "counters_ext"
  std::string_view file;       // "port_rcv_data"
  std::string_view metric;     // measurement name without "nodehealth_": "ib_port_..._total"
  int multiplier;              // 4 for data counters (words -> bytes), else 1
  int width_bits;              // IBTA field width; 64 for the extended counters
  // Error counters: the default threshold (a total above it is an ib_port_errors finding).
  std::optional<uint64_t> default_threshold;
};

// Every counter in counters/ and counters_ext/ that nodehealth exports, in a stable order.
std::span<const CounterSpec> CounterSpecs();

// The spec for counters/<file> or counters_ext/<file>, or nullptr when nodehealth does not know it
// (such a file is ignored: new kernels add counters).
const CounterSpec* FindCounterSpec(std::string_view directory, std::string_view file);

// True when `value` is the largest value a `width_bits` counter can hold. The kernel reports the
// extended 64-bit value for data and packet counters when the HCA has PortCountersExtended, so
// a 32-bit maximum there is only a saturation when the width says 32.
bool IsSaturated(uint64_t value, int width_bits);

// hw_counters/ files that are settings, not counters, and are not exported.
bool IsHwCounterSetting(std::string_view file);

}  // namespace nodehealth::ib
