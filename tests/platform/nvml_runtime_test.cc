// NvmlRuntime: NVML work on one thread that can be abandoned. The fake NVML sleeps in the call a
// scenario names, like a driver waiting on a GPU that no longer answers.
#include "probes/platform/nvml_runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/test_env.h"

namespace nodehealth::platform {
namespace {

using namespace std::chrono_literals;
using nodehealth::testing::FakeNvmlLibrary;
using nodehealth::testing::ScenarioPath;

// Asks NVML for GPU 0000:4c:00.0's remapped rows: the call fault-nvml-slow.toml holds for 3 s.
nvml::Return RemappedRowsOf4c(NvmlSession& session) {
  if (!session.startup().ready()) return -1;
  NvmlLibrary& lib = *session.library();
  nvml::Device device = nullptr;
  if (lib.DeviceGetHandleByPciBusId("0000:4c:00.0", &device) != nvml::kSuccess) return -2;
  unsigned c = 0, u = 0;
  bool p = false, f = false;
  return lib.DeviceGetRemappedRows(device, &c, &u, &p, &f);
}

TEST(NvmlRuntimeTest, RunsWorkAndReportsStartup) {
  ::setenv("NODEHEALTH_FAKE_NVML", ScenarioPath("h100-vm.toml").c_str(), 1);
  NvmlRuntime runtime(FakeNvmlLibrary());
  auto outcome = runtime.Run<unsigned>(Deadline::In(5s), [](NvmlSession& s) {
    unsigned count = 0;
    s.library()->DeviceGetCount(&count);
    return count;
  });
  ASSERT_EQ(outcome.status, NvmlCallStatus::kOk);
  EXPECT_EQ(outcome.value, 8u);
  ASSERT_TRUE(runtime.startup().has_value());
  EXPECT_TRUE(runtime.startup()->ready());
  EXPECT_FALSE(runtime.wedged());
}

TEST(NvmlRuntimeTest, AMissingLibraryIsAStartupOutcomeNotACrash) {
  NvmlRuntime runtime("/nonexistent/libnvidia-ml.so.1");
  auto outcome = runtime.Run<bool>(Deadline::In(5s), [](NvmlSession& s) {
    return s.library() == nullptr && !s.startup().loaded;
  });
  ASSERT_EQ(outcome.status, NvmlCallStatus::kOk);
  EXPECT_TRUE(outcome.value);
  EXPECT_EQ(runtime.startup()->init_return, nvml::kErrorLibraryNotFound);
}

TEST(NvmlRuntimeTest, AbandonsAStuckCallAtTheDeadlineAndRecoversWhenItReturns) {
  ::setenv("NODEHEALTH_FAKE_NVML", ScenarioPath("fault-nvml-slow.toml").c_str(), 1);
  NvmlRuntime runtime(FakeNvmlLibrary());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(runtime.StuckCaller(), std::nullopt);
  std::optional<NvmlOutcome<nvml::Return>> named;
  {
    const NvmlCallerScope caller("gpu_health");  // the thread the call hangs on is named
    named = runtime.Run<nvml::Return>(Deadline::In(1s), RemappedRowsOf4c);
  }
  auto outcome = *named;
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(outcome.status, NvmlCallStatus::kTimedOut);
  EXPECT_GE(waited, 0.95);
  EXPECT_LT(waited, 1.5);
  EXPECT_NE(outcome.stuck_in.find("nvmlDeviceGetRemappedRows"), std::string::npos)
      << outcome.stuck_in;
  EXPECT_TRUE(runtime.wedged());
  EXPECT_EQ(runtime.StuckCaller(), "gpu_health");

  // While stuck, later calls fail at once instead of queueing behind it.
  const auto again = std::chrono::steady_clock::now();
  auto second = runtime.Run<int>(Deadline::In(5s), [](NvmlSession&) { return 1; });
  EXPECT_EQ(second.status, NvmlCallStatus::kWedged);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count(), 0.1);

  // The fake answers after 3 s; the runtime is usable again.
  std::this_thread::sleep_for(2500ms);
  EXPECT_FALSE(runtime.wedged());
  EXPECT_EQ(runtime.StuckCaller(), std::nullopt);
  auto third = runtime.Run<int>(Deadline::In(5s), [](NvmlSession&) { return 7; });
  ASSERT_EQ(third.status, NvmlCallStatus::kOk);
  EXPECT_EQ(third.value, 7);
}

}  // namespace
}  // namespace nodehealth::platform
