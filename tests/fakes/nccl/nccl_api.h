// What the fake NCCL is compiled against. With NODEHEALTH_FAKE_WITH_NCCL_H (CMake sets it when it
// finds NVIDIA's nccl.h and the cuda_runtime.h it includes) that is nccl.h itself (NCCL 2.28.9,
// /usr/local/cuda/include/nccl.h), so every definition in fake_nccl.cc must have NVIDIA's exact
// signature or the build fails. Without it the same names are declared from nodehealth's own ABI
// header (probes/platform/nccl_abi.h, itself taken from nccl.h) and the ABI check is skipped.
#pragma once

#define NODEHEALTH_FAKE_EXPORT extern "C" __attribute__((visibility("default")))

#if defined(NODEHEALTH_FAKE_WITH_NCCL_H)

#include <nccl.h>

#else  // no nccl.h: nodehealth's declarations

#include <type_traits>

#include "probes/platform/nccl_abi.h"

using ncclResult_t = nodehealth::nccl::NcclResult;
using ncclComm_t = nodehealth::nccl::NcclComm;
using ncclDataType_t = int;
using ncclRedOp_t = int;
using cudaStream_t = nodehealth::cuda::CuStream;

inline constexpr ncclResult_t ncclSuccess = nodehealth::nccl::kSuccess;
inline constexpr ncclResult_t ncclUnhandledCudaError = nodehealth::nccl::kUnhandledCudaError;
inline constexpr ncclResult_t ncclSystemError = nodehealth::nccl::kSystemError;
inline constexpr ncclResult_t ncclInternalError = nodehealth::nccl::kInternalError;
inline constexpr ncclResult_t ncclInvalidArgument = nodehealth::nccl::kInvalidArgument;
inline constexpr ncclResult_t ncclInvalidUsage = nodehealth::nccl::kInvalidUsage;
inline constexpr ncclResult_t ncclRemoteError = nodehealth::nccl::kRemoteError;
inline constexpr ncclResult_t ncclInProgress = nodehealth::nccl::kInProgress;
inline constexpr ncclDataType_t ncclFloat32 = nodehealth::nccl::kFloat32;
inline constexpr ncclRedOp_t ncclSum = nodehealth::nccl::kSum;

// Each entry point declared with the type the product calls it through.
namespace nodehealth::fake_nccl::abi {
template <class Pointer>
using Function = std::remove_pointer_t<Pointer>;
}  // namespace nodehealth::fake_nccl::abi

extern "C" {
#define NODEHEALTH_DECLARE(fn, type) \
  nodehealth::fake_nccl::abi::Function<nodehealth::nccl::type> fn;
NODEHEALTH_DECLARE(ncclGetVersion, GetVersionFn)
NODEHEALTH_DECLARE(ncclCommInitAll, CommInitAllFn)
NODEHEALTH_DECLARE(ncclCommDestroy, CommDestroyFn)
NODEHEALTH_DECLARE(ncclCommAbort, CommAbortFn)
NODEHEALTH_DECLARE(ncclCommGetAsyncError, CommGetAsyncErrorFn)
NODEHEALTH_DECLARE(ncclGetErrorString, GetErrorStringFn)
NODEHEALTH_DECLARE(ncclGroupStart, GroupStartFn)
NODEHEALTH_DECLARE(ncclGroupEnd, GroupEndFn)
NODEHEALTH_DECLARE(ncclAllReduce, AllReduceFn)
#undef NODEHEALTH_DECLARE
}

#endif  // NODEHEALTH_FAKE_WITH_NCCL_H
