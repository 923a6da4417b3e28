// The `docs` tests: docs/ against the code. Generated files are held to a fresh generation by the
// docs_generated test (tools/gen_docs.sh --check); these check what a drift test cannot: that
// real agents serve nothing docs/metrics.md lacks, that docs/ names no finding code the catalogue
// lacks, that the documented config and profile examples load with the real loaders, and that
// real JSON reports validate against docs/report-schema.json.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "agent/config/profile_loader.h"
#include "probes/all_probes.h"
#include "probes/finding_catalog.h"
#include "tests/docs/doc_sources.h"
#include "tests/e2e/agent_harness.h"
#include "tests/support/run_command.h"

namespace nodehealth::docs {
namespace {

namespace fs = std::filesystem;

std::string DocsDir() { return std::string(NODEHEALTH_SOURCE_DIR) + "/docs"; }
std::string ReadDoc(const std::string& name) { return testing::ReadFile(DocsDir() + "/" + name); }

// Scraping starts seven agents: once for the whole suite.
const Scrape& SharedScrape() {
  static const Scrape scrape = ScrapeFixtureAgents();
  return scrape;
}

TEST(MetricsDocTest, EveryFamilyARealAgentServesIsDocumentedWithItsTypeHelpAndLabels) {
  const Scrape& scrape = SharedScrape();
  ASSERT_EQ(scrape.error, "");
  const MetricFamilies documented = ParseMetricsMarkdown(ReadDoc("metrics.md"));
  // The scrape holds the report's, the probes' and the agent's own families.
  for (const char* name : {"nodehealth_build_info", "nodehealth_finding", "nodehealth_gpu_info",
                           "nodehealth_agent_rounds_total", "nodehealth_http_connections_open",
                           "nodehealth_kernel_log_up", "nodehealth_drain_action_level",
                           "nodehealth_slurm_healthcheck_success", "nodehealth_provider_reports"}) {
    EXPECT_TRUE(scrape.families.contains(name)) << name << " was not scraped";
  }
  const std::string fix = "; regenerate with `bash tools/gen_docs.sh`";
  for (const auto& [name, family] : scrape.families) {
    const auto doc = documented.find(name);
    if (doc == documented.end()) {
      ADD_FAILURE() << name << " is served but missing from docs/metrics.md" << fix;
      continue;
    }
    EXPECT_EQ(doc->second.type, family.type) << name << fix;
    EXPECT_EQ(doc->second.help, family.help) << name << fix;
    for (const std::string& label : family.labels) {
      EXPECT_TRUE(doc->second.labels.contains(label))
          << name << " carries label " << label << " that docs/metrics.md does not list" << fix;
    }
  }
}

TEST(MetricsDocTest, EveryDeclaredMeasurementIsDocumentedAsDeclared) {
  const MetricFamilies documented = ParseMetricsMarkdown(ReadDoc("metrics.md"));
  int count = 0;
  for (const auto& probe : AllProbes()) {
    for (const MeasurementSpec& m : probe->info().measurements) {
      ++count;
      const auto doc = documented.find("nodehealth_" + m.name);
      ASSERT_NE(doc, documented.end()) << m.name;
      EXPECT_EQ(doc->second.type, m.type == MetricType::kCounter ? "counter" : "gauge") << m.name;
      EXPECT_EQ(doc->second.help, m.help) << m.name;
      EXPECT_EQ(doc->second.labels, std::set<std::string>(m.labels.begin(), m.labels.end()))
          << m.name;
    }
  }
  EXPECT_GT(count, 20);
}

TEST(MetricsDocTest, TheParserReadsWhatTheGeneratorWrites) {
  MetricFamilies in;
  in["nodehealth_x_seconds"] = {"nodehealth_x_seconds", "gauge", "", "a | b <N>",
                                {"gpu", "port"},        ""};
  const MetricFamilies out = ParseMetricsMarkdown(MetricsMarkdown(in));
  ASSERT_TRUE(out.contains("nodehealth_x_seconds"));
  const MetricFamilyDoc& f = out.at("nodehealth_x_seconds");
  EXPECT_EQ(f.type, "gauge");
  EXPECT_EQ(f.help, "a | b <N>");
  EXPECT_EQ(f.labels, (std::set<std::string>{"gpu", "port"}));
}

TEST(FindingsDocTest, EveryCatalogueCodeHasItsRowAndSection) {
  const std::string doc = ReadDoc("findings.md");
  for (const CatalogEntry& e : FindingCatalog()) {
    const std::string code(e.code);
    EXPECT_NE(doc.find("\n## `" + code + "`\n"), std::string::npos) << code;
    const std::string row =
        "| [`" + code + "`](#" + code + ") | " + std::string(ToString(e.category)) + " | " +
        std::string(ToString(e.severity)) + " | " + std::string(ToString(e.action)) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << row;
  }
}

// A backticked word in docs/ that looks like a finding code (snake_case that starts like a code and
// ends like one), or a link to findings.md.
std::set<std::string> CodeLikeWords(const std::string& text) {
  static const std::regex kLink(R"(findings\.md#([a-z0-9_]+))");
  static const std::regex kWord(
      R"(`([a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:missing|lost|not_loaded|mismatch|uncorrectable|)"
      R"(pending|failure|degraded|down|xid|errors|flapping|failed|low|wrong_result|timeout|)"
      R"(error|limit|high|slowdown|action|not_ready))`)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kLink), end; it != end; ++it) {
    out.insert((*it)[1].str());
  }
  // Only words that start like a code ("gpu_", "ib_", ...): `state_error` is a JSON key.
  std::set<std::string> prefixes;
  for (const CatalogEntry& e : FindingCatalog()) {
    prefixes.insert(std::string(e.code.substr(0, e.code.find('_') + 1)));
  }
  for (std::sregex_iterator it(text.begin(), text.end(), kWord), end; it != end; ++it) {
    const std::string word = (*it)[1].str();
    if (prefixes.contains(word.substr(0, word.find('_') + 1))) out.insert(word);
  }
  return out;
}

TEST(FindingsDocTest, EveryCodeDocsNameIsInTheCatalogue) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(DocsDir())) {
    if (entry.path().extension() != ".md") continue;
    ++files;
    for (const std::string& word : CodeLikeWords(testing::ReadFile(entry.path().string()))) {
      // A probe name, a measurement or a profile key that merely ends like a code is no code.
      if (FindProbe(word) != nullptr || FindMeasurementSpec(word) != nullptr) continue;
      EXPECT_NE(FindCatalogEntry(word), nullptr)
          << entry.path().filename().string() << " names `" << word
          << "`, which is no finding code in probes/finding_catalog.cc";
    }
  }
  EXPECT_GE(files, 5);
}

