#include "probes/finding_catalog.h"

#include <array>

namespace nodehealth {
namespace {

using enum Severity;
using enum Action;

// Default actions follow NVIDIA's XID catalogue resolution buckets where one applies (XID 79
// "GPU has fallen off the bus": RESTART_BM -> reboot; XID 48 DBE and XID 64 remap failure:
// RESET_GPU; row-remap failure: replace, as in Azure NHC's HpcRowRemapFailure) and DCGM's failure
// mapping otherwise (nvsentinel dcgmerrorsmapping.csv in the peer data).
constexpr std::array kCatalog = {
    CatalogEntry{"gpu_missing", kFail, kReboot,
                 "fewer GPUs than the profile expects, or a GPU one source sees and another "
                 "does not (PCI, NVML, /dev/nvidia*)",
                 "Power-cycle the node; if the GPU is still missing, reseat or replace it.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_lost", kFail, kReboot, "NVML reports the GPU lost (fallen off the bus)",
                 "Reboot the node (XID 79: restart bare metal); replace the GPU if it recurs.",
                 /*reports_event=*/false, DrainPersistence::kSticky, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_driver_not_loaded", kFail, kDrain,
                 "NVIDIA GPUs on PCI but the kernel driver is not loaded or NVML cannot start",
                 "Load the nvidia module (modprobe nvidia) or reinstall the driver, then reboot.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_driver_library_mismatch", kFail, kReboot,
                 "the loaded kernel module and the user-space NVIDIA libraries have different "
                 "versions",
                 "Reboot so the kernel module matches the installed user-space driver.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_driver_version_mismatch", kFail, kDrain,
                 "driver version outside what the profile allows, or driver components (GSP "
                 "firmware, Fabric Manager) on different versions",
                 "Install the driver version the profile allows, with matching Fabric Manager.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"cuda_version_mismatch", kFail, kDrain,
                 "the driver's CUDA version is below the profile minimum, or an installed CUDA "
                 "toolkit or runtime needs a newer driver",
                 "Upgrade the driver, or install the CUDA forward-compatibility package.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_ecc_uncorrectable", kFail, kResetGpu,
                 "uncorrectable (double-bit) ECC errors since the last reset",
                 "Drain, reset the GPU, and run field diagnostics if it recurs.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_row_remap_pending", kFail, kResetGpu,
                 "a memory row is marked for remapping and needs a GPU reset to take effect",
                 "Drain and reset the GPU (nvidia-smi -r) or reboot.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_row_remap_failure", kFail, kReplace,
                 "row remapping failed: the GPU has no spare rows left for a bad row",
                 "Replace the GPU (RMA).", /*reports_event=*/false, DrainPersistence::kSticky,
                 kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_pcie_link_degraded", kFail, kDrain,
                 "GPU PCIe link trained below its maximum or the profile's generation or width",
                 "Reboot; if the link stays degraded, reseat the GPU or riser.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_nvlink_down", kFail, kReboot, "fewer NVLinks up than expected",
                 "Reboot the node (links retrain at boot); replace the GPU or baseboard if a link "
                 "stays down.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_xid", kFail, kDrain,
                 "an XID error reported by the NVIDIA driver; the action follows NVIDIA's XID "
                 "catalogue for that XID",
                 "Follow the resolution given for the XID.", /*reports_event=*/true,
                 DrainPersistence::kSticky, kResetGpu, FindingCategory::kGpu},
    CatalogEntry{
        "ib_hca_missing", kFail, kReboot, "fewer InfiniBand HCAs or ports than the profile expects",
        "Reboot; if the HCA is still missing, reseat or replace it.", /*reports_event=*/false,
        DrainPersistence::kOneRun, kNone, FindingCategory::kNetwork},
    CatalogEntry{
        "ib_port_down", kFail, kDrain, "an expected InfiniBand port is not ACTIVE / LinkUp",
        "Check the cable, transceiver and switch port; reboot if the port stays down.",
        /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kNetwork},
    CatalogEntry{"ib_port_rate_degraded", kFail, kDrain,
                 "an InfiniBand port runs below the profile's rate",
                 "Check the cable and transceiver; reseat or replace.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kNetwork},
    CatalogEntry{
        "ib_port_errors", kWarn, kMonitor, "InfiniBand error counters above their thresholds",
        "Watch the counters; replace the cable or transceiver if they keep rising.",
        /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kNetwork},
    CatalogEntry{"ib_link_flapping", kFail, kDrain,
                 "an InfiniBand link went down and up repeatedly inside a window",
                 "Replace the cable or transceiver; check the switch port.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone,
                 FindingCategory::kNetwork},
    CatalogEntry{"rdma_loopback_failed", kFail, kDrain, "the RDMA loopback test failed",
                 "Check the HCA firmware and driver (ibv_devinfo); reboot.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone,
                 FindingCategory::kNetwork},
    CatalogEntry{"rdma_loopback_bandwidth_low", kFail, kDrain,
                 "RDMA loopback bandwidth below the profile's floor",
                 "Check PCIe link and NUMA placement of the HCA; rerun burn-in.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone,
                 FindingCategory::kNetwork},
    CatalogEntry{"mpi_allreduce_failed", kFail, kDrain, "the MPI all-reduce test did not complete",
                 "Check the MPI installation and the fabric; rerun burn-in.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone,
                 FindingCategory::kNetwork},
    CatalogEntry{
        "mpi_allreduce_wrong_result", kFail, kDrain, "the MPI all-reduce test produced wrong data",
        "Silent data corruption: drain and run vendor diagnostics.", /*reports_event=*/false,
        DrainPersistence::kOneRun, kNone, FindingCategory::kNetwork},
    CatalogEntry{"mpi_allreduce_bandwidth_low", kFail, kDrain,
                 "MPI all-reduce bus bandwidth below the profile's floor",
                 "Check links, PCIe and NUMA placement; rerun burn-in.", /*reports_event=*/false,
                 DrainPersistence::kNoisy, kNone, FindingCategory::kNetwork},
    CatalogEntry{"topology_mismatch", kFail, kDrain,
                 "NUMA, GPU or HCA placement or PCIe path differs from the profile or baseline",
                 "Check BIOS settings and device placement against the baseline.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kNode},
    CatalogEntry{"pcie_link_degraded", kFail, kDrain,
                 "a non-GPU device (HCA, bridge) trained below its maximum or the profile",
                 "Reboot; if the link stays degraded, reseat the device.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kNetwork},
    CatalogEntry{"probe_timeout", kFail, kDrain,
                 "a probe or a library it called did not answer before its deadline",
                 "A hung NVML call usually means a sick GPU: drain and reboot.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kProbe},
    CatalogEntry{"probe_error", kFail, kDrain,
                 "a probe could not decide (unreadable input, unexpected library error)",
                 "Read the error; the node is not known to be healthy until it is resolved.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kProbe},
    // Extensions.
    CatalogEntry{"gpu_vbios_mismatch", kWarn, kMonitor,
                 "GPUs of the same model carry different VBIOS versions",
                 "Flash the VBIOS the fleet standard names.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_retired_pages_pending", kFail, kResetGpu,
                 "memory pages are pending retirement (pre-Ampere GPUs); a reset retires them",
                 "Drain and reset the GPU or reboot.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_retired_pages_limit", kFail, kReplace,
                 "the GPU has retired as many pages as its table holds (pre-Ampere GPUs)",
                 "Replace the GPU (RMA).", /*reports_event=*/false, DrainPersistence::kOneRun,
                 kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_temperature_high", kWarn, kMonitor,
                 "GPU temperature at or above its slowdown threshold or the profile's maximum",
                 "Check cooling (fans, airflow, inlet temperature).", /*reports_event=*/false,
                 DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_clock_slowdown", kWarn, kMonitor,
                 "hardware slowdown, thermal slowdown or power-brake clock events are active",
                 "Check power supplies, power capping by the BMC, and cooling.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_recovery_action", kFail, kResetGpu,
                 "the driver asks for a recovery action (GPU reset, node reboot, drain and reset)",
                 "Do what the driver asks: the action names it.", /*reports_event=*/false,
                 DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_fabric_not_ready", kFail, kDrain,
                 "on an NVSwitch system the GPU has not completed fabric registration, so CUDA "
                 "cannot use it",
                 "Start nvidia-fabricmanager (same version as the driver); check the NVSwitches.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"ib_firmware_mismatch", kWarn, kMonitor,
                 "HCAs of one type and board run different firmware versions",
                 "Finish the firmware update (mlxfwreset or a reboot activates a flashed image).",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone,
                 FindingCategory::kNetwork},
    // GPU burn-in (gpu_bandwidth, nccl_allreduce): what Azure NHC's check_gpu_bw (nvbandwidth) and
    // check_nccl_allreduce (nccl-tests) judge, with the GPU or pair at fault named. Measured
    // figures vary from run to run: kNoisy, as for the other bandwidth tests.
    CatalogEntry{"gpu_copy_failed", kFail, kResetGpu,
                 "the CUDA copy test could not run on a GPU that should take work (cuInit or a "
                 "CUDA call failed)",
                 "Read the CUDA error: reset the GPU; reinstall the driver where the error says "
                 "the libraries do not match; replace the GPU if it fails again.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_copy_bandwidth_low", kFail, kResetGpu,
                 "host-to-device, device-to-host or device-to-device copy bandwidth of a GPU "
                 "below the profile's floor or far below the node's other GPUs",
                 "Check the GPU's PCIe link (generation, width, AER errors) and its NUMA "
                 "placement; reset the GPU, reseat it or replace it if it stays slow.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_peer_bandwidth_low", kFail, kResetGpu,
                 "GPU-to-GPU (NVLink or PCIe peer) copy bandwidth of a pair below the profile's "
                 "floor or far below the node's other pairs",
                 "Check the pair's NVLinks (nvidia-smi nvlink -s / -e) and Fabric Manager; reset "
                 "the GPUs, then replace the GPU, NVSwitch tray or baseboard the links share.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"nccl_allreduce_failed", kFail, kDrain,
                 "the in-node NCCL all-reduce could not run (NCCL or CUDA error, no result)",
                 "Read the NCCL error (NCCL_DEBUG=INFO); check Fabric Manager, NVLinks and "
                 "the NCCL installation; reboot if it persists.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"nccl_allreduce_wrong_result", kFail, kResetGpu,
                 "the in-node NCCL all-reduce returned wrong sums on a GPU",
                 "Silent data corruption: drain, reset the GPU and run vendor diagnostics "
                 "(dcgmi diag -r 3); replace the GPU if it recurs.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"nccl_allreduce_bandwidth_low", kFail, kDrain,
                 "in-node NCCL all-reduce bus bandwidth below the profile's floor",
                 "See the copy figures for the GPU or pair at fault; check NVLinks, Fabric "
                 "Manager and GPUDirect RDMA (net path); rerun burn-in.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    // The machine itself (sku_inventory): what LBNL NHC's check_hw_physmem and check_hw_cpuinfo
    // and Azure NHC's check_nvme_count report. Read again every run, so one passing run releases.
    CatalogEntry{"node_memory_mismatch", kFail, kDrain,
                 "physical memory (MemTotal) outside the profile's tolerance: a DIMM or memory "
                 "channel lost, or a different machine size",
                 "Reboot; if memory is still missing, replace the DIMM (bare metal) or redeploy "
                 "the VM on another host.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kNode},
    CatalogEntry{"cpu_count_mismatch", kFail, kDrain,
                 "CPU sockets, cores or online threads differ from the profile",
                 "Bring offline CPUs back online and check SMT in the BIOS; otherwise reboot, "
                 "then replace the node or redeploy the VM.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kNode},
    CatalogEntry{"nvme_missing", kFail, kDrain, "fewer NVMe controllers than the profile expects",
                 "Reboot; if the drive is still missing, reseat or replace it (bare metal) or "
                 "redeploy the VM.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kNode},
    // Grey failures: links that keep working while they log errors or retrain.
    CatalogEntry{"pcie_aer_uncorrectable", kFail, kDrain,
                 "a PCIe device or a bridge above it counted uncorrectable (fatal or non-fatal) "
                 "AER errors in this boot",
                 "Drain and reboot; if errors return, reseat or replace the device, riser or "
                 "cable named in the evidence.",
                 /*reports_event=*/false, DrainPersistence::kSticky, kNone, FindingCategory::kNode},
    CatalogEntry{"pcie_aer_correctable", kWarn, kMonitor,
                 "a PCIe device or a bridge above it logged corrected AER errors faster than the "
                 "profile allows inside its window",
                 "Watch the rate; if it keeps growing, reseat the device or riser at the next "
                 "maintenance window.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kNode},
    CatalogEntry{"pcie_link_retrained", kWarn, kMonitor,
                 "a PCIe link changed its speed or width between rounds, or the kernel logged it "
                 "going down and up, more often than the profile allows inside its window",
                 "Reseat the device or riser; a link that retrains under load will fail a job.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kNode},
    CatalogEntry{"gpu_pcie_replay_rate", kWarn, kMonitor,
                 "a GPU's PCIe replay counter grew faster than the profile allows (DCGM warns "
                 "above 8 replays a minute)",
                 "Reseat the GPU or riser at the next maintenance window; replace it if the rate "
                 "stays high.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_nvlink_errors", kFail, kDrain,
                 "NVLink replay, recovery or CRC error counters grew inside the window (DCGM fails "
                 "on any replay or recovery, and on 100 CRC errors a second)",
                 "Drain and reset the GPU or reboot; replace the GPU or baseboard if the errors "
                 "return.",
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kGpu},
    CatalogEntry{"gpu_power_capped", kWarn, kMonitor,
                 "a GPU's enforced power limit is below its default limit: it runs slow without "
                 "failing",
                 "Find who set the limit (nvidia-smi -q -d POWER: an out-of-band or software "
                 "cap) and restore the default.",
                 /*reports_event=*/false, DrainPersistence::kOneRun, kNone, FindingCategory::kGpu},
    CatalogEntry{"source_disagreement", kFail, kDrain,
                 "PCI, NVML, /dev, the kernel log or the topology see different sets of GPUs or "
                 "HCAs",
                 "Reboot; if the sources still disagree, reseat or replace the device the "
                 "evidence names.",
                 // Noisy: the sources may disagree for a moment while a GPU resets or the driver
                 // loads; a disagreement that lasts drains.
                 /*reports_event=*/false, DrainPersistence::kNoisy, kNone, FindingCategory::kNode},
};

}  // namespace

std::string_view ToString(FindingCategory category) {
  switch (category) {
    case FindingCategory::kGpu:
      return "gpu";
    case FindingCategory::kNetwork:
      return "network";
    case FindingCategory::kNode:
      return "node";
    case FindingCategory::kProbe:
      return "probe";
  }
  return "node";
}

std::span<const CatalogEntry> FindingCatalog() { return kCatalog; }

const CatalogEntry* FindCatalogEntry(std::string_view code) {
  for (const CatalogEntry& entry : kCatalog) {
    if (entry.code == code) return &entry;
  }
  return nullptr;
}

}  // namespace nodehealth
