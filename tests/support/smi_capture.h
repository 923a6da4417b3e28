// Reads `nvidia-smi -q` output (the real captures in ../shared/fixtures/peer/gpud) into a tree of
// "Section/Sub/Key" -> value, per GPU. Test support: the fake NVML answers from it and the fixture
// builder synthesises PCI devices from it. Truncated or garbled captures parse to whatever is
// there; callers treat a missing key as "NVML could not answer".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::testing {

struct SmiGpu {
  std::string header_bus_id;                  // "00000000:19:00.0" as printed
  std::map<std::string, std::string> values;  // "ECC Errors/Volatile/DRAM Uncorrectable" -> "0"

  std::optional<std::string> Get(std::string_view path) const;
};

struct SmiCapture {
  std::map<std::string, std::string> top;  // "Driver Version" -> "535.161.08"
  int attached_gpus = 0;                   // as printed; may exceed gpus.size() when truncated
  std::vector<SmiGpu> gpus;

  std::optional<std::string> Top(std::string_view key) const;
};

SmiCapture ParseSmiCapture(std::string_view text);

// `nvidia-smi nvlink --status`: per GPU index, the link numbers listed as up. A GPU printed with
// "all links are inactive" maps to an empty list.
std::map<int, std::vector<int>> ParseNvlinkStatus(std::string_view text);

// `nvidia-smi nvlink -e`: per GPU index, per link, counter name ("Replay Errors", "Recovery
// Errors", "CRC Errors", ...) -> value. Lines "Link <n>: <name>: <value>" under "GPU <i>: ...".
std::map<int, std::map<int, std::map<std::string, uint64_t>>> ParseNvlinkErrors(
    std::string_view text);

}  // namespace nodehealth::testing
