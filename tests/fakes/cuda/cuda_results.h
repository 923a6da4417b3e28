// The CUresult codes and the few other constants the fake CUDA driver (fake_cuda.cc) uses, as one
// list each: name, value, the line of its enumerator or macro in NVIDIA's cuda.h of CUDA 13.0
// (/usr/local/cuda/include/cuda.h; enum cudaError_enum is lines 2511-3179), and for a result the
// text cuGetErrorString gives. When cuda.h is present, cuda_api.h static_asserts that every value
// here is NVIDIA's (in the fake and in tests/abi/cuda_abi_check.cc); without it these values
// stand in for cuda.h's.
//
// The texts are what libcudart 13.0's cudaGetErrorString prints for the runtime error of the same
// number and meaning, which the driver's cuGetErrorString shares as far as known (not checked
// against a real libcuda.so.1: the build machine has none).
#pragma once

// X(name, value, line in cuda.h, text)
#define NODEHEALTH_FAKE_CUDA_RESULTS(X)                                                           \
  X(CUDA_SUCCESS, 0, 2517, "no error")                                                            \
  X(CUDA_ERROR_INVALID_VALUE, 1, 2523, "invalid argument")                                        \
  X(CUDA_ERROR_OUT_OF_MEMORY, 2, 2529, "out of memory")                                           \
  X(CUDA_ERROR_NOT_INITIALIZED, 3, 2535, "initialization error")                                  \
  X(CUDA_ERROR_DEINITIALIZED, 4, 2540, "driver shutting down")                                    \
  X(CUDA_ERROR_STUB_LIBRARY, 34, 2576, "CUDA driver is a stub library")                           \
  X(CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER, 36, 2583,                                              \
    "API call is not supported in the installed CUDA driver")                                     \
  X(CUDA_ERROR_DEVICE_UNAVAILABLE, 46, 2591, "CUDA-capable device(s) is/are busy or unavailable") \
  X(CUDA_ERROR_NO_DEVICE, 100, 2597, "no CUDA-capable device is detected")                        \
  X(CUDA_ERROR_INVALID_DEVICE, 101, 2604, "invalid device ordinal")                               \
  X(CUDA_ERROR_DEVICE_NOT_LICENSED, 102, 2609, "device doesn't have valid Grid license")          \
  X(CUDA_ERROR_INVALID_CONTEXT, 201, 2627, "invalid device context")                              \
  X(CUDA_ERROR_ECC_UNCORRECTABLE, 214, 2693, "uncorrectable ECC error encountered")               \
  X(CUDA_ERROR_PEER_ACCESS_UNSUPPORTED, 217, 2712,                                                \
    "peer access is not supported between these two devices")                                     \
  X(CUDA_ERROR_NVLINK_UNCORRECTABLE, 220, 2728,                                                   \
    "uncorrectable NVLink error detected during the execution")                                   \
  X(CUDA_ERROR_OPERATING_SYSTEM, 304, 2793,                                                       \
    "OS call failed or operation not supported on this OS")                                       \
  X(CUDA_ERROR_INVALID_HANDLE, 400, 2799, "invalid resource handle")                              \
  X(CUDA_ERROR_NOT_READY, 600, 2828, "device not ready")                                          \
  X(CUDA_ERROR_ILLEGAL_ADDRESS, 700, 2837, "an illegal memory access was encountered")            \
  X(CUDA_ERROR_LAUNCH_TIMEOUT, 702, 2858, "the launch timed out and was terminated")              \
  X(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED, 704, 2871, "peer access is already enabled")          \
  X(CUDA_ERROR_PEER_ACCESS_NOT_ENABLED, 705, 2878, "peer access has not been enabled")            \
  X(CUDA_ERROR_CONTEXT_IS_DESTROYED, 709, 2891, "context is destroyed")                           \
  X(CUDA_ERROR_HARDWARE_STACK_ERROR, 714, 2927, "hardware stack error")                           \
  X(CUDA_ERROR_ILLEGAL_INSTRUCTION, 715, 2935, "an illegal instruction was encountered")          \
  X(CUDA_ERROR_MISALIGNED_ADDRESS, 716, 2944, "misaligned address")                               \
  X(CUDA_ERROR_LAUNCH_FAILED, 719, 2974, "unspecified launch failure")                            \
  X(CUDA_ERROR_NOT_PERMITTED, 800, 2996, "operation not permitted")                               \
  X(CUDA_ERROR_NOT_SUPPORTED, 801, 3002, "operation not supported")                               \
  X(CUDA_ERROR_SYSTEM_NOT_READY, 802, 3011, "system not yet initialized")                         \
  X(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, 803, 3018,                                                 \
    "system has unsupported display driver / cuda driver combination")                            \
  X(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE, 804, 3027,                                         \
    "forward compatibility was attempted on non supported HW")                                    \
  X(CUDA_ERROR_TIMEOUT, 909, 3128, "wait operation timed out")                                    \
  X(CUDA_ERROR_UNKNOWN, 999, 3178, "unknown error")

// X(name, type, value, line in cuda.h): other constants, each an enumerator or a macro of cuda.h;
// the clock rates are in kHz.
#define NODEHEALTH_FAKE_CUDA_CONSTANTS(X)                \
  X(CU_DEVICE_ATTRIBUTE_CLOCK_RATE, int, 13, 738)        \
  X(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, int, 36, 764) \
  X(CU_STREAM_DEFAULT, unsigned int, 0x0, 428)           \
  X(CU_STREAM_NON_BLOCKING, unsigned int, 0x1, 429)      \
  X(CU_EVENT_DEFAULT, unsigned int, 0x0, 456)            \
  X(CU_EVENT_BLOCKING_SYNC, unsigned int, 0x1, 457)      \
  X(CU_EVENT_DISABLE_TIMING, unsigned int, 0x2, 458)     \
  X(CU_EVENT_INTERPROCESS, unsigned int, 0x4, 459)       \
  X(CU_MEMHOSTALLOC_PORTABLE, unsigned int, 0x01, 3247)  \
  X(CU_MEMHOSTALLOC_DEVICEMAP, unsigned int, 0x02, 3254) \
  X(CU_MEMHOSTALLOC_WRITECOMBINED, unsigned int, 0x04, 3262)
