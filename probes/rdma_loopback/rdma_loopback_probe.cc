#include "probes/rdma_loopback/rdma_loopback_probe.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/ib_ports/ib_ports_probe.h"
#include "probes/ib_ports/ib_sysfs.h"
#include "probes/platform/sysfs_values.h"
#include "probes/rdma_loopback/gpu_pairing.h"
#include "probes/rdma_loopback/verbs_provider.h"
#include "probes/topology/topology_discovery.h"

namespace nodehealth {
namespace {

constexpr uint64_t kLatencyBytes = 8;

const RdmaLoopbackExpectations& Settings(const Profile* profile) {
  static const RdmaLoopbackExpectations kDefaults;
  return profile ? profile->rdma_loopback : kDefaults;
}

std::string Gbps(double bytes_per_second) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f Gb/s", bytes_per_second * 8 / 1e9);
  return buffer;
}

std::string MiB(uint64_t bytes) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.0f MiB", static_cast<double>(bytes) / (1 << 20));
  return buffer;
}

Evidence VerbsEvidence(const Error& error) { return {"libibverbs", error.message, "success"}; }

struct PortTarget {
  std::string device;
  int port = 1;
  std::optional<int> numa_node;
  std::string cpu_list;    // local_cpulist of the HCA's PCI function
  int index = 0;           // position among tested ports
  std::string pci_bus_id;  // the HCA's PCI function, empty when sysfs does not link one
  int gpu_ordinal = 0;     // the CUDA device the GPUDirect variant writes into (PairGpus)
};

