// The state of the fake CUDA driver (fake_cuda.cc): the scenario, the primary context of each
// device, device memory (real host memory, so copies move real bytes), host allocations, streams
// with their virtual clocks, events, and the call counts of the scenario's `fail ... after=N`.
//
// One Driver per process (Get()), never destroyed. Not thread-safe by itself: every caller holds
// mutex(). The current context is per thread, as in CUDA. Handles are the addresses of the objects
// below; every call checks a handle against the live ones, so a stale handle is an error code,
// never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/cuda/cuda_api.h"
#include "tests/fakes/cuda/fake_gpu_scenario.h"

// CUDA's opaque handle types (cuda.h lines 282, 291, 292), defined by the fake.
struct CUctx_st {
  int device = 0;
  int retained = 0;     // primary context reference count; 0: not active
  std::set<int> peers;  // devices whose memory this context may access
};
struct CUstream_st {
  int device = 0;
  double clock = 0;  // seconds of virtual time the work queued so far takes
};
struct CUevent_st {
  int device = 0;
  unsigned int flags = 0;
  bool recorded = false;
  double time = 0;  // the stream's clock when recorded
};

namespace nodehealth::fake_cuda {

class Driver {
 public:
  static Driver& Get();
  std::mutex& mutex() { return mutex_; }

  // Reads the scenario on first use (fake_gpu::LoadScenarioOrDie).
  const fake_gpu::Scenario& scenario();
  unsigned long long generation() const { return generation_; }
  void Reset();

  CUresult Init();
  bool initialised() const { return initialised_; }
  // The result the scenario forces on `entry` now, if any (`fail <entry> <result> after=N`).
  std::optional<int> ForcedResult(const std::string& entry);
  void CountSuccess(const std::string& entry) { ++successes_[entry]; }

  int device_count() { return static_cast<int>(scenario().gpus.size()); }
  bool ValidDevice(CUdevice device) { return device >= 0 && device < device_count(); }
  const fake_gpu::Gpu& gpu(int device) { return scenario().gpus[device]; }
  std::uint64_t TotalBytes(int device) { return gpu(device).memory_mib << 20; }
  std::uint64_t UsedBytes(int device) const;

  // Primary contexts and the calling thread's current context.
  CUctx_st* Retain(int device);
  CUresult Release(int device);
  bool Active(const CUctx_st* context) const;
  CUctx_st* Current() const;  // nullptr when none is current or it was released
  void SetCurrent(CUctx_st* context);

  // Device memory; DeviceOf answers the device whose allocation holds the range, or -1.
  CUresult Allocate(int device, std::size_t bytes, CUdeviceptr* pointer);
  CUresult Free(CUdeviceptr pointer);
  int DeviceOf(CUdeviceptr pointer, std::size_t bytes) const;
  CUresult HostAllocate(std::size_t bytes, void** pointer);
  CUresult HostFree(void* pointer);

  CUstream_st* NewStream(int device);
  bool DestroyStream(CUstream_st* stream);
  // A created stream, or for the null stream (and CU_STREAM_LEGACY/PER_THREAD) the default
  // stream of `device`; nullptr when unknown.
  CUstream_st* Stream(CUstream stream, int device);
  CUevent_st* NewEvent(int device, unsigned int flags);
  bool DestroyEvent(CUevent_st* event);
  bool ValidEvent(CUevent_st* event) const { return events_.count(event) != 0; }

  long long LiveObjects() const;

 private:
  struct Allocation {
    int device;
    std::size_t bytes;
  };
  void FreeDeviceObjects(int device);

  std::mutex mutex_;
  std::optional<fake_gpu::Scenario> scenario_;
  unsigned long long generation_ = 1;
  bool initialised_ = false;
  std::map<std::string, long long> successes_;
  std::vector<std::unique_ptr<CUctx_st>> contexts_;
  std::vector<std::unique_ptr<CUstream_st>> default_streams_;
  std::map<CUdeviceptr, Allocation> allocations_;
  std::set<void*> host_allocations_;
  std::map<CUstream_st*, std::unique_ptr<CUstream_st>> streams_;
  std::map<CUevent_st*, std::unique_ptr<CUevent_st>> events_;
};

// Never returns: the scenario's `hang` (a sick GPU); the product's deadline has to end it.
[[noreturn]] void HangForever();

}  // namespace nodehealth::fake_cuda
