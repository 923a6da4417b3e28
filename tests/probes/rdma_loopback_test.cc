#include "probes/rdma_loopback/rdma_loopback_probe.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "probes/rdma_loopback/gpu_pairing.h"
#include "probes/rdma_loopback/loopback_measure.h"
#include "tests/fakes/rdma/fake_rdma_provider.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::CountFindings;
using testing::FakeRdmaProvider;
using testing::FindFinding;
using testing::FindMeasurement;
using testing::FixtureNode;
using testing::ShippedProfile;

class RdmaLoopbackTest : public ::testing::Test {
 protected:
  RdmaLoopbackTest() : shared_(std::make_shared<FakeRdmaProvider::Shared>()) {
    shared_->devices =
        std::vector<std::string>{"mlx5_an0", "mlx5_ib0", "mlx5_ib1", "mlx5_ib2", "mlx5_ib3",
                                 "mlx5_ib4", "mlx5_ib5", "mlx5_ib6", "mlx5_ib7"};
    profile_ = ShippedProfile("azure-nd96isr-h100-v5");
    profile_.rdma_loopback.duration_seconds = 0.05;  // simulated time: keeps sample counts small
  }

  RdmaLoopbackProbe MakeProbe() {
    auto shared = shared_;
    return RdmaLoopbackProbe(
        {.make_provider = [shared] { return std::make_unique<FakeRdmaProvider>(shared); },
         .lock_limits = [this] { return limits_; },
         .clock = [shared] { return shared->Now(); }});
  }

  std::shared_ptr<FakeRdmaProvider::Shared> shared_;
  Profile profile_;
  LockLimits limits_{std::nullopt, false};
};

TEST_F(RdmaLoopbackTest, NoVerbsSupportSkipsWithThePlainReason) {
  shared_->devices = MakeError("ibv_get_device_list: Function not implemented (errno 38)", ENOSYS);
  FixtureNode node("no-gpu.toml");
  ProbeResult r = node.Run(MakeProbe(), nullptr);
  EXPECT_EQ(r.verdict, ProbeVerdict::kSkip);
  EXPECT_EQ(r.skip_reason,
            "no RDMA device on this node (ibv_get_device_list: Function not implemented (errno "
            "38))");
}

TEST_F(RdmaLoopbackTest, NoDeviceWhereTheProfileExpectsPortsFails) {
  shared_->devices = std::vector<std::string>{};
  FixtureNode node("h100-vm.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "rdma_loopback_failed");
  EXPECT_EQ(r.findings[0].entity, "node");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "libibverbs lists no RDMA device");
  EXPECT_EQ(r.findings[0].evidence[0].expected, "8 InfiniBand ports");
}

TEST_F(RdmaLoopbackTest, HealthyRailsAreMeasuredOnTheirNumaNode) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  for (int i = 0; i < 8; ++i) {
    const std::map<std::string, std::string> port = {{"device", "mlx5_ib" + std::to_string(i)},
                                                     {"port", "1"}};
    const Measurement* bw = FindMeasurement(r, "rdma_loopback_bandwidth_bytes_per_second", port);
    ASSERT_NE(bw, nullptr) << i;
    EXPECT_NEAR(bw->value, 49e9, 1e3);
    EXPECT_NEAR(FindMeasurement(r, "rdma_loopback_latency_seconds", port)->value, 2e-6, 1e-12);
  }
  // The Ethernet mlx5_an0 is not a rail of this profile: not tested.
  EXPECT_EQ(
      FindMeasurement(r, "rdma_loopback_bandwidth_bytes_per_second", {{"device", "mlx5_an0"}}),
      nullptr);
  ASSERT_EQ(shared_->connects.size(), 8u);
  EXPECT_EQ(shared_->connects[0].device, "mlx5_ib0");
  EXPECT_EQ(shared_->connects[0].numa_node, 0);
  EXPECT_EQ(shared_->connects[5].numa_node, 1);
  EXPECT_EQ(shared_->connects[5].buffer_bytes, 8u << 20);
  EXPECT_EQ(shared_->connects[5].depth, 128);
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "GPUDirect RDMA not tested: dlopen libcuda.so.1: not found"),
            r.notes.end());
}

TEST_F(RdmaLoopbackTest, SlowPortIsBandwidthLowAgainstTheAzureFloor) {
  shared_->ports["mlx5_ib3/1"].bytes_per_second = 45e9;  // 360 Gb/s
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "rdma_loopback_bandwidth_low");
  EXPECT_EQ(f.entity, "hca/mlx5_ib3/1");
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.evidence[0].source,
            "rdma_loopback host memory (8388608-byte RDMA WRITEs, 128 in flight)");
  EXPECT_EQ(f.evidence[0].observed, "360.0 Gb/s");
  EXPECT_EQ(f.evidence[0].expected, ">= 390.0 Gb/s");
}

