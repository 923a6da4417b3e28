// The part of NCCL (libnccl.so.2) nodehealth calls, declared without NVIDIA's nccl.h so that
// nodehealth builds anywhere. Types, constants and signatures are those of NVIDIA's public header
// nccl.h (NCCL 2.18 to 2.28; every call used here exists since NCCL 2.4). When nccl.h is present at
// build time, tests/abi/nccl_abi_check.cc proves each declaration against it, and the fake
// libnccl.so.2 (tests/fakes/nccl) is compiled against the real header.
//
// ncclComm keeps NVIDIA's tag at global scope so that ncclComm_t is NVIDIA's type; a CUDA stream
// is cudaStream_t, which cuda_runtime_api.h defines as the driver's CUstream_st*.
#pragma once

#include <cstddef>

#include "probes/platform/cuda_driver_abi.h"

struct ncclComm;

namespace nodehealth::nccl {

using NcclResult = int;  // ncclResult_t
using NcclComm = ncclComm*;
inline constexpr std::size_t kUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES

// ncclResult_t values.
inline constexpr NcclResult kSuccess = 0;             // ncclSuccess
inline constexpr NcclResult kUnhandledCudaError = 1;  // ncclUnhandledCudaError
inline constexpr NcclResult kSystemError = 2;         // ncclSystemError
inline constexpr NcclResult kInternalError = 3;       // ncclInternalError
inline constexpr NcclResult kInvalidArgument = 4;     // ncclInvalidArgument
inline constexpr NcclResult kInvalidUsage = 5;        // ncclInvalidUsage
inline constexpr NcclResult kRemoteError = 6;         // ncclRemoteError
inline constexpr NcclResult kInProgress = 7;          // ncclInProgress

inline constexpr int kFloat32 = 7;  // ncclDataType_t ncclFloat32
inline constexpr int kSum = 0;      // ncclRedOp_t ncclSum

using GetVersionFn = NcclResult (*)(int* version);
using CommInitAllFn = NcclResult (*)(NcclComm* comms, int ndev, const int* devlist);
using CommDestroyFn = NcclResult (*)(NcclComm comm);
using CommAbortFn = NcclResult (*)(NcclComm comm);
using CommGetAsyncErrorFn = NcclResult (*)(NcclComm comm, NcclResult* async_error);
using GetErrorStringFn = const char* (*)(NcclResult result);
using GroupStartFn = NcclResult (*)();
using GroupEndFn = NcclResult (*)();
using AllReduceFn = NcclResult (*)(const void* send, void* receive, std::size_t count, int datatype,
                                   int op, NcclComm comm, cuda::CuStream stream);

}  // namespace nodehealth::nccl
