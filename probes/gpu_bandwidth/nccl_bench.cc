#include "probes/gpu_bandwidth/nccl_bench.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace nodehealth::gpu_worker {
namespace {

constexpr uint64_t kPeriod = 4099;             // a prime: chunk boundaries never line up
constexpr uint64_t kChunkElements = 4u << 20;  // 16 MiB of float32 per host transfer

struct Rank {
  SessionDevice* device = nullptr;
  nccl::NcclComm comm = nullptr;
  cuda::CuStream stream = nullptr;
  cuda::CuEvent start = nullptr;
  cuda::CuEvent end = nullptr;
  cuda::CuDevicePtr send = 0;
  cuda::CuDevicePtr receive = 0;
};

// Everything one size allocated, released on every path.
class SizeBuffers {
 public:
  SizeBuffers(GpuSession& session, std::vector<Rank>& ranks) : session_(session), ranks_(ranks) {}
  ~SizeBuffers() { Release(); }
  void Release() {
    const platform::CudaDriver& d = session_.driver();
    for (Rank& r : ranks_) {
      if (r.send != 0) d.MemFree(r.send);
      if (r.receive != 0) d.MemFree(r.receive);
      r.send = r.receive = 0;
    }
  }

 private:
  GpuSession& session_;
  std::vector<Rank>& ranks_;
};

// The pattern repeats every kPeriod elements: compute one period, then double what is there.
void FillPattern(float* host, uint64_t elements, int rank, int ranks, bool expected) {
  const uint64_t first = std::min(elements, kPeriod);
  for (uint64_t i = 0; i < first; ++i) {
    host[i] = expected ? ExpectedSum(ranks, i) : SentValue(rank, i);
  }
  for (uint64_t filled = first; filled < elements;) {
    const uint64_t copy = std::min(filled - filled % kPeriod, elements - filled);
    std::memcpy(host + filled, host, copy * sizeof(float));
    filled += copy;
  }
}

// Sends each rank's pattern to its send buffer through `host` (chunk + period elements).
bool FillSendBuffers(GpuSession& session, std::vector<Rank>& ranks, uint64_t count, float* host,
                     Report& report) {
  const platform::CudaDriver& d = session.driver();
  const int n = static_cast<int>(ranks.size());
  for (int r = 0; r < n; ++r) {
    Rank& rank = ranks[r];
    const std::string& gpu = rank.device->info.gpu;
    FillPattern(host, std::min(count, kChunkElements) + kPeriod, r, n, false);
    if (!session.MakeCurrent(*rank.device, report)) return false;
    for (uint64_t offset = 0; offset < count; offset += kChunkElements) {
      const uint64_t elements = std::min(kChunkElements, count - offset);
      if (!Check(d,
                 d.MemcpyHtoDAsync(rank.send + offset * sizeof(float), host + offset % kPeriod,
                                   elements * sizeof(float), rank.stream),
                 "cuMemcpyHtoDAsync", gpu, report) ||
          !Check(d, d.StreamSynchronize(rank.stream), "cuStreamSynchronize", gpu, report)) {
        return false;
      }
    }
  }
  return true;
}

// Compares every rank's receive buffer with the expected sums; fills the size's wrong counts.
bool CheckResults(GpuSession& session, std::vector<Rank>& ranks, uint64_t count, float* host,
                  float* expected, NcclSize& size, Report& report) {
  const platform::CudaDriver& d = session.driver();
  FillPattern(expected, std::min(count, kChunkElements) + kPeriod, 0,
              static_cast<int>(ranks.size()), true);
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    Rank& rank = ranks[r];
    const std::string& gpu = rank.device->info.gpu;
    if (!session.MakeCurrent(*rank.device, report)) return false;
    for (uint64_t offset = 0; offset < count; offset += kChunkElements) {
      const uint64_t elements = std::min(kChunkElements, count - offset);
      if (!Check(d,
                 d.MemcpyDtoHAsync(host, rank.receive + offset * sizeof(float),
                                   elements * sizeof(float), rank.stream),
                 "cuMemcpyDtoHAsync", gpu, report) ||
          !Check(d, d.StreamSynchronize(rank.stream), "cuStreamSynchronize", gpu, report)) {
        return false;
      }
      const float* want = expected + offset % kPeriod;
      if (std::memcmp(host, want, elements * sizeof(float)) == 0) continue;
      for (uint64_t i = 0; i < elements; ++i) {
        if (host[i] == want[i]) continue;
        if (++size.wrong_elements == 1) {
          size.first_wrong = WrongElement{static_cast<int>(r), gpu, offset + i, host[i], want[i]};
        }
      }
    }
  }
  return true;
}

