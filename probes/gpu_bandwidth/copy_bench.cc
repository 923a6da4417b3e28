#include "probes/gpu_bandwidth/copy_bench.h"

#include <cstring>
#include <functional>

namespace nodehealth::gpu_worker {
namespace {

// Events and a stream on the current context, destroyed on every path.
class Timer {
 public:
  Timer(const platform::CudaDriver& d, const std::string& gpu, Report& report)
      : d_(d), gpu_(gpu), report_(report) {
    ok_ = Check(d_, d_.StreamCreate(&stream_, cuda::kStreamNonBlocking), "cuStreamCreate", gpu_,
                report_) &&
          Check(d_, d_.EventCreate(&start_, cuda::kEventDefault), "cuEventCreate", gpu_, report_) &&
          Check(d_, d_.EventCreate(&end_, cuda::kEventDefault), "cuEventCreate", gpu_, report_);
  }
  ~Timer() {
    if (start_ != nullptr) d_.EventDestroy(start_);
    if (end_ != nullptr) d_.EventDestroy(end_);
    if (stream_ != nullptr) d_.StreamDestroy(stream_);
  }
  bool ok() const { return ok_; }
  cuda::CuStream stream() const { return stream_; }

  // One warm-up `issue`, then `iterations` timed ones; the event time in seconds, or < 0.
  double Time(int iterations, const char* call, const std::function<cuda::CuResult()>& issue) {
    if (!Check(d_, issue(), call, gpu_, report_) ||
        !Check(d_, d_.StreamSynchronize(stream_), "cuStreamSynchronize", gpu_, report_) ||
        !Check(d_, d_.EventRecord(start_, stream_), "cuEventRecord", gpu_, report_)) {
      return -1;
    }
    for (int i = 0; i < iterations; ++i) {
      if (!Check(d_, issue(), call, gpu_, report_)) return -1;
    }
    float milliseconds = 0;
    if (!Check(d_, d_.EventRecord(end_, stream_), "cuEventRecord", gpu_, report_) ||
        !Check(d_, d_.EventSynchronize(end_), "cuEventSynchronize", gpu_, report_) ||
        !Check(d_, d_.EventElapsedTime(&milliseconds, start_, end_), "cuEventElapsedTime", gpu_,
               report_)) {
      return -1;
    }
    return milliseconds / 1000.0;
  }

