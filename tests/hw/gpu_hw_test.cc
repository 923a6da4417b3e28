// Hardware test (ctest label hw-gpu): on a machine with an NVIDIA GPU, runs `nodehealth check`
// against the real libnvidia-ml.so.1 and compares what it reports with `nvidia-smi`, and runs the
// GPU burn-in probes (gpu_bandwidth, nccl_allreduce) on the real libcuda.so.1 and libnccl.so.2.
// Exits 77 (skipped) where there is no NVIDIA driver, so one suite runs everywhere (rdma-core's
// rule).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
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

// The measurement of one GPU whose extra label `label.first` is `label.second`.
const json* MeasurementWith(const json& report, const std::string& probe, const std::string& name,
                            const std::string& gpu,
                            const std::pair<std::string, std::string>& label) {
  for (const json& p : report["probes"]) {
    if (p["name"] != probe) continue;
    for (const json& m : p["measurements"]) {
      if (m["name"] == name && m["labels"].value("gpu", "") == gpu &&
          m["labels"].value(label.first, "") == label.second) {
        return &m;
      }
    }
  }
  return nullptr;
}

// "00000000:19:00.0" (nvidia-smi) -> "0000:19:00.0" (nodehealth's label).
std::string BusLabel(std::string bus) {
  for (char& c : bus) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return bus.size() == 16 ? bus.substr(4) : bus;
}

