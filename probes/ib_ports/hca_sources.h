// source_disagreement for HCAs: the RDMA adapters that PCI, /sys/class/infiniband,
// /sys/class/infiniband_verbs and /dev/infiniband show, against each other.
//
// Sources:
//  * pci: Mellanox functions (vendor 0x15b3) of class 0x0207xx (InfiniBand), or 0x0200xx
//    (Ethernet) with an infiniband/ directory (RoCE), from /sys/bus/pci/devices.
//  * class: /sys/class/infiniband/<dev>, mapped to its PCI function by the <dev>/device link.
//    A device without that link is not PCI-backed (soft RoCE rxe, siw) and is only counted.
//  * uverbs: /sys/class/infiniband_verbs/uverbs<N>/ibdev names the device whose user-space verbs
//    node is /dev/infiniband/uverbs<N> (the kernel's ib_uverbs,
//    drivers/infiniband/core/uverbs_main.c).
//  * devnode: the names in /dev/infiniband.
// Rules:
//  * an RDMA device whose PCI function is gone from /sys/bus/pci/devices -> hca/<dev>/<port>;
//  * a Mellanox RDMA function with no device in /sys/class/infiniband -> pci/<bus id>;
//  * an RDMA device without a uverbs<N>, or a uverbs<N> without its /dev/infiniband node ->
//    hca/<dev>/<port>; a uverbs<N> naming a device that is not there -> node.
// Nothing is compared while /sys/class/infiniband lists no device (no RDMA driver: ib_ports skips
// or ib_hca_missing says it); an absent or partly unreadable source is not compared and the
// evidence says so.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "probes/ib_ports/ib_sysfs.h"
#include "probes/measurement_spec.h"
#include "probes/platform/file_system.h"
#include "probes/probe_result.h"

namespace nodehealth {

struct IbClassDevice {
  std::string name;                   // "mlx5_0"
  std::optional<std::string> bus_id;  // from <dev>/device; nullopt: no link (not PCI-backed)
  bool function_present = false;      // /sys/bus/pci/devices/<bus id> exists
  int first_port = 1;                 // for the hca/<dev>/<port> entity
};

struct HcaSources {
  // RDMA-capable Mellanox functions, sorted; nullopt when PCI could not be read completely.
  std::optional<std::vector<std::string>> pci;
  std::map<std::string, uint32_t> pci_class;  // bus id -> class code, for messages
  std::vector<IbClassDevice> devices;
  // "uverbs0" -> "mlx5_0"; nullopt without /sys/class/infiniband_verbs or with an unreadable ibdev.
  std::optional<std::map<std::string, std::string>> uverbs;
  // Names in /dev/infiniband; nullopt when it cannot be listed.
  std::optional<std::set<std::string>> devnodes;
};

HcaSources ReadHcaSources(const platform::FileSystem& fs, const ib::Scan& scan);

// Appends source_disagreement findings and ib_hcas{source=...} to `result`, then re-finalises
// its verdict.
void CompareHcaSources(const HcaSources& sources, ProbeResult& result);

// ib_hcas{source=pci|class|uverbs}.
std::vector<MeasurementSpec> HcaSourceMeasurements();

}  // namespace nodehealth