TEST_F(RdmaLoopbackTest, VerbsFailureNamesTheCallAndErrno) {
  shared_->ports["mlx5_ib2/1"].connect_error =
      MakeError("ibv_modify_qp(RTR): Connection timed out (errno 110)", 110);
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.code, "rdma_loopback_failed");
  EXPECT_EQ(f.entity, "hca/mlx5_ib2/1");
  EXPECT_EQ(f.evidence[0].source, "libibverbs");
  EXPECT_EQ(f.evidence[0].observed, "ibv_modify_qp(RTR): Connection timed out (errno 110)");
  // The other seven ports were still tested.
  EXPECT_EQ(shared_->connects.size(), 8u);
}

TEST_F(RdmaLoopbackTest, CompletionsThatNeverComeTimeOutIntoAFinding) {
  shared_->ports["mlx5_ib7/1"].hang = true;
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  const Finding* f = FindFinding(r, "rdma_loopback_failed", "hca/mlx5_ib7/1");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].observed,
            "timed out waiting for completions (128 RDMA WRITEs outstanding)");
}

TEST_F(RdmaLoopbackTest, SmallMemlockLimitIsAFindingThatSaysSo) {
  limits_ = {8u << 20, false};
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "rdma_loopback_failed");
  EXPECT_EQ(r.findings[0].entity, "node");
  EXPECT_EQ(r.findings[0].evidence[0].source, "RLIMIT_MEMLOCK");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "8 MiB");
  EXPECT_EQ(r.findings[0].evidence[0].expected, ">= 17 MiB");
  EXPECT_NE(r.findings[0].message.find("LimitMEMLOCK=infinity"), std::string::npos);
  EXPECT_TRUE(shared_->connects.empty());
  // CAP_IPC_LOCK makes the limit irrelevant.
  limits_ = {8u << 20, true};
  EXPECT_EQ(node.Run(MakeProbe(), &profile_).verdict, ProbeVerdict::kPass);
}

TEST_F(RdmaLoopbackTest, GpuDirectVariantUsesGpuMemoryAndItsOwnFloor) {
  shared_->gpus = 8;
  shared_->cuda_bus_ids = {"0000:53:00.0", "0000:64:00.0", "0000:75:00.0", "0000:86:00.0",
                           "0000:97:00.0", "0000:a8:00.0", "0000:b9:00.0", "0000:ca:00.0"};
  shared_->ports["mlx5_ib4/1"].gpu_bytes_per_second = 46e9;  // 368 Gb/s < 380
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  ASSERT_EQ(shared_->connects.size(), 16u);
  EXPECT_EQ(shared_->connects[1].memory, rdma::Memory::kGpu);
  EXPECT_EQ(shared_->connects[9].gpu_ordinal, 4);
  EXPECT_NEAR(FindMeasurement(r, "rdma_loopback_gpu_bandwidth_bytes_per_second",
                              {{"device", "mlx5_ib0"}, {"port", "1"}, {"gpu", "0"}})
                  ->value,
              48e9, 1e3);
  ASSERT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  EXPECT_EQ(r.findings[0].code, "rdma_loopback_bandwidth_low");
  EXPECT_EQ(r.findings[0].entity, "hca/mlx5_ib4/1");
  EXPECT_EQ(r.findings[0].evidence[0].observed, "368.0 Gb/s");
  EXPECT_EQ(r.findings[0].evidence[0].expected, ">= 380.0 Gb/s");
}

// The Azure fixture's GPUs in PCI order: CUDA's order there too unless a test says otherwise.
const std::vector<std::string> kAzureGpus = {"0000:53:00.0", "0000:64:00.0", "0000:75:00.0",
                                             "0000:86:00.0", "0000:97:00.0", "0000:a8:00.0",
                                             "0000:b9:00.0", "0000:ca:00.0"};

// The CUDA device each port's GPUDirect variant wrote into, by "device/port".
std::map<std::string, int> GpuOrdinalsUsed(const FakeRdmaProvider::Shared& shared) {
  std::map<std::string, int> out;
  for (const rdma::LoopbackConfig& c : shared.connects) {
    if (c.memory == rdma::Memory::kGpu)
      out[c.device + "/" + std::to_string(c.port)] = c.gpu_ordinal;
  }
  return out;
}

