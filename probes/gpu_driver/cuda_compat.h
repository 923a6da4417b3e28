// Which driver a CUDA toolkit or runtime needs. Two levels, both from NVIDIA:
//   * the toolkit's own driver ("CUDA Toolkit and Corresponding Driver Versions", CUDA Toolkit
//     release notes, Table 3): everything works, including JIT of the toolkit's PTX;
//   * the minor-version-compatibility floor of its major release (docs.nvidia.com/deploy/
//     cuda-compatibility): applications built with the toolkit run, without newer features.
// Below the floor the toolkit's applications fail to start ("CUDA driver version is insufficient").
//
// Pure functions and static tables; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

struct CudaVersion {
  int major = 0;
  int minor = 0;
  int update = 0;  // 0 = GA; -1 = unknown (a build stamp rather than an update number)

  std::string ToString() const;  // "12.2" or "12.2 Update 2"
};

// /usr/local/cuda-X.Y/version.json: {"cuda": {"name": "CUDA SDK", "version": "12.2.2"}, ...}.
// Some runfile installs stamp a date as the third component ("12.6.20241114"): update -1.
Expected<CudaVersion> ParseCudaVersionJson(std::string_view text);
// Toolkits before 11.1: version.txt, "CUDA Version 10.2.89".
Expected<CudaVersion> ParseCudaVersionTxt(std::string_view text);
// "libcudart.so.12.2.140" -> 12.2 (the runtime's own patch number is not a toolkit update).
std::optional<CudaVersion> CudaVersionFromRuntimeFile(std::string_view file_name);

// The Linux x86_64 driver the toolkit release needs (Table 3), or nullopt for a release newer than
// the table. An unknown update uses the release's GA row.
std::optional<std::string_view> ToolkitDriverVersion(const CudaVersion& version);
// The oldest driver that runs the major release through minor-version compatibility:
// 11.x 450.80.02, 12.x 525.60.13, 13.x 580.65.06 (the first 13.x driver; NVIDIA states ">= 580").
std::optional<std::string_view> MinorCompatibilityFloor(int major);

}  // namespace nodehealth
