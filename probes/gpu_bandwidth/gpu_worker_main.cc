// nodehealth-gpu-worker: the GPU worker. Runs the copy and NCCL measurements (copy_bench.h,
// nccl_bench.h) and prints one JSON report (worker_report.h). It is a separate process so that
// a CUDA or NCCL call that never returns is ended by killing it (the probes' deadline), never by
// wedging the agent, and so that its GPU memory is released by the driver when it exits.
#include <cstdio>
#include <iostream>

#include "probes/gpu_bandwidth/worker_options.h"

using namespace nodehealth;

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  Expected<gpu_worker::WorkerOptions> options = gpu_worker::ParseWorkerOptions(args);
  if (!options) {
    std::cerr << "nodehealth-gpu-worker: " << options.error().message << "\n"
              << gpu_worker::WorkerUsage();
    return 2;
  }
  if (options->help) {
    std::cout << gpu_worker::WorkerUsage();
    return 0;
  }
  gpu_worker::Report report;
  Expected<std::shared_ptr<const platform::CudaDriver>> driver =
      platform::LoadCudaDriver(options->cuda_library);
  if (!driver) {
    report.errors.push_back({"load_cuda", "", 0, driver.error().message});
  } else if (auto session = gpu_worker::GpuSession::Open(*driver, options->sysfs_root, report)) {
    if (options->copies) gpu_worker::RunCopies(*session, options->copy, report);
    if (options->nccl && report.errors.empty()) {
      Expected<std::shared_ptr<const platform::NcclLibrary>> nccl =
          platform::LoadNcclLibrary(options->nccl_library);
      if (!nccl) {
        report.errors.push_back({"load_nccl", "", 0, nccl.error().message});
      } else {
        gpu_worker::RunNccl(*session, *nccl, options->nccl_options, report);
      }
    }
  }
  std::cout << gpu_worker::ToJson(report) << std::endl;
  return 0;
}
