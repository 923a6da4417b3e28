// The profile tables of the GPU burn-in probes, [gpu_bandwidth] and [nccl_allreduce]
// (probes/profile.h), read strictly like the rest of the profile (profile_loader.h): an unknown
// key, a wrong type or a value out of range is an error naming the key.
#pragma once

#include <toml++/toml.h>

#include "agent/config/toml_reader.h"
#include "probes/profile.h"

namespace nodehealth {

void ReadGpuBandwidth(const StrictTomlReader& r, const toml::table& table,
                      GpuBandwidthExpectations& g);
void ReadNcclAllreduce(const StrictTomlReader& r, const toml::table& table,
                       NcclAllreduceExpectations& n);

}  // namespace nodehealth
