// What nodehealth-gpu-worker (the GPU worker) prints: one JSON object, schema
// "nodehealth-gpu-worker/1", written by the worker and parsed (with a size and depth bound) by the
// gpu_bandwidth and nccl_allreduce probes. Everything the probes judge travels through it, so the
// worker stays a dumb measuring tool and the judgement stays in the probes.
//
//   { "schema": "nodehealth-gpu-worker/1", "cuda_driver_version": 12080,
//     "devices": [ { "ordinal": 0, "gpu": "0000:19:00.0", "name": "...", "numa_node": 0,
//                    "sm_clock_khz": 1980000, "memory_clock_khz": 2619000 } ],
//     "copies": [ { "direction": "host_to_device"|"device_to_host"|"device_to_device"|"peer",
//                   "gpu": "0000:19:00.0", "peer": "0000:3b:00.0" (peer only),
//                   "bytes": 268435456, "iterations": 20, "seconds": 0.1,
//                   "bytes_per_second": 5.3e10 } ],
//     "nccl": { "version": "2.28.9", "path": "default"|"net", "ranks": 8,
//               "results": [ { "size_bytes": ..., "iterations": ..., "seconds": <per call>,
//                              "algorithm_bytes_per_second": ..., "bus_bytes_per_second": ...,
//                              "wrong_elements": 0, "first_wrong": { "rank": 1,
//                              "gpu": "...", "index": 12, "value": 37, "expected": 36 } } ] },
//     "notes": [ "..." ],
//     "errors": [ { "stage": "cuInit", "gpu": "" or bus id, "code": 100, "message": "..." } ] }
//
// Bus ids are lower case in nodehealth's entity form. Bandwidths are bytes per second; the NCCL
// bus bandwidth is nccl-tests' (algorithm bandwidth * 2(n-1)/n).
//
// Thread safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::gpu_worker {

inline constexpr const char* kSchema = "nodehealth-gpu-worker/1";

struct Device {
  int ordinal = 0;
  std::string gpu;  // PCI bus id, lower case
  std::string name;
  int numa_node = -1;
  int64_t sm_clock_khz = 0;
  int64_t memory_clock_khz = 0;
};

struct Copy {
  std::string direction;  // host_to_device, device_to_host, device_to_device, peer
  std::string gpu;        // the source GPU of a peer copy
  std::string peer;       // the destination GPU of a peer copy
  uint64_t bytes = 0;     // per copy
  int iterations = 0;
  double seconds = 0;  // all iterations, CUDA event time
  double bytes_per_second = 0;
};

struct WrongElement {
  int rank = 0;
  std::string gpu;
  uint64_t index = 0;
  double value = 0;
  double expected = 0;
};

struct NcclSize {
  uint64_t size_bytes = 0;
  int iterations = 0;
  double seconds = 0;  // per all-reduce
  double algorithm_bytes_per_second = 0;
  double bus_bytes_per_second = 0;
  uint64_t wrong_elements = 0;
  std::optional<WrongElement> first_wrong;
};

struct Nccl {
  std::string version;
  std::string path = "default";  // "net": NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1
  int ranks = 0;
  std::vector<NcclSize> results;
};

struct StageError {
  std::string stage;  // the CUDA or NCCL call, or the worker's step
  std::string gpu;    // empty when not about one GPU
  int code = 0;       // CUresult / ncclResult_t
  std::string message;
};

struct Report {
  int cuda_driver_version = 0;
  std::vector<Device> devices;
  std::vector<Copy> copies;
  std::optional<Nccl> nccl;
  std::vector<std::string> notes;
  std::vector<StageError> errors;
};

std::string ToJson(const Report& report);
// Bounded: at most kMaxOutputBytes of text and the JSON depth bound of util/nesting_depth.h.
Expected<Report> ParseReport(const std::string& text);

inline constexpr std::size_t kMaxOutputBytes = 4u << 20;

// "0000:3B:00.0" (CUDA's form) -> "0000:3b:00.0".
std::string NormalizeBusId(std::string bus_id);

}  // namespace nodehealth::gpu_worker