 private:
  const platform::CudaDriver& d_;
  const std::string& gpu_;
  Report& report_;
  cuda::CuStream stream_ = nullptr;
  cuda::CuEvent start_ = nullptr;
  cuda::CuEvent end_ = nullptr;
  bool ok_ = false;
};

void Record(Report& report, const char* direction, const std::string& gpu, const std::string& peer,
            const CopyOptions& options, double seconds) {
  if (seconds < 0) return;
  Copy copy{direction, gpu, peer, options.bytes, options.iterations, seconds, 0};
  if (seconds > 0) {
    copy.bytes_per_second = static_cast<double>(options.bytes) * options.iterations / seconds;
  }
  report.copies.push_back(std::move(copy));
}

// Device buffers on the current context, freed on every path.
struct DeviceBuffer {
  const platform::CudaDriver& d;
  cuda::CuDevicePtr pointer = 0;
  ~DeviceBuffer() {
    if (pointer != 0) d.MemFree(pointer);
  }
};

void LocalCopies(GpuSession& session, SessionDevice& device, const CopyOptions& options,
                 std::vector<std::string>& unplaced, Report& report) {
  const platform::CudaDriver& d = session.driver();
  const std::string& gpu = device.info.gpu;
  if (!session.PinToLocalCpus(device)) unplaced.push_back(gpu);
  if (!session.MakeCurrent(device, report)) return;
  void* host = nullptr;
  if (!Check(d, d.MemHostAlloc(&host, options.bytes, cuda::kMemHostAllocPortable), "cuMemHostAlloc",
             gpu, report)) {
    return;
  }
  std::memset(host, 0x5a, options.bytes);  // first touch: the pages land on this NUMA node
  {
    DeviceBuffer a{d}, b{d};
    Timer timer(d, gpu, report);
    if (timer.ok() && Check(d, d.MemAlloc(&a.pointer, options.bytes), "cuMemAlloc", gpu, report) &&
        Check(d, d.MemAlloc(&b.pointer, options.bytes), "cuMemAlloc", gpu, report)) {
      const cuda::CuStream s = timer.stream();
      Record(report, "host_to_device", gpu, "", options,
             timer.Time(options.iterations, "cuMemcpyHtoDAsync",
                        [&] { return d.MemcpyHtoDAsync(a.pointer, host, options.bytes, s); }));
      Record(report, "device_to_host", gpu, "", options,
             timer.Time(options.iterations, "cuMemcpyDtoHAsync",
                        [&] { return d.MemcpyDtoHAsync(host, a.pointer, options.bytes, s); }));
      Record(report, "device_to_device", gpu, "", options,
             timer.Time(options.iterations, "cuMemcpyDtoDAsync",
                        [&] { return d.MemcpyDtoDAsync(b.pointer, a.pointer, options.bytes, s); }));
    }
  }
  d.MemFreeHost(host);
}

void PeerCopy(GpuSession& session, SessionDevice& source, SessionDevice& target,
              const CopyOptions& options, Report& report) {
  const platform::CudaDriver& d = session.driver();
  const std::string& gpu = source.info.gpu;
  int can_access = 0;
  if (!Check(d, d.DeviceCanAccessPeer(&can_access, source.device, target.device),
             "cuDeviceCanAccessPeer", gpu, report)) {
    return;
  }
  if (can_access == 0) {
    report.notes.push_back(gpu + " cannot access " + target.info.gpu +
                           " as a peer: copies between them go through host memory");
  }
  if (!session.MakeCurrent(target, report)) return;
  DeviceBuffer destination{d};
  if (!Check(d, d.MemAlloc(&destination.pointer, options.bytes), "cuMemAlloc", target.info.gpu,
             report) ||
      !session.MakeCurrent(source, report)) {
    return;
  }
  if (can_access != 0) {
    const cuda::CuResult r = d.CtxEnablePeerAccess(target.context, 0);
    if (r != cuda::kErrorPeerAccessAlreadyEnabled &&
        !Check(d, r, "cuCtxEnablePeerAccess", gpu, report)) {
      return;
    }
  }
  DeviceBuffer origin{d};
  Timer timer(d, gpu, report);
  if (!timer.ok() ||
      !Check(d, d.MemAlloc(&origin.pointer, options.bytes), "cuMemAlloc", gpu, report)) {
    return;
  }
  const cuda::CuStream s = timer.stream();
  Record(report, "peer", gpu, target.info.gpu, options,
         timer.Time(options.iterations, "cuMemcpyPeerAsync", [&] {
           return d.MemcpyPeerAsync(destination.pointer, target.context, origin.pointer,
                                    source.context, options.bytes, s);
         }));
  // `origin` is freed in the source's context (current); `destination` after it: cuMemFree
  // finds a pointer's context itself.
}

}  // namespace

void RunCopies(GpuSession& session, const CopyOptions& options, Report& report) {
  std::vector<SessionDevice>& devices = session.devices();
  if (options.local) {
    std::vector<std::string> unplaced;  // GPUs whose local CPUs sysfs does not give
    for (SessionDevice& device : devices) LocalCopies(session, device, options, unplaced, report);
    if (!unplaced.empty()) {
      std::string list;
      for (const std::string& gpu : unplaced) list += (list.empty() ? "" : ", ") + gpu;
      report.notes.push_back("no local CPU list in sysfs for " + std::to_string(unplaced.size()) +
                             " GPU(s) (" + list +
                             "): their pinned host memory was not placed by NUMA node");
    }
  }
  if (options.peer) {
    for (SessionDevice& source : devices) {
      for (SessionDevice& target : devices) {
        if (&source != &target) PeerCopy(session, source, target, options, report);
      }
    }
  }
}

}  // namespace nodehealth::gpu_worker
