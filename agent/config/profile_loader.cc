#include "agent/config/profile_loader.h"

#include <cstdint>

#include "agent/config/profile_gpu_tables.h"
#include "agent/config/toml_reader.h"
#include "probes/ib_ports/ib_counters.h"
#include "probes/platform/sysfs_values.h"
#include "probes/topology/topology_model.h"

namespace nodehealth {
namespace {

void ReadMatch(const StrictTomlReader& r, const toml::table& table, ProfileMatch& match) {
  r.Walk(
      table, "match",
      {
          {"dmi_sys_vendor", [&](auto& n, auto& k) { match.dmi_sys_vendor = r.StringList(n, k); }},
          {"dmi_product_name",
           [&](auto& n, auto& k) { match.dmi_product_name = r.StringList(n, k); }},
          {"cpu_count",
           [&](auto& n, auto& k) {
             match.cpu_count = static_cast<int>(r.Integer(n, k, 1, 65536));
           }},
          {"gpu_pci_device_ids",
           [&](auto& n, auto& k) {
             if (!n.is_array()) r.Fail(n, "\"" + k + "\" must be a list");
             for (const toml::node& item : *n.as_array()) {
               if (item.is_integer()) {
                 match.gpu_pci_device_ids.push_back(
                     static_cast<uint32_t>(r.Integer(item, k, 0, 0xffff)));
                 continue;
               }
               Expected<uint32_t> id = platform::ParseHexId(r.String(item, k));
               if (!id || *id > 0xffff) {
                 r.Fail(item, "\"" + k + "\" items must look like \"0x2330\"");
               }
               match.gpu_pci_device_ids.push_back(*id);
             }
           }},
          {"infiniband", [&](auto& n, auto& k) { match.infiniband = r.Bool(n, k); }},
      });
}

void ReadGpu(const StrictTomlReader& r, const toml::table& table, GpuExpectations& gpu) {
  auto small = [&](const toml::node& n, const std::string& k, int min, int max) {
    return static_cast<int>(r.Integer(n, k, min, max));
  };
  r.Walk(
      table, "gpu",
      {
          {"count", [&](auto& n, auto& k) { gpu.count = small(n, k, 0, 64); }},
          {"model", [&](auto& n, auto& k) { gpu.model = r.String(n, k); }},
          {"driver_version_min",
           [&](auto& n, auto& k) { gpu.driver_version_min = r.Version(n, k); }},
          {"driver_version_max",
           [&](auto& n, auto& k) { gpu.driver_version_max = r.Version(n, k); }},
          {"cuda_version_min", [&](auto& n, auto& k) { gpu.cuda_version_min = r.Version(n, k); }},
          {"pcie_generation", [&](auto& n, auto& k) { gpu.pcie_generation = small(n, k, 1, 6); }},
          {"pcie_width", [&](auto& n, auto& k) { gpu.pcie_width = small(n, k, 1, 32); }},
          {"nvlink_count", [&](auto& n, auto& k) { gpu.nvlink_count = small(n, k, 0, 64); }},
          {"fabric_manager", [&](auto& n, auto& k) { gpu.fabric_manager = r.Bool(n, k); }},
          {"ecc_uncorrectable_max",
           [&](auto& n, auto& k) { gpu.ecc_uncorrectable_max = r.Integer(n, k, 0, 1 << 30); }},
          {"temperature_max_celsius",
           [&](auto& n, auto& k) { gpu.temperature_max_celsius = small(n, k, 20, 130); }},
          {"power_limit_min_ratio",
           [&](auto& n, auto& k) { gpu.power_limit_min_ratio = r.Number(n, k, 0, 1); }},
          {"pcie_replay_max",
           [&](auto& n, auto& k) { gpu.pcie_replay_max = r.Integer(n, k, 0, 1000000000); }},
          {"pcie_replay_window_seconds",
           [&](auto& n, auto& k) { gpu.pcie_replay_window_seconds = r.Number(n, k, 1, 86400); }},
          {"nvlink_error_max",
           [&](auto& n, auto& k) { gpu.nvlink_error_max = r.Integer(n, k, 0, 1000000000); }},
          {"nvlink_error_window_seconds",
           [&](auto& n, auto& k) {
             gpu.nvlink_error_window_seconds = r.Number(n, k, 1, 30 * 86400);
           }},
          {"nvlink_crc_per_second_max",
           [&](auto& n, auto& k) { gpu.nvlink_crc_per_second_max = r.Number(n, k, 0.001, 1e9); }},
      });
}

void ReadInfiniband(const StrictTomlReader& r, const toml::table& table,
                    InfinibandExpectations& ib) {
  r.Walk(
      table, "infiniband",
      {
          {"port_count",
           [&](auto& n, auto& k) { ib.port_count = static_cast<int>(r.Integer(n, k, 0, 64)); }},
          {"rate_gbps", [&](auto& n, auto& k) { ib.rate_gbps = r.Number(n, k, 1, 10000); }},
          {"rail_link_layers",
           [&](auto& n, auto& k) {
             ib.rail_link_layers = r.StringList(n, k);
             for (const std::string& layer : ib.rail_link_layers) {
               if (layer != "InfiniBand" && layer != "Ethernet") {
                 r.Fail(n, "\"" + k + "\" items must be \"InfiniBand\" or \"Ethernet\"");
               }
             }
           }},
          {"link_flap_window_seconds",
           [&](auto& n, auto& k) { ib.link_flap_window_seconds = r.Number(n, k, 1, 30 * 86400); }},
          {"link_flap_down_events",
           [&](auto& n, auto& k) {
             ib.link_flap_down_events = static_cast<int>(r.Integer(n, k, 1, 1000000));
           }},
          {"error_thresholds",
           [&](auto& n, auto& k) {
             const toml::table& thresholds = r.Table(n, k);
             for (const auto& [name, value] : thresholds) {
               const std::string key = k + "." + std::string(name.str());
               if (ib::FindCounterSpec("counters", name.str()) == nullptr) {
                 r.Fail(value, "unknown counter \"" + key +
                                   "\" (names are the files of counters/, e.g. symbol_error)");
               }
               ib.error_thresholds[std::string(name.str())] =
                   static_cast<uint64_t>(r.Integer(value, key, 0, INT64_MAX));
             }
           }},
      });
}

void ReadPcie(const StrictTomlReader& r, const toml::table& table, PcieExpectations& pcie) {
  r.Walk(table, "pcie",
         {
             {"aer_window_seconds",
              [&](auto& n, auto& k) { pcie.aer_window_seconds = r.Number(n, k, 1, 30 * 86400); }},
             {"aer_correctable_max",
              [&](auto& n, auto& k) { pcie.aer_correctable_max = r.Integer(n, k, 0, 1000000000); }},
             {"link_retrain_max",
              [&](auto& n, auto& k) {
                pcie.link_retrain_max = static_cast<int>(r.Integer(n, k, 0, 1000000));
              }},
         });
}

void ReadRdmaLoopback(const StrictTomlReader& r, const toml::table& table,
                      RdmaLoopbackExpectations& rdma) {
  r.Walk(
      table, "rdma_loopback",
      {
          {"bandwidth_gbps_min",
           [&](auto& n, auto& k) { rdma.bandwidth_gbps_min = r.Number(n, k, 0.001, 100000); }},
          {"gpu_bandwidth_gbps_min",
           [&](auto& n, auto& k) { rdma.gpu_bandwidth_gbps_min = r.Number(n, k, 0.001, 100000); }},
          {"message_bytes",
           [&](auto& n, auto& k) {
             rdma.message_bytes = static_cast<uint64_t>(r.Integer(n, k, 4096, 1ll << 30));
           }},
          {"depth",
           [&](auto& n, auto& k) { rdma.depth = static_cast<int>(r.Integer(n, k, 1, 8192)); }},
          {"duration_seconds",
           [&](auto& n, auto& k) { rdma.duration_seconds = r.Number(n, k, 0.01, 600); }},
          {"parallel", [&](auto& n, auto& k) { rdma.parallel = r.Bool(n, k); }},
          {"gpudirect",
           [&](auto& n, auto& k) {
             rdma.gpudirect = r.String(n, k);
             if (rdma.gpudirect != "auto" && rdma.gpudirect != "off" &&
                 rdma.gpudirect != "required") {
               r.Fail(n, "\"" + k + "\" must be \"auto\", \"off\" or \"required\"");
             }
           }},
      });
}

void ReadMpiAllreduce(const StrictTomlReader& r, const toml::table& table,
                      MpiAllreduceExpectations& m) {
  r.Walk(
      table, "mpi_allreduce",
      {
          {"ranks",
           [&](auto& n, auto& k) { m.ranks = static_cast<int>(r.Integer(n, k, 1, 4096)); }},
          {"bus_bandwidth_gbps_min",
           [&](auto& n, auto& k) { m.bus_bandwidth_gbps_min = r.Number(n, k, 0.001, 100000); }},
          {"size_bytes",
           [&](auto& n, auto& k) {
             m.size_bytes = static_cast<uint64_t>(r.Integer(n, k, 4, 4ll << 30));
           }},
          {"sizes", [&](auto& n, auto& k) { m.sizes = r.StringList(n, k); }},
          {"iterations",
           [&](auto& n, auto& k) { m.iterations = static_cast<int>(r.Integer(n, k, 1, 1000000)); }},
          {"warmup",
           [&](auto& n, auto& k) { m.warmup = static_cast<int>(r.Integer(n, k, 0, 1000000)); }},
          {"launcher",
           [&](auto& n, auto& k) {
             m.launcher = r.String(n, k);
             if (m.launcher != "auto" && m.launcher != "mpirun" && m.launcher != "srun") {
               r.Fail(n, "\"" + k + "\" must be \"auto\", \"mpirun\" or \"srun\"");
             }
           }},
          {"launcher_args", [&](auto& n, auto& k) { m.launcher_args = r.StringList(n, k); }},
          {"program", [&](auto& n, auto& k) { m.program = r.String(n, k); }},
      });
}

void ReadTopology(const StrictTomlReader& r, const toml::table& table, TopologyExpectations& t) {
  auto small = [&](const toml::node& n, const std::string& k) {
    return static_cast<int>(r.Integer(n, k, 0, 1024));
  };
  r.Walk(table, "topology",
         {
             {"numa_nodes",
              [&](auto& n, auto& k) { t.numa_nodes = static_cast<int>(r.Integer(n, k, 1, 1024)); }},
             {"gpus_per_numa_node", [&](auto& n, auto& k) { t.gpus_per_numa_node = small(n, k); }},
             {"hcas_per_numa_node", [&](auto& n, auto& k) { t.hcas_per_numa_node = small(n, k); }},
             {"gpu_hca_path_max",
              [&](auto& n, auto& k) {
                const std::string value = r.String(n, k);
                const auto path = topo::ParsePathClass(value);
                if (!path || *path == topo::PathClass::kSelf) {
                  r.Fail(n, "\"" + k + "\" must be one of PIX, PXB, PHB, NODE, SYS");
                }
                t.gpu_hca_path_max = std::string(topo::ToString(*path));
              }},
         });
}

// [node]: the SKU inventory (sku_inventory probe).
void ReadNode(const StrictTomlReader& r, const toml::table& table, NodeExpectations& node) {
  auto count = [&](const toml::node& n, const std::string& k, int max) {
    return static_cast<int>(r.Integer(n, k, 1, max));
  };
  r.Walk(
      table, "node",
      {
          // Up to 1 PiB: beyond any single Linux machine, and far from overflowing bytes.
          {"memory_kib",
           [&](auto& n, auto& k) {
             node.memory_kib = static_cast<uint64_t>(r.Integer(n, k, 1, int64_t{1} << 40));
           }},
          {"memory_tolerance_percent",
           [&](auto& n, auto& k) { node.memory_tolerance_percent = r.Number(n, k, 0, 50); }},
          {"cpu_sockets", [&](auto& n, auto& k) { node.cpu_sockets = count(n, k, 1024); }},
          {"cpu_cores", [&](auto& n, auto& k) { node.cpu_cores = count(n, k, 65536); }},
          {"cpu_threads", [&](auto& n, auto& k) { node.cpu_threads = count(n, k, 65536); }},
          {"nvme_count",
           [&](auto& n, auto& k) { node.nvme_count = static_cast<int>(r.Integer(n, k, 0, 1024)); }},
      });
  // A tolerance alone checks nothing: most likely memory_kib was forgotten.
  if (const toml::node* tolerance = table.get("memory_tolerance_percent");
      tolerance != nullptr && !node.memory_kib) {
    r.Fail(*tolerance, "\"node.memory_tolerance_percent\" needs \"node.memory_kib\"");
  }
}

Profile ReadProfile(const toml::table& root, const StrictTomlReader& r) {
  Profile p;
  r.Walk(
      root, "",
      {
          {"name", [&](auto& n, auto& k) { p.name = r.String(n, k); }},
          {"description", [&](auto& n, auto& k) { p.description = r.String(n, k); }},
          {"sources", [&](auto& n, auto& k) { p.sources = r.StringList(n, k); }},
          {"match", [&](auto& n, auto& k) { ReadMatch(r, r.Table(n, k), p.match); }},
          {"gpu", [&](auto& n, auto& k) { ReadGpu(r, r.Table(n, k), p.gpu); }},
          {"infiniband", [&](auto& n, auto& k) { ReadInfiniband(r, r.Table(n, k), p.infiniband); }},
          {"pcie", [&](auto& n, auto& k) { ReadPcie(r, r.Table(n, k), p.pcie); }},
          {"rdma_loopback",
           [&](auto& n, auto& k) { ReadRdmaLoopback(r, r.Table(n, k), p.rdma_loopback); }},
          {"mpi_allreduce",
           [&](auto& n, auto& k) { ReadMpiAllreduce(r, r.Table(n, k), p.mpi_allreduce); }},
          {"burnin",
           [&](auto& n, auto& k) {
             r.Walk(r.Table(n, k), k, {{"timeout_seconds", [&](auto& m, auto& j) {
                                          p.burnin.timeout_seconds = r.Number(m, j, 1, 7 * 86400);
                                        }}});
           }},
          {"topology", [&](auto& n, auto& k) { ReadTopology(r, r.Table(n, k), p.topology); }},
          {"node", [&](auto& n, auto& k) { ReadNode(r, r.Table(n, k), p.node); }},
          {"gpu_bandwidth",
           [&](auto& n, auto& k) { ReadGpuBandwidth(r, r.Table(n, k), p.gpu_bandwidth); }},
          {"nccl_allreduce",
           [&](auto& n, auto& k) { ReadNcclAllreduce(r, r.Table(n, k), p.nccl_allreduce); }},
      });
  if (p.name.empty()) r.Fail(root, "missing required key \"name\"");
  for (char c : p.name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
      r.Fail(*root.get("name"), "name \"" + p.name + "\" may use only a-z, 0-9, '-', '_' and '.'");
    }
  }
  return p;
}

}  // namespace

Expected<Profile> ParseProfile(std::string_view text, const std::string& origin) {
  Expected<Profile> profile = ReadToml<Profile>(text, origin, ReadProfile);
  if (profile) profile->path = origin;
  return profile;
}

Expected<Profile> LoadProfileFile(const std::string& path) {
  Expected<std::string> text = ReadSmallFile(path, "profile");
  if (!text) return text.error();
  return ParseProfile(*text, path);
}

}  // namespace nodehealth