// Pins the calling thread to the HCA's local CPUs for its lifetime (best effort).
class ScopedAffinity {
 public:
  explicit ScopedAffinity(const std::string& cpu_list) {
    if (cpu_list.empty() || sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    cpu_set_t wanted;
    CPU_ZERO(&wanted);
    Expected<std::vector<std::pair<int, int>>> ranges = platform::ParseCpuRanges(cpu_list);
    if (!ranges) return;
    for (const auto& [first, last] : *ranges) {
      for (int cpu = first; cpu <= last && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &wanted);
    }
    active_ = sched_setaffinity(0, sizeof wanted, &wanted) == 0;
  }
  ~ScopedAffinity() {
    if (active_) sched_setaffinity(0, sizeof saved_, &saved_);
  }

 private:
  cpu_set_t saved_;
  bool active_ = false;
};

// One port: host-memory bandwidth and latency, then the GPU variant. Fills `result` (findings,
// measurements, notes) for this port only; safe to run on its own thread.
void TestPort(rdma::Provider& provider, const PortTarget& target,
              const RdmaLoopbackExpectations& settings, std::optional<int> gpu_count,
              const rdma::Clock& clock, ProbeResult& result) {
  const std::string entity = HcaEntity(target.device, target.port);
  const std::map<std::string, std::string> labels = {{"device", target.device},
                                                     {"port", std::to_string(target.port)}};
  ScopedAffinity pin(target.cpu_list);
  auto fail = [&](const std::string& what, const Error& error) {
    result.findings.push_back(MakeFinding(codes::kRdmaLoopbackFailed, entity,
                                          what + " on " + target.device + " port " +
                                              std::to_string(target.port) + ": " + error.message,
                                          {VerbsEvidence(error)}));
  };
  rdma::LoopbackConfig config;
  config.device = target.device;
  config.port = target.port;
  config.buffer_bytes = settings.message_bytes;
  config.depth = settings.depth;
  config.numa_node = target.numa_node;
  const double budget = settings.duration_seconds * 3 + 10;

  Expected<std::unique_ptr<rdma::LoopbackPair>> pair = provider.Connect(config);
  if (!pair) return fail("the RDMA loopback could not be set up", pair.error());
  Expected<rdma::BandwidthResult> bandwidth =
      rdma::MeasureWriteBandwidth(**pair, settings.message_bytes, settings.depth,
                                  settings.duration_seconds, clock() + budget, clock);
  if (!bandwidth) return fail("RDMA WRITE bandwidth test failed", bandwidth.error());
  Expected<rdma::LatencyResult> latency = rdma::MeasureWriteLatency(
      **pair, kLatencyBytes, settings.duration_seconds / 5, clock() + budget, clock);
  if (!latency) return fail("RDMA WRITE latency test failed", latency.error());
  result.measurements.push_back(
      {"rdma_loopback_bandwidth_bytes_per_second", labels, bandwidth->bytes_per_second});
  result.measurements.push_back({"rdma_loopback_latency_seconds", labels, latency->median_seconds});
  result.measurements.push_back(
      {"rdma_loopback_latency_p99_seconds", labels, latency->p99_seconds});
  result.notes.push_back(target.device + " port " + std::to_string(target.port) + " (" +
                         (*pair)->Addressing() + "): " + Gbps(bandwidth->bytes_per_second) +
                         " over " + std::to_string(bandwidth->messages) + " WRITEs of " +
                         std::to_string(settings.message_bytes) + " bytes");
  const std::string how = std::to_string(settings.message_bytes) + "-byte RDMA WRITEs, " +
                          std::to_string(settings.depth) + " in flight";
  if (settings.bandwidth_gbps_min &&
      bandwidth->bytes_per_second * 8 / 1e9 < *settings.bandwidth_gbps_min) {
    result.findings.push_back(MakeFinding(
        codes::kRdmaLoopbackBandwidthLow, entity,
        "host-memory RDMA loopback on " + target.device + " port " + std::to_string(target.port) +
            " reached " + Gbps(bandwidth->bytes_per_second),
        {{"rdma_loopback host memory (" + how + ")", Gbps(bandwidth->bytes_per_second),
          ">= " + Gbps(*settings.bandwidth_gbps_min * 1e9 / 8)}}));
  }
  pair->reset();  // release the host buffers before the GPU variant registers its own

  if (!gpu_count || *gpu_count <= 0) return;
  config.memory = rdma::Memory::kGpu;
  config.gpu_ordinal = target.gpu_ordinal;
  Expected<std::unique_ptr<rdma::LoopbackPair>> gpu_pair = provider.Connect(config);
  if (!gpu_pair) return fail("the GPUDirect RDMA loopback could not be set up", gpu_pair.error());
  Expected<rdma::BandwidthResult> gpu_bandwidth =
      rdma::MeasureWriteBandwidth(**gpu_pair, settings.message_bytes, settings.depth,
                                  settings.duration_seconds, clock() + budget, clock);
  if (!gpu_bandwidth)
    return fail("GPUDirect RDMA WRITE bandwidth test failed", gpu_bandwidth.error());
  auto gpu_labels = labels;
  gpu_labels["gpu"] = std::to_string(config.gpu_ordinal);
  result.measurements.push_back({"rdma_loopback_gpu_bandwidth_bytes_per_second", gpu_labels,
                                 gpu_bandwidth->bytes_per_second});
  if (settings.gpu_bandwidth_gbps_min &&
      gpu_bandwidth->bytes_per_second * 8 / 1e9 < *settings.gpu_bandwidth_gbps_min) {
    result.findings.push_back(MakeFinding(
        codes::kRdmaLoopbackBandwidthLow, entity,
        "GPUDirect RDMA loopback on " + target.device + " port " + std::to_string(target.port) +
            " into CUDA device " + std::to_string(config.gpu_ordinal) + " reached " +
            Gbps(gpu_bandwidth->bytes_per_second),
        {{"rdma_loopback GPU memory (" + how + ")", Gbps(gpu_bandwidth->bytes_per_second),
          ">= " + Gbps(*settings.gpu_bandwidth_gbps_min * 1e9 / 8)}}));
  }
}

std::string ReadCpuList(const platform::FileSystem& fs, const std::string& device) {
  Expected<std::string> text = fs.ReadFile(
      std::string(ib::kInfinibandClassDir) + "/" + device + "/device/local_cpulist", 4096);
  return text ? std::string(platform::TrimSpace(*text)) : "";
}

// Sets each target's gpu_ordinal: the GPU closest to its HCA in the topology (gpu_pairing.h),
// as CUDA numbers it. Where that cannot be known (no topology, an HCA without a PCI function in
// it, a GPU CUDA does not show), the port falls back to the n-th CUDA device modulo the count,
// the rail-per-GPU order of ND and DGX nodes, and a note says why.
void PairGpus(const ProbeContext& context, rdma::Provider& provider, int gpu_count,
              std::vector<PortTarget>& targets, std::vector<std::string>& notes) {
  for (PortTarget& t : targets) t.gpu_ordinal = t.index % gpu_count;
  topo::TopologySource source;
  source.xml_path = context.topology_xml;
  source.fsroot = context.fs.HostPath("/");
  while (source.fsroot.size() > 1 && source.fsroot.back() == '/') source.fsroot.pop_back();
  Expected<topo::Topology> topology = topo::DiscoverTopology(source);
  if (!topology) {
    notes.push_back("GPUDirect pairs the n-th port with CUDA device n modulo " +
                    std::to_string(gpu_count) + ": the topology is unknown (" +
                    topology.error().message + ")");
    return;
  }
  std::vector<std::string> hcas;
  for (const PortTarget& t : targets) hcas.push_back(t.pci_bus_id);
  const std::vector<std::optional<rdma::GpuPair>> pairs = rdma::PairHcasWithGpus(*topology, hcas);
  std::string paired, by_position;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    PortTarget& t = targets[i];
    const std::string port = t.device + "/" + std::to_string(t.port);
    Expected<int> ordinal = pairs[i] ? provider.GpuOrdinal(pairs[i]->gpu_bus_id)
                                     : Expected<int>(MakeError("not in the topology"));
    if (!ordinal) {
      by_position += (by_position.empty() ? "" : "; ") + port + " -> CUDA " +
                     std::to_string(t.gpu_ordinal) + " (" + ordinal.error().message + ")";
      continue;
    }
    t.gpu_ordinal = *ordinal;
    paired += (paired.empty() ? "" : ", ") + port + " -> " + pairs[i]->gpu_bus_id + " (CUDA " +
              std::to_string(*ordinal) + ", " + std::string(topo::ToString(pairs[i]->path)) + ")";
  }
  if (!paired.empty()) notes.push_back("GPUDirect pairs from the topology: " + paired);
  if (!by_position.empty()) notes.push_back("GPUDirect pairs by position: " + by_position);
}

}  // namespace

