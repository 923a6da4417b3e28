// Sizes as people write them in profiles and on command lines: "16G", "256M", "4K" (powers of
// two, as nccl-tests and nvbandwidth mean them) or a plain number of bytes.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

// "16G" -> 17179869184; from 1 byte to 1 TiB. Error: "not a size ...: '<text>'".
Expected<uint64_t> ParseByteSize(std::string_view text);
// 17179869184 -> "16G", 1000 -> "1000": the shortest exact form ParseByteSize reads back.
std::string FormatByteSize(uint64_t bytes);

}  // namespace nodehealth
