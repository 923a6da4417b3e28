// NCCL (libnccl.so.2) loaded with dlopen: nodehealth builds without NCCL and skips (or fails,
// where the profile requires it) the in-node all-reduce on nodes without it. Loaded after the
// CUDA driver, in the GPU worker only.
//
// Thread safety: the table is immutable once loaded.
#pragma once

#include <memory>
#include <string>

#include "probes/platform/nccl_abi.h"
#include "probes/platform/shared_library.h"
#include "probes/util/expected.h"

namespace nodehealth::platform {

struct NcclLibrary {
  SharedLibrary library;
  nccl::GetVersionFn GetVersion = nullptr;
  nccl::CommInitAllFn CommInitAll = nullptr;
  nccl::CommDestroyFn CommDestroy = nullptr;
  nccl::CommAbortFn CommAbort = nullptr;
  nccl::CommGetAsyncErrorFn CommGetAsyncError = nullptr;
  nccl::GetErrorStringFn GetErrorString = nullptr;
  nccl::GroupStartFn GroupStart = nullptr;
  nccl::GroupEndFn GroupEnd = nullptr;
  nccl::AllReduceFn AllReduce = nullptr;

  // "ncclCommInitAll: unhandled cuda error (1)".
  std::string Describe(const char* call, nccl::NcclResult result) const;
};

inline constexpr const char* kDefaultNcclLibrary = "libnccl.so.2";

// Loads `path` (default "libnccl.so.2") and binds every entry point above.
Expected<std::shared_ptr<const NcclLibrary>> LoadNcclLibrary(const std::string& path);

// 22809 -> "2.28.9" (NCCL_VERSION_CODE: major*10000 + minor*100 + patch since 2.9; before,
// major*1000 + minor*100 + patch).
std::string NcclVersionString(int code);

}  // namespace nodehealth::platform
