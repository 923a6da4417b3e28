// Golden reports: a scenario's whole JSON report compared with tests/golden/<scenario>.json,
// with the values that change from run to run (times, durations, paths) normalised.
// Regenerate after an intended change with NODEHEALTH_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/run_command.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using nlohmann::ordered_json;
using testing::FixtureNode;

void Replace(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string Normalised(const std::string& report_text, const FixtureNode& node) {
  ordered_json report = ordered_json::parse(report_text);
  report["started_at"] = "<started_at>";
  report["duration_seconds"] = 0;
  report["nodehealth_version"] = "<version>";
  for (ordered_json& probe : report["probes"]) {
    probe["duration_seconds"] = 0;
    for (ordered_json& m : probe["measurements"]) {
      // Compared as a string, not as json == "...": GCC 12 at -O3 warns falsely
      // (-Warray-bounds) inside nlohmann's comparison of the temporary json.
      if (m["name"].is_string() && m["name"].get<std::string>() == "topology_discovery_seconds") {
        m["value"] = 0;
      }
    }
  }
  std::string text = report.dump(2) + "\n";
  Replace(text, testing::SourceDir(), "<source>");
  Replace(text, node.root(), "<root>");
  return text;
}

struct GoldenCase {
  const char* scenario;
  const char* profile;
};

// Readable test names in ctest instead of a byte dump.
void PrintTo(const GoldenCase& c, std::ostream* out) {
  *out << c.scenario << " --profile " << c.profile;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, ReportMatches) {
  const GoldenCase& c = GetParam();
  FixtureNode node(c.scenario);
  testing::CommandResult run = testing::RunCommand(
      {testing::NodehealthBinary(), "check", "--sysroot", node.root(), "--nvml-library",
       testing::FakeNvmlLibrary(), "--format", "json", "--profile", c.profile, "--config",
       testing::SourceDir() + "/tests/fixtures/empty-config.toml"},
      {{"NODEHEALTH_FAKE_NVML", node.scenario()}});
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.err;
  const std::string actual = Normalised(run.out, node);
  std::string name = c.scenario;
  name = name.substr(0, name.size() - 5) + ".json";
  const std::string path = testing::GoldenDir() + "/" + name;
  if (const char* update = std::getenv("NODEHEALTH_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream file(path);
  ASSERT_TRUE(file) << "missing golden file " << path << " (NODEHEALTH_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << file.rdbuf();
  if (expected.str() == actual) return;
  // Point at the first differing line rather than printing two 500-line reports.
  std::istringstream a(expected.str()), b(actual);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) break;
    if (la != lb || more_a != more_b) {
      FAIL() << path << ":" << line << " differs\n  golden: " << la << "\n  actual: " << lb;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, GoldenTest,
                         ::testing::Values(GoldenCase{"no-gpu.toml", "auto"},
                                           GoldenCase{"azure-nd96isr-h100-v5.toml", "auto"},
                                           GoldenCase{"h100-vm-cool.toml", "auto"},
                                           GoldenCase{"hgx-h100-xe9680.toml", "none"},
                                           GoldenCase{"fault-xid48.toml", "none"},
                                           GoldenCase{"fault-gpu-lost.toml", "dgx-h100"},
                                           GoldenCase{"fault-truncated-capture.toml", "none"}),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           std::string name = info.param.scenario;
                           name = name.substr(0, name.size() - 5);
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace nodehealth