TEST(FindingsDocTest, TheCodeScanFindsMisspeltCodes) {
  const std::set<std::string> words = CodeLikeWords(
      "see `gpu_nvlinks_down`, [x](findings.md#gpu_lots), `nodehealth_x_low`, `state_error`");
  EXPECT_EQ(words, (std::set<std::string>{"gpu_lots", "gpu_nvlinks_down"}));
}

// The ```toml blocks of a document.
std::vector<std::string> TomlBlocks(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = text.find("```toml\n", at)) != std::string::npos) {
    at += 8;
    const std::size_t end = text.find("\n```", at);
    if (end == std::string::npos) break;
    out.push_back(text.substr(at, end - at + 1));
    at = end;
  }
  return out;
}

TEST(ConfigDocTest, EveryConfigExampleLoads) {
  const std::vector<std::string> blocks = TomlBlocks(ReadDoc("config.md"));
  ASSERT_GE(blocks.size(), 2u);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    Expected<Config> config = ParseConfig(blocks[i], "docs/config.md block " + std::to_string(i));
    EXPECT_TRUE(config.ok()) << (config ? "" : config.error().message);
  }
}

TEST(ConfigDocTest, EveryProfileExampleLoads) {
  const std::vector<std::string> blocks = TomlBlocks(ReadDoc("profiles.md"));
  ASSERT_GE(blocks.size(), 1u);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    Expected<Profile> profile =
        ParseProfile(blocks[i], "docs/profiles.md block " + std::to_string(i));
    EXPECT_TRUE(profile.ok()) << (profile ? "" : profile.error().message);
  }
}

