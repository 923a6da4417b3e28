// Conformance with InfiniBand data nodehealth did not write (../shared/fixtures/peer, README
// section 1): every value node_exporter's golden exposition shows for its sysfs fixture, the values
// prometheus/procfs asserts on its fixture, and what gpud asserts on its 8x H100 tree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "probes/ib_ports/ib_ports_probe.h"
#include "tests/support/scenario.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::FindFinding;
using testing::FixtureNode;
using testing::ShippedProfile;
using Labels = std::map<std::string, std::string>;

// The measurement with exactly `labels`, or nullptr.
const Measurement* Exact(const ProbeResult& r, const std::string& name, const Labels& labels) {
  for (const Measurement& m : r.measurements) {
    if (m.name == name && m.labels == labels) return &m;
  }
  return nullptr;
}

struct Series {
  std::string name;
  Labels labels;
  double value = 0;
};

// The node_infiniband_* samples of a Prometheus text exposition (no escaped quotes in that block).
std::vector<Series> ReadNodeInfinibandSeries(const std::string& text) {
  std::vector<Series> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with("node_infiniband_")) continue;
    Series s;
    const std::size_t brace = line.find('{');
    const std::size_t close = line.find('}');
    s.name = line.substr(0, brace);
    std::string labels = line.substr(brace + 1, close - brace - 1);
    while (!labels.empty()) {
      const std::size_t eq = labels.find("=\"");
      const std::size_t quote = labels.find('"', eq + 2);
      s.labels[labels.substr(0, eq)] = labels.substr(eq + 2, quote - eq - 2);
      labels = quote + 2 < labels.size() ? labels.substr(quote + 2) : "";
    }
    s.value = std::strtod(line.c_str() + close + 2, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

// node_infiniband_<x> -> nodehealth's measurement name (README "InfiniBand metrics").
std::string NodehealthName(const std::string& node_exporter_name) {
  std::string x = node_exporter_name.substr(std::string("node_infiniband_").size());
  if (x == "info") return "ib_hca_info";
  if (x.starts_with("port_")) x = x.substr(5);
  return "ib_port_" + x;
}

TEST(IbConformanceTest, ReproducesEveryNodeExporterInfinibandSeries) {
  FixtureNode node("ib-node-exporter.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  ASSERT_NE(r.verdict, ProbeVerdict::kError) << r.error;
  Expected<std::string> golden = testing::ReadWholeFile(
      testing::PeerFixturesDir() + "/node_exporter/collector/fixtures/e2e-output.txt");
  ASSERT_TRUE(golden) << golden.error().message;
  const std::vector<Series> series = ReadNodeInfinibandSeries(*golden);
  ASSERT_EQ(series.size(), 51u);  // the golden block's sample count: none may be skipped
  for (const Series& s : series) {
    const std::string name = NodehealthName(s.name);
    const Measurement* m = Exact(r, name, s.labels);
    ASSERT_NE(m, nullptr) << s.name << " -> " << name << " " << s.labels.at("device");
    EXPECT_DOUBLE_EQ(m->value, s.value) << s.name << " " << s.labels.at("device");
  }
  // i40iw0 has no PMA: state, rate and info series, and no counter series at all.
  for (const Measurement& m : r.measurements) {
    const auto device = m.labels.find("device");
    if (device != m.labels.end() && device->second == "i40iw0") {
      EXPECT_FALSE(m.name.ends_with("_total")) << m.name;
    }
  }
  EXPECT_EQ(Exact(r, "ib_port_state_id", {{"device", "i40iw0"}, {"port", "1"}})->value, 4);
}

TEST(IbConformanceTest, ReproducesTheValuesProcfsAsserts) {
  FixtureNode node("ib-procfs.toml");
  ProbeResult r = node.Run(IbPortsProbe(), nullptr);
  ASSERT_NE(r.verdict, ProbeVerdict::kError) << r.error;
  struct Row {
    const char* device;
    const char* port;
    double rcv_bytes;
    double xmit_bytes;
    double rate;
  };
  // Peer README 1b (class_infiniband_test.go).
  const Row rows[] = {
      {"hfi1_0", "1", 1380366808104, 1094233306172, 12500000000},
      {"mlx4_0", "1", 8884894436, 106036453180, 5000000000},
      {"mlx4_0", "2", 9841747136, 106161427560, 5000000000},
      {"mlx5_0", "1", 72505381512, 11523046035392, 3125000000},
  };
  for (const Row& row : rows) {
    const Labels port = {{"device", row.device}, {"port", row.port}};
    ASSERT_NE(Exact(r, "ib_port_data_received_bytes_total", port), nullptr) << row.device;
    EXPECT_EQ(Exact(r, "ib_port_data_received_bytes_total", port)->value, row.rcv_bytes);
    EXPECT_EQ(Exact(r, "ib_port_data_transmitted_bytes_total", port)->value, row.xmit_bytes);
    EXPECT_EQ(Exact(r, "ib_port_rate_bytes_per_second", port)->value, row.rate);
  }
  EXPECT_EQ(Exact(r, "ib_port_transmit_wait_total", {{"device", "mlx4_0"}, {"port", "1"}})->value,
            3599);
  EXPECT_EQ(Exact(r, "ib_port_transmit_wait_total", {{"device", "mlx4_0"}, {"port", "2"}})->value,
            3846);
  const Labels mlx5 = {{"device", "mlx5_0"}, {"port", "1"}};
  EXPECT_EQ(Exact(r, "ib_port_unicast_packets_received_total", mlx5)->value, 541889824);
  EXPECT_EQ(Exact(r, "ib_port_packets_received_total", mlx5)->value, 541889824);
  EXPECT_EQ(Exact(r, "ib_port_unicast_packets_transmitted_total", mlx5)->value, 10907922116);
  EXPECT_EQ(Exact(r, "ib_port_packets_transmitted_total", mlx5)->value, 10907922116);
  const std::pair<const char*, double> hw[] = {{"local_ack_timeout_err", 131},
                                               {"req_cqe_error", 3481},
                                               {"resp_cqe_error", 8109},
                                               {"out_of_sequence", 1},
                                               {"rx_read_requests", 175528982}};
  for (const auto& [counter, value] : hw) {
    const Measurement* m = Exact(r, "ib_port_hw_stat_total",
                                 {{"device", "mlx5_0"}, {"port", "1"}, {"counter", counter}});
    ASSERT_NE(m, nullptr) << counter;
    EXPECT_EQ(m->value, value) << counter;
  }
  // hfi1_0 has an empty hca_type; mlx5_0's node_guid has no trailing newline.
  const Measurement* hfi = Exact(r, "ib_hca_info",
                                 {{"device", "hfi1_0"},
                                  {"board_id",
                                   "HPE 100Gb 1-port OP101 QSFP28 x16 PCIe Gen3 with "
                                   "Intel Omni-Path Adapter"},
                                  {"firmware_version", "1.27.0"},
                                  {"hca_type", ""}});
  EXPECT_NE(hfi, nullptr);
}

TEST(IbConformanceTest, GpudH100TreeHasEightNdrRailsAndFlagsTheBadPort) {
  FixtureNode node("ib-gpud-h100.toml");
  const Profile profile = ShippedProfile("azure-nd96isr-h100-v5");
  ProbeResult r = node.Run(IbPortsProbe(), &profile);
  int devices = 0;
  for (const Measurement& m : r.measurements) devices += m.name == "ib_hca_info" ? 1 : 0;
  EXPECT_EQ(devices, 9);
  EXPECT_EQ(Exact(r, "ib_rails_active", {})->value, 8);
  for (const char* device :
       {"mlx5_0", "mlx5_1", "mlx5_4", "mlx5_5", "mlx5_6", "mlx5_7", "mlx5_8", "mlx5_9"}) {
    const Labels port = {{"device", device}, {"port", "1"}};
    EXPECT_EQ(Exact(r, "ib_port_rate_bytes_per_second", port)->value, 50000000000) << device;
    EXPECT_EQ(Exact(r, "ib_port_state_id", port)->value, 4) << device;
    EXPECT_EQ(Exact(r, "ib_port_physical_state_id", port)->value, 5) << device;
  }
  EXPECT_NE(Exact(r, "ib_hca_info",
                  {{"device", "mlx5_1"},
                   {"board_id", "MT_0000000838"},
                   {"firmware_version", "28.41.1000"},
                   {"hca_type", "MT4129"}}),
            nullptr);
  // The BlueField-3 bond is Ethernet: present, not a rail, not counted as missing.
  EXPECT_NE(Exact(r, "ib_port_info",
                  {{"device", "mlx5_bond_0"}, {"port", "1"}, {"link_layer", "Ethernet"}}),
            nullptr);
  EXPECT_EQ(testing::CountFindings(r, "ib_hca_missing"), 0);
  EXPECT_EQ(testing::CountFindings(r, "ib_port_rate_degraded"), 0);
  EXPECT_EQ(testing::CountFindings(r, "ib_firmware_mismatch"), 0);  // the bond is another type
  const Labels bad = {{"device", "mlx5_1"}, {"port", "1"}};
  EXPECT_EQ(Exact(r, "ib_port_link_downed_total", bad)->value, 255);
  EXPECT_EQ(Exact(r, "ib_port_excessive_buffer_overrun_errors_total", bad)->value, 15);
  EXPECT_EQ(Exact(r, "ib_port_receive_switch_relay_errors_total", bad)->value, 2);
  const Finding* f = FindFinding(r, "ib_port_errors", "hca/mlx5_1/1");
  ASSERT_NE(f, nullptr);
  bool downed = false;
  for (const Evidence& e : f->evidence) {
    if (e.source == "/sys/class/infiniband/mlx5_1/ports/1/counters/link_downed") {
      downed = true;
      EXPECT_EQ(e.observed, "255 (saturated 8-bit counter: at least this many)");
    }
  }
  EXPECT_TRUE(downed);
  // Only mlx5_1 has LinkDowned above its threshold.
  for (const Finding& other : r.findings) {
    if (other.entity == "hca/mlx5_1/1") continue;
    for (const Evidence& e : other.evidence) {
      EXPECT_EQ(e.source.find("link_downed"), std::string::npos) << other.entity;
    }
  }
}

}  // namespace
}  // namespace nodehealth