bool RunGroup(const platform::NcclLibrary& nccl, std::vector<Rank>& ranks, uint64_t count,
              Report& report) {
  nccl::NcclResult result = nccl.GroupStart();
  if (result != nccl::kSuccess) {
    report.errors.push_back(
        {"ncclGroupStart", "", result, nccl.Describe("ncclGroupStart", result)});
    return false;
  }
  for (Rank& rank : ranks) {
    result = nccl.AllReduce(reinterpret_cast<const void*>(rank.send),
                            reinterpret_cast<void*>(rank.receive), count, nccl::kFloat32,
                            nccl::kSum, rank.comm, rank.stream);
    if (result != nccl::kSuccess) {
      report.errors.push_back(
          {"ncclAllReduce", rank.device->info.gpu, result, nccl.Describe("ncclAllReduce", result)});
      nccl.GroupEnd();
      return false;
    }
  }
  result = nccl.GroupEnd();
  if (result != nccl::kSuccess) {
    report.errors.push_back({"ncclGroupEnd", "", result, nccl.Describe("ncclGroupEnd", result)});
    return false;
  }
  return true;
}

// Allocates `size` bytes twice per rank; on out-of-memory halves the size (with a note) until it
// fits or falls below the minimum. 0 when nothing fits or another error happened.
uint64_t AllocateLargestFitting(GpuSession& session, std::vector<Rank>& ranks, uint64_t size,
                                const NcclOptions& options, SizeBuffers& buffers, Report& report) {
  const platform::CudaDriver& d = session.driver();
  const uint64_t requested = size;
  while (size >= options.min_size) {
    bool out_of_memory = false;
    for (Rank& rank : ranks) {
      if (!session.MakeCurrent(*rank.device, report)) return 0;
      for (cuda::CuDevicePtr* pointer : {&rank.send, &rank.receive}) {
        const cuda::CuResult r = d.MemAlloc(pointer, size);
        if (r == cuda::kErrorOutOfMemory) {
          out_of_memory = true;
          break;
        }
        if (!Check(d, r, "cuMemAlloc", rank.device->info.gpu, report)) return 0;
      }
      if (out_of_memory) break;
    }
    if (!out_of_memory) break;
    buffers.Release();
    size /= 2;
  }
  if (size < options.min_size) {
    report.errors.push_back({"cuMemAlloc", "", cuda::kErrorOutOfMemory,
                             "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2) for every size from " +
                                 std::to_string(requested) + " bytes down to " +
                                 std::to_string(options.min_size)});
    return 0;
  }
  if (size != requested) {
    report.notes.push_back("the all-reduce of " + std::to_string(requested) +
                           " bytes did not fit in GPU memory (two buffers per GPU): measured at " +
                           std::to_string(size) + " bytes");
  }
  return size;
}

void MeasureSize(GpuSession& session, const platform::NcclLibrary& nccl, std::vector<Rank>& ranks,
                 uint64_t requested, const NcclOptions& options, float* host, float* expected,
                 Report& report) {
  const platform::CudaDriver& d = session.driver();
  SizeBuffers buffers(session, ranks);
  const uint64_t size = AllocateLargestFitting(session, ranks, requested, options, buffers, report);
  if (size == 0) return;
  const uint64_t count = size / sizeof(float);
  if (!FillSendBuffers(session, ranks, count, host, report)) return;
  for (int i = 0; i < options.warmup; ++i) {
    if (!RunGroup(nccl, ranks, count, report)) return;
  }
  for (Rank& rank : ranks) {
    if (!Check(d, d.StreamSynchronize(rank.stream), "cuStreamSynchronize", rank.device->info.gpu,
               report) ||
        !Check(d, d.EventRecord(rank.start, rank.stream), "cuEventRecord", rank.device->info.gpu,
               report)) {
      return;
    }
  }
  for (int i = 0; i < options.iterations; ++i) {
    if (!RunGroup(nccl, ranks, count, report)) return;
  }
  double slowest = 0;
  for (Rank& rank : ranks) {
    const std::string& gpu = rank.device->info.gpu;
    float milliseconds = 0;
    if (!Check(d, d.EventRecord(rank.end, rank.stream), "cuEventRecord", gpu, report) ||
        !Check(d, d.EventSynchronize(rank.end), "cuEventSynchronize", gpu, report) ||
        !Check(d, d.EventElapsedTime(&milliseconds, rank.start, rank.end), "cuEventElapsedTime",
               gpu, report)) {
      return;
    }
    slowest = std::max(slowest, milliseconds / 1000.0);
    nccl::NcclResult async = nccl::kSuccess;
    if (nccl.CommGetAsyncError(rank.comm, &async) == nccl::kSuccess && async != nccl::kSuccess) {
      report.errors.push_back(
          {"ncclCommGetAsyncError", gpu, async, nccl.Describe("ncclCommGetAsyncError", async)});
      return;
    }
  }
  NcclSize result;
  result.size_bytes = size;
  result.iterations = options.iterations;
  result.seconds = options.iterations > 0 ? slowest / options.iterations : 0;
  const double n = static_cast<double>(ranks.size());
  if (result.seconds > 0) {
    result.algorithm_bytes_per_second = static_cast<double>(size) / result.seconds;
    result.bus_bytes_per_second = result.algorithm_bytes_per_second * 2 * (n - 1) / n;
  }
  if (!CheckResults(session, ranks, count, host, expected, result, report)) return;
  report.nccl->results.push_back(std::move(result));
}

}  // namespace

