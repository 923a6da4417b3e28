// A fake NCCL: a real shared library, libnccl.so.2 (SONAME libnccl.so.2), exporting the NCCL
// calls nodehealth makes (probes/platform/nccl_abi.h). It needs the fake libcuda.so.1 (DT_NEEDED,
// found through its RUNPATH, or the copy the product already loaded by path, whose SONAME
// matches): the devices, buffers and stream clocks are the fake driver's, reached through its
// nodehealth_fake_* hooks, and the scenario is the one file both share
// (NODEHEALTH_FAKE_GPU_SCENARIO, tests/fakes/cuda/fake_gpu_scenario.h: nccl_version, nccl_fail,
// nccl_hang, nccl_wrong_element, nccl_net_gbps, nccl_async_error).
//
// ncclCommInitAll initialises the fake driver (cuInit; a failure is ncclUnhandledCudaError, as
// the real library answers on a node without GPUs) and makes rank i on devlist[i]. ncclAllReduce
// supports float32 sums only (else ncclInvalidArgument). Within ncclGroupStart/ncclGroupEnd the
// calls are collected and run at the outermost ncclGroupEnd (nccl_clique.h), which answers
// ncclInvalidUsage when some rank did not post; outside a group one rank runs at once, and more
// ranks are ncclInvalidUsage (one thread cannot feed several ranks without a group; the real
// library would hang).
//
// Signatures: with nccl.h (NCCL 2.28.9; NODEHEALTH_FAKE_WITH_NCCL_H, see nccl_api.h) each
// definition must match NVIDIA's declaration, whose line in nccl.h is given above it. Thread-safe:
// one lock; groups are per thread, as in NCCL.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "tests/fakes/cuda/fake_gpu_hooks.h"
#include "tests/fakes/nccl/nccl_api.h"
#include "tests/fakes/nccl/nccl_clique.h"

namespace {

using nodehealth::fake_gpu::Scenario;
using nodehealth::fake_nccl::Clique;
using nodehealth::fake_nccl::Op;

struct State {
  std::mutex mutex;
  unsigned long long generation = 0;  // the fake driver's, when these communicators were made
  std::map<ncclComm*, std::unique_ptr<ncclComm>> comms;
  std::map<Clique*, std::unique_ptr<Clique>> cliques;
  std::map<std::string, long long> successes;

  // Drops everything when the fake driver was reset (nodehealth_fake_gpu_reset).
  void Sync() {
    unsigned long long now = nodehealth_fake_gpu_generation();
    if (now == generation) return;
    comms.clear();
    cliques.clear();
    successes.clear();
    generation = now;
  }
};

State& GetState() {
  static State* state = new State();  // never destroyed: calls may come from exit handlers
  return *state;
}

// The calling thread's open group.
struct Group {
  unsigned long long generation = 0;
  int depth = 0;
  ncclResult_t error = ncclSuccess;
  std::set<Clique*> cliques;
};
thread_local Group t_group;

Group& CurrentGroup(const State& state) {
  if (t_group.generation != state.generation) t_group = Group{state.generation, 0, ncclSuccess, {}};
  return t_group;
}

[[noreturn]] void HangForever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

// One entry point: hangs or fails as the scenario says (`on_forced` then tidies up) and counts
// successes for `nccl_fail ... after=N`.
template <class Body, class OnForced>
ncclResult_t Enter(const char* entry, Body body, OnForced on_forced) {
  const Scenario& scenario = *nodehealth_fake_gpu_scenario();
  if (scenario.nccl_hang.count(entry) != 0) HangForever();
  State& state = GetState();
  std::lock_guard lock(state.mutex);
  state.Sync();
  auto failure = scenario.nccl_fail.find(entry);
  if (failure != scenario.nccl_fail.end() && state.successes[entry] >= failure->second.after) {
    auto forced = static_cast<ncclResult_t>(failure->second.result);
    on_forced(state, forced);
    return forced;
  }
  ncclResult_t result = body(state, scenario);
  if (result == ncclSuccess) ++state.successes[entry];
  return result;
}

template <class Body>
ncclResult_t Enter(const char* entry, Body body) {
  return Enter(entry, body, [](State&, ncclResult_t) {});
}

ncclResult_t Destroy(const char* entry, ncclComm_t comm) {
  return Enter(entry, [&](State& state, const Scenario&) -> ncclResult_t {
    if (comm == nullptr) return ncclSuccess;  // as NCCL does
    auto it = state.comms.find(comm);
    if (it == state.comms.end()) return ncclInvalidArgument;
    Clique* clique = comm->clique;
    clique->comms[comm->rank] = nullptr;
    clique->pending[comm->rank].clear();
    state.comms.erase(it);
    if (std::all_of(clique->comms.begin(), clique->comms.end(),
                    [](ncclComm* c) { return c == nullptr; })) {
      CurrentGroup(state).cliques.erase(clique);
      state.cliques.erase(clique);
    }
    return ncclSuccess;
  });
}

}  // namespace

// nccl.h line 151.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclGetVersion(int* version) {
  return Enter("ncclGetVersion", [&](State&, const Scenario& scenario) -> ncclResult_t {
    if (version == nullptr) return ncclInvalidArgument;
    *version = scenario.nccl_version;
    return ncclSuccess;
  });
}

