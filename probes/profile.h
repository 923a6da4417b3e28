// Profile: what a node must have (docs/contract.md "Profile"). Every expectation is optional: a key
// the profile leaves out is not checked. Loaded from TOML by agent/profile_loader; probes only read
// it.
//
// Thread safety: immutable after loading; shared read-only between probe threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nodehealth {

// How `--profile auto` recognises the node. Every condition given must hold; the profile with the
// most conditions wins. Conditions are chosen so that a node that lost a GPU still matches (vCPU
// count and DMI identify a cloud VM size even when a GPU fell off the bus).
struct ProfileMatch {
  std::vector<std::string> dmi_sys_vendor;    // any of these, exact (trimmed)
  std::vector<std::string> dmi_product_name;  // any of these; '*' wildcards allowed
  std::optional<int> cpu_count;               // logical CPUs online
  std::vector<uint32_t> gpu_pci_device_ids;   // at least one NVIDIA GPU with one of these ids
  std::optional<bool> infiniband;             // an InfiniBand port exists / does not

  bool empty() const {
    return dmi_sys_vendor.empty() && dmi_product_name.empty() && !cpu_count &&
           gpu_pci_device_ids.empty() && !infiniband;
  }
};

struct GpuExpectations {
  std::optional<int> count;
  std::optional<std::string> model;  // substring of the NVML (or PCI table) name, e.g. "H100"
  std::optional<std::string> driver_version_min;  // dotted numeric, inclusive
  std::optional<std::string> driver_version_max;  // dotted numeric, inclusive
  std::optional<std::string> cuda_version_min;    // major.minor the driver supports
  std::optional<int> pcie_generation;             // minimum link generation the GPU must train at
  std::optional<int> pcie_width;                  // minimum link width
  std::optional<int> nvlink_count;                // NVLinks up per GPU
  std::optional<bool> fabric_manager;  // NVSwitch system: Fabric Manager must run, same version
  std::optional<int64_t> ecc_uncorrectable_max;  // volatile uncorrectable errors allowed (0)
  std::optional<int> temperature_max_celsius;    // warn above this even below slowdown
  // gpu_power_capped: the enforced power limit below default x this ratio (1.0: any cap).
  double power_limit_min_ratio = 1.0;
  // gpu_pcie_replay_rate (agent): more PCIe replays than this per window (DCGM: 8 per minute).
  int64_t pcie_replay_max = 8;
  double pcie_replay_window_seconds = 60;
  // gpu_nvlink_errors (agent): NVLink replay/recovery growth above this inside the window (DCGM
  // fails on any); CRC errors at this many per second or more between two rounds (DCGM: 100).
  int64_t nvlink_error_max = 0;
  double nvlink_error_window_seconds = 3600;
  double nvlink_crc_per_second_max = 100;
};

struct InfinibandExpectations {
  std::optional<int> port_count;    // active rails (ports whose link layer is in rail_link_layers)
  std::optional<double> rate_gbps;  // minimum rate of every active rail
  // Which link layers count as rails. An Ethernet bond (BlueField, accelerated networking) is not
  // an InfiniBand rail unless the profile lists "Ethernet" (a RoCE cluster).
  std::vector<std::string> rail_link_layers = {"InfiniBand"};
  // Counter file name (counters/<name>) -> highest total allowed; overrides ib_counters.cc
  // defaults.
  std::map<std::string, uint64_t> error_thresholds;
  // ib_link_flapping: at least this many link-down events inside the window. Azure NHC looks back
  // six hours (check_ib_link_flapping's default interval).
  double link_flap_window_seconds = 6 * 3600;
  int link_flap_down_events = 2;
};

// PCIe health (pcie_health): AER counters of GPUs, NVSwitches, HCAs, NVMe and the bridges above
// them, and link retraining.
struct PcieExpectations {
  // The window over which corrected AER errors and link retrains are counted.
  double aer_window_seconds = 3600;
  // pcie_aer_correctable: growth of TOTAL_ERR_COR of one device inside the window above this.
  // Neither DCGM nor the peer tools set an AER threshold, so this is nodehealth's own choice, to
  // tune per fleet: corrected errors are retried by the link layer and cost little alone, and a
  // healthy link may log a few after a reset or hot plug, so a handful an hour is noise; more than
  // 100 an hour (over one a minute, sustained) is a link that keeps retrying: a marginal lane,
  // riser or cable. For scale, DCGM's only PCIe rate limit is 8 replays a minute (480 an hour);
  // the bar sits below that because one ERR_COR message may stand for several errors (the ABI).
  int64_t aer_correctable_max = 100;
  // pcie_link_retrained: speed or width changes (and pciehp Link Down lines) of one device inside
  // the window above this. A healthy link retrains only at boot, reset or hot plug, none of which
  // happen to a node in service, so the first retrain is reported (warn, monitor).
  int link_retrain_max = 0;
};

// The active RDMA loopback test (rdma_loopback).
struct RdmaLoopbackExpectations {
  std::optional<double> bandwidth_gbps_min;      // host memory, per port
  std::optional<double> gpu_bandwidth_gbps_min;  // GPUDirect (GPU memory), per port
  uint64_t message_bytes = 8u << 20;             // RDMA WRITE size for the bandwidth phase
  int depth = 128;                               // WRITEs in flight (perftest's default tx depth)
  double duration_seconds = 2;                   // bandwidth phase per port (latency: a fifth)
  bool parallel = false;                         // all ports at once instead of one after another
  std::string gpudirect = "auto";                // "auto", "off", "required"
};