TEST_F(RdmaLoopbackTest, GpuDirectPairsEachPortWithTheGpuOnItsSocket) {
  // mlx5_ib3 is down: by position, mlx5_ib4 (NUMA node 1) became the 4th tested port and wrote
  // into CUDA device 3, a GPU on NUMA node 0, so its figure measured the socket link. The
  // topology pairs it with a GPU of its own NUMA node.
  shared_->gpus = 8;
  shared_->cuda_bus_ids = kAzureGpus;
  FixtureNode node("fault-ib-port-down.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  const std::map<std::string, int> expected = {
      {"mlx5_ib0/1", 0}, {"mlx5_ib1/1", 1}, {"mlx5_ib2/1", 2}, {"mlx5_ib4/1", 4},
      {"mlx5_ib5/1", 5}, {"mlx5_ib6/1", 6}, {"mlx5_ib7/1", 7}};
  EXPECT_EQ(GpuOrdinalsUsed(*shared_), expected);
  EXPECT_NE(FindMeasurement(r, "rdma_loopback_gpu_bandwidth_bytes_per_second",
                            {{"device", "mlx5_ib4"}, {"port", "1"}, {"gpu", "4"}}),
            nullptr);
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "GPUDirect pairs from the topology: mlx5_ib0/1 -> 0000:53:00.0 (CUDA 0, "
                      "NODE), mlx5_ib1/1 -> 0000:64:00.0 (CUDA 1, NODE), mlx5_ib2/1 -> "
                      "0000:75:00.0 (CUDA 2, NODE), mlx5_ib4/1 -> 0000:97:00.0 (CUDA 4, NODE), "
                      "mlx5_ib5/1 -> 0000:a8:00.0 (CUDA 5, NODE), mlx5_ib6/1 -> 0000:b9:00.0 "
                      "(CUDA 6, NODE), mlx5_ib7/1 -> 0000:ca:00.0 (CUDA 7, NODE)"),
            r.notes.end())
      << testing::DescribeResult(r);
}

TEST_F(RdmaLoopbackTest, GpuDirectUsesCudasNumberingNotPciOrder) {
  // CUDA numbers devices fastest first: here in reverse PCI order.
  shared_->gpus = 8;
  shared_->cuda_bus_ids.assign(kAzureGpus.rbegin(), kAzureGpus.rend());
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  const std::map<std::string, int> used = GpuOrdinalsUsed(*shared_);
  EXPECT_EQ(used.at("mlx5_ib0/1"), 7);  // 0000:53:00.0
  EXPECT_EQ(used.at("mlx5_ib7/1"), 0);  // 0000:ca:00.0
  EXPECT_NE(FindMeasurement(r, "rdma_loopback_gpu_bandwidth_bytes_per_second",
                            {{"device", "mlx5_ib0"}, {"port", "1"}, {"gpu", "7"}}),
            nullptr);
}