LockLimits ReadLockLimits() {
  LockLimits limits;
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    limits.memlock_bytes = limit.rlim_cur;
  }
  // CapEff in /proc/self/status: bit 14 is CAP_IPC_LOCK.
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("CapEff:")) continue;
    const uint64_t caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    limits.cap_ipc_lock = (caps >> 14) & 1;
  }
  return limits;
}

RdmaLoopbackDeps DefaultRdmaLoopbackDeps() {
  return {.make_provider = [] { return rdma::MakeVerbsProvider(); },
          .lock_limits = ReadLockLimits,
          .clock =
              [] {
                return std::chrono::duration<double>(
                           std::chrono::steady_clock::now().time_since_epoch())
                    .count();
              }};
}

RdmaLoopbackProbe::RdmaLoopbackProbe(RdmaLoopbackDeps deps) : deps_(std::move(deps)) {}

const ProbeInfo& RdmaLoopbackProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "rdma_loopback",
      .kind = ProbeKind::kActive,
      .summary =
          "RDMA WRITE loopback per HCA port (libibverbs): bandwidth and latency with host "
          "memory, and GPU memory where GPUDirect RDMA is available",
      .reads = {"libibverbs", "/sys/class/infiniband", "RLIMIT_MEMLOCK", "libcuda.so.1"},
      .codes = {codes::kRdmaLoopbackFailed, codes::kRdmaLoopbackBandwidthLow, codes::kProbeError,
                codes::kProbeTimeout},
      .timeout = std::chrono::seconds(300),
      .measurements =
          {
              GaugeMeasurement("rdma_loopback_bandwidth_bytes_per_second", "bytes_per_second",
                               "RDMA WRITE bandwidth of a port looped back to itself, host memory",
                               {"device", "port"}),
              GaugeMeasurement(
                  "rdma_loopback_gpu_bandwidth_bytes_per_second", "bytes_per_second",
                  "RDMA WRITE bandwidth of a port looped back to itself into GPU memory "
                  "(GPUDirect RDMA; gpu: CUDA ordinal)",
                  {"device", "gpu", "port"}),
              GaugeMeasurement("rdma_loopback_latency_seconds", "seconds",
                               "median latency of a small RDMA WRITE on the loopback",
                               {"device", "port"}),
              GaugeMeasurement("rdma_loopback_latency_p99_seconds", "seconds",
                               "99th percentile latency of a small RDMA WRITE on the loopback",
                               {"device", "port"}),
          },
      .subject = ProbeSubject::kNetwork,
  };
  return kInfo;
}