// nccl.h line 180.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclCommInitAll(ncclComm_t* comm, int ndev,
                                                    const int* devlist) {
  return Enter("ncclCommInitAll", [&](State& state, const Scenario& scenario) -> ncclResult_t {
    if (comm == nullptr || ndev < 1) return ncclInvalidArgument;
    if (nodehealth_fake_cuda_init() != 0) return ncclUnhandledCudaError;
    auto clique = std::make_unique<Clique>();
    std::set<int> seen;
    for (int rank = 0; rank < ndev; ++rank) {
      int device = devlist == nullptr ? rank : devlist[rank];
      if (device < 0 || device >= static_cast<int>(scenario.gpus.size())) {
        return ncclInvalidArgument;
      }
      if (!seen.insert(device).second) return ncclInvalidUsage;  // a GPU twice
      clique->devices.push_back(device);
    }
    clique->pending.resize(ndev);
    for (int rank = 0; rank < ndev; ++rank) {
      auto c = std::make_unique<ncclComm>();
      c->clique = clique.get();
      c->rank = rank;
      comm[rank] = c.get();
      clique->comms.push_back(c.get());
      state.comms[c.get()] = std::move(c);
    }
    state.cliques[clique.get()] = std::move(clique);
    return ncclSuccess;
  });
}

// nccl.h line 192.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  return Destroy("ncclCommDestroy", comm);
}

// nccl.h line 197.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclCommAbort(ncclComm_t comm) {
  return Destroy("ncclCommAbort", comm);
}

// nccl.h line 249.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclCommGetAsyncError(ncclComm_t comm,
                                                          ncclResult_t* asyncError) {
  return Enter("ncclCommGetAsyncError",
               [&](State& state, const Scenario& scenario) -> ncclResult_t {
                 if (state.comms.count(comm) == 0 || asyncError == nullptr)
                   return ncclInvalidArgument;
                 *asyncError = static_cast<ncclResult_t>(scenario.nccl_async_error);
                 return ncclSuccess;
               });
}

// nccl.h line 235. The texts are those libnccl.so.2 2.28.9 returns.
NODEHEALTH_FAKE_EXPORT const char* ncclGetErrorString(ncclResult_t result) {
  switch (static_cast<int>(result)) {
    case ncclSuccess:
      return "no error";
    case ncclUnhandledCudaError:
      return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError:
      return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError:
      return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument:
      return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage:
      return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError:
      return "remote process exited or there was a network error";
    case ncclInProgress:
      return "NCCL operation in progress";
    default:
      return "unknown result code";
  }
}

// nccl.h line 558.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclGroupStart() {
  return Enter("ncclGroupStart", [&](State& state, const Scenario&) -> ncclResult_t {
    ++CurrentGroup(state).depth;
    return ncclSuccess;
  });
}

// nccl.h line 568.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclGroupEnd() {
  // Closing the outermost group runs what it collected, or drops it when the call fails.
  auto close = [](State& state, const Scenario* scenario) {
    Group& group = CurrentGroup(state);
    if (--group.depth > 0) return ncclSuccess;
    ncclResult_t result = group.error;
    for (Clique* clique : group.cliques) {
      if (state.cliques.count(clique) == 0) continue;  // every rank destroyed meanwhile
      ncclResult_t r = ncclInvalidUsage;
      if (scenario != nullptr && result == ncclSuccess) {
        r = nodehealth::fake_nccl::RunPending(*clique, *scenario);
      } else {
        for (auto& queue : clique->pending) queue.clear();
      }
      if (result == ncclSuccess) result = r;
    }
    group = Group{state.generation, 0, ncclSuccess, {}};
    return result;
  };
  return Enter(
      "ncclGroupEnd",
      [&](State& state, const Scenario& scenario) -> ncclResult_t {
        if (CurrentGroup(state).depth == 0) return ncclInvalidUsage;
        return close(state, &scenario);
      },
      [&](State& state, ncclResult_t) {
        if (CurrentGroup(state).depth > 0) close(state, nullptr);
      });
}

// nccl.h lines 414-415.
NODEHEALTH_FAKE_EXPORT ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff,
                                                  size_t count, ncclDataType_t datatype,
                                                  ncclRedOp_t op, ncclComm_t comm,
                                                  cudaStream_t stream) {
  return Enter(
      "ncclAllReduce",
      [&](State& state, const Scenario& scenario) -> ncclResult_t {
        if (state.comms.count(comm) == 0 || datatype != ncclFloat32 || op != ncclSum) {
          return ncclInvalidArgument;
        }
        Clique& clique = *comm->clique;
        Op posted{sendbuff, recvbuff, count, stream};
        if (!nodehealth::fake_nccl::ValidOp(posted, clique.devices[comm->rank], comm->rank)) {
          return ncclInvalidArgument;
        }
        Group& group = CurrentGroup(state);
        if (group.depth == 0 && clique.devices.size() > 1) {
          std::fprintf(stderr,
                       "fake NCCL: ncclAllReduce on a %zu-rank communicator outside "
                       "ncclGroupStart/ncclGroupEnd\n",
                       clique.devices.size());
          return ncclInvalidUsage;
        }
        clique.pending[comm->rank].push_back(posted);
        if (group.depth > 0) {
          group.cliques.insert(&clique);
          return ncclSuccess;
        }
        return nodehealth::fake_nccl::RunPending(clique, scenario);
      },
      [&](State& state, ncclResult_t forced) {
        Group& group = CurrentGroup(state);
        if (group.depth > 0 && group.error == ncclSuccess) group.error = forced;
      });
}
