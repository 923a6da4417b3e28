// Hardware test (ctest label hw-ib): on a machine with an active RDMA port, runs the real
// libibverbs loopback through `nodehealth burnin --only ib_ports,rdma_loopback` and checks it
// against sysfs: every ACTIVE port reports its state and rate, and every ACTIVE InfiniBand port
// completes the loopback with a positive bandwidth and latency. Exits 77 (skipped) where
// libibverbs lists no device, so the one suite runs everywhere.
#include <gtest/gtest.h>
#include <infiniband/verbs.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "probes/ib_ports/ib_sysfs.h"
#include "probes/platform/file_system.h"
#include "tests/support/run_command.h"

namespace nodehealth {
namespace {

using json = nlohmann::json;

const json* Find(const json& probe, const std::string& name, const std::string& device, int port) {
  for (const json& m : probe["measurements"]) {
    if (m["name"] == name && m["labels"].value("device", "") == device &&
        m["labels"].value("port", "") == std::to_string(port)) {
      return &m;
    }
  }
  return nullptr;
}

TEST(IbHardwareTest, LoopbackRunsOnEveryActiveInfinibandPort) {
  platform::RootedFileSystem fs("/");
  Expected<ib::Scan> scan = ib::ScanInfiniband(fs);
  ASSERT_TRUE(scan) << scan.error().message;
  testing::CommandResult run =
      testing::RunCommand({NODEHEALTH_BINARY, "burnin", "--only", "ib_ports,rdma_loopback",
                           "--profile", "none", "--format", "json"},
                          {}, std::chrono::seconds(600));
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.err;
  const json report = json::parse(run.out);
  const json& ports = report["probes"][0];
  const json& loopback = report["probes"][1];
  for (const ib::Device& device : scan->devices) {
    for (const ib::Port& port : device.ports) {
      if (!port.active()) continue;
      const json* state = Find(ports, "ib_port_state_id", device.name, port.number);
      ASSERT_NE(state, nullptr) << device.name;
      EXPECT_EQ((*state)["value"], 4);
      if (port.rate) {
        EXPECT_EQ(
            (*Find(ports, "ib_port_rate_bytes_per_second", device.name, port.number))["value"],
            port.rate->bytes_per_second());
      }
      if (port.link_layer != "InfiniBand") continue;
      const json* bw =
          Find(loopback, "rdma_loopback_bandwidth_bytes_per_second", device.name, port.number);
      ASSERT_NE(bw, nullptr) << device.name << " " << loopback.dump(2);
      EXPECT_GT((*bw)["value"].get<double>(), 0);
      EXPECT_GT(
          (*Find(loopback, "rdma_loopback_latency_seconds", device.name, port.number))["value"]
              .get<double>(),
          0);
    }
  }
}

}  // namespace
}  // namespace nodehealth

int main(int argc, char** argv) {
  int count = 0;
  ibv_device** list = ibv_get_device_list(&count);
  if (list != nullptr) ibv_free_device_list(list);
  if (list == nullptr || count == 0) {
    std::printf("no RDMA device (libibverbs): skipped\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
