// The NVML loader against the fake NVML built as real shared libraries: the current one with
// versioned entry points, and a legacy one with only old names and without newer functions.
#include "probes/platform/nvml_library.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/blocking_call.h"
#include "tests/support/fixture_node.h"
#include "tests/support/test_env.h"

namespace nodehealth::platform {
namespace {

using nodehealth::testing::FakeNvmlLegacyLibrary;
using nodehealth::testing::FakeNvmlLibrary;
using nodehealth::testing::ScenarioPath;

class NvmlLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("NODEHEALTH_FAKE_NVML", ScenarioPath("h100-vm.toml").c_str(), 1);
  }
};

bool Contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST_F(NvmlLibraryTest, AMissingLibraryIsAnErrorNamingIt) {
  Expected<std::unique_ptr<NvmlLibrary>> lib = NvmlLibrary::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.error().message.find("cannot load /nonexistent/libnvidia-ml.so.1"),
            std::string::npos);
}

TEST_F(NvmlLibraryTest, AFifoAsTheLibraryIsAnErrorNotAWait) {
  // dlopen's open(2) of a FIFO never returned, holding the loader's lock: every later dlopen in
  // the process (hwloc's plugins) waited too, and `check --nvml-library FIFO` lost the topology
  // probe to its deadline.
  nodehealth::testing::TempDir dir;
  const std::string fifo = dir.path() + "/libnvidia-ml.so.1";
  nodehealth::testing::MakeFifo(fifo);
  bool blocked = false;
  Expected<std::unique_ptr<NvmlLibrary>> lib = nodehealth::testing::CallWithFifoDeadline(
      fifo, [&] { return NvmlLibrary::Open(fifo); }, &blocked);
  EXPECT_FALSE(blocked) << "dlopen waited on a FIFO";
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().message, "cannot load " + fifo + ": it is a FIFO, not a shared library");
}

TEST_F(NvmlLibraryTest, ResolvesVersionedNamesFirst) {
  auto lib = NvmlLibrary::Open(FakeNvmlLibrary());
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  const std::vector<std::string> symbols = (*lib)->ResolvedSymbols();
  EXPECT_TRUE(Contains(symbols, "nvmlInit_v2 -> nvmlInit_v2"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetPciInfo_v3 -> nvmlDeviceGetPciInfo_v3"));
  EXPECT_TRUE(Contains(symbols,
                       "nvmlDeviceGetCurrentClocksEventReasons -> "
                       "nvmlDeviceGetCurrentClocksEventReasons"));
  EXPECT_NE((*lib)->loaded_file().find("libnvml_fake.so"), std::string::npos);
  ASSERT_EQ((*lib)->Init(), nvml::kSuccess);
  std::string version;
  EXPECT_EQ((*lib)->SystemGetDriverVersion(&version), nvml::kSuccess);
  EXPECT_EQ(version, "535.183.01");
  int cuda = 0;
  EXPECT_EQ((*lib)->SystemGetCudaDriverVersion(&cuda), nvml::kSuccess);
  EXPECT_EQ(cuda, 12020);
  unsigned count = 0;
  EXPECT_EQ((*lib)->DeviceGetCount(&count), nvml::kSuccess);
  EXPECT_EQ(count, 8u);
  nvml::Device device = nullptr;
  ASSERT_EQ((*lib)->DeviceGetHandleByIndex(2, &device), nvml::kSuccess);
  std::string bus;
  uint32_t id = 0;
  EXPECT_EQ((*lib)->DeviceGetPciBusId(device, &bus, &id), nvml::kSuccess);
  EXPECT_EQ(bus, "0000:75:00.0");
  EXPECT_EQ(id, 0x233010deu);
  EXPECT_EQ((*lib)->Shutdown(), nvml::kSuccess);
}

TEST_F(NvmlLibraryTest, FallsBackToOldNamesAndTreatsMissingFunctionsAsNotSupported) {
  auto lib = NvmlLibrary::Open(FakeNvmlLegacyLibrary());
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  const std::vector<std::string> symbols = (*lib)->ResolvedSymbols();
  EXPECT_TRUE(Contains(symbols, "nvmlInit_v2 -> nvmlInit"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetCount_v2 -> nvmlDeviceGetCount"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetPciInfo_v3 -> nvmlDeviceGetPciInfo"));
  EXPECT_TRUE(Contains(symbols,
                       "nvmlDeviceGetCurrentClocksEventReasons -> "
                       "nvmlDeviceGetCurrentClocksThrottleReasons"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetRemappedRows -> (missing)"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetGpuFabricInfoV -> (missing)"));
  ASSERT_EQ((*lib)->Init(), nvml::kSuccess);
  nvml::Device device = nullptr;
  ASSERT_EQ((*lib)->DeviceGetHandleByIndex(0, &device), nvml::kSuccess);
  // The legacy PCI call fills only the numeric fields and the short bus id string.
  std::string bus;
  EXPECT_EQ((*lib)->DeviceGetPciBusId(device, &bus, nullptr), nvml::kSuccess);
  EXPECT_EQ(bus, "0000:53:00.0");
  unsigned corr = 0, unc = 0;
  bool pending = false, failure = false;
  EXPECT_EQ((*lib)->DeviceGetRemappedRows(device, &corr, &unc, &pending, &failure),
            nvml::kErrorFunctionNotFound);
  unsigned char state = 0;
  nvml::Return status = 0;
  EXPECT_EQ((*lib)->DeviceGetGpuFabricState(device, &state, &status), nvml::kErrorFunctionNotFound);
  uint64_t reasons = 0;
  EXPECT_EQ((*lib)->DeviceGetCurrentClocksEventReasons(device, &reasons), nvml::kSuccess);
  EXPECT_EQ(reasons, nvml::kClocksGpuIdle);  // "Idle: Active" in the capture
}

TEST_F(NvmlLibraryTest, ReturnNamesCoverTheEnum) {
  EXPECT_STREQ(nvml::ReturnName(15), "NVML_ERROR_GPU_IS_LOST");
  EXPECT_STREQ(nvml::ReturnName(18), "NVML_ERROR_LIB_RM_VERSION_MISMATCH");
  EXPECT_STREQ(nvml::ReturnName(999), "NVML_ERROR_UNKNOWN");
  EXPECT_STREQ(nvml::ReturnName(12345), "NVML_ERROR_(unrecognised)");
}

}  // namespace
}  // namespace nodehealth::platform
