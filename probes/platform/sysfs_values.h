// Pure parsers for the small text values sysfs and procfs expose. No I/O: tested on inline
// strings and fuzzed (tests/fuzz/sysfs_values_fuzz.cc). Every parser rejects what it does not
// understand with an Error naming the text, so a malformed file becomes a finding, never a zero.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::platform {

// Strips trailing and leading whitespace, including the newline sysfs appends.
std::string_view TrimSpace(std::string_view text);

// "0x10de\n" -> 0x10de. Requires the 0x prefix and at most 8 hex digits.
Expected<uint32_t> ParseHexId(std::string_view text);

// "-1\n", "8\n" -> integer. Decimal only; no trailing garbage.
Expected<int64_t> ParseDecimal(std::string_view text);

// A PCIe link speed as sysfs prints it: "32.0 GT/s PCIe", "8.0 GT/s", "2.5 GT/s", or the same
// with "Unknown". Returns the PCIe generation (2.5 -> 1, 5 -> 2, 8 -> 3, 16 -> 4, 32 -> 5,
// 64 -> 6), std::nullopt for an "Unknown" speed (a link that is down), an Error for anything else.
Expected<std::optional<int>> ParsePcieLinkSpeed(std::string_view text);

// The generation's transfer rate in GT/s (for messages).
double PcieGenerationRate(int generation);

// "0-95", "0-3,8-11", "5" -> the inclusive ranges {first, last} (at most 2^20 CPUs in all).
Expected<std::vector<std::pair<int, int>>> ParseCpuRanges(std::string_view text);

// "0-95", "0-3,8-11", "5" -> number of CPUs in the list.
Expected<int> CountCpuList(std::string_view text);

// "0000:19:00.0", "00000000:19:00.0", "19:00.0", "0000:19:00" (kernel-log form without function)
// -> "0000:19:00.0" (lower case, 4-digit domain when it fits, function 0 when absent).
Expected<std::string> NormalizePciBusId(std::string_view text);

// Dotted numeric comparison of driver and CUDA versions: "535.129.03" vs "535.54.3".
// Returns <0, 0, >0. Non-numeric components compare as an Error.
Expected<int> CompareDottedVersions(std::string_view a, std::string_view b);

// "bus:dev.fn" (no domain) -> the vendor ids /proc/bus/pci/devices lists at that address (several
// when PCI domains reuse bus numbers). nullopt when the text is not that file's format.
std::optional<std::map<std::string, std::vector<uint32_t>>> ParseProcBusPciDevices(
    std::string_view text);

}  // namespace nodehealth::platform
