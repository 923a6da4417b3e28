#include "probes/gpu_bandwidth/gpu_bandwidth_probe.h"

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/gpu_bandwidth/bandwidth_judgement.h"
#include "probes/platform/cuda_driver_abi.h"

namespace nodehealth {
namespace gpu_worker {
namespace {

// What a failing cuInit usually means on a cluster node (CUDA driver API documentation).
std::string InitHint(int code) {
  switch (code) {
    case cuda::kErrorNoDevice:
      return ": CUDA sees no GPU (CUDA_VISIBLE_DEVICES, cgroup device rules or a driver that "
             "cannot attach)";
    case cuda::kErrorStubLibrary:
      return ": the libcuda.so.1 found is the CUDA toolkit's stub, not the driver's library";
    case cuda::kErrorSystemDriverMismatch:
      return ": the user-space driver library does not match the loaded kernel module (reboot, "
             "or reinstall one driver version)";
    case cuda::kErrorDeviceUnavailable:
      return ": a GPU is busy or in exclusive-process mode held by another process";
    case cuda::kErrorNotInitialized:
    case cuda::kErrorUnknown:
      return ": the driver could not initialise the GPUs (see the kernel log for XIDs)";
    default:
      return "";
  }
}

}  // namespace

std::string SysfsRoot(const ProbeContext& context) {
  std::string root = context.fs.HostPath("/");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root.empty() ? "/" : root;
}

LibraryMissing ErrorFindings(const Report& report, std::string_view failed_code,
                             const std::string& command, ProbeResult& result) {
  for (const StageError& e : report.errors) {
    if (e.stage == "load_cuda" || e.stage == "load_nccl") return {true, e.message};
  }
  for (const StageError& e : report.errors) {
    const std::string entity = e.gpu.empty() || e.gpu.rfind("ordinal ", 0) == 0
                                   ? std::string(kNodeEntity)
                                   : GpuEntity(e.gpu);
    const std::string hint = e.stage == "cuInit" ? InitHint(e.code) : "";
    result.findings.push_back(MakeFinding(
        failed_code, entity, e.message + hint + (entity == kNodeEntity ? "" : " on GPU " + e.gpu),
        {{command, e.message, e.stage + " succeeds"}}));
  }
  return {};
}

}  // namespace gpu_worker

GpuBandwidthProbe::GpuBandwidthProbe(gpu_worker::WorkerRunner runner)
    : runner_(std::move(runner)) {}

const ProbeInfo& GpuBandwidthProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_bandwidth",
      .kind = ProbeKind::kActive,
      .summary =
          "GPU copy bandwidth: host<->device, device->device and every GPU pair (CUDA driver "
          "API in nodehealth-gpu-worker), the slow GPU or pair named",
      .reads = {"libcuda.so.1", "nodehealth-gpu-worker"},
      .codes = {codes::kGpuCopyBandwidthLow, codes::kGpuPeerBandwidthLow, codes::kGpuCopyFailed,
                codes::kProbeTimeout},
      .timeout = std::chrono::seconds(300),
      .measurements =
          {
              GaugeMeasurement("gpu_copy_bandwidth_bytes_per_second", "bytes_per_second",
                               "GPU copy bandwidth by direction (host_to_device, device_to_host, "
                               "device_to_device), CUDA event time",
                               {"direction", "gpu"}),
              GaugeMeasurement("gpu_peer_bandwidth_bytes_per_second", "bytes_per_second",
                               "GPU-to-GPU copy bandwidth from gpu to peer (cuMemcpyPeerAsync)",
                               {"gpu", "peer"}),
          },
      .subject = ProbeSubject::kGpu,
  };
  return kInfo;
}

ProbeResult GpuBandwidthProbe::Run(const ProbeContext& context) const {
  ProbeResult result;
  result.name = "gpu_bandwidth";
  static const GpuBandwidthExpectations kDefaults;
  const GpuBandwidthExpectations& s = context.profile ? context.profile->gpu_bandwidth : kDefaults;
  if (!s.required && context.inventory.PciGpus().empty()) {
    MarkSkipped(result, "no NVIDIA GPU on PCI");
    return result;
  }
  gpu_worker::WorkerOptions options;
  options.cuda_library = context.cuda_library;
  options.sysfs_root = gpu_worker::SysfsRoot(context);
  options.copies = true;
  options.copy.bytes = s.copy_bytes;
  options.copy.iterations = s.iterations;
  gpu_worker::CopyFloors floors;
  auto bytes = [](const std::optional<double>& gb) -> std::optional<double> {
    return gb ? std::optional<double>(*gb * 1e9) : std::nullopt;
  };
  floors.host_device = bytes(s.host_device_gigabytes_per_second_min);
  floors.device = bytes(s.device_gigabytes_per_second_min);
  floors.peer = bytes(s.peer_gigabytes_per_second_min);
  floors.warn_margin = s.warn_margin_percent / 100;
  floors.outlier_fraction = s.outlier_fraction;

  gpu_worker::WorkerOutcome first =
      gpu_worker::RunGpuWorker(runner_, options, {}, context.deadline, codes::kGpuCopyFailed);
  if (!first.finished) {
    for (Finding& f : first.findings) {
      if (f.code == codes::kProbeTimeout) {
        MarkUndecided(result, f.code, f.entity, f.message, f.evidence);
        return result;
      }
      result.findings.push_back(std::move(f));
    }
    FinalizeVerdict(result);
    return result;
  }
  const gpu_worker::LibraryMissing missing =
      gpu_worker::ErrorFindings(first.report, codes::kGpuCopyFailed, first.command, result);
  if (missing.missing) {
    if (!s.required) {
      MarkSkipped(result, "cannot load the CUDA driver: " + missing.reason);
      return result;
    }
    result.findings.push_back(MakeFinding(codes::kGpuCopyFailed, std::string(kNodeEntity),
                                          "the profile requires the GPU copy test but the CUDA "
                                          "driver cannot be loaded: " +
                                              missing.reason,
                                          {{first.command, missing.reason, "libcuda.so.1"}}));
  }
  std::vector<gpu_worker::Copy> copies = first.report.copies;
  if (gpu_worker::AnyLow(copies, floors)) {
    // One low run may be another process on the GPU or a page-cache flush: measure again.
    gpu_worker::WorkerOutcome second =
        gpu_worker::RunGpuWorker(runner_, options, {}, context.deadline, codes::kGpuCopyFailed);
    if (second.finished) {
      copies = gpu_worker::BestOf(copies, second.report.copies);
      result.notes.push_back("a copy figure was low: measured twice, the better figure judged");
    } else {
      result.notes.push_back(
          "a copy figure was low and the second run did not finish: the first "
          "run's figures judged");
    }
  }
  for (Finding& f : gpu_worker::JudgeCopies(copies, floors, first.report.devices)) {
    result.findings.push_back(std::move(f));
  }
  result.measurements = gpu_worker::CopyMeasurements(copies);
  for (const std::string& note : first.report.notes) result.notes.push_back(note);
  if (!floors.host_device && !floors.device && !floors.peer) {
    result.notes.push_back("no copy floors in the profile: GPUs compared with each other only");
  }
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