// The active MPI all-reduce test (mpi_allreduce, nodehealth-allreduce).
struct MpiAllreduceExpectations {
  std::optional<int> ranks;                      // default: the profile's GPU count, else 2
  std::optional<double> bus_bandwidth_gbps_min;  // floor at `size_bytes`
  uint64_t size_bytes = 64u << 20;               // the size judged against the floor
  std::vector<std::string> sizes = {"8", "1K", "64K", "1M", "16M", "64M"};
  int iterations = 100;  // per size (the program's --iterations)
  int warmup = 10;
  std::string launcher = "auto";           // "auto" (srun inside a Slurm job), "mpirun", "srun"
  std::vector<std::string> launcher_args;  // extra arguments, e.g. ["--mca", "btl", "self,vader"]
  std::string program;                     // default: next to nodehealth, else PATH
};

// The GPU copy test (gpu_bandwidth). Floors are decimal gigabytes per second (1e9 bytes/s), the
// unit nvbandwidth prints and Azure NHC's check_gpu_bw takes.
struct GpuBandwidthExpectations {
  std::optional<double> host_device_gigabytes_per_second_min;  // host->device and device->host
  std::optional<double> device_gigabytes_per_second_min;       // device->device inside one GPU
  std::optional<double> peer_gigabytes_per_second_min;         // every ordered pair of GPUs
  uint64_t copy_bytes = 256u << 20;                            // per copy
  int iterations = 20;                                         // timed copies per figure
  // A figure at or above the floor but within this margin of it is a warning: close to failing.
  double warn_margin_percent = 5;
  // Without a floor, a GPU or pair below this fraction of the median of its kind is still named.
  double outlier_fraction = 0.75;
  bool required = false;  // no libcuda or no CUDA device fails instead of skipping
};

// The in-node NCCL all-reduce (nccl_allreduce), over every GPU of the node.
struct NcclAllreduceExpectations {
  std::optional<double> bus_gigabytes_per_second_min;  // nccl-tests busbw at size_bytes, GB/s
  // The same all-reduce with NCCL_P2P_DISABLE=1 and NCCL_SHM_DISABLE=1, so that the traffic
  // crosses the HCAs (GPUDirect RDMA loopback); run only when this floor is given.
  std::optional<double> net_bus_gigabytes_per_second_min;
  uint64_t size_bytes = 1ull << 30;  // Azure NHC: 16 GiB on ND H100 v5 / H200 v5
  int iterations = 20;
  int warmup = 5;
  double warn_margin_percent = 5;
  bool required = false;  // no libnccl fails instead of skipping
};

struct BurninExpectations {
  std::optional<double> timeout_seconds;  // the whole burn-in's budget when --timeout is not given
};

struct TopologyExpectations {
  std::optional<int> numa_nodes;          // CPU NUMA nodes (GPU memory nodes not counted)
  std::optional<int> gpus_per_numa_node;  // every CPU NUMA node holds this many GPUs
  std::optional<int> hcas_per_numa_node;  // ... and this many InfiniBand/RDMA HCAs
  // The worst path class allowed between a GPU and its nearest HCA: "PIX", "PXB", "PHB", "NODE",
  // "SYS" (nvidia-smi topo -m terms).
  std::optional<std::string> gpu_hca_path_max;
};

// The VM size or server model itself (sku_inventory): memory, CPUs and local NVMe, as LBNL NHC's
// check_hw_physmem and check_hw_cpuinfo and Azure NHC's check_nvme_count state them.
struct NodeExpectations {
  // MemTotal of /proc/meminfo in KiB (what the kernel prints as "kB"; NHC's kB, MB = 1024 kB and
  // GB = 1024 MB are the same binary units). It is what the kernel manages, a little below the
  // installed DIMMs, so take it from a healthy node of the model.
  std::optional<uint64_t> memory_kib;
  // How far MemTotal may differ from memory_kib, in percent of memory_kib, either way. 3 when not
  // given: what LBNL NHC's nhc-genconf writes for a node's own MemTotal.
  double memory_tolerance_percent = 3;
  std::optional<int> cpu_sockets;  // distinct physical package ids of the online CPUs
  std::optional<int> cpu_cores;    // distinct cores of the online CPUs, all sockets together
  std::optional<int> cpu_threads;  // logical CPUs online
  std::optional<int> nvme_count;   // at least this many NVMe controllers (/sys/class/nvme)
};

struct Profile {
  std::string name;
  std::string description;
  std::vector<std::string> sources;  // where the numbers come from
  std::string path;                  // file it was loaded from
  ProfileMatch match;
  GpuExpectations gpu;
  InfinibandExpectations infiniband;
  PcieExpectations pcie;
  RdmaLoopbackExpectations rdma_loopback;
  MpiAllreduceExpectations mpi_allreduce;
  GpuBandwidthExpectations gpu_bandwidth;
  NcclAllreduceExpectations nccl_allreduce;
  BurninExpectations burnin;
  TopologyExpectations topology;
  NodeExpectations node;
};

}  // namespace nodehealth
