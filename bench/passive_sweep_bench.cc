// The passive sweep of the four GPU probes on the 8-GPU fixture node (Dell XE9680: 517 PCI
// functions from its real lspci capture, 8 H100s through the fake NVML, its real kernel log).
//
// CPU time is the benchmark thread's: the probes' own work (sysfs reads, parsing, evaluation)
// plus handing work to the NVML thread. What runs on the NVML thread (NVML itself, here the fake)
// is excluded, as the issue asks; the *_ProcessCpu variants include it for comparison.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "probes/all_probes.h"
#include "probes/gpu_common/node_inventory.h"
#include "probes/gpu_xid/gpu_xid_probe.h"
#include "probes/ib_ports/ib_ports_probe.h"
#include "probes/ib_ports/ib_sysfs.h"
#include "probes/util/lines.h"
#include "tests/support/fixture_node.h"
#include "tests/support/scenario.h"

namespace nodehealth {
namespace {

using namespace std::chrono_literals;

struct Node {
  testing::TempDir dir;
  std::unique_ptr<platform::RootedFileSystem> fs;
  std::unique_ptr<platform::NvmlRuntime> nvml;

  Node() {
    const std::string scenario = testing::ScenarioPath("hgx-h100-xe9680.toml");
    if (!testing::MaterializeNode(scenario, dir.path())) std::abort();
    ::setenv("NODEHEALTH_FAKE_NVML", scenario.c_str(), 1);
    fs = std::make_unique<platform::RootedFileSystem>(dir.path());
    // One runtime for all iterations, as the agent keeps NVML open between rounds.
    nvml = std::make_unique<platform::NvmlRuntime>(NODEHEALTH_FAKE_NVML_LIBRARY);
  }
};

Node& TheNode() {
  static Node node;
  return node;
}

void Sweep(benchmark::State& state) {
  Node& node = TheNode();
  Profile profile;
  profile.name = "bench";
  profile.gpu.count = 8;
  profile.gpu.model = "H100";
  for (auto _ : state) {
    const NodeInventory inventory = GatherNodeInventory(*node.fs);
    ProbeContext context{.fs = *node.fs,
                         .nvml = node.nvml.get(),
                         .profile = &profile,
                         .inventory = inventory,
                         .deadline = platform::Deadline::In(10s)};
    for (const auto& probe : AllProbes()) {
      if (!probe->info().name.starts_with("gpu_")) continue;  // the four GPU probes only
      ProbeResult result = probe->Run(context);
      benchmark::DoNotOptimize(result);
    }
  }
}
BENCHMARK(Sweep)->Name("PassiveSweep/8xH100/NvmlExcluded")->Unit(benchmark::kMillisecond);
BENCHMARK(Sweep)
    ->Name("PassiveSweep/8xH100/ProcessCpu")
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void Inventory(benchmark::State& state) {
  Node& node = TheNode();
  for (auto _ : state) benchmark::DoNotOptimize(GatherNodeInventory(*node.fs));
}
BENCHMARK(Inventory)->Name("PciInventory/517Functions")->Unit(benchmark::kMicrosecond);

void OneProbe(benchmark::State& state, std::string_view name) {
  Node& node = TheNode();
  const NodeInventory inventory = GatherNodeInventory(*node.fs);
  const Probe* probe = FindProbe(name);
  for (auto _ : state) {
    ProbeContext context{.fs = *node.fs,
                         .nvml = node.nvml.get(),
                         .inventory = inventory,
                         .deadline = platform::Deadline::In(10s)};
    benchmark::DoNotOptimize(probe->Run(context));
  }
}
BENCHMARK_CAPTURE(OneProbe, gpu_presence, "gpu_presence")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(OneProbe, gpu_driver, "gpu_driver")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(OneProbe, gpu_health, "gpu_health")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(OneProbe, gpu_xid, "gpu_xid")->Unit(benchmark::kMicrosecond);

// ib_ports on InfiniBand fixture trees: gpud's real 8x H100 /sys/class/infiniband (9 devices, 486
// files; no PCI links) and the Azure ND H100 v5 fixture (the same trees plus PCI functions, NUMA
// and net links, 8 GPUs). Target: at most 1 ms of CPU per run on the 8x H100 tree.
void IbPorts(benchmark::State& state, const char* scenario_name) {
  static std::map<std::string, std::unique_ptr<testing::TempDir>> roots;
  auto& root = roots[scenario_name];
  if (!root) {
    root = std::make_unique<testing::TempDir>();
    if (!testing::MaterializeNode(testing::ScenarioPath(scenario_name), root->path())) std::abort();
  }
  platform::RootedFileSystem fs(root->path());
  const NodeInventory inventory = GatherNodeInventory(fs);
  Profile profile;
  profile.name = "bench";
  profile.infiniband.port_count = 8;
  profile.infiniband.rate_gbps = 400;
  const Probe* probe = FindProbe("ib_ports");
  for (auto _ : state) {
    ProbeContext context{.fs = fs,
                         .profile = &profile,
                         .inventory = inventory,
                         .deadline = platform::Deadline::In(10s)};
    benchmark::DoNotOptimize(probe->Run(context));
  }
}
BENCHMARK_CAPTURE(IbPorts, gpud_8xH100, "ib-gpud-h100.toml")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(IbPorts, azure_nd96isr_h100_v5, "azure-nd96isr-h100-v5.toml")
    ->Unit(benchmark::kMicrosecond);

// pcie_health on the AER fixture: the XE9680's 517-function PCI tree with a real sysfs hierarchy
// for one GPU, 27 functions judged (8 GPUs, 4 NVSwitches, HCAs, NVMe, the bridges above GPU
// 0000:19:00.0), each with its three aer_dev_* files, plus the kernel log. Target: at most 2 ms
// of CPU per run, a passive probe's share of a round.
void PcieHealth(benchmark::State& state, const char* scenario_name) {
  static std::map<std::string, std::unique_ptr<testing::TempDir>> roots;
  auto& root = roots[scenario_name];
  if (!root) {
    root = std::make_unique<testing::TempDir>();
    if (!testing::MaterializeNode(testing::ScenarioPath(scenario_name), root->path())) std::abort();
  }
  platform::RootedFileSystem fs(root->path());
  const NodeInventory inventory = GatherNodeInventory(fs);
  const Probe* probe = FindProbe("pcie_health");
  for (auto _ : state) {
    ProbeContext context{.fs = fs, .inventory = inventory, .deadline = platform::Deadline::In(10s)};
    benchmark::DoNotOptimize(probe->Run(context));
  }
}
BENCHMARK_CAPTURE(PcieHealth, xe9680_aer, "fault-pcie-aer.toml")->Unit(benchmark::kMicrosecond);

// The two halves of ib_ports on the 8x H100 tree: reading sysfs, and judging what was read.
void IbScanOnly(benchmark::State& state) {
  testing::TempDir root;
  if (!testing::MaterializeNode(testing::ScenarioPath("ib-gpud-h100.toml"), root.path())) {
    std::abort();
  }
  platform::RootedFileSystem fs(root.path());
  for (auto _ : state) benchmark::DoNotOptimize(ib::ScanInfiniband(fs));
}
BENCHMARK(IbScanOnly)->Name("IbPorts/gpud_8xH100/ScanOnly")->Unit(benchmark::kMicrosecond);

void IbEvaluateOnly(benchmark::State& state) {
  testing::TempDir root;
  if (!testing::MaterializeNode(testing::ScenarioPath("ib-gpud-h100.toml"), root.path())) {
    std::abort();
  }
  platform::RootedFileSystem fs(root.path());
  const Expected<ib::Scan> scan = ib::ScanInfiniband(fs);
  Profile profile;
  profile.infiniband.port_count = 8;
  profile.infiniband.rate_gbps = 400;
  for (auto _ : state) benchmark::DoNotOptimize(EvaluateIbPorts(*scan, &profile, {}));
}
BENCHMARK(IbEvaluateOnly)->Name("IbPorts/gpud_8xH100/EvaluateOnly")->Unit(benchmark::kMicrosecond);

// The floor under IbScanOnly on this machine: open(2), one read(2), close(2) of the same files
// with precomputed paths and no parsing. What ib_ports costs beyond it is nodehealth's own.
void IbSyscallFloor(benchmark::State& state) {
  testing::TempDir root;
  if (!testing::MaterializeNode(testing::ScenarioPath("ib-gpud-h100.toml"), root.path())) {
    std::abort();
  }
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root.path() + "/sys/class/infiniband")) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  char buffer[4096];
  for (auto _ : state) {
    for (const std::string& file : files) {
      const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      benchmark::DoNotOptimize(::read(fd, buffer, sizeof buffer));
      ::close(fd);
    }
  }
  state.counters["files"] = static_cast<double>(files.size());
}
BENCHMARK(IbSyscallFloor)->Name("IbPorts/gpud_8xH100/SyscallFloor")->Unit(benchmark::kMicrosecond);

// The XID parser alone on the 122 KB application-fault storm log (636 XID lines of 1,364).
void XidTallyStorm(benchmark::State& state) {
  const std::string path =
      testing::PeerFixturesDir() + "/gpud/pkg/dmesg/testdata/dmesg.decode.iso.log.0";
  Expected<std::string> text = testing::ReadWholeFile(path);
  if (!text) std::abort();
  for (auto _ : state) {
    XidTally tally;
    ForEachLine(*text, [&tally](std::string_view line) { tally.AddLine(line); });
    benchmark::DoNotOptimize(tally);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text->size()));
}
BENCHMARK(XidTallyStorm)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nodehealth

BENCHMARK_MAIN();
