#include "tests/fakes/cuda/fake_driver.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>

namespace nodehealth::fake_cuda {
namespace {

constexpr std::size_t kAlignment = 256;  // cuMemAlloc's alignment (CUDA programming guide)

// The calling thread's current context, valid while `generation` is the driver's.
struct CurrentContext {
  unsigned long long generation = 0;
  CUctx_st* context = nullptr;
};
thread_local CurrentContext t_current;

std::size_t RoundUp(std::size_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

}  // namespace

Driver& Driver::Get() {
  static Driver* driver = new Driver();  // never destroyed: calls may come from exit handlers
  return *driver;
}

const fake_gpu::Scenario& Driver::scenario() {
  if (!scenario_) {
    scenario_ = fake_gpu::LoadScenarioOrDie();
    for (std::size_t i = 0; i < scenario_->gpus.size(); ++i) {
      contexts_.push_back(std::make_unique<CUctx_st>());
      contexts_.back()->device = static_cast<int>(i);
      default_streams_.push_back(std::make_unique<CUstream_st>());
      default_streams_.back()->device = static_cast<int>(i);
    }
  }
  return *scenario_;
}

void Driver::Reset() {
  for (auto& [pointer, allocation] : allocations_) {
    std::free(reinterpret_cast<void*>(static_cast<std::uintptr_t>(pointer)));
  }
  for (void* pointer : host_allocations_) std::free(pointer);
  allocations_.clear();
  host_allocations_.clear();
  streams_.clear();
  events_.clear();
  contexts_.clear();
  default_streams_.clear();
  successes_.clear();
  scenario_.reset();
  initialised_ = false;
  ++generation_;
}

CUresult Driver::Init() {
  const fake_gpu::Scenario& s = scenario();
  if (s.cu_init_result) {
    initialised_ = false;
    return static_cast<CUresult>(*s.cu_init_result);
  }
  if (s.gpus.empty()) return CUDA_ERROR_NO_DEVICE;  // what the driver says on a node without GPUs
  initialised_ = true;
  return CUDA_SUCCESS;
}

std::optional<int> Driver::ForcedResult(const std::string& entry) {
  auto it = scenario().fail.find(entry);
  if (it == scenario().fail.end() || successes_[entry] < it->second.after) return std::nullopt;
  return it->second.result;
}

std::uint64_t Driver::UsedBytes(int device) const {
  std::uint64_t used = 0;
  for (const auto& [pointer, allocation] : allocations_) {
    if (allocation.device == device) used += allocation.bytes;
  }
  return used;
}

CUctx_st* Driver::Retain(int device) {
  CUctx_st* context = contexts_[device].get();
  ++context->retained;
  return context;
}

CUresult Driver::Release(int device) {
  CUctx_st* context = contexts_[device].get();
  if (context->retained == 0) return CUDA_ERROR_INVALID_CONTEXT;
  if (--context->retained == 0) {
    // The primary context is destroyed with everything created in it.
    FreeDeviceObjects(device);
    context->peers.clear();
  }
  return CUDA_SUCCESS;
}

bool Driver::Active(const CUctx_st* context) const {
  for (const auto& c : contexts_) {
    if (c.get() == context) return context->retained > 0;
  }
  return false;
}

CUctx_st* Driver::Current() const {
  if (t_current.generation != generation_ || !Active(t_current.context)) return nullptr;
  return t_current.context;
}

void Driver::SetCurrent(CUctx_st* context) { t_current = {generation_, context}; }

CUresult Driver::Allocate(int device, std::size_t bytes, CUdeviceptr* pointer) {
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if (bytes > TotalBytes(device) - UsedBytes(device)) return CUDA_ERROR_OUT_OF_MEMORY;
  void* memory = std::aligned_alloc(kAlignment, RoundUp(bytes));
  if (memory == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  *pointer = static_cast<CUdeviceptr>(reinterpret_cast<std::uintptr_t>(memory));
  allocations_[*pointer] = {device, bytes};
  return CUDA_SUCCESS;
}

CUresult Driver::Free(CUdeviceptr pointer) {
  auto it = allocations_.find(pointer);
  if (it == allocations_.end()) return CUDA_ERROR_INVALID_VALUE;
  std::free(reinterpret_cast<void*>(static_cast<std::uintptr_t>(pointer)));
  allocations_.erase(it);
  return CUDA_SUCCESS;
}

int Driver::DeviceOf(CUdeviceptr pointer, std::size_t bytes) const {
  auto it = allocations_.upper_bound(pointer);
  if (it == allocations_.begin()) return -1;
  --it;
  if (pointer - it->first > it->second.bytes || bytes > it->second.bytes - (pointer - it->first)) {
    return -1;
  }
  return it->second.device;
}

CUresult Driver::HostAllocate(std::size_t bytes, void** pointer) {
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  *pointer = std::aligned_alloc(kAlignment, RoundUp(bytes));
  if (*pointer == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  host_allocations_.insert(*pointer);
  return CUDA_SUCCESS;
}

CUresult Driver::HostFree(void* pointer) {
  if (host_allocations_.erase(pointer) == 0) return CUDA_ERROR_INVALID_VALUE;
  std::free(pointer);
  return CUDA_SUCCESS;
}

CUstream_st* Driver::NewStream(int device) {
  auto stream = std::make_unique<CUstream_st>();
  stream->device = device;
  CUstream_st* handle = stream.get();
  streams_[handle] = std::move(stream);
  return handle;
}

bool Driver::DestroyStream(CUstream_st* stream) { return streams_.erase(stream) != 0; }

CUstream_st* Driver::Stream(CUstream stream, int device) {
  // The null stream, CU_STREAM_LEGACY ((CUstream)0x1) and CU_STREAM_PER_THREAD ((CUstream)0x2),
  // cuda.h lines 440 and 450.
  if (reinterpret_cast<std::uintptr_t>(stream) <= 2) {
    return ValidDevice(device) ? default_streams_[device].get() : nullptr;
  }
  return streams_.count(stream) != 0 ? stream : nullptr;
}

CUevent_st* Driver::NewEvent(int device, unsigned int flags) {
  auto event = std::make_unique<CUevent_st>();
  event->device = device;
  event->flags = flags;
  CUevent_st* handle = event.get();
  events_[handle] = std::move(event);
  return handle;
}

bool Driver::DestroyEvent(CUevent_st* event) { return events_.erase(event) != 0; }

long long Driver::LiveObjects() const {
  return static_cast<long long>(allocations_.size() + host_allocations_.size() + streams_.size() +
                                events_.size());
}

void Driver::FreeDeviceObjects(int device) {
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    if (it->second.device != device) {
      ++it;
      continue;
    }
    std::free(reinterpret_cast<void*>(static_cast<std::uintptr_t>(it->first)));
    it = allocations_.erase(it);
  }
  std::erase_if(streams_, [&](const auto& entry) { return entry.second->device == device; });
  std::erase_if(events_, [&](const auto& entry) { return entry.second->device == device; });
  default_streams_[device]->clock = 0;
}

void HangForever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace nodehealth::fake_cuda
