#include "exporters/prometheus_text.h"

#include <gtest/gtest.h>

namespace nodehealth {
namespace {

TEST(PrometheusTextTest, WritesContractNamesTypesAndEscapedLabels) {
  Report report;
  report.version = "0.1.0";
  report.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  report.duration_seconds = 2;
  ProbeResult probe;
  probe.name = "ib_ports";
  probe.verdict = ProbeVerdict::kWarn;
  probe.duration = std::chrono::duration<double>(0.25);
  Finding finding;
  finding.code = "ib_port_errors";
  finding.entity = "hca/mlx5_1/1";
  finding.action = Action::kMonitor;
  probe.findings.push_back(finding);
  probe.measurements.push_back(
      {"ib_port_link_downed_total", {{"device", "mlx5_1"}, {"port", "1"}}, 255});
  probe.measurements.push_back(
      {"ib_hca_info", {{"device", "mlx5_1"}, {"board_id", "a\"b\\c\nd"}}, 1});
  report.probes.push_back(probe);
  ProbeResult broken;
  broken.name = "topology";
  broken.verdict = ProbeVerdict::kError;
  report.probes.push_back(broken);
  Decide(report);

  const std::string text = RenderPrometheusText(report);
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
  };
  has("# TYPE nodehealth_ib_port_link_downed_total counter");
  has("nodehealth_ib_port_link_downed_total{device=\"mlx5_1\",port=\"1\"} 255");
  has("# TYPE nodehealth_ib_hca_info gauge");
  has(R"(nodehealth_ib_hca_info{board_id="a\"b\\c\nd",device="mlx5_1"} 1)");
  has("nodehealth_finding{action=\"monitor\",code=\"ib_port_errors\",entity=\"hca/mlx5_1/1\","
      "probe=\"ib_ports\"} 1");
  has("nodehealth_probe_success{probe=\"ib_ports\"} 1");
  has("nodehealth_probe_success{probe=\"topology\"} 0");
  has("nodehealth_probe_duration_seconds{probe=\"ib_ports\"} 0.25");
  has("nodehealth_probe_last_run_timestamp_seconds{probe=\"ib_ports\"} 1700000002");
  has("nodehealth_drain_recommended 0");
  has("nodehealth_build_info{version=\"0.1.0\"} 1");
  // Each family once.
  EXPECT_EQ(text.find("# TYPE nodehealth_probe_success"),
            text.rfind("# TYPE nodehealth_probe_success"));
}

TEST(PrometheusTextTest, BurninTextfileLabelsEverySampleAndNamesTheProfile) {
  Report report;
  report.version = "0.1.0";
  report.profile = "azure-nd96isr-h100-v5";
  ProbeResult probe;
  probe.name = "gpu_presence";
  probe.verdict = ProbeVerdict::kPass;
  // A measurement with a label named "source" of its own keeps it beside origin.
  probe.measurements.push_back({"gpus", {{"source", "nvml"}}, 8});
  report.probes.push_back(probe);
  Decide(report);

  const std::string text = RenderPrometheusText(report, kBurninTextfileLabels);
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
  };
  has(R"(nodehealth_gpus{origin="burnin",source="nvml"} 8)");
  has(R"(nodehealth_profile_info{origin="burnin",profile="azure-nd96isr-h100-v5"} 1)");
  has(R"(nodehealth_drain_recommended{origin="burnin"} 0)");
  has(R"(nodehealth_build_info{origin="burnin",version="0.1.0"} 1)");
  has(R"(nodehealth_probe_success{origin="burnin",probe="gpu_presence"} 1)");
  std::size_t samples = 0;
  std::size_t labelled = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    if (line.find("origin=\"burnin\"") != std::string::npos) ++labelled;
  }
  EXPECT_EQ(samples, 7u) << text;  // build, drain, profile, gpus, success, duration, last run
  EXPECT_EQ(labelled, samples) << text;

  // Without a profile (observe-only) there is no profile_info; without labels, none added.
  report.profile.reset();
  const std::string plain = RenderPrometheusText(report);
  EXPECT_EQ(plain.find("nodehealth_profile_info"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("origin="), std::string::npos) << plain;
  EXPECT_NE(plain.find("nodehealth_drain_recommended 0\n"), std::string::npos) << plain;
}

}  // namespace
}  // namespace nodehealth
