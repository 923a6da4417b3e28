// The fake libcuda.so.1 and libnccl.so.2 themselves (tests/fakes/cuda, tests/fakes/nccl), loaded
// through dlopen by path as nodehealth loads the real ones, and called through nodehealth's own
// function types (probes/platform/cuda_driver_abi.h, nccl_abi.h): a two-GPU all-reduce whose sum
// and virtual time are exact, copy rates, memory limits, peer access, error names, the scenario's
// failures and its parse errors.
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "probes/platform/cuda_driver_abi.h"
#include "probes/platform/nccl_abi.h"
#include "tests/fakes/cuda/fake_gpu_hooks.h"
#include "tests/support/fixture_node.h"

namespace nodehealth::testing {
namespace {

namespace cu = nodehealth::cuda;
namespace nc = nodehealth::nccl;

template <class T>
T Symbol(void* library, const char* name) {
  void* symbol = library == nullptr ? nullptr : ::dlsym(library, name);
  EXPECT_NE(symbol, nullptr) << name;
  return reinterpret_cast<T>(symbol);
}

// Both fakes, loaded once per process as the product would: libcuda first, by path; libnccl's
// DT_NEEDED libcuda.so.1 then resolves to it by SONAME.
struct Fakes {
  void* cuda = ::dlopen(NODEHEALTH_FAKE_CUDA_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  void* nccl = ::dlopen(NODEHEALTH_FAKE_NCCL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  using ResetFn = decltype(&nodehealth_fake_gpu_reset);
  using LiveObjectsFn = decltype(&nodehealth_fake_cuda_live_objects);
  ResetFn reset = Symbol<ResetFn>(cuda, "nodehealth_fake_gpu_reset");
  LiveObjectsFn live_objects = Symbol<LiveObjectsFn>(cuda, "nodehealth_fake_cuda_live_objects");
  cu::InitFn init = Symbol<cu::InitFn>(cuda, "cuInit");
  cu::DriverGetVersionFn driver_version =
      Symbol<cu::DriverGetVersionFn>(cuda, "cuDriverGetVersion");
  cu::DeviceGetCountFn device_count = Symbol<cu::DeviceGetCountFn>(cuda, "cuDeviceGetCount");
  cu::DeviceGetNameFn name = Symbol<cu::DeviceGetNameFn>(cuda, "cuDeviceGetName");
  cu::DeviceGetPciBusIdFn bus_id = Symbol<cu::DeviceGetPciBusIdFn>(cuda, "cuDeviceGetPCIBusId");
  cu::DeviceGetAttributeFn attribute =
      Symbol<cu::DeviceGetAttributeFn>(cuda, "cuDeviceGetAttribute");
  cu::DeviceCanAccessPeerFn can_access_peer =
      Symbol<cu::DeviceCanAccessPeerFn>(cuda, "cuDeviceCanAccessPeer");
  cu::DevicePrimaryCtxRetainFn retain =
      Symbol<cu::DevicePrimaryCtxRetainFn>(cuda, "cuDevicePrimaryCtxRetain");
  cu::DevicePrimaryCtxReleaseFn release =
      Symbol<cu::DevicePrimaryCtxReleaseFn>(cuda, "cuDevicePrimaryCtxRelease_v2");
  cu::CtxSetCurrentFn set_current = Symbol<cu::CtxSetCurrentFn>(cuda, "cuCtxSetCurrent");
  cu::CtxEnablePeerAccessFn enable_peer =
      Symbol<cu::CtxEnablePeerAccessFn>(cuda, "cuCtxEnablePeerAccess");
  cu::MemGetInfoFn mem_info = Symbol<cu::MemGetInfoFn>(cuda, "cuMemGetInfo_v2");
  cu::MemAllocFn alloc = Symbol<cu::MemAllocFn>(cuda, "cuMemAlloc_v2");
  cu::MemFreeFn free = Symbol<cu::MemFreeFn>(cuda, "cuMemFree_v2");
  cu::MemHostAllocFn host_alloc = Symbol<cu::MemHostAllocFn>(cuda, "cuMemHostAlloc");
  cu::MemFreeHostFn free_host = Symbol<cu::MemFreeHostFn>(cuda, "cuMemFreeHost");
  cu::MemcpyHtoDAsyncFn h2d = Symbol<cu::MemcpyHtoDAsyncFn>(cuda, "cuMemcpyHtoDAsync_v2");
  cu::MemcpyDtoHAsyncFn d2h = Symbol<cu::MemcpyDtoHAsyncFn>(cuda, "cuMemcpyDtoHAsync_v2");
  cu::MemcpyPeerAsyncFn peer_copy = Symbol<cu::MemcpyPeerAsyncFn>(cuda, "cuMemcpyPeerAsync");
  cu::StreamCreateFn stream_create = Symbol<cu::StreamCreateFn>(cuda, "cuStreamCreate");
  cu::StreamDestroyFn stream_destroy = Symbol<cu::StreamDestroyFn>(cuda, "cuStreamDestroy_v2");
  cu::StreamSynchronizeFn stream_sync =
      Symbol<cu::StreamSynchronizeFn>(cuda, "cuStreamSynchronize");
  cu::EventCreateFn event_create = Symbol<cu::EventCreateFn>(cuda, "cuEventCreate");
  cu::EventRecordFn event_record = Symbol<cu::EventRecordFn>(cuda, "cuEventRecord");
  cu::EventElapsedTimeFn elapsed = Symbol<cu::EventElapsedTimeFn>(cuda, "cuEventElapsedTime_v2");
  cu::EventElapsedTimeFn elapsed_legacy =
      Symbol<cu::EventElapsedTimeFn>(cuda, "cuEventElapsedTime");
  cu::EventDestroyFn event_destroy = Symbol<cu::EventDestroyFn>(cuda, "cuEventDestroy_v2");
  cu::GetErrorNameFn error_name = Symbol<cu::GetErrorNameFn>(cuda, "cuGetErrorName");
  cu::GetErrorNameFn error_string = Symbol<cu::GetErrorNameFn>(cuda, "cuGetErrorString");
  nc::GetVersionFn nccl_version = Symbol<nc::GetVersionFn>(nccl, "ncclGetVersion");
  nc::CommInitAllFn comm_init_all = Symbol<nc::CommInitAllFn>(nccl, "ncclCommInitAll");
  nc::CommDestroyFn comm_destroy = Symbol<nc::CommDestroyFn>(nccl, "ncclCommDestroy");
  nc::GetErrorStringFn nccl_error = Symbol<nc::GetErrorStringFn>(nccl, "ncclGetErrorString");
  nc::GroupStartFn group_start = Symbol<nc::GroupStartFn>(nccl, "ncclGroupStart");
  nc::GroupEndFn group_end = Symbol<nc::GroupEndFn>(nccl, "ncclGroupEnd");
  nc::AllReduceFn all_reduce = Symbol<nc::AllReduceFn>(nccl, "ncclAllReduce");
};

const Fakes& GetFakes() {
  static const Fakes* fakes = new Fakes();
  return *fakes;
}

class FakeGpuLibrariesTest : public ::testing::Test {
 protected:
  // Writes `scenario`, points the fakes at it and resets them.
  void Use(const std::string& scenario) {
    std::string path = dir_.path() + "/scenario.txt";
    std::ofstream(path) << scenario;
    ::setenv("NODEHEALTH_FAKE_GPU_SCENARIO", path.c_str(), 1);
    f.reset();
  }
  void TearDown() override {
    ::unsetenv("NODEHEALTH_FAKE_GPU_SCENARIO");
    ::unsetenv("NCCL_P2P_DISABLE");
    ::unsetenv("NCCL_SHM_DISABLE");
    f.reset();
  }
  // cuInit and the primary context of `device`, made current.
  cu::CuContext Context(int device) {
    cu::CuContext context = nullptr;
    EXPECT_EQ(f.init(0), cu::kSuccess);
    EXPECT_EQ(f.retain(&context, device), cu::kSuccess);
    EXPECT_EQ(f.set_current(context), cu::kSuccess);
    return context;
  }

  const Fakes& f = GetFakes();
  TempDir dir_;
};

TEST_F(FakeGpuLibrariesTest, TwoGpuAllReduceSumsAndTakesTheSlowestRingRate) {
  Use("gpu 0000:19:00.0\ngpu 0000:3b:00.0\n"
      "peer 0000:19:00.0 0000:3B:00.0 100\npeer 0000:3B:00.0 0000:19:00.0 80   # slower way\n");
  constexpr std::size_t kCount = (1 << 20) / sizeof(float);  // 1 MiB
  cu::CuContext contexts[2];
  cu::CuDevicePtr send[2], receive[2];
  cu::CuStream streams[2];
  cu::CuEvent start[2], end[2];
  for (int d = 0; d < 2; ++d) {
    contexts[d] = Context(d);
    ASSERT_EQ(f.alloc(&send[d], kCount * sizeof(float)), cu::kSuccess);
    ASSERT_EQ(f.alloc(&receive[d], kCount * sizeof(float)), cu::kSuccess);
    ASSERT_EQ(f.stream_create(&streams[d], cu::kStreamNonBlocking), cu::kSuccess);
    ASSERT_EQ(f.event_create(&start[d], cu::kEventDefault), cu::kSuccess);
    ASSERT_EQ(f.event_create(&end[d], cu::kEventDefault), cu::kSuccess);
    std::vector<float> values(kCount);
    for (std::size_t i = 0; i < kCount; ++i) values[i] = static_cast<float>(i % 1000) + d * 0.5f;
    ASSERT_EQ(f.h2d(send[d], values.data(), kCount * sizeof(float), streams[d]), cu::kSuccess);
    ASSERT_EQ(f.event_record(start[d], streams[d]), cu::kSuccess);
  }
  nc::NcclComm comms[2];
  const int devices[2] = {0, 1};
  ASSERT_EQ(f.comm_init_all(comms, 2, devices), nc::kSuccess);
  ASSERT_EQ(f.group_start(), nc::kSuccess);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(
        f.all_reduce(reinterpret_cast<const void*>(send[d]), reinterpret_cast<void*>(receive[d]),
                     kCount, nc::kFloat32, nc::kSum, comms[d], streams[d]),
        nc::kSuccess);
  }
  ASSERT_EQ(f.group_end(), nc::kSuccess);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(f.set_current(contexts[d]), cu::kSuccess);
    ASSERT_EQ(f.event_record(end[d], streams[d]), cu::kSuccess);
    ASSERT_EQ(f.stream_sync(streams[d]), cu::kSuccess);
    std::vector<float> result(kCount);
    ASSERT_EQ(f.d2h(result.data(), receive[d], kCount * sizeof(float), streams[d]), cu::kSuccess);
    for (std::size_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(result[i], 2.0f * static_cast<float>(i % 1000) + 0.5f)
          << "device " << d << " " << i;
    }
    float ms = 0;
    ASSERT_EQ(f.elapsed(&ms, start[d], end[d]), cu::kSuccess);
    // algbw = bytes / time; busbw = algbw * 2(n-1)/n = the ring's slowest link, 80 GB/s.
    double bus_gbps = (1 << 20) / (ms * 1e-3) * (2.0 * (2 - 1) / 2) / 1e9;
    EXPECT_NEAR(bus_gbps, 80.0, 1e-3);
  }
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(f.set_current(contexts[d]), cu::kSuccess);
    EXPECT_EQ(f.comm_destroy(comms[d]), nc::kSuccess);
    EXPECT_EQ(f.free(send[d]), cu::kSuccess);
    EXPECT_EQ(f.free(receive[d]), cu::kSuccess);
    EXPECT_EQ(f.event_destroy(start[d]), cu::kSuccess);
    EXPECT_EQ(f.event_destroy(end[d]), cu::kSuccess);
    EXPECT_EQ(f.stream_destroy(streams[d]), cu::kSuccess);
  }
  EXPECT_EQ(f.live_objects(), 0);
}

TEST_F(FakeGpuLibrariesTest, WrongElementNetRateAndPartialGroups) {
  Use("gpu 0000:19:00.0\ngpu 0000:3B:00.0\nnccl_wrong_element 1 7\nnccl_net_gbps 25\n");
  ::setenv("NCCL_P2P_DISABLE", "1", 1);
  ::setenv("NCCL_SHM_DISABLE", "1", 1);
  constexpr std::size_t kBytes = 1 << 20;
  cu::CuDevicePtr buffer[2];
  cu::CuEvent start[2], end[2];
  std::vector<float> ones(kBytes / 4, 1.0f);
  for (int d = 0; d < 2; ++d) {
    Context(d);
    ASSERT_EQ(f.alloc(&buffer[d], kBytes), cu::kSuccess);
    ASSERT_EQ(f.h2d(buffer[d], ones.data(), kBytes, nullptr), cu::kSuccess);
    ASSERT_EQ(f.event_create(&start[d], 0), cu::kSuccess);
    ASSERT_EQ(f.event_create(&end[d], 0), cu::kSuccess);
    ASSERT_EQ(f.event_record(start[d], nullptr), cu::kSuccess);
  }
  nc::NcclComm comms[2];
  ASSERT_EQ(f.comm_init_all(comms, 2, nullptr), nc::kSuccess);
  // Outside a group, and a group where rank 1 never posts: both are usage errors.
  void* in_place = reinterpret_cast<void*>(buffer[0]);
  EXPECT_EQ(f.all_reduce(in_place, in_place, kBytes / 4, nc::kFloat32, nc::kSum, comms[0], nullptr),
            nc::kInvalidUsage);
  ASSERT_EQ(f.group_start(), nc::kSuccess);
  EXPECT_EQ(f.all_reduce(in_place, in_place, kBytes / 4, nc::kFloat32, nc::kSum, comms[0], nullptr),
            nc::kSuccess);
  EXPECT_EQ(f.group_end(), nc::kInvalidUsage);
  EXPECT_EQ(
      f.all_reduce(in_place, in_place, kBytes / 4, nc::kFloat32 + 1, nc::kSum, comms[0], nullptr),
      nc::kInvalidArgument);
  // In place on both ranks.
  ASSERT_EQ(f.group_start(), nc::kSuccess);
  for (int d = 0; d < 2; ++d) {
    void* b = reinterpret_cast<void*>(buffer[d]);
    ASSERT_EQ(f.all_reduce(b, b, kBytes / 4, nc::kFloat32, nc::kSum, comms[d], nullptr),
              nc::kSuccess);
  }
  ASSERT_EQ(f.group_end(), nc::kSuccess);
  for (int d = 0; d < 2; ++d) {
    Context(d);
    std::vector<float> result(kBytes / 4);
    ASSERT_EQ(f.event_record(end[d], nullptr), cu::kSuccess);
    ASSERT_EQ(f.d2h(result.data(), buffer[d], kBytes, nullptr), cu::kSuccess);
    EXPECT_EQ(result[6], 2.0f);
    EXPECT_EQ(result[7], d == 1 ? 3.0f : 2.0f);
    float ms = 0;
    ASSERT_EQ(f.elapsed_legacy(&ms, start[d], end[d]), cu::kSuccess);
    EXPECT_NEAR(kBytes / (ms * 1e-3) / 1e9, 25.0, 1e-3);  // busbw = algbw for 2 ranks
  }
  EXPECT_STREQ(f.nccl_error(nc::kInvalidUsage),
               "invalid usage (run with NCCL_DEBUG=WARN for details)");
}

TEST_F(FakeGpuLibrariesTest, CopiesRunAtTheScenarioRates) {
  Use("gpu 0000:19:00.0 h2d_gbps=25 d2h_gbps=20\ngpu 0000:3B:00.0\npeer_gbps 300\n");
  constexpr std::size_t kBytes = 8 << 20;
  cu::CuContext c1 = Context(1);
  cu::CuDevicePtr far = 0;
  ASSERT_EQ(f.alloc(&far, kBytes), cu::kSuccess);
  cu::CuContext c0 = Context(0);
  cu::CuDevicePtr near = 0;
  ASSERT_EQ(f.alloc(&near, kBytes), cu::kSuccess);
  void* pinned = nullptr;
  ASSERT_EQ(f.host_alloc(&pinned, kBytes, cu::kMemHostAllocPortable), cu::kSuccess);
  char* host = static_cast<char*>(pinned);
  std::memset(host, 'x', kBytes);
  cu::CuStream stream = nullptr;
  cu::CuEvent marks[4];
  ASSERT_EQ(f.stream_create(&stream, 0), cu::kSuccess);
  for (cu::CuEvent& mark : marks) ASSERT_EQ(f.event_create(&mark, 0), cu::kSuccess);
  ASSERT_EQ(f.event_record(marks[0], stream), cu::kSuccess);
  ASSERT_EQ(f.h2d(near, host, kBytes, stream), cu::kSuccess);
  ASSERT_EQ(f.event_record(marks[1], stream), cu::kSuccess);
  ASSERT_EQ(f.peer_copy(far, c1, near, c0, kBytes, stream), cu::kSuccess);
  ASSERT_EQ(f.event_record(marks[2], stream), cu::kSuccess);
  std::memset(host, 0, kBytes);
  ASSERT_EQ(f.d2h(host, near, kBytes, stream), cu::kSuccess);
  ASSERT_EQ(f.event_record(marks[3], stream), cu::kSuccess);
  EXPECT_EQ(host[kBytes - 1], 'x');
  const double expected_gbps[] = {25, 300, 20};
  for (int i = 0; i < 3; ++i) {
    float ms = 0;
    ASSERT_EQ(f.elapsed(&ms, marks[i], marks[i + 1]), cu::kSuccess);
    EXPECT_NEAR(kBytes / (ms * 1e-3) / 1e9, expected_gbps[i], expected_gbps[i] * 1e-6) << i;
  }
  EXPECT_EQ(f.free_host(pinned), cu::kSuccess);
  EXPECT_EQ(f.release(0), cu::kSuccess);  // frees what device 0's context owned
  EXPECT_EQ(f.release(1), cu::kSuccess);
  EXPECT_EQ(f.live_objects(), 0);
}

TEST_F(FakeGpuLibrariesTest, DevicesMemoryPeersAndErrorNames) {
  Use("gpu 0000:19:00.0 name=\"NVIDIA H200\" memory_mib=4 sm_clock_mhz=1755  # small\n"
      "gpu 0000:3b:00.0\ngpu 0000:5d:00.0\nno_peer 0000:19:00.0 0000:5D:00.0\n"
      "driver_version 13000\n");
  int version = 0, count = 0;
  ASSERT_EQ(f.driver_version(&version), cu::kSuccess);  // before cuInit, as the driver allows
  EXPECT_EQ(version, 13000);
  EXPECT_EQ(f.device_count(&count), cu::kErrorNotInitialized);
  cu::CuContext c0 = Context(0);
  ASSERT_EQ(f.device_count(&count), cu::kSuccess);
  EXPECT_EQ(count, 3);
  char text[64];
  ASSERT_EQ(f.bus_id(text, sizeof text, 1), cu::kSuccess);
  EXPECT_STREQ(text, "0000:3B:00.0");
  ASSERT_EQ(f.name(text, sizeof text, 0), cu::kSuccess);
  EXPECT_STREQ(text, "NVIDIA H200");
  int value = 0;
  ASSERT_EQ(f.attribute(&value, cu::kAttributeClockRate, 0), cu::kSuccess);
  EXPECT_EQ(value, 1755000);
  ASSERT_EQ(f.attribute(&value, cu::kAttributeMemoryClockRate, 1), cu::kSuccess);
  EXPECT_EQ(value, 2619000);
  EXPECT_EQ(f.attribute(&value, 1, 0), cu::kErrorInvalidValue);
  EXPECT_EQ(f.name(text, sizeof text, 3), cu::kErrorInvalidDevice);

  std::size_t free_bytes = 0, total = 0;
  cu::CuDevicePtr a = 0, b = 0;
  ASSERT_EQ(f.alloc(&a, 3 << 20), cu::kSuccess);
  ASSERT_EQ(f.mem_info(&free_bytes, &total), cu::kSuccess);
  EXPECT_EQ(total, 4u << 20);
  EXPECT_EQ(free_bytes, 1u << 20);
  EXPECT_EQ(f.alloc(&b, (1 << 20) + 1), cu::kErrorOutOfMemory);
  EXPECT_EQ(f.free(a), cu::kSuccess);
  EXPECT_EQ(f.free(a), cu::kErrorInvalidValue);

  int can = -1;
  ASSERT_EQ(f.can_access_peer(&can, 0, 2), cu::kSuccess);
  EXPECT_EQ(can, 0);
  ASSERT_EQ(f.can_access_peer(&can, 2, 0), cu::kSuccess);
  EXPECT_EQ(can, 1);
  cu::CuContext c1 = nullptr, c2 = nullptr;
  ASSERT_EQ(f.retain(&c1, 1), cu::kSuccess);
  ASSERT_EQ(f.retain(&c2, 2), cu::kSuccess);
  ASSERT_EQ(f.set_current(c0), cu::kSuccess);
  EXPECT_EQ(f.enable_peer(c1, 0), cu::kSuccess);
  EXPECT_EQ(f.enable_peer(c1, 0), cu::kErrorPeerAccessAlreadyEnabled);
  EXPECT_EQ(f.enable_peer(c2, 0), 217);  // CUDA_ERROR_PEER_ACCESS_UNSUPPORTED

  const char* s = nullptr;
  ASSERT_EQ(f.error_name(cu::kErrorNoDevice, &s), cu::kSuccess);
  EXPECT_STREQ(s, "CUDA_ERROR_NO_DEVICE");
  ASSERT_EQ(f.error_string(cu::kErrorEccUncorrectable, &s), cu::kSuccess);
  EXPECT_STREQ(s, "uncorrectable ECC error encountered");
  EXPECT_EQ(f.error_name(12345, &s), cu::kErrorInvalidValue);
  EXPECT_EQ(s, nullptr);
  int nccl_version = 0;
  ASSERT_EQ(f.nccl_version(&nccl_version), nc::kSuccess);
  EXPECT_EQ(nccl_version, 22809);
}

TEST_F(FakeGpuLibrariesTest, ScenarioFailuresAndInit) {
  Use("gpu 0000:19:00.0\nfail cuMemAlloc_v2 CUDA_ERROR_ECC_UNCORRECTABLE after=2\n"
      "nccl_fail ncclCommInitAll 2\n");
  Context(0);
  cu::CuDevicePtr p[3];
  EXPECT_EQ(f.alloc(&p[0], 256), cu::kSuccess);
  EXPECT_EQ(f.alloc(&p[1], 256), cu::kSuccess);
  EXPECT_EQ(f.alloc(&p[2], 256), cu::kErrorEccUncorrectable);
  EXPECT_EQ(f.alloc(&p[2], 256), cu::kErrorEccUncorrectable);
  nc::NcclComm comm = nullptr;
  EXPECT_EQ(f.comm_init_all(&comm, 1, nullptr), nc::kSystemError);

  Use("cuInit 803\ngpu 0000:19:00.0\n");
  int count = 0;
  EXPECT_EQ(f.init(0), cu::kErrorSystemDriverMismatch);
  EXPECT_EQ(f.device_count(&count), cu::kErrorNotInitialized);
  EXPECT_EQ(f.comm_init_all(&comm, 1, nullptr), nc::kUnhandledCudaError);

  Use("# no GPU at all\n");
  EXPECT_EQ(f.init(0), cu::kErrorNoDevice);
}

// A hung call never returns: the child calling it is still running when the test kills it.
TEST_F(FakeGpuLibrariesTest, HangsNeverReturn) {
  Use("gpu 0000:19:00.0\nhang cuStreamSynchronize\nnccl_hang ncclGetVersion\n");
  for (int call = 0; call < 2; ++call) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int version = 0;
      if (call == 0) {
        Context(0);
        f.stream_sync(nullptr);
      } else {
        f.nccl_version(&version);
      }
      ::_exit(0);
    }
    ::usleep(300 * 1000);
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, WNOHANG), 0) << "call " << call << " returned";
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
}

TEST_F(FakeGpuLibrariesTest, ScenarioTyposAbort) {
  for (const char* bad : {"gpu 0000:19:00.0 memory_gib=8\n", "gpus 0000:19:00.0\n",
                          "gpu 0000:19:00.0\nfail cuMemAloc 2\n", "gpu 19:00.0\n",
                          "gpu 0000:19:00.0\npeer 0000:19:00.0 0000:3B:00.0 100\n"}) {
    Use(bad);
    EXPECT_DEATH(f.init(0), "fake GPU libraries: .*line") << bad;
  }
}

}  // namespace
}  // namespace nodehealth::testing