TEST(ConfigDocTest, AnUnknownKeyInAnExampleWouldFail) {
  EXPECT_FALSE(ParseConfig("[agent]\nlisten_port = 1\n", "test").ok());
  EXPECT_FALSE(ParseProfile("name = \"x\"\n[gpu]\ncounts = 8\n", "test").ok());
}

// --- docs/report-schema.json -------------------------------------------------------------

struct Validation {
  int exit_code = -1;
  std::string output;
};

Validation Validate(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {
      "python3", std::string(NODEHEALTH_SOURCE_DIR) + "/tests/docs/validate_report.py",
      DocsDir() + "/report-schema.json"};
  argv.insert(argv.end(), files.begin(), files.end());
  testing::CommandResult r = testing::RunCommand(argv, {}, std::chrono::seconds(60));
  return {r.exit_code, r.out + r.err};
}

class ReportSchemaTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  testing::ScopedTempDir dir_{"nodehealth-docs-reports"};
};

TEST_F(ReportSchemaTest, RealReportsValidate) {
  std::vector<std::string> files;
  for (const std::string& scenario : DocScenarios()) {
    testing::Node node(scenario);
    testing::CommandResult check =
        testing::RunCommand({NODEHEALTH_BINARY, "check", "--sysroot", node.root(), "--nvml-library",
                             NODEHEALTH_FAKE_NVML_LIBRARY, "--format", "json"},
                            {{"NODEHEALTH_FAKE_NVML", node.scenario()}}, std::chrono::seconds(60));
    ASSERT_TRUE(check.exit_code == 0 || check.exit_code == 1) << scenario << ": " << check.err;
    files.push_back(Write("check-" + scenario + ".json", check.out));
  }
  const Scrape& scrape = SharedScrape();
  ASSERT_EQ(scrape.error, "");
  ASSERT_EQ(scrape.reports.size(), DocScenarios().size() + 1);  // the agents' and burnin's
  for (const auto& [name, report] : scrape.reports) {
    files.push_back(Write("report-" + std::to_string(files.size()) + ".json", report));
  }
  const Validation v = Validate(files);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find(std::to_string(files.size()) + " valid"), std::string::npos) << v.output;
}

TEST_F(ReportSchemaTest, BrokenReportsFail) {
  testing::Node node(DocScenarios().front());
  testing::CommandResult check =
      testing::RunCommand({NODEHEALTH_BINARY, "check", "--sysroot", node.root(), "--nvml-library",
                           NODEHEALTH_FAKE_NVML_LIBRARY, "--format", "json"},
                          {{"NODEHEALTH_FAKE_NVML", node.scenario()}}, std::chrono::seconds(60));
  const nlohmann::json good = nlohmann::json::parse(check.out, nullptr, false);
  ASSERT_TRUE(good.is_object()) << check.err;
  ASSERT_EQ(Validate({Write("good.json", good.dump())}).exit_code, 0);
  std::vector<std::pair<std::string, nlohmann::json>> broken;
  nlohmann::json j = good;
  j["verdict"] = "maybe";
  broken.emplace_back("an unknown verdict", j);
  j = good;
  j.erase("probes");
  broken.emplace_back("no probes", j);
  j = good;
  j["surprise"] = 1;
  broken.emplace_back("an unknown top-level key", j);
  j = good;
  j["probes"][0]["findings"] = {{{"code", "gpu_lost"}, {"severity", "fatal"}}};
  broken.emplace_back("a finding with an unknown severity and no action", j);
  for (const auto& [what, report] : broken) {
    const Validation v = Validate({Write("broken.json", report.dump())});
    EXPECT_EQ(v.exit_code, 1) << what << ": " << v.output;
  }
}

}  // namespace
}  // namespace nodehealth::docs
