// Hardware test (ctest label hw-gpu): on a machine with an NVIDIA GPU, runs `nodehealth check`
// against the real libnvidia-ml.so.1 and compares what it reports with `nvidia-smi`. Exits 77
// (skipped) where there is no NVIDIA driver, so one suite runs everywhere (rdma-core's rule).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/run_command.h"

namespace {

using nlohmann::json;
using nodehealth::testing::RunCommand;

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string item;
  while (std::getline(s, item, sep)) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    out.push_back(item);
  }
  return out;
}

const json* Measurement(const json& report, const std::string& probe, const std::string& name,
                        const std::string& gpu) {
  for (const json& p : report["probes"]) {
    if (p["name"] != probe) continue;
    for (const json& m : p["measurements"]) {
      if (m["name"] == name && m["labels"].value("gpu", "") == gpu) return &m;
    }
  }
  return nullptr;
}

TEST(GpuHardwareTest, AgreesWithNvidiaSmi) {
  const auto smi = RunCommand({"/usr/bin/nvidia-smi",
                               "--query-gpu=pci.bus_id,name,uuid,driver_version,vbios_version,"
                               "pcie.link.width.current,temperature.gpu",
                               "--format=csv,noheader"});
  ASSERT_EQ(smi.exit_code, 0) << smi.err;
  const auto check =
      RunCommand({NODEHEALTH_BINARY, "check", "--format", "json", "--profile", "none"}, {},
                 std::chrono::seconds(120));
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.err;
  const json report = json::parse(check.out);
  std::istringstream lines(smi.out);
  std::string line;
  int gpus = 0;
  while (std::getline(lines, line)) {
    const auto f = Split(line, ',');
    ASSERT_EQ(f.size(), 7u) << line;
    std::string bus = f[0];  // "00000000:19:00.0"
    for (char& c : bus) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (bus.size() == 16) bus = bus.substr(4);
    ++gpus;
    const json* info = Measurement(report, "gpu_driver", "gpu_info", bus);
    ASSERT_NE(info, nullptr) << bus;
    EXPECT_EQ((*info)["labels"]["name"], f[1]);
    EXPECT_EQ((*info)["labels"]["uuid"], f[2]);
    EXPECT_EQ((*info)["labels"]["driver_version"], f[3]);
    EXPECT_EQ((*info)["labels"]["vbios_version"], f[4]);
    const json* width = Measurement(report, "gpu_health", "gpu_pcie_link_width", bus);
    ASSERT_NE(width, nullptr);
    const json* temperature = Measurement(report, "gpu_health", "gpu_temperature_celsius", bus);
    ASSERT_NE(temperature, nullptr);
    EXPECT_NEAR((*temperature)["value"].get<double>(), std::stod(f[6]), 3.0);
  }
  EXPECT_GT(gpus, 0);
  for (const json& p : report["probes"]) {
    if (p["name"] == "gpu_presence") {
      for (const json& m : p["measurements"]) {
        if (m["name"] == "gpus") {
          EXPECT_EQ(m["value"].get<int>(), gpus) << m;
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (::access("/dev/nvidiactl", F_OK) != 0 || ::access("/usr/bin/nvidia-smi", X_OK) != 0 ||
      ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL) == nullptr) {
    std::puts("no NVIDIA GPU and driver on this machine: hw-gpu tests skipped");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
