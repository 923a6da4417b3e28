#include "probes/all_probes.h"

#include <map>

#include "probes/finding_catalog.h"
#include "probes/gpu_bandwidth/gpu_bandwidth_probe.h"
#include "probes/gpu_driver/gpu_driver_probe.h"
#include "probes/gpu_health/gpu_health_probe.h"
#include "probes/gpu_presence/gpu_presence_probe.h"
#include "probes/gpu_xid/gpu_xid_probe.h"
#include "probes/ib_ports/ib_ports_probe.h"
#include "probes/mpi_allreduce/mpi_allreduce_probe.h"
#include "probes/nccl_allreduce/nccl_allreduce_probe.h"
#include "probes/pcie_health/pcie_health_probe.h"
#include "probes/rdma_loopback/rdma_loopback_probe.h"
#include "probes/sku_inventory/sku_inventory_probe.h"
#include "probes/topology/topology_discovery.h"
#include "probes/topology/topology_probe.h"

namespace nodehealth {

std::string_view ToString(ProbeKind kind) {
  return kind == ProbeKind::kPassive ? "passive" : "active";
}

ProbeResult Probe::FromKernelLogWatch(const KernelLogWatchState& /*watch*/,
                                      const Profile* /*profile*/,
                                      const NodeInventory& /*inventory*/) const {
  ProbeResult result;
  MarkUndecided(result, codes::kProbeError, "node",
                "the probe takes no result from the kernel-log watch (agent_source is kRounds)");
  return result;
}

const std::vector<std::unique_ptr<Probe>>& AllProbes() {
  static const std::vector<std::unique_ptr<Probe>> kProbes = [] {
    std::vector<std::unique_ptr<Probe>> probes;
    probes.push_back(std::make_unique<GpuPresenceProbe>());
    probes.push_back(std::make_unique<GpuDriverProbe>());
    probes.push_back(std::make_unique<GpuHealthProbe>());
    probes.push_back(std::make_unique<GpuXidProbe>());
    probes.push_back(std::make_unique<IbPortsProbe>());
    probes.push_back(std::make_unique<TopologyProbe>());
    probes.push_back(std::make_unique<PcieHealthProbe>());
    probes.push_back(std::make_unique<SkuInventoryProbe>());
    probes.push_back(std::make_unique<GpuBandwidthProbe>());
    probes.push_back(std::make_unique<NcclAllreduceProbe>());
    probes.push_back(std::make_unique<RdmaLoopbackProbe>());
    probes.push_back(std::make_unique<MpiAllreduceProbe>());
    return probes;
  }();
  return kProbes;
}

void PrepareProbesForProcess(const std::string& sysroot) { topo::PrepareHwlocEnvironment(sysroot); }

const Probe* FindProbe(std::string_view name) {
  for (const auto& probe : AllProbes()) {
    if (probe->info().name == name) return probe.get();
  }
  return nullptr;
}

const MeasurementSpec* FindMeasurementSpec(std::string_view name) {
  // Built once: the agent looks up every measurement of every round.
  static const std::map<std::string_view, const MeasurementSpec*> kByName = [] {
    std::map<std::string_view, const MeasurementSpec*> by_name;
    for (const auto& probe : AllProbes()) {
      for (const MeasurementSpec& spec : probe->info().measurements) {
        by_name.emplace(spec.name, &spec);
      }
    }
    return by_name;
  }();
  const auto it = kByName.find(name);
  return it == kByName.end() ? nullptr : it->second;
}

}  // namespace nodehealth
