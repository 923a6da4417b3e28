# The fake CUDA driver (libcuda.so.1) and the fake NCCL (libnccl.so.2) as real shared libraries,
# each alone in its directory, and the ABI checks of nodehealth's declarations of both against
# NVIDIA's headers (tests/abi). Included from tests/CMakeLists.txt; see
# tests/fakes/cuda/fake_cuda.cc and tests/fakes/nccl/fake_nccl.cc.
#
# NVIDIA's cuda.h and nccl.h are used when found (the CUDA toolkit's include directory, or
# $CUDA_HOME/include) and never required: without them the fakes are compiled against
# nodehealth's own ABI headers and the ABI checks are skipped.
option(NODEHEALTH_FAKES_USE_VENDOR_HEADERS
       "Compile the fake libcuda/libnccl against NVIDIA's cuda.h and nccl.h when found" ON)
set(nodehealth_cuda_hints /usr/local/cuda/include)
if(DEFINED ENV{CUDA_HOME})
  list(PREPEND nodehealth_cuda_hints "$ENV{CUDA_HOME}/include")
  list(REMOVE_DUPLICATES nodehealth_cuda_hints)
endif()
if(NODEHEALTH_FAKES_USE_VENDOR_HEADERS)
  find_path(NODEHEALTH_CUDA_INCLUDE_DIR cuda.h HINTS ${nodehealth_cuda_hints})
  find_path(NODEHEALTH_NCCL_INCLUDE_DIR nccl.h HINTS ${nodehealth_cuda_hints})
  find_path(NODEHEALTH_CUDART_INCLUDE_DIR cuda_runtime.h HINTS ${nodehealth_cuda_hints})
endif()

# name: the target; output: cuda or nccl; soversion; the version script exporting its API.
function(nodehealth_fake_gpu_library name output soversion map)
  add_library(${name} SHARED ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE Threads::Threads)
  target_link_options(${name} PRIVATE "LINKER:--version-script=${map}")
  set_target_properties(${name} PROPERTIES
    OUTPUT_NAME ${output}
    SOVERSION ${soversion}
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fakes/${output}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${map})
  # The real libraries are C: their callers pass any int where the header says enum, and call
  # them through pointer types of their own. nodehealth does both (`int` for the vendors' enums,
  # the same ABI: tests/abi/abi_normalize.h), and so do its tests, on purpose (cuGetErrorName of
  # an unknown code). UBSan in the address build would call that undefined in C++ code: the enum
  # check (-fsanitize=enum: a CUresult of 12345) and clang's exact-type check of indirect calls
  # (-fsanitize=function). So the fakes behave as C libraries: without those two checks.
  if(NODEHEALTH_SANITIZE STREQUAL "address")
    target_compile_options(${name} PRIVATE -fno-sanitize=enum)
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      target_compile_options(${name} PRIVATE -fno-sanitize=function)
    endif()
  endif()
endfunction()

nodehealth_fake_gpu_library(cuda_fake cuda 1 ${CMAKE_CURRENT_SOURCE_DIR}/fakes/cuda/libcuda.map
  fakes/cuda/fake_cuda.cc
  fakes/cuda/fake_driver.cc
  fakes/cuda/fake_gpu_hooks.cc
  fakes/cuda/fake_gpu_scenario.cc)
# Links to the fake driver: DT_NEEDED libcuda.so.1 and a RUNPATH to its directory.
nodehealth_fake_gpu_library(nccl_fake nccl 2 ${CMAKE_CURRENT_SOURCE_DIR}/fakes/nccl/libnccl.map
  fakes/nccl/fake_nccl.cc
  fakes/nccl/nccl_clique.cc)
target_link_libraries(nccl_fake PRIVATE cuda_fake)

if(NODEHEALTH_CUDA_INCLUDE_DIR)
  target_include_directories(cuda_fake SYSTEM PRIVATE ${NODEHEALTH_CUDA_INCLUDE_DIR})
  target_compile_definitions(cuda_fake PRIVATE NODEHEALTH_FAKE_WITH_CUDA_H)
  add_library(nodehealth_cuda_abi_check OBJECT abi/cuda_abi_check.cc)
  target_include_directories(nodehealth_cuda_abi_check PRIVATE ${CMAKE_SOURCE_DIR})
  target_include_directories(nodehealth_cuda_abi_check SYSTEM PRIVATE
                             ${NODEHEALTH_CUDA_INCLUDE_DIR})
  target_compile_definitions(nodehealth_cuda_abi_check PRIVATE NODEHEALTH_FAKE_WITH_CUDA_H)
  message(STATUS "Fake libcuda.so.1 and the CUDA ABI check: ${NODEHEALTH_CUDA_INCLUDE_DIR}/cuda.h")
else()
  message(STATUS "cuda.h not found or not used (${nodehealth_cuda_hints}): the fake libcuda.so.1 is built "
                 "against probes/platform/cuda_driver_abi.h and the CUDA ABI check is skipped")
endif()

if(NODEHEALTH_NCCL_INCLUDE_DIR AND NODEHEALTH_CUDART_INCLUDE_DIR)
  target_include_directories(nccl_fake SYSTEM PRIVATE
                             ${NODEHEALTH_NCCL_INCLUDE_DIR} ${NODEHEALTH_CUDART_INCLUDE_DIR})
  target_compile_definitions(nccl_fake PRIVATE NODEHEALTH_FAKE_WITH_NCCL_H)
  add_library(nodehealth_nccl_abi_check OBJECT abi/nccl_abi_check.cc)
  target_include_directories(nodehealth_nccl_abi_check PRIVATE ${CMAKE_SOURCE_DIR})
  target_include_directories(nodehealth_nccl_abi_check SYSTEM PRIVATE
                             ${NODEHEALTH_NCCL_INCLUDE_DIR} ${NODEHEALTH_CUDART_INCLUDE_DIR})
  message(STATUS "Fake libnccl.so.2 and the NCCL ABI check: ${NODEHEALTH_NCCL_INCLUDE_DIR}/nccl.h")
else()
  message(STATUS "nccl.h or cuda_runtime.h not found or not used (${nodehealth_cuda_hints}): the fake "
                 "libnccl.so.2 is built against probes/platform/nccl_abi.h and the NCCL ABI check "
                 "is skipped")
endif()
