// The NVML bindings for PCIe replay and NVLink error counters and power limits, against the fake
// NVML answering from real `nvidia-smi -q` captures (gpud's 535.161.08 XE9680 capture) and a
// composed `nvidia-smi nvlink -e` capture (tests/fixtures/nodes/captures/README.md).
#include <gtest/gtest.h>

#include <algorithm>

#include "probes/platform/nvml_library.h"
#include "tests/support/fixture_node.h"
#include "tests/support/scenario.h"
#include "tests/support/smi_capture.h"
#include "tests/support/test_env.h"

namespace nodehealth::platform {
namespace {

using nodehealth::testing::FakeNvmlLegacyLibrary;
using nodehealth::testing::FakeNvmlLibrary;
using nodehealth::testing::ScenarioPath;

bool Contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::unique_ptr<NvmlLibrary> OpenOn(const std::string& scenario, const std::string& library) {
  ::setenv("NODEHEALTH_FAKE_NVML", ScenarioPath(scenario).c_str(), 1);
  auto lib = NvmlLibrary::Open(library);
  if (!lib.ok()) {
    ADD_FAILURE() << lib.error().message;
    return nullptr;
  }
  EXPECT_EQ((*lib)->Init(), nvml::kSuccess);
  return std::move(*lib);
}

nvml::Device Handle(NvmlLibrary& lib, unsigned index) {
  nvml::Device device = nullptr;
  EXPECT_EQ(lib.DeviceGetHandleByIndex(index, &device), nvml::kSuccess);
  return device;
}

TEST(NvmlCountersTest, ReplaysAndPowerLimitsFromTheRealCapture) {
  auto lib = OpenOn("hgx-h100-xe9680.toml", FakeNvmlLibrary());
  ASSERT_NE(lib, nullptr);
  const std::vector<std::string> symbols = lib->ResolvedSymbols();
  EXPECT_TRUE(
      Contains(symbols, "nvmlDeviceGetPcieReplayCounter -> nvmlDeviceGetPcieReplayCounter"));
  EXPECT_TRUE(
      Contains(symbols, "nvmlDeviceGetNvLinkErrorCounter -> nvmlDeviceGetNvLinkErrorCounter"));
  EXPECT_TRUE(
      Contains(symbols, "nvmlDeviceGetEnforcedPowerLimit -> nvmlDeviceGetEnforcedPowerLimit"));
  nvml::Device gpu0 = Handle(*lib, 0);  // 0000:19:00.0: "Replays Since Reset : 67"
  unsigned replays = 0;
  EXPECT_EQ(lib->DeviceGetPcieReplayCounter(gpu0, &replays), nvml::kSuccess);
  EXPECT_EQ(replays, 67u);
  unsigned replays1 = 0;  // 0000:3b:00.0: 63
  EXPECT_EQ(lib->DeviceGetPcieReplayCounter(Handle(*lib, 1), &replays1), nvml::kSuccess);
  EXPECT_EQ(replays1, 63u);
  unsigned enforced = 0, requested = 0, def = 0, min = 0, max = 0;
  EXPECT_EQ(lib->DeviceGetEnforcedPowerLimit(gpu0, &enforced), nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetPowerManagementLimit(gpu0, &requested), nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetPowerManagementDefaultLimit(gpu0, &def), nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetPowerManagementLimitConstraints(gpu0, &min, &max), nvml::kSuccess);
  EXPECT_EQ(enforced, 700000u);  // "Current Power Limit : 700.00 W"
  EXPECT_EQ(requested, 700000u);
  EXPECT_EQ(def, 700000u);
  EXPECT_EQ(min, 200000u);  // "Min Power Limit : 200.00 W"
  EXPECT_EQ(max, 700000u);
  // No `nvidia-smi nvlink -e` capture: the driver has no data, it is not a fault.
  uint64_t count = 0;
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu0, 0, nvml::kNvlinkErrorDlReplay, &count),
            nvml::kErrorNotSupported);
  EXPECT_EQ(lib->Shutdown(), nvml::kSuccess);
}

TEST(NvmlCountersTest, CappedGpuFromTheScenarioOverride) {
  auto lib = OpenOn("fault-power-capped.toml", FakeNvmlLibrary());
  ASSERT_NE(lib, nullptr);
  unsigned enforced = 0, def = 0;
  nvml::Device gpu1 = Handle(*lib, 1);  // 0000:3b:00.0
  EXPECT_EQ(lib->DeviceGetEnforcedPowerLimit(gpu1, &enforced), nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetPowerManagementDefaultLimit(gpu1, &def), nvml::kSuccess);
  EXPECT_EQ(enforced, 500000u);
  EXPECT_EQ(def, 700000u);
  EXPECT_EQ(lib->DeviceGetEnforcedPowerLimit(Handle(*lib, 0), &enforced), nvml::kSuccess);
  EXPECT_EQ(enforced, 700000u);
  lib->Shutdown();
}

