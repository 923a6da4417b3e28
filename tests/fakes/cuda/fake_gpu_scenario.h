// The scenario of the fake CUDA driver and the fake NCCL (tests/fakes/cuda, tests/fakes/nccl): one
// text file, named by NODEHEALTH_FAKE_GPU_SCENARIO, that both libraries answer from. Without the
// variable the scenario is kDefaultScenario (two GPUs). One directive a line; `#` starts a comment
// outside double quotes; blank lines are ignored:
//
//   gpu <bus id> [name="..."] [memory_mib=N] [h2d_gbps=G] [d2h_gbps=G] [d2d_gbps=G]
//       [sm_clock_mhz=N] [memory_clock_mhz=N]     one line per GPU, in CUDA ordinal order
//   peer_gbps <G>                                 device-to-device rate of every ordered pair
//   peer <src bus id> <dst bus id> <G>            the rate of one ordered pair
//   no_peer <src bus id> <dst bus id>             cuDeviceCanAccessPeer answers 0 for the pair
//   cuInit <CUresult>                             cuInit returns it; every later call
//                                                 CUDA_ERROR_NOT_INITIALIZED
//   driver_version <int>                          cuDriverGetVersion
//   fail <entry point> <CUresult> [after=N]       the call returns the result after N calls of
//                                                 it that succeeded (default 0), every time
//   hang <entry point>                            the call never returns
//   nccl_version <int>
//   nccl_fail <entry point> <ncclResult_t> [after=N]
//   nccl_hang <entry point>
//   nccl_wrong_element <rank> <index>             after each all-reduce, that float of that
//                                                 rank's receive buffer is 1.0 too high
//   nccl_net_gbps <G>                             the all-reduce bus bandwidth when both
//                                                 NCCL_P2P_DISABLE=1 and NCCL_SHM_DISABLE=1
//   nccl_async_error <ncclResult_t>               what ncclCommGetAsyncError reports
//
// G is in decimal gigabytes per second (1e9 bytes/s). A bus id is domain:bus:device.function in
// hex (0000:19:00.0, any case; CUDA prints it upper-case). A CUresult is a number or a name that
// cuda_results.h lists (CUDA_ERROR_ECC_UNCORRECTABLE). An entry point is one of
// kCudaEntryPoints / kNcclEntryPoints, with or without its _v2 suffix (cuMemAlloc_v2 and
// cuMemAlloc are one entry; a failure of cuEventElapsedTime applies to both of its exported
// names). An unknown directive, option or entry point, a malformed number or a bus id no gpu line
// declares is an error: the libraries print it and abort, so that a typo never passes a test.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodehealth::fake_gpu {

struct Gpu {
  std::string bus_id;  // CUDA's form: 0000:3B:00.0
  std::string name = "NVIDIA H100 80GB HBM3";
  std::uint64_t memory_mib = 1024;
  double h2d_gbps = 55;
  double d2h_gbps = 55;
  double d2d_gbps = 1500;
  int sm_clock_mhz = 1980;
  int memory_clock_mhz = 2619;
};

struct Failure {
  int result = 0;
  long long after = 0;  // successful calls before the failures start
};

struct Scenario {
  std::vector<Gpu> gpus;
  double peer_gbps = 360;
  std::map<std::pair<int, int>, double> peer;  // by CUDA ordinal, source first
  std::set<std::pair<int, int>> no_peer;
  std::optional<int> cu_init_result;
  int driver_version = 12080;
  std::map<std::string, Failure> fail;  // by entry point without _v2
  std::set<std::string> hang;
  int nccl_version = 22809;
  std::map<std::string, Failure> nccl_fail;
  std::set<std::string> nccl_hang;
  std::vector<std::pair<int, std::uint64_t>> nccl_wrong_elements;  // rank, element
  double nccl_net_gbps = 40;
  int nccl_async_error = 0;

  // The device-to-device rate from ordinal `source` to `destination` (different devices).
  double PeerGbps(int source, int destination) const {
    auto it = peer.find({source, destination});
    return it == peer.end() ? peer_gbps : it->second;
  }
};

// The entry points a scenario may name in fail/hang and nccl_fail/nccl_hang.
inline constexpr std::array<std::string_view, 31> kCudaEntryPoints = {"cuInit",
                                                                      "cuDriverGetVersion",
                                                                      "cuDeviceGetCount",
                                                                      "cuDeviceGet",
                                                                      "cuDeviceGetName",
                                                                      "cuDeviceGetPCIBusId",
                                                                      "cuDeviceGetAttribute",
                                                                      "cuDeviceCanAccessPeer",
                                                                      "cuDevicePrimaryCtxRetain",
                                                                      "cuDevicePrimaryCtxRelease",
                                                                      "cuCtxSetCurrent",
                                                                      "cuCtxEnablePeerAccess",
                                                                      "cuMemGetInfo",
                                                                      "cuMemAlloc",
                                                                      "cuMemFree",
                                                                      "cuMemHostAlloc",
                                                                      "cuMemFreeHost",
                                                                      "cuMemcpyHtoDAsync",
                                                                      "cuMemcpyDtoHAsync",
                                                                      "cuMemcpyDtoDAsync",
                                                                      "cuMemcpyPeerAsync",
                                                                      "cuStreamCreate",
                                                                      "cuStreamDestroy",
                                                                      "cuStreamSynchronize",
                                                                      "cuEventCreate",
                                                                      "cuEventRecord",
                                                                      "cuEventSynchronize",
                                                                      "cuEventElapsedTime",
                                                                      "cuEventDestroy",
                                                                      "cuGetErrorName",
                                                                      "cuGetErrorString"};
inline constexpr std::array<std::string_view, 8> kNcclEntryPoints = {
    "ncclGetVersion",        "ncclCommInitAll", "ncclCommDestroy", "ncclCommAbort",
    "ncclCommGetAsyncError", "ncclGroupStart",  "ncclGroupEnd",    "ncclAllReduce"};

inline constexpr std::string_view kDefaultScenario =
    "gpu 0000:19:00.0\n"
    "gpu 0000:3B:00.0\n";

// Parses a scenario. On an error returns nullopt and sets *error to "line N: what".
std::optional<Scenario> ParseScenario(std::string_view text, std::string* error);

// The scenario the libraries use: the file NODEHEALTH_FAKE_GPU_SCENARIO names, else
// kDefaultScenario. Prints the error on stderr and aborts when the file cannot be read or parsed.
Scenario LoadScenarioOrDie();

}  // namespace nodehealth::fake_gpu