ProbeResult RdmaLoopbackProbe::Run(const ProbeContext& context) const {
  ProbeResult result;
  result.name = "rdma_loopback";
  const RdmaLoopbackExpectations& settings = Settings(context.profile);
  const int expected_ports =
      context.profile ? context.profile->infiniband.port_count.value_or(0) : 0;

  std::unique_ptr<rdma::Provider> provider = deps_.make_provider();
  Expected<std::vector<std::string>> devices = provider->ListDevices();
  const bool none =
      (!devices && devices.error().sys_errno == ENOSYS) || (devices && devices->empty());
  if (none) {
    const std::string why = devices ? "libibverbs lists no RDMA device" : devices.error().message;
    if (expected_ports == 0) {
      MarkSkipped(result, "no RDMA device on this node (" + why + ")");
      return result;
    }
    result.findings.push_back(
        MakeFinding(codes::kRdmaLoopbackFailed, "node",
                    "no RDMA device to test, but the profile expects " +
                        std::to_string(expected_ports) + " InfiniBand ports",
                    {{"libibverbs", why, std::to_string(expected_ports) + " InfiniBand ports"}}));
    FinalizeVerdict(result);
    return result;
  }
  if (!devices) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot list RDMA devices: " + devices.error().message,
                  {VerbsEvidence(devices.error())});
    return result;
  }

  // Which ports: ACTIVE ones of the link layers the profile counts as rails (all in observe-only).
  Expected<ib::Scan> scan = ib::ScanInfiniband(context.fs);
  std::vector<PortTarget> targets;
  for (const std::string& name : *devices) {
    const ib::Device* device = nullptr;
    if (scan) {
      for (const ib::Device& d : scan->devices) device = d.name == name ? &d : device;
    }
    if (device == nullptr) {
      result.notes.push_back(name + ": not in /sys/class/infiniband; testing port 1");
      targets.push_back({name, 1, std::nullopt, "", 0, ""});
      continue;
    }
    for (const ib::Port& port : device->ports) {
      const auto& layers = context.profile ? context.profile->infiniband.rail_link_layers
                                           : std::vector<std::string>{port.link_layer};
      if (std::find(layers.begin(), layers.end(), port.link_layer) == layers.end()) {
        result.notes.push_back(name + " port " + std::to_string(port.number) + " (" +
                               port.link_layer + "): not a rail in this profile, not tested");
        continue;
      }
      if (!port.active()) {
        result.notes.push_back(name + " port " + std::to_string(port.number) +
                               " is not ACTIVE, not tested (ib_ports reports it)");
        continue;
      }
      targets.push_back({name, port.number, device->pci ? device->pci->numa_node : std::nullopt,
                         ReadCpuList(context.fs, name), 0, device->pci ? device->pci->bus_id : ""});
    }
  }
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].index = static_cast<int>(i);
  if (targets.empty()) {
    MarkSkipped(result, "no ACTIVE RDMA port to test");
    return result;
  }

  // Registered memory: two buffers per port (all ports at once in parallel mode).
  const uint64_t needed =
      2 * settings.message_bytes * (settings.parallel ? targets.size() : 1) + (1u << 20);
  const LockLimits limits = deps_.lock_limits();
  if (!limits.cap_ipc_lock && limits.memlock_bytes && *limits.memlock_bytes < needed) {
    result.findings.push_back(MakeFinding(
        codes::kRdmaLoopbackFailed, "node",
        "the locked-memory limit (" + MiB(*limits.memlock_bytes) + ") is below the " + MiB(needed) +
            " the RDMA test registers; run nodehealth with LimitMEMLOCK=infinity (systemd) or "
            "ulimit -l unlimited",
        {{"RLIMIT_MEMLOCK", MiB(*limits.memlock_bytes), ">= " + MiB(needed)}}));
    FinalizeVerdict(result);
    return result;
  }

  // GPUDirect: only where the node has NVIDIA GPUs and the profile does not turn it off.
  std::optional<int> gpu_count;
  if (settings.gpudirect != "off" && context.inventory.HasNvidiaSigns()) {
    Expected<int> gpus = provider->GpuDirectDevices();
    if (gpus) {
      gpu_count = *gpus;
    } else if (settings.gpudirect == "required") {
      result.findings.push_back(MakeFinding(
          codes::kRdmaLoopbackFailed, "node",
          "GPUDirect RDMA is required by the profile but unavailable: " + gpus.error().message,
          {{"libcuda.so.1", gpus.error().message, "dma-buf capable CUDA devices"}}));
    } else {
      result.notes.push_back("GPUDirect RDMA not tested: " + gpus.error().message);
    }
  }
  if (gpu_count && *gpu_count > 0) PairGpus(context, *provider, *gpu_count, targets, result.notes);

  std::vector<ProbeResult> per_port(targets.size());
  const double per_port_seconds = settings.duration_seconds * (gpu_count ? 2.4 : 1.2) + 2;
  if (settings.parallel) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      threads.emplace_back([&, i] {
        TestPort(*provider, targets[i], settings, gpu_count, deps_.clock, per_port[i]);
      });
    }
    for (std::thread& t : threads) t.join();
  } else {
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (platform::ToSeconds(context.deadline.remaining()) < per_port_seconds) {
        for (std::size_t j = i; j < targets.size(); ++j) {
          MarkUndecided(result, codes::kProbeTimeout, HcaEntity(targets[j].device, targets[j].port),
                        "not tested: the run's deadline leaves less than " +
                            std::to_string(static_cast<int>(per_port_seconds)) + " s per port");
        }
        break;
      }
      TestPort(*provider, targets[i], settings, gpu_count, deps_.clock, per_port[i]);
    }
  }
  for (ProbeResult& part : per_port) {
    std::move(part.findings.begin(), part.findings.end(), std::back_inserter(result.findings));
    std::move(part.measurements.begin(), part.measurements.end(),
              std::back_inserter(result.measurements));
    std::move(part.notes.begin(), part.notes.end(), std::back_inserter(result.notes));
  }
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