// "Replays Since Reset" of every GPU in `nvidia-smi -q`, by bus label.
std::map<std::string, double> SmiReplays() {
  const auto smi = RunCommand({"/usr/bin/nvidia-smi", "-q"}, {}, std::chrono::seconds(60));
  EXPECT_EQ(smi.exit_code, 0) << smi.err;
  std::map<std::string, double> replays;
  std::istringstream lines(smi.out);
  std::string line, gpu;
  while (std::getline(lines, line)) {
    if (line.rfind("GPU ", 0) == 0) gpu = BusLabel(line.substr(4));
    const std::size_t at = line.find("Replays Since Reset");
    const std::size_t colon = line.find(':');
    if (at != std::string::npos && colon != std::string::npos && !gpu.empty()) {
      replays[gpu] = std::stod(line.substr(colon + 1));
    }
  }
  return replays;
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
    const json* width =
        MeasurementWith(report, "gpu_health", "gpu_pcie_link_width", bus, {"state", "current"});
    ASSERT_NE(width, nullptr);
    EXPECT_EQ((*width)["value"].get<double>(), std::stod(f[5])) << bus;
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

// Issue 19's counters and limits: NVML's power limits are nvidia-smi's (enforced.power.limit is
// the enforced limit, power.limit the requested one), and the PCIe replay counter lies between
// what nvidia-smi printed before and after the check (it only grows).
TEST(GpuHardwareTest, PowerLimitsAndReplaysAgreeWithNvidiaSmi) {
  const auto smi = RunCommand({"/usr/bin/nvidia-smi",
                               "--query-gpu=pci.bus_id,enforced.power.limit,power.limit,"
                               "power.default_limit,power.min_limit,power.max_limit",
                               "--format=csv,noheader,nounits"});
  ASSERT_EQ(smi.exit_code, 0) << smi.err;
  const std::map<std::string, double> replays_before = SmiReplays();
  const auto check = RunCommand(
      {NODEHEALTH_BINARY, "check", "--format", "json", "--profile", "none", "--only", "gpu_health"},
      {}, std::chrono::seconds(120));
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.err;
  const std::map<std::string, double> replays_after = SmiReplays();
  const json report = json::parse(check.out);
  std::istringstream lines(smi.out);
  std::string line;
  int gpus = 0;
  while (std::getline(lines, line)) {
    const auto f = Split(line, ',');
    ASSERT_EQ(f.size(), 6u) << line;
    const std::string bus = BusLabel(f[0]);
    ++gpus;
    const char* kinds[] = {"enforced", "requested", "default", "min", "max"};
    for (int i = 0; i < 5; ++i) {
      if (f[i + 1].find("N/A") != std::string::npos || f[i + 1].find('[') != std::string::npos) {
        continue;  // not supported on this GPU: nodehealth has no series either
      }
      const json* m =
          MeasurementWith(report, "gpu_health", "gpu_power_limit_watts", bus, {"kind", kinds[i]});
      ASSERT_NE(m, nullptr) << bus << " " << kinds[i];
      EXPECT_NEAR((*m)["value"].get<double>(), std::stod(f[i + 1]), 0.01) << bus << " " << kinds[i];
    }
    const json* replays = Measurement(report, "gpu_health", "gpu_pcie_replays_total", bus);
    ASSERT_NE(replays, nullptr) << bus;
    ASSERT_TRUE(replays_before.count(bus) && replays_after.count(bus)) << bus;
    EXPECT_GE((*replays)["value"].get<double>(), replays_before.at(bus)) << bus;
    EXPECT_LE((*replays)["value"].get<double>(), replays_after.at(bus)) << bus;
    std::printf("%s power limits %s W (enforced, requested, default, min, max), replays %.0f\n",
                bus.c_str(), line.substr(f[0].size() + 1).c_str(),
                (*replays)["value"].get<double>());
  }
  EXPECT_GT(gpus, 0);
}

const json* Probe(const json& report, const std::string& name) {
  for (const json& p : report["probes"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

// PCIe payload rate per lane in GB/s after line coding (2.5 GT/s 8b/10b ... 32 GT/s 128b/130b).
double LaneGigabytesPerSecond(int generation) {
  switch (generation) {
    case 1:
      return 0.25;
    case 2:
      return 0.5;
    case 3:
      return 0.985;
    case 4:
      return 1.969;
    case 5:
      return 3.938;
    default:
      return 7.877;  // Gen6
  }
}

// The GPU burn-in on the real GPU: every GPU's copy figures exist and host<->device stays below
// what its PCIe link can carry (Gen5 x16: 63 GB/s); the worker leaves no process on the GPU.
TEST(GpuHardwareTest, CopyBandwidthWithinTheLinksLimit) {
  const auto smi = RunCommand({"/usr/bin/nvidia-smi",
                               "--query-gpu=pci.bus_id,pcie.link.gen.max,pcie.link.width.max,"
                               "clocks.sm,clocks.max.sm,clocks.mem",
                               "--format=csv,noheader,nounits"});
  ASSERT_EQ(smi.exit_code, 0) << smi.err;
  const auto check = RunCommand({NODEHEALTH_BINARY, "check", "--only", "gpu_bandwidth", "--format",
                                 "json", "--profile", "none", "--timeout", "300"},
                                {}, std::chrono::seconds(320));
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.err;
  const json report = json::parse(check.out);
  const json* probe = Probe(report, "gpu_bandwidth");
  ASSERT_NE(probe, nullptr);
  ASSERT_TRUE((*probe)["verdict"] == "pass" || (*probe)["verdict"] == "warn") << probe->dump(2);
  std::istringstream lines(smi.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto f = Split(line, ',');
    ASSERT_EQ(f.size(), 6u) << line;
    std::string bus = f[0];
    for (char& c : bus) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (bus.size() == 16) bus = bus.substr(4);
    const double link = LaneGigabytesPerSecond(std::stoi(f[1])) * std::stoi(f[2]) * 1e9;
    for (const std::string direction : {"host_to_device", "device_to_host", "device_to_device"}) {
      const json* m = nullptr;
      for (const json& x : (*probe)["measurements"]) {
        if (x["labels"].value("gpu", "") == bus &&
            x["labels"].value("direction", "") == direction) {
          m = &x;
        }
      }
      ASSERT_NE(m, nullptr) << bus << " " << direction;
      const double value = (*m)["value"].get<double>();
      EXPECT_GT(value, 0);
      if (direction != "device_to_device") {
        EXPECT_LT(value, link * 1.02) << bus << " " << direction;
      }
      std::printf(
          "%s %s %.2f GB/s (PCIe Gen%s x%s raw %.1f GB/s; SM %s of %s MHz, memory %s MHz)\n",
          bus.c_str(), direction.c_str(), value / 1e9, f[1].c_str(), f[2].c_str(), link / 1e9,
          f[3].c_str(), f[4].c_str(), f[5].c_str());
    }
  }
  const auto apps = RunCommand(
      {"/usr/bin/nvidia-smi", "--query-compute-apps=pid,process_name", "--format=csv,noheader"});
  EXPECT_EQ(apps.out.find("nodehealth-gpu-worker"), std::string::npos) << apps.out;
}

// The in-node NCCL all-reduce where libnccl.so.2 is installed: every element right.
TEST(GpuHardwareTest, NcclAllreduceChecksEveryElement) {
  if (::dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL) == nullptr) {
    GTEST_SKIP() << "no libnccl.so.2";
  }
  const auto check = RunCommand({NODEHEALTH_BINARY, "check", "--only", "nccl_allreduce", "--format",
                                 "json", "--profile", "none", "--timeout", "300"},
                                {}, std::chrono::seconds(320));
  ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.err;
  const json report = json::parse(check.out);
  const json* probe = Probe(report, "nccl_allreduce");
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ((*probe)["verdict"], "pass") << probe->dump(2);
  for (const json& m : (*probe)["measurements"]) std::printf("%s\n", m.dump().c_str());
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
