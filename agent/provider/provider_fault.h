// A fault as a cloud hears of it: one hard fault of the drain policy (or one an operator names),
// its category (provider_catalog.h), the GPU's identity when the fault is a GPU's, and a report id
// derived from the fault itself, so that the same fault is one report however often it is seen,
// across rounds and agent restarts, while the same code on the same GPU after a repair (a new
// `since`) is a new one.
//
// Thread safety: values and pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "agent/provider/gpu_identity.h"
#include "agent/provider/provider_catalog.h"

namespace nodehealth::provider {

struct ProviderFault {
  std::string probe;
  std::string code;
  std::string entity;  // "gpu/0000:19:00.0", "hca/mlx5_0/1", "node"
  std::string message;
  double since = 0;  // Unix seconds, first seen
  int xid = 0;       // gpu_xid: the XID number
  ProviderCategory category;
  std::string gpu_bus_id;  // set when entity is a GPU
  GpuIdentity gpu;         // serial, model, uuid when NVML knows them
};

// The sticky faults the agent reports on its own: those whose code (and XID) has an automatic
// category. Ordered as the policy holds them.
std::vector<ProviderFault> AutomaticFaults(const std::vector<agent::StickyFault>& sticky,
                                           const std::map<std::string, GpuIdentity>& gpus);

// A fault built from its parts, or nullopt-like empty category when the code has none.
ProviderFault MakeFault(std::string probe, std::string code, std::string entity,
                        std::string message, double since,
                        const std::map<std::string, GpuIdentity>& gpus);

// A UUID (8-4-4-4-12 lower-case hex, version 5 layout) from SHA-256 of the instance id (Azure's
// vmId, Google's instance id), the code, the entity, the XID and the whole second of `since`.
std::string ReportId(std::string_view instance_id, const ProviderFault& fault);

// The one-line description both clouds show to their support: "nodehealth: <code> <entity>:
// <message>", at most 1000 bytes (cut on a UTF-8 boundary).
std::string Describe(const ProviderFault& fault);

}  // namespace nodehealth::provider
