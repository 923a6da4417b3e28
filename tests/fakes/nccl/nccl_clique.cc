#include "tests/fakes/nccl/nccl_clique.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "tests/fakes/cuda/fake_gpu_hooks.h"

namespace nodehealth::fake_nccl {
namespace {

bool EnvironmentIsOne(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string_view(value) == "1";
}

void DiscardPending(Clique& clique) {
  for (auto& queue : clique.pending) queue.clear();
}

ncclResult_t Run(const Clique& clique, const std::vector<Op>& ops,
                 const fake_gpu::Scenario& scenario) {
  for (std::size_t rank = 0; rank < ops.size(); ++rank) {
    if (!ValidOp(ops[rank], clique.devices[rank], static_cast<int>(rank))) {
      return ncclInvalidArgument;
    }
  }
  std::size_t count = ops[0].count;
  std::vector<float> sum(count, 0.0f), buffer(count);
  for (const Op& op : ops) {
    if (count > 0) std::memcpy(buffer.data(), op.send, count * sizeof(float));
    for (std::size_t i = 0; i < count; ++i) sum[i] += buffer[i];
  }
  for (std::size_t rank = 0; rank < ops.size(); ++rank) {
    buffer = sum;
    for (const auto& [wrong_rank, element] : scenario.nccl_wrong_elements) {
      if (static_cast<std::size_t>(wrong_rank) == rank && element < count) buffer[element] += 1.0f;
    }
    if (count > 0) std::memcpy(ops[rank].receive, buffer.data(), count * sizeof(float));
  }
  double seconds = AllReduceSeconds(clique, scenario, count * sizeof(float));
  for (std::size_t rank = 0; rank < ops.size(); ++rank) {
    if (nodehealth_fake_cuda_advance_stream(ops[rank].stream, clique.devices[rank], seconds) != 0) {
      return ncclInvalidArgument;
    }
  }
  return ncclSuccess;
}

}  // namespace

bool ValidOp(const Op& op, int device, int rank) {
  std::size_t bytes = op.count * sizeof(float);
  const char* problem = nullptr;
  if (bytes > 0 &&
      nodehealth_fake_cuda_device_of(reinterpret_cast<std::uintptr_t>(op.send), bytes) != device) {
    problem = "the send buffer is not device memory of the rank's GPU";
  } else if (bytes > 0 && nodehealth_fake_cuda_device_of(
                              reinterpret_cast<std::uintptr_t>(op.receive), bytes) != device) {
    problem = "the receive buffer is not device memory of the rank's GPU";
  } else if (nodehealth_fake_cuda_stream_device(op.stream, device) != device) {
    problem = "the stream is unknown or belongs to another GPU";
  }
  if (problem == nullptr) return true;
  std::fprintf(stderr, "fake NCCL: ncclAllReduce on rank %d (device %d): %s\n", rank, device,
               problem);
  return false;
}

ncclResult_t RunPending(Clique& clique, const fake_gpu::Scenario& scenario) {
  std::size_t posted = clique.pending[0].size();
  for (std::size_t rank = 0; rank < clique.comms.size(); ++rank) {
    if (clique.comms[rank] == nullptr || clique.pending[rank].size() != posted) {
      std::fprintf(stderr,
                   "fake NCCL: ncclGroupEnd: not every rank of the communicator posted the same "
                   "collectives\n");
      DiscardPending(clique);
      return ncclInvalidUsage;
    }
  }
  ncclResult_t result = ncclSuccess;
  while (!clique.pending[0].empty()) {
    std::vector<Op> ops;
    for (auto& queue : clique.pending) {
      ops.push_back(queue.front());
      queue.pop_front();
    }
    bool same_count =
        std::all_of(ops.begin(), ops.end(), [&](const Op& op) { return op.count == ops[0].count; });
    ncclResult_t r = same_count ? Run(clique, ops, scenario) : ncclInvalidUsage;
    if (result == ncclSuccess) result = r;
  }
  return result;
}

double AllReduceSeconds(const Clique& clique, const fake_gpu::Scenario& scenario,
                        std::size_t bytes) {
  std::size_t n = clique.devices.size();
  if (n == 1) return static_cast<double>(bytes) / (scenario.gpus[clique.devices[0]].d2d_gbps * 1e9);
  double gbps = scenario.nccl_net_gbps;
  if (!EnvironmentIsOne("NCCL_P2P_DISABLE") || !EnvironmentIsOne("NCCL_SHM_DISABLE")) {
    gbps = scenario.PeerGbps(clique.devices[0], clique.devices[1]);
    for (std::size_t rank = 0; rank < n; ++rank) {
      gbps =
          std::min(gbps, scenario.PeerGbps(clique.devices[rank], clique.devices[(rank + 1) % n]));
    }
  }
  return 2.0 * static_cast<double>(n - 1) / static_cast<double>(n) * static_cast<double>(bytes) /
         (gbps * 1e9);
}

}  // namespace nodehealth::fake_nccl
