// Pure parsers for the values the kernel prints under /sys/class/infiniband/<dev>/ports/<n>/
// (drivers/infiniband/core/sysfs.c). No I/O: unit-tested on inline strings and fuzzed
// (tests/fuzz/ib_sysfs_values_fuzz.cc). Malformed text is an Error naming the text, never a zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth::ib {

// "4: ACTIVE", "5: LinkUp": the numeric id the kernel prints first and the name after it.
struct IdAndName {
  int id = 0;
  std::string name;
};
Expected<IdAndName> ParseIdAndName(std::string_view text);

// Port states as the IBTA numbers them (state: 1 DOWN .. 5 ACTIVE_DEFER; phys_state: 2 Polling,
// 3 Disabled, 5 LinkUp, ...). Only the values nodehealth judges are named here.
inline constexpr int kPortStateActive = 4;
inline constexpr int kPhysStateLinkUp = 5;

// A port rate as sysfs prints it: "<gbps>[.5] Gb/sec (<width>X[ <speed>])", e.g.
// "2.5 Gb/sec (1X SDR)", "10 Gb/sec (4X)" (iWARP, no speed name), "400 Gb/sec (4X NDR)",
// "200 Gb/sec (2X NDR)", "800 Gb/sec (4X XDR)".
struct PortRate {
  double gbps = 0;    // as printed, in 10^9 bit/s
  int width = 0;      // lanes (1, 2, 4, 8, 12)
  std::string speed;  // "SDR" .. "XDR", "FDR10"; empty when the kernel prints none
  double bytes_per_second() const { return gbps * 1e9 / 8; }
};
Expected<PortRate> ParsePortRate(std::string_view text);

// A counter file: a decimal number, or "N/A (no PMA)" when the device has no Performance
// Management Agent (iWARP devices, some virtual functions). nullopt means "unreadable": never zero.
Expected<std::optional<uint64_t>> ParseCounter(std::string_view text);

// "0x12a" (lid, sm_lid) -> 298. Hex with 0x prefix, at most 16 bits' worth of digits allowed by
// the format (lids are 16-bit; extended lids 32-bit).
Expected<uint32_t> ParseLid(std::string_view text);

}  // namespace nodehealth::ib
