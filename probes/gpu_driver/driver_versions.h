// Pure parsers for the version strings the NVIDIA driver stack leaves on a node. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

struct KernelModuleVersion {
  std::string version;  // "535.161.08"
  bool open = false;    // open GPU kernel modules ("Open Kernel Module")
};

// /proc/driver/nvidia/version, first line:
//   "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.161.08  Thu Feb  8 ..."
//   "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.90.07  Release Build ..."
Expected<KernelModuleVersion> ParseProcDriverVersion(std::string_view text);

// A driver version token: digits and dots, at least "major.minor" ("535.161.08", "570.26").
bool LooksLikeDriverVersion(std::string_view text);

// nvmlSystemGetNVMLVersion returns "<CUDA major>.<driver version>", e.g. "12.535.161.08".
Expected<std::string> DriverVersionFromNvmlVersion(std::string_view nvml_version);

// "…/libnvidia-ml.so.535.161.08" -> "535.161.08"; nullopt for an unversioned name.
std::optional<std::string> DriverVersionFromLibraryFile(std::string_view path);

// 12020 -> "12.2" (NVML_CUDA_DRIVER_VERSION_MAJOR / _MINOR).
std::string FormatCudaDriverVersion(int version);

// The Fabric Manager package in a dpkg status database, if installed.
struct InstalledPackage {
  std::string name;              // "nvidia-fabricmanager-535"
  std::string version;           // "535.161.08-1"
  std::string upstream_version;  // "535.161.08"
};
std::optional<InstalledPackage> FindFabricManagerPackage(std::string_view dpkg_status);

}  // namespace nodehealth
