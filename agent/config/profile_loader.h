// Loads node profiles (docs/contract.md "Profile") from TOML. Strict: an unknown key, a wrong type
// or an implausible value is an error that names the file, line and key, because a typo in a
// profile silently disables a check ("gpu.cuont = 8" would otherwise mean "any GPU count is fine").
//
// Keys (all optional except `name`):
//   name, description, sources = ["where the numbers come from", ...]
//   [match]       dmi_sys_vendor, dmi_product_name (string or list; '*' wildcards), cpu_count,
//                 gpu_pci_device_ids (list of 0x-prefixed strings or integers), infiniband (bool)
//   [gpu]         count, model, driver_version_min, driver_version_max, cuda_version_min,
//                 pcie_generation, pcie_width, nvlink_count, fabric_manager,
//                 ecc_uncorrectable_max, temperature_max_celsius
//   [infiniband]  port_count, rate_gbps
//   [topology]    numa_nodes
//   [node]        memory_kib, memory_tolerance_percent, cpu_sockets, cpu_cores, cpu_threads,
//                 nvme_count
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "probes/profile.h"
#include "probes/util/expected.h"

namespace nodehealth {

// Parses profile text; `origin` names it in errors ("profiles/x.toml"). Errors read
// "<origin>:<line>: <what>" so an operator can jump to the line.
Expected<Profile> ParseProfile(std::string_view text, const std::string& origin);

// Reads and parses a profile file.
Expected<Profile> LoadProfileFile(const std::string& path);

}  // namespace nodehealth
