// ProbeContext: everything a probe may touch, and nothing else (GUIDE.md). Built once per run by
// the runner; probes receive it by const reference and may share it across threads.
#pragma once

#include <optional>
#include <string>

#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/deadline.h"
#include "probes/platform/file_system.h"
#include "probes/platform/nvml_runtime.h"
#include "probes/profile.h"

namespace nodehealth {

struct ProbeContext {
  const platform::FileSystem& fs;
  // NVML, or nullptr when the run has no NVML at all (tests of sysfs-only logic).
  platform::NvmlRuntime* nvml = nullptr;
  // What the node must have; nullptr in observe-only mode.
  const Profile* profile = nullptr;
  // Facts shared by several probes (PCI GPUs, driver files), gathered once per run.
  const NodeInventory& inventory;
  // This probe's deadline (already capped by the run's).
  platform::Deadline deadline = platform::Deadline::Never();
  // --topology-xml: an hwloc XML to use instead of discovering (empty: discover).
  std::string topology_xml = {};
  // The configured topology baseline (`nodehealth topology save`), empty when none.
  std::string topology_baseline = {};
  // The configuration's all-reduce rank count (wins over the profile), when set.
  std::optional<int> mpi_allreduce_ranks = {};
  // The CUDA driver and NCCL libraries the GPU worker loads (--cuda-library, --nccl-library, or
  // the config's cuda_library / nccl_library); empty: libcuda.so.1 and libnccl.so.2.
  std::string cuda_library = {};
  std::string nccl_library = {};
};

}  // namespace nodehealth