TEST(NvmlCountersTest, NvlinkErrorCountersFromTheComposedCapture) {
  auto lib = OpenOn("fault-nvlink-errors.toml", FakeNvmlLibrary());
  ASSERT_NE(lib, nullptr);
  nvml::Device gpu3 = Handle(*lib, 3);  // 0000:5d:00.0
  uint64_t replay = 0, recovery = 0, crc_flit = 0, crc_data = 0;
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu3, 7, nvml::kNvlinkErrorDlReplay, &replay),
            nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu3, 7, nvml::kNvlinkErrorDlRecovery, &recovery),
            nvml::kSuccess);
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu3, 7, nvml::kNvlinkErrorDlCrcFlit, &crc_flit),
            nvml::kSuccess);
  EXPECT_EQ(replay, 4u);
  EXPECT_EQ(recovery, 1u);
  EXPECT_EQ(crc_flit, 9000u);
  // The published format has one CRC line: no data CRC counter.
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu3, 7, nvml::kNvlinkErrorDlCrcData, &crc_data),
            nvml::kErrorNotSupported);
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu3, 18, nvml::kNvlinkErrorDlReplay, &replay),
            nvml::kErrorInvalidArgument);
  // The field-values API answers the same counters, link in scopeId.
  std::vector<nvml::FieldValue> fields(2);
  fields[0] = {};
  fields[0].field_id = nvml::kFieldNvlinkErrorDlCrc;
  fields[0].scope_id = 7;
  fields[1] = {};
  fields[1].field_id = nvml::kFieldPcieReplayCounter;
  ASSERT_EQ(lib->DeviceGetFieldValues(gpu3, &fields), nvml::kSuccess);
  EXPECT_EQ(fields[0].nvml_return, nvml::kSuccess);
  EXPECT_EQ(fields[0].value.ull, 9000u);
  EXPECT_EQ(fields[1].nvml_return, nvml::kSuccess);
  EXPECT_EQ(fields[1].value.ui, 43u);  // 0000:5d:00.0: "Replays Since Reset : 43"
  lib->Shutdown();
}

TEST(NvmlCountersTest, OldDriverWithoutTheFunctionsIsFunctionNotFound) {
  auto lib = OpenOn("fault-power-capped.toml", FakeNvmlLegacyLibrary());
  ASSERT_NE(lib, nullptr);
  const std::vector<std::string> symbols = lib->ResolvedSymbols();
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetPcieReplayCounter -> (missing)"));
  EXPECT_TRUE(Contains(symbols, "nvmlDeviceGetEnforcedPowerLimit -> (missing)"));
  nvml::Device gpu1 = Handle(*lib, 1);
  unsigned value = 0, other = 0;
  uint64_t count = 0;
  EXPECT_EQ(lib->DeviceGetPcieReplayCounter(gpu1, &value), nvml::kErrorFunctionNotFound);
  EXPECT_EQ(lib->DeviceGetEnforcedPowerLimit(gpu1, &value), nvml::kErrorFunctionNotFound);
  EXPECT_EQ(lib->DeviceGetPowerManagementDefaultLimit(gpu1, &value), nvml::kErrorFunctionNotFound);
  EXPECT_EQ(lib->DeviceGetPowerManagementLimitConstraints(gpu1, &value, &other),
            nvml::kErrorFunctionNotFound);
  EXPECT_EQ(lib->DeviceGetNvLinkErrorCounter(gpu1, 0, nvml::kNvlinkErrorDlReplay, &count),
            nvml::kErrorFunctionNotFound);
  lib->Shutdown();
}

TEST(SmiCaptureTest, ParsesNvlinkErrorCounters) {
  Expected<std::string> text = nodehealth::testing::ReadWholeFile(
      nodehealth::testing::ScenarioDir() + "/captures/nvidia-smi-nvlink-e.hgx-h100.errors.txt");
  ASSERT_TRUE(text.ok()) << text.error().message;
  const auto errors = nodehealth::testing::ParseNvlinkErrors(*text);
  ASSERT_EQ(errors.size(), 8u);
  ASSERT_EQ(errors.at(3).size(), 18u);
  EXPECT_EQ(errors.at(3).at(7).at("Replay Errors"), 4u);
  EXPECT_EQ(errors.at(3).at(7).at("Recovery Errors"), 1u);
  EXPECT_EQ(errors.at(3).at(7).at("CRC Errors"), 9000u);
  EXPECT_EQ(errors.at(5).at(2).at("CRC Errors"), 30u);
  EXPECT_EQ(errors.at(0).at(17).at("CRC Errors"), 0u);
  // Other spellings and garbage.
  const auto odd = nodehealth::testing::ParseNvlinkErrors(
      "GPU 1: NVIDIA GeForce RTX 3090 (UUID: GPU-x)\n"
      "\t Link 0: CRC Flit Errors: 5\n"
      "\t Link 1: Replay Errors: twelve\n"
      "\t Link x: Replay Errors: 3\n");
  ASSERT_EQ(odd.at(1).size(), 1u);
  EXPECT_EQ(odd.at(1).at(0).at("CRC Flit Errors"), 5u);
}

}  // namespace
}  // namespace nodehealth::platform
