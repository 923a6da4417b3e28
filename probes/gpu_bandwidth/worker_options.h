// The command line of nodehealth-gpu-worker (the GPU worker), parsed without CUDA so that it can be
// unit-tested, and built by the probes with WorkerArguments so that both sides agree.
//
//   nodehealth-gpu-worker [--cuda-library PATH] [--nccl-library PATH] [--sysfs-root DIR]
//                       [--copies] [--no-peer] [--copy-bytes SIZE] [--copy-iterations N]
//                       [--nccl] [--nccl-sizes SIZE,...] [--nccl-iterations N] [--nccl-warmup N]
//
// SIZE: bytes with an optional K, M or G suffix (powers of two), "16G".
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/gpu_bandwidth/copy_bench.h"
#include "probes/gpu_bandwidth/nccl_bench.h"

namespace nodehealth::gpu_worker {

struct WorkerOptions {
  std::string cuda_library;  // empty: libcuda.so.1
  std::string nccl_library;  // empty: libnccl.so.2
  std::string sysfs_root = "/";
  bool copies = false;
  CopyOptions copy;
  bool nccl = false;
  NcclOptions nccl_options;
  bool help = false;
};

Expected<WorkerOptions> ParseWorkerOptions(const std::vector<std::string>& args);
std::vector<std::string> WorkerArguments(const WorkerOptions& options);
std::string_view WorkerUsage();

}  // namespace nodehealth::gpu_worker