TEST_F(RdmaLoopbackTest, GpuDirectFallsBackToPositionAndSaysWhy) {
  shared_->gpus = 8;  // and CUDA names no bus id
  FixtureNode node("fault-ib-port-down.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  EXPECT_EQ(GpuOrdinalsUsed(*shared_).at("mlx5_ib4/1"), 3);
  const auto note = std::find_if(r.notes.begin(), r.notes.end(), [](const std::string& n) {
    return n.starts_with("GPUDirect pairs by position: ");
  });
  ASSERT_NE(note, r.notes.end()) << testing::DescribeResult(r);
  EXPECT_NE(note->find("mlx5_ib4/1 -> CUDA 3 (cuDeviceGetByPCIBusId(0000:97:00.0): "
                       "CUDA_ERROR_INVALID_DEVICE (101))"),
            std::string::npos)
      << *note;
}

TEST(GpuPairingTest, PixPairsWinWhateverTheOrder) {
  // A DGX-like board: each GPU shares a PCIe switch with one HCA, listed in another order.
  using topo::Device;
  using topo::DeviceKind;
  topo::Topology t;
  auto device = [](DeviceKind kind, std::string bus, std::vector<std::string> path, int numa) {
    Device d;
    d.kind = kind;
    d.bus_id = std::move(bus);
    d.pci_path = std::move(path);
    d.numa_nodes = {numa};
    return d;
  };
  t.devices = {
      device(DeviceKind::kGpu, "0000:18:00.0", {"0000:17:00.0", "0000:16:00.0", "host:0000:15"}, 0),
      device(DeviceKind::kHca, "0000:19:00.0", {"0000:17:01.0", "0000:16:00.0", "host:0000:15"}, 0),
      device(DeviceKind::kGpu, "0000:b8:00.0", {"0000:b7:00.0", "0000:b6:00.0", "host:0000:b5"}, 1),
      device(DeviceKind::kHca, "0000:b9:00.0", {"0000:b7:01.0", "0000:b6:00.0", "host:0000:b5"}, 1),
  };
  const auto pairs =
      rdma::PairHcasWithGpus(t, {"0000:b9:00.0", "0000:19:00.0", "0000:77:00.0", "0000:19:00.0"});
  ASSERT_EQ(pairs.size(), 4u);
  ASSERT_TRUE(pairs[0] && pairs[1] && pairs[3]);
  EXPECT_EQ(pairs[0]->gpu_bus_id, "0000:b8:00.0");
  EXPECT_EQ(pairs[0]->path, topo::PathClass::kPix);
  EXPECT_EQ(pairs[1]->gpu_bus_id, "0000:18:00.0");
  EXPECT_FALSE(pairs[2]);  // not in the topology
  // A second port of the first HCA: every GPU is taken, so it shares its closest one.
  EXPECT_EQ(pairs[3]->gpu_bus_id, "0000:18:00.0");
  EXPECT_TRUE(rdma::PairHcasWithGpus(topo::Topology{}, {"0000:19:00.0"})[0] == std::nullopt);
}

TEST_F(RdmaLoopbackTest, RequiredGpuDirectThatIsMissingFails) {
  profile_.rdma_loopback.gpudirect = "required";
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  const Finding* f = FindFinding(r, "rdma_loopback_failed", "node");
  ASSERT_NE(f, nullptr) << testing::DescribeResult(r);
  EXPECT_EQ(f->evidence[0].observed, "dlopen libcuda.so.1: not found");
}

TEST_F(RdmaLoopbackTest, ParallelModeTestsEveryPort) {
  profile_.rdma_loopback.parallel = true;
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  EXPECT_EQ(shared_->connects.size(), 8u);
  int measured = 0;
  for (const Measurement& m : r.measurements) {
    measured += m.name == "rdma_loopback_bandwidth_bytes_per_second" ? 1 : 0;
  }
  EXPECT_EQ(measured, 8);
}

TEST_F(RdmaLoopbackTest, DownPortIsNotTestedAndSaysWhy) {
  FixtureNode node("fault-ib-port-down.toml");
  ProbeResult r = node.Run(MakeProbe(), &profile_);
  EXPECT_EQ(shared_->connects.size(), 7u);
  EXPECT_NE(std::find(r.notes.begin(), r.notes.end(),
                      "mlx5_ib3 port 1 is not ACTIVE, not tested (ib_ports reports it)"),
            r.notes.end());
}

TEST(GidSelectionTest, PrefersRoceV2Ipv4MappedOnThePort) {
  using rdma::GidEntry;
  auto gid = [](std::initializer_list<uint8_t> head, std::initializer_list<uint8_t> tail) {
    std::array<uint8_t, 16> g{};
    std::copy(head.begin(), head.end(), g.begin());
    std::copy(tail.begin(), tail.end(), g.end() - tail.size());
    return g;
  };
  const std::vector<GidEntry> table = {
      {0, 1, gid({0xfe, 0x80}, {0x01}), GidEntry::Type::kRoceV1},
      {1, 1, gid({0xfe, 0x80}, {0x01}), GidEntry::Type::kRoceV2},
      {2, 1, gid({}, {0xff, 0xff, 10, 0, 0, 5}), GidEntry::Type::kRoceV1},
      {3, 1, gid({}, {0xff, 0xff, 10, 0, 0, 5}), GidEntry::Type::kRoceV2},
      {4, 2, gid({}, {0xff, 0xff, 10, 0, 1, 5}), GidEntry::Type::kRoceV2},
      {5, 1, gid({0x20, 0x01, 0x0d, 0xb8}, {0x07}), GidEntry::Type::kRoceV2},
  };
  EXPECT_EQ(rdma::ChooseRoceV2Gid(table, 1)->index, 3);
  EXPECT_EQ(rdma::ChooseRoceV2Gid(table, 2)->index, 4);
  const std::vector<GidEntry> link_local_only = {table[0], table[1]};
  EXPECT_EQ(rdma::ChooseRoceV2Gid(link_local_only, 1)->index, 1);
  const std::vector<GidEntry> v1_only = {table[0], table[2]};
  EXPECT_FALSE(rdma::ChooseRoceV2Gid(v1_only, 1));
  EXPECT_FALSE(rdma::ChooseRoceV2Gid({{0, 1, {}, GidEntry::Type::kRoceV2}}, 1));
}

}  // namespace
}  // namespace nodehealth
