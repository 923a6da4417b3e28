// The communicators of the fake NCCL (fake_nccl.cc): a clique is what one ncclCommInitAll made,
// one rank per device. All-reduces are posted to it per rank and run once every rank posted its
// k-th one: the element-wise float sum of the send buffers goes to every receive buffer, the
// scenario's wrong elements are added, and each rank's stream clock in the fake driver moves on by
// 2(n-1)/n * bytes / rate, so that nccl-tests' bus bandwidth comes out as `rate` exactly. The rate
// is the slowest peer rate around the ring (rank i to i+1 mod n, in the scenario's direction), or
// nccl_net_gbps when NCCL_P2P_DISABLE=1 and NCCL_SHM_DISABLE=1 are both set; one rank copies at
// its GPU's d2d rate (bytes / rate). Not thread-safe: fake_nccl.cc holds its lock.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "tests/fakes/cuda/fake_gpu_scenario.h"
#include "tests/fakes/nccl/nccl_api.h"

namespace nodehealth::fake_nccl {
struct Clique;
}  // namespace nodehealth::fake_nccl

// NCCL's opaque communicator (nccl.h line 34: typedef struct ncclComm* ncclComm_t).
struct ncclComm {
  nodehealth::fake_nccl::Clique* clique = nullptr;
  int rank = 0;
};

namespace nodehealth::fake_nccl {

struct Op {
  const void* send;
  void* receive;
  std::size_t count;  // floats
  cudaStream_t stream;
};

struct Clique {
  std::vector<int> devices;             // rank -> CUDA ordinal
  std::vector<ncclComm*> comms;         // rank -> communicator; nullptr once destroyed
  std::vector<std::deque<Op>> pending;  // posted, not yet run, per rank
};

// Whether `op` lies in device memory of `device` with a stream of that device; prints why not.
bool ValidOp(const Op& op, int device, int rank);

// Runs the posted all-reduces of `clique`. ncclInvalidUsage, with nothing run, when a rank was
// destroyed or the ranks posted different numbers of them or different counts.
ncclResult_t RunPending(Clique& clique, const fake_gpu::Scenario& scenario);

// The virtual time of one all-reduce of `bytes` on `clique`.
double AllReduceSeconds(const Clique& clique, const fake_gpu::Scenario& scenario,
                        std::size_t bytes);

}  // namespace nodehealth::fake_nccl
