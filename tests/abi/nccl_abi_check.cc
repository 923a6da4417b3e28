// Proves at compile time that nodehealth's declarations of NCCL (probes/platform/nccl_abi.h) are
// NVIDIA's: every ...Fn type against nccl.h's declaration, the communicator and stream types
// exactly, ncclUniqueId's size, and every constant. Built (an object library, never linked) only
// when CMake finds nccl.h and the cuda_runtime.h it includes; a mismatch fails the build. Enums
// compare as int: see abi_normalize.h.
//
// Line numbers are those of NCCL 2.28.9's nccl.h (/usr/local/cuda/include/nccl.h).
#include <nccl.h>

#include <cstddef>
#include <type_traits>

#include "probes/platform/nccl_abi.h"
#include "tests/abi/abi_normalize.h"

namespace nodehealth::nccl {
namespace {

// Types (lines 34, 38-39, 42-50, 281-296, 299-312; cudaStream_t is `struct CUstream_st*`,
// driver_types.h line 2998, which nccl.h reaches through cuda_runtime.h).
static_assert(std::is_same_v<NcclComm, ncclComm_t>);
static_assert(std::is_same_v<cuda::CuStream, cudaStream_t>);
static_assert(sizeof(NcclResult) == sizeof(ncclResult_t));
static_assert(sizeof(int) == sizeof(ncclDataType_t));
static_assert(sizeof(int) == sizeof(ncclRedOp_t));
static_assert(sizeof(ncclUniqueId) == kUniqueIdBytes);

NODEHEALTH_SAME_VALUE(kUniqueIdBytes, NCCL_UNIQUE_ID_BYTES);  // line 38
NODEHEALTH_SAME_VALUE(kSuccess, ncclSuccess);                 // lines 42-49
NODEHEALTH_SAME_VALUE(kUnhandledCudaError, ncclUnhandledCudaError);
NODEHEALTH_SAME_VALUE(kSystemError, ncclSystemError);
NODEHEALTH_SAME_VALUE(kInternalError, ncclInternalError);
NODEHEALTH_SAME_VALUE(kInvalidArgument, ncclInvalidArgument);
NODEHEALTH_SAME_VALUE(kInvalidUsage, ncclInvalidUsage);
NODEHEALTH_SAME_VALUE(kRemoteError, ncclRemoteError);
NODEHEALTH_SAME_VALUE(kInProgress, ncclInProgress);
NODEHEALTH_SAME_VALUE(kFloat32, ncclFloat32);  // line 307
NODEHEALTH_SAME_VALUE(kSum, ncclSum);          // line 282

// Signatures (the line of each declaration in nccl.h).
NODEHEALTH_SAME_SIGNATURE(GetVersionFn, ncclGetVersion);                // 151
NODEHEALTH_SAME_SIGNATURE(CommInitAllFn, ncclCommInitAll);              // 180
NODEHEALTH_SAME_SIGNATURE(CommDestroyFn, ncclCommDestroy);              // 192
NODEHEALTH_SAME_SIGNATURE(CommAbortFn, ncclCommAbort);                  // 197
NODEHEALTH_SAME_SIGNATURE(CommGetAsyncErrorFn, ncclCommGetAsyncError);  // 249
NODEHEALTH_SAME_SIGNATURE(GetErrorStringFn, ncclGetErrorString);        // 235
NODEHEALTH_SAME_SIGNATURE(GroupStartFn, ncclGroupStart);                // 558
NODEHEALTH_SAME_SIGNATURE(GroupEndFn, ncclGroupEnd);                    // 568
NODEHEALTH_SAME_SIGNATURE(AllReduceFn, ncclAllReduce);                  // 414-415

}  // namespace
}  // namespace nodehealth::nccl