float SentValue(int rank, uint64_t index) {
  return static_cast<float>(index % kPeriod) + static_cast<float>(rank + 1);
}

float ExpectedSum(int ranks, uint64_t index) {
  return static_cast<float>(ranks) * static_cast<float>(index % kPeriod) +
         static_cast<float>(ranks * (ranks + 1) / 2);
}

void RunNccl(GpuSession& session, std::shared_ptr<const platform::NcclLibrary> library,
             const NcclOptions& options, Report& report) {
  const platform::NcclLibrary& nccl = *library;
  const platform::CudaDriver& d = session.driver();
  std::vector<SessionDevice>& devices = session.devices();
  Nccl summary;
  int version = 0;
  if (nccl.GetVersion(&version) == nccl::kSuccess) {
    summary.version = platform::NcclVersionString(version);
  }
  const char* p2p = std::getenv("NCCL_P2P_DISABLE");
  const char* shm = std::getenv("NCCL_SHM_DISABLE");
  summary.path =
      p2p && shm && std::strcmp(p2p, "1") == 0 && std::strcmp(shm, "1") == 0 ? "net" : "default";
  summary.ranks = static_cast<int>(devices.size());
  report.nccl = summary;

  std::vector<Rank> ranks(devices.size());
  std::vector<nccl::NcclComm> comms(devices.size(), nullptr);
  std::vector<int> ordinals;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    ranks[i].device = &devices[i];
    ordinals.push_back(devices[i].info.ordinal);
  }
  const nccl::NcclResult init =
      nccl.CommInitAll(comms.data(), static_cast<int>(comms.size()), ordinals.data());
  if (init != nccl::kSuccess) {
    report.errors.push_back({"ncclCommInitAll", "", init, nccl.Describe("ncclCommInitAll", init)});
    return;
  }
  bool ready = true;
  for (std::size_t i = 0; i < ranks.size() && ready; ++i) {
    Rank& rank = ranks[i];
    const std::string& gpu = rank.device->info.gpu;
    rank.comm = comms[i];
    ready =
        session.MakeCurrent(*rank.device, report) &&
        Check(d, d.StreamCreate(&rank.stream, cuda::kStreamNonBlocking), "cuStreamCreate", gpu,
              report) &&
        Check(d, d.EventCreate(&rank.start, cuda::kEventDefault), "cuEventCreate", gpu, report) &&
        Check(d, d.EventCreate(&rank.end, cuda::kEventDefault), "cuEventCreate", gpu, report);
  }
  // Two pinned host buffers of one chunk plus a period, for the patterns and the check.
  void* host = nullptr;
  void* expected = nullptr;
  const std::size_t host_bytes = (kChunkElements + kPeriod) * sizeof(float);
  if (ready && session.MakeCurrent(devices.front(), report) &&
      Check(d, d.MemHostAlloc(&host, host_bytes, cuda::kMemHostAllocPortable), "cuMemHostAlloc", "",
            report) &&
      Check(d, d.MemHostAlloc(&expected, host_bytes, cuda::kMemHostAllocPortable), "cuMemHostAlloc",
            "", report)) {
    for (uint64_t size : options.sizes) {
      MeasureSize(session, nccl, ranks, size, options, static_cast<float*>(host),
                  static_cast<float*>(expected), report);
      if (!report.errors.empty()) break;
    }
  }
  if (host != nullptr) d.MemFreeHost(host);
  if (expected != nullptr) d.MemFreeHost(expected);
  for (Rank& rank : ranks) {
    if (rank.start != nullptr) d.EventDestroy(rank.start);
    if (rank.end != nullptr) d.EventDestroy(rank.end);
    if (rank.stream != nullptr) d.StreamDestroy(rank.stream);
    if (rank.comm != nullptr) nccl.CommDestroy(rank.comm);
  }
}

}  // namespace nodehealth::gpu_worker
