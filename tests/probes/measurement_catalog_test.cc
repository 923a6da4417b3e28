// The measurement catalogue (probes/measurement_spec.h): every probe's declarations follow
// Prometheus's naming rules and say something of their own, every measurement the probes emit on
// the fixture nodes (the golden reports) is declared with exactly its labels, and the exporters
// take HELP and type from the declaration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "exporters/metric_families.h"
#include "probes/all_probes.h"

namespace nodehealth {
namespace {

std::vector<const MeasurementSpec*> AllSpecs() {
  std::vector<const MeasurementSpec*> specs;
  for (const auto& probe : AllProbes()) {
    for (const MeasurementSpec& spec : probe->info().measurements) specs.push_back(&spec);
  }
  return specs;
}

TEST(MeasurementCatalogTest, DeclarationsFollowTheNamingRules) {
  std::set<std::string> names, helps;
  for (const MeasurementSpec* spec : AllSpecs()) {
    SCOPED_TRACE(spec->name);
    EXPECT_TRUE(names.insert(spec->name).second) << "declared twice";
    EXPECT_TRUE(helps.insert(spec->help).second) << "HELP shared with another measurement";
    EXPECT_FALSE(spec->help.empty());
    EXPECT_EQ(spec->help.find('\n'), std::string::npos);
    EXPECT_TRUE(std::all_of(spec->name.begin(), spec->name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    })) << "lower-case snake case";
    EXPECT_EQ(spec->type == MetricType::kCounter, spec->name.ends_with("_total"))
        << "a counter's name, and only a counter's, ends in _total";
    if (!spec->unit.empty()) {
      const std::string base =
          spec->type == MetricType::kCounter
              ? spec->name.substr(0, spec->name.size() - std::string("_total").size())
              : spec->name;
      EXPECT_TRUE(base.ends_with("_" + spec->unit)) << "the name ends with its unit";
    }
    for (const std::string_view unit : {"_seconds", "_celsius", "_bytes_per_second"}) {
      if (spec->name.ends_with(unit)) {
        EXPECT_EQ("_" + spec->unit, unit) << "unit not declared";
      }
    }
    EXPECT_TRUE(std::is_sorted(spec->labels.begin(), spec->labels.end()));
    EXPECT_EQ(std::set<std::string>(spec->labels.begin(), spec->labels.end()).size(),
              spec->labels.size());
  }
  // At least those of gpu_presence, gpu_driver, gpu_health, gpu_xid, ib_ports (8 + 30 counter
  // files), topology, rdma_loopback and mpi_allreduce; a new probe adds its own.
  EXPECT_GE(names.size(), 2u + 2 + 15 + 3 + 8 + 30 + 6 + 4 + 4);
}

TEST(MeasurementCatalogTest, FindsEachDeclarationByName) {
  const MeasurementSpec* temperature = FindMeasurementSpec("gpu_temperature_celsius");
  ASSERT_NE(temperature, nullptr);
  EXPECT_EQ(temperature->unit, "celsius");
  EXPECT_EQ(temperature->labels, std::vector<std::string>{"gpu"});
  const MeasurementSpec* symbol_errors = FindMeasurementSpec("ib_port_symbol_error_total");
  ASSERT_NE(symbol_errors, nullptr);
  EXPECT_EQ(symbol_errors->type, MetricType::kCounter);
  EXPECT_EQ(symbol_errors->help, "port counter counters/symbol_error");
  const MeasurementSpec* data = FindMeasurementSpec("ib_port_data_received_bytes_total");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->unit, "bytes");
  EXPECT_EQ(FindMeasurementSpec("gpu_magic"), nullptr);
}

// Every measurement in the golden reports (the passive probes on every fixture node).
std::vector<std::pair<std::string, Measurement>> GoldenMeasurements() {
  std::vector<std::pair<std::string, Measurement>> out;
  for (const auto& entry : std::filesystem::directory_iterator(NODEHEALTH_GOLDEN_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const nlohmann::json report = nlohmann::json::parse(in);
    for (const auto& probe : report.at("probes")) {
      for (const auto& m : probe.value("measurements", nlohmann::json::array())) {
        Measurement measurement{m.at("name"),
                                m.value("labels", std::map<std::string, std::string>{}),
                                m.at("value").get<double>()};
        out.emplace_back(
            entry.path().filename().string() + " " + probe.at("name").get<std::string>(),
            std::move(measurement));
      }
    }
  }
  return out;
}

TEST(MeasurementCatalogTest, EveryMeasurementOnTheFixtureNodesIsDeclaredWithItsLabels) {
  const auto measurements = GoldenMeasurements();
  ASSERT_GT(measurements.size(), 500u);
  std::set<std::string> seen;
  for (const auto& [where, m] : measurements) {
    SCOPED_TRACE(where + " " + m.name);
    const MeasurementSpec* spec = FindMeasurementSpec(m.name);
    ASSERT_NE(spec, nullptr) << "not declared in its probe's ProbeInfo::measurements";
    std::vector<std::string> labels;
    for (const auto& [key, value] : m.labels) labels.push_back(key);
    EXPECT_EQ(labels, spec->labels);
    seen.insert(m.name);
  }
  EXPECT_GE(seen.size(), 54u);
}

TEST(MeasurementCatalogTest, MetricFamiliesTakeHelpAndTypeFromTheDeclaration) {
  Report report;
  report.version = "test";
  ProbeResult probe;
  probe.name = "fixture";
  for (const auto& [where, m] : GoldenMeasurements()) probe.measurements.push_back(m);
  report.probes.push_back(probe);
  MetricFamilyBuilder builder;
  AddReportMetrics(report, builder);
  std::map<std::string, std::string> family_by_help;
  int measured = 0;
  for (const prometheus::MetricFamily& family : builder.Build()) {
    SCOPED_TRACE(family.name);
    EXPECT_TRUE(family_by_help.emplace(family.help, family.name).second)
        << "HELP shared with " << family_by_help[family.help];
    const MeasurementSpec* spec = FindMeasurementSpec(family.name.substr(strlen("nodehealth_")));
    if (spec == nullptr) continue;  // the report's own families (build_info, probe_success, ...)
    ++measured;
    EXPECT_EQ(family.help, spec->help);
    EXPECT_EQ(family.type, spec->type == MetricType::kCounter ? prometheus::MetricType::Counter
                                                              : prometheus::MetricType::Gauge);
  }
  EXPECT_GE(measured, 54);
}

}  // namespace
}  // namespace nodehealth
