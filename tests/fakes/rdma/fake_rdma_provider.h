// A scripted rdma::Provider for the rdma_loopback probe's control flow. Time is simulated: the
// fake clock advances only when a completion is polled, by message size / the port's bandwidth
// (pipelined WRITEs) or by the port's latency (one small WRITE in flight), so measured values are
// exact and the tests never sleep.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "probes/rdma_loopback/rdma_provider.h"

namespace nodehealth::testing {

struct FakePortBehaviour {
  double bytes_per_second = 49e9;  // 392 Gb/s
  double gpu_bytes_per_second = 48e9;
  double latency_seconds = 2e-6;
  std::optional<Error> connect_error;  // returned by Connect
  bool hang = false;                   // completions never arrive
};

class FakeRdmaProvider final : public rdma::Provider {
 public:
  struct Shared {
    std::mutex mutex;   // parallel mode: ports poll from several threads
    double now = 1000;  // the simulated clock
    double Now() {
      std::lock_guard<std::mutex> lock(mutex);
      return now;
    }
    void Advance(double seconds) {
      std::lock_guard<std::mutex> lock(mutex);
      now += seconds;
    }
    std::map<std::string, FakePortBehaviour> ports;  // "mlx5_ib0/1"
    Expected<std::vector<std::string>> devices = std::vector<std::string>{};
    Expected<int> gpus = MakeError("dlopen libcuda.so.1: not found", 2);
    // CUDA's view of the GPUs: the bus id of ordinal 0, 1, ... (empty: CUDA names none).
    std::vector<std::string> cuda_bus_ids;
    std::vector<rdma::LoopbackConfig> connects;  // every Connect call, in order
  };

  explicit FakeRdmaProvider(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  Expected<std::vector<std::string>> ListDevices() override { return shared_->devices; }
  Expected<int> GpuDirectDevices() override { return shared_->gpus; }
  Expected<int> GpuOrdinal(const std::string& pci_bus_id) override;
  Expected<std::unique_ptr<rdma::LoopbackPair>> Connect(
      const rdma::LoopbackConfig& config) override;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace nodehealth::testing
