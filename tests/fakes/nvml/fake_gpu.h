// The fake NVML's model of a node, built from a scenario file (tests/fixtures/nodes/*.toml): the
// real `nvidia-smi -q` capture it names, then the scenario's overrides. Rule for captures: a value
// the capture prints answers NVML_SUCCESS, "N/A" answers NVML_ERROR_NOT_SUPPORTED, and a value the
// capture lacks (a truncated or garbled capture) answers NVML_ERROR_UNKNOWN, so a broken capture
// behaves like a driver that cannot answer, never like a healthy GPU.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probes/platform/nvml_api.h"
#include "probes/util/expected.h"

namespace nodehealth::fake_nvml {

namespace nvml = platform::nvml;

template <class T>
struct Field {
  nvml::Return r = nvml::kErrorUnknown;
  T v{};
};

struct FakeGpu {
  std::string bus_id;  // "0000:19:00.0"
  unsigned domain = 0, bus = 0, device = 0;
  uint32_t pci_device_id = 0;  // device << 16 | vendor
  uint32_t pci_subsystem_id = 0;
  Field<std::string> name, uuid, serial, vbios, gsp_firmware;
  Field<unsigned> minor, architecture;
  Field<bool> ecc_enabled;
  Field<uint64_t> ecc_uncorrected_volatile, ecc_uncorrected_aggregate, ecc_corrected_volatile;
  Field<bool> remap_pending, remap_failure;
  Field<unsigned> remap_correctable, remap_uncorrectable;  // r decides support of the whole call
  Field<bool> retired_pending;
  Field<unsigned> retired_sbe, retired_dbe;
  Field<unsigned> pcie_generation, pcie_max_generation, pcie_device_max_generation;
  Field<unsigned> pcie_width, pcie_max_width;
  Field<int> performance_state;
  Field<uint64_t> clock_event_reasons;
  Field<unsigned> temperature, slowdown_temperature, shutdown_temperature;
  Field<unsigned> recovery_action;
  Field<unsigned char> fabric_state;
  nvml::Return fabric_status = nvml::kSuccess;
  std::vector<int> nvlinks;  // per link: 1 active, 0 inactive
  // nvmlDeviceGetPcieReplayCounter (and field 94): `nvidia-smi -q` "PCI/Replays Since Reset".
  Field<unsigned> pcie_replay;
  // Power limits in mW from "GPU Power Readings" (older drivers: "Power Readings"): Current
  // (enforced), Requested (nvmlDeviceGetPowerManagementLimit), Default, Min, Max Power Limit.
  Field<unsigned> power_enforced_mw, power_requested_mw, power_default_mw, power_min_mw,
      power_max_mw;
  // nvmlDeviceGetNvLinkErrorCounter per link, by nvmlNvLinkErrorCounter_t (0 replay, 1 recovery,
  // 2 CRC flit, 3 CRC data; UINT64_MAX: no data): from an `nvidia-smi nvlink -e` capture ([nvml]
  // nvlink_errors) or per-GPU arrays. A kind without data answers NOT_SUPPORTED (the call itself
  // does on drivers newer than 450 on some GPUs, see the header).
  std::map<int, std::vector<uint64_t>> nvlink_errors;
  // Answer NVLink errors through fields 161-163 (scopeId = link) only, as newer drivers do.
  bool nvlink_errors_fields_only = false;
  bool lost = false;
  nvml::Return open_error = nvml::kSuccess;    // what the handle calls return for this GPU
  std::map<std::string, nvml::Return> errors;  // function -> forced return
  std::string hang;                            // function that hangs for this GPU
};

struct FakeNode {
  nvml::Return init_return = nvml::kSuccess;
  Field<std::string> driver_version, nvml_version;
  Field<int> cuda_version;
  unsigned count = 0;  // nvmlDeviceGetCount; may exceed gpus.size() (truncated capture)
  std::vector<FakeGpu> gpus;
  std::string hang;          // function that hangs for every call (e.g. "nvmlInit_v2")
  double hang_seconds = -1;  // < 0: forever
};

// Builds the node from the scenario file at `path`.
Expected<FakeNode> LoadFakeNode(const std::string& path);

// "NVML_ERROR_GPU_IS_LOST" -> 15.
std::optional<nvml::Return> ReturnByName(const std::string& name);

}  // namespace nodehealth::fake_nvml
