#include "tests/fakes/rdma/fake_rdma_provider.h"

#include <algorithm>

namespace nodehealth::testing {
namespace {

class FakePair final : public rdma::LoopbackPair {
 public:
  FakePair(std::shared_ptr<FakeRdmaProvider::Shared> shared, FakePortBehaviour behaviour,
           rdma::Memory memory)
      : shared_(std::move(shared)), behaviour_(behaviour), memory_(memory) {}

  Expected<bool> PostWrite(uint64_t bytes) override {
    in_flight_.push_back(bytes);
    return true;
  }

  Expected<int> Poll(int max) override {
    if (behaviour_.hang) {
      shared_->Advance(1);  // time passes, nothing completes
      return 0;
    }
    int done = 0;
    while (done < max && !in_flight_.empty()) {
      const uint64_t bytes = in_flight_.front();
      in_flight_.erase(in_flight_.begin());
      const double rate = memory_ == rdma::Memory::kGpu ? behaviour_.gpu_bytes_per_second
                                                        : behaviour_.bytes_per_second;
      shared_->Advance(bytes <= 64 ? behaviour_.latency_seconds
                                   : static_cast<double>(bytes) / rate);
      ++done;
    }
    return done;
  }

  std::string Addressing() const override { return "InfiniBand LID 0x10"; }

 private:
  std::shared_ptr<FakeRdmaProvider::Shared> shared_;
  FakePortBehaviour behaviour_;
  rdma::Memory memory_;
  std::vector<uint64_t> in_flight_;
};

}  // namespace

Expected<int> FakeRdmaProvider::GpuOrdinal(const std::string& pci_bus_id) {
  const auto& ids = shared_->cuda_bus_ids;
  const auto it = std::find(ids.begin(), ids.end(), pci_bus_id);
  if (it == ids.end()) {
    return MakeError("cuDeviceGetByPCIBusId(" + pci_bus_id + "): CUDA_ERROR_INVALID_DEVICE (101)");
  }
  return static_cast<int>(it - ids.begin());
}

Expected<std::unique_ptr<rdma::LoopbackPair>> FakeRdmaProvider::Connect(
    const rdma::LoopbackConfig& config) {
  FakePortBehaviour behaviour;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->connects.push_back(config);
    behaviour = shared_->ports[config.device + "/" + std::to_string(config.port)];
  }
  if (behaviour.connect_error) return *behaviour.connect_error;
  return std::unique_ptr<rdma::LoopbackPair>(
      std::make_unique<FakePair>(shared_, behaviour, config.memory));
}

}  // namespace nodehealth::testing
