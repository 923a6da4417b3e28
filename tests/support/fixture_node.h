// Materialises a scenario (tests/fixtures/nodes/*.toml) as a rooted file tree that nodehealth
// reads with --sysroot: /sys/bus/pci/devices from a real lspci -vvv or nvidia-smi -q capture,
// DMI, CPUs, the driver's version files, /dev/nvidia* nodes, /dev/kmsg (a regular file built from
// real kernel logs plus lines the scenario adds) and any extra files.
//
// Scenario keys (all optional):
//   hostname = "hgx-h100-01"
//   cpu_online = "0-95"
//   [cpu_topology] packages, cores_per_package, threads_per_core, memory_gib_per_node,
//            distance_remote: CPUs and one NUMA node per package under /sys/devices/system
//   [dmi] sys_vendor, product_name, or dmidecode = "<capture>" (System Information)
//   [pci] lspci = "<lspci -vvv>", smi = "<nvidia-smi -q>", remove = ["0000:9b:00.0"]
//   [pci.override."<bus id>"] <attribute> = "<raw file content>"
//   [driver] version = "535.161.08", open = false, proc_version = "<whole line>",
//            dev_nodes = <count> (default: the number of NVIDIA GPUs on PCI), loaded = true
//   [kmsg] files = ["<log>", ...], lines = ["<line>", ...]
//   [trees] "<dest below the root>" = "<directory>" or "<archive.ttar>:<member path>" (copied
//           before [files], so [files] can change single files of a real tree)
//   [files] "<path below the root>" = "<content>"
//   [symlinks] "<path below the root>" = "<target>"
//   remove = ["<path below the root>", ...]   (applied last: a fault takes a device away)
//   [nvml] ... read by the fake NVML only (tests/fakes/nvml/fake_nvml.cc)
#pragma once

#include <string>

#include "probes/util/expected.h"

namespace nodehealth::testing {

// Writes the tree below `root` (created if needed; existing files are overwritten).
Expected<bool> MaterializeNode(const std::string& scenario_path, const std::string& root);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The directory of the scenario files (tests/fixtures/nodes), from CMake.
std::string ScenarioDir();
std::string ScenarioPath(const std::string& name);  // ScenarioDir() + "/" + name

}  // namespace nodehealth::testing
