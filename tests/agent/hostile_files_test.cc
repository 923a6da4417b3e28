// Hostile files for every reader of a path a person or a config names, and every parser of what
// such a file holds: FIFOs and directories (refused at once, never a wait), TOML and JSON nested
// deeply enough to overflow a recursive parser (refused before parsing, never a crash), empty
// files, and JSON whose fields have the wrong type (an error, never an uncaught exception).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/config/config.h"
#include "agent/config/profile_loader.h"
#include "agent/config/profile_selector.h"
#include "agent/config/toml_reader.h"
#include "agent/policy/policy_state.h"
#include "agent/slurm/agent_verdict.h"
#include "agent/slurm/health_view.h"
#include "agent/slurm/slurm_healthcheck_command.h"
#include "probes/topology/fingerprint.h"
#include "probes/topology/topology_discovery.h"
#include "tests/support/blocking_call.h"
#include "tests/support/fixture_node.h"

namespace nodehealth {
namespace {

using testing::CallWithFifoDeadline;
using testing::MakeFifo;

// Texts built as std::string("x") += Repeat(...), not "x" + Repeat(...): GCC 12 at -O3 warns
// falsely (-Wrestrict, GCC bug 105329) about `const char* + std::string&&`.
std::string Repeat(std::string_view piece, int times) {
  std::string out;
  out.reserve(piece.size() * static_cast<std::size_t>(times));
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// `a.a.a...a = 1`, `levels` deep: about 100 KB at 50,000 levels, the size the issue reported.
std::string DottedKeyBomb(int levels) {
  return std::string("a") += Repeat(".a", levels - 1) + " = 1\n";
}

class HostileFilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string Fifo(const std::string& name) {
    const std::string path = dir_.path() + "/" + name;
    MakeFifo(path);
    return path;
  }
  testing::TempDir dir_;
};

// --- FIFOs and directories named as files ----------------------------------------------------

TEST_F(HostileFilesTest, ReadSmallFileRefusesAFifoAtOnce) {
  const std::string fifo = Fifo("web.toml");
  bool blocked = false;
  Expected<std::string> text = CallWithFifoDeadline(
      fifo, [&] { return ReadSmallFile(fifo, "web config"); }, &blocked);
  EXPECT_FALSE(blocked) << "ReadSmallFile waited on a FIFO";
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, fifo + " is a FIFO, not a web config file");
}

TEST_F(HostileFilesTest, ConfigAndProfileFifosAreErrorsNotWaits) {
  const std::string fifo = Fifo("nodehealth.toml");
  bool blocked = false;
  Expected<Config> config = CallWithFifoDeadline(
      fifo, [&] { return LoadConfig(fifo, /*optional=*/true); }, &blocked);
  EXPECT_FALSE(blocked) << "LoadConfig waited on a FIFO";
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message, fifo + " is a FIFO, not a config file");

  Expected<Profile> profile = CallWithFifoDeadline(
      fifo, [&] { return LoadProfileFile(fifo); }, &blocked);
  EXPECT_FALSE(blocked) << "LoadProfileFile waited on a FIFO";
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.error().message, fifo + " is a FIFO, not a profile file");
}

TEST_F(HostileFilesTest, ADirectoryIsNotAProfileOrConfigFile) {
  // It used to read as empty: "missing required key name" for a profile, defaults for a config.
  Expected<Profile> profile = LoadProfileFile(dir_.path());
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.error().message, dir_.path() + " is a directory, not a profile file");
  Expected<Config> config = LoadConfig(dir_.path(), /*optional=*/true);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message, dir_.path() + " is a directory, not a config file");
}

TEST_F(HostileFilesTest, ProfileSearchPathEntryThatIsAFifoIsAnError) {
  const std::string fifo = Fifo("site.toml");
  bool blocked = false;
  Expected<std::vector<Profile>> profiles = CallWithFifoDeadline(
      fifo, [&] { return LoadProfiles({dir_.path()}); }, &blocked);
  EXPECT_FALSE(blocked) << "LoadProfiles waited on a FIFO in a profile directory";
  ASSERT_FALSE(profiles.ok());
  EXPECT_EQ(profiles.error().message, fifo + " is a FIFO, not a profile file");
}

TEST_F(HostileFilesTest, AgentStateFifoIsAnErrorNotAWait) {
  const std::string fifo = Fifo("state.json");
  bool blocked = false;
  Expected<agent::PolicyState> state = CallWithFifoDeadline(
      fifo, [&] { return agent::LoadPolicyState(fifo); }, &blocked);
  EXPECT_FALSE(blocked) << "LoadPolicyState waited on a FIFO";
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message, fifo + " is a FIFO, not an agent state file");
  // A missing state file is still an empty state.
  EXPECT_TRUE(agent::LoadPolicyState(dir_.path() + "/none.json").ok());
}

TEST_F(HostileFilesTest, SlurmOutcomeFifoIsAnErrorNotAWait) {
  const std::string fifo = Fifo(slurm::kSlurmOutcomeFile);
  bool blocked = false;
  Expected<slurm::SlurmOutcomeSummary> outcome = CallWithFifoDeadline(
      fifo, [&] { return slurm::ReadSlurmOutcome(fifo); }, &blocked);
  EXPECT_FALSE(blocked);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().message, fifo + " is a FIFO, not a slurm-healthcheck status file");
}

TEST_F(HostileFilesTest, TopologyXmlFifoIsAnErrorNotAWait) {
  const std::string fifo = Fifo("topo.xml");
  bool blocked = false;
  Expected<topo::Topology> topology = CallWithFifoDeadline(
      fifo, [&] { return topo::DiscoverTopology({.xml_path = fifo}); }, &blocked);
  EXPECT_FALSE(blocked) << "hwloc waited on a FIFO";
  ASSERT_FALSE(topology.ok());
  EXPECT_EQ(topology.error().message, fifo + " is a FIFO, not a hwloc XML topology file");
}

// --- nesting bombs ---------------------------------------------------------------------------

TEST_F(HostileFilesTest, DottedKeyBombInAProfileIsAnErrorNotACrash) {
  const std::string bomb = DottedKeyBomb(50000);
  ASSERT_GT(bomb.size(), 99000u);
  Expected<Profile> profile = ParseProfile(bomb, "bomb.toml");
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.error().message, "bomb.toml:1: a dotted key nests deeper than 64 levels");
}

TEST_F(HostileFilesTest, TomlBombsOfEveryKindInAConfigAreErrors) {
  const struct {
    std::string text;
    std::string message;
  } bombs[] = {
      {"x = 1\n" + DottedKeyBomb(50000), "c.toml:2: a dotted key nests deeper than 64 levels"},
      {std::string("[a") += Repeat(".a", 50000) + "]\n",
       "c.toml:1: a table header nests deeper than 64 levels"},
      {std::string("[[a") += Repeat(".a", 50000) + "]]\n",
       "c.toml:1: an array-of-tables header nests deeper than 64 levels"},
      // toml++ refuses more than 256 nested arrays or inline tables itself; 64 comes first.
      {std::string("a = ") += Repeat("[", 500000) + Repeat("]", 500000) + "\n",
       "c.toml:1: an array nests deeper than 64 levels"},
      {std::string("a = ") += Repeat("{b=", 200000) + "1" + Repeat("}", 200000) + "\n",
       "c.toml:1: an inline table nests deeper than 64 levels"},
      // Dotted keys inside inline tables add levels that toml++'s own bound does not count: 250
      // tables of 2,000 segments each crashed it.
      {std::string("a = ") +=
       Repeat(std::string("{b") += Repeat(".c", 2000) + "=", 250) + "1" + Repeat("}", 250) + "\n",
       "c.toml:1: an inline table nests deeper than 64 levels"},
  };
  for (const auto& bomb : bombs) {
    Expected<Config> config = ParseConfig(bomb.text, "c.toml");
    ASSERT_FALSE(config.ok()) << bomb.message;
    EXPECT_EQ(config.error().message, bomb.message);
  }
}

TEST_F(HostileFilesTest, BombFileAsConfigOrProfileIsAnError) {
  const std::string path = Write("bomb.toml", DottedKeyBomb(50000));
  Expected<Config> config = LoadConfig(path, /*optional=*/false);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message, path + ":1: a dotted key nests deeper than 64 levels");
  Expected<Profile> profile = LoadProfileFile(path);
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.error().message, path + ":1: a dotted key nests deeper than 64 levels");
}

TEST_F(HostileFilesTest, DeepJsonStateFileIsAnErrorNotACrash) {
  // 1 MB of '[': never closed, and closed.
  const std::string open_only = Repeat("[", 1 << 20);
  Expected<agent::PolicyState> state = agent::LoadPolicyState(Write("open.json", open_only));
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message,
            dir_.path() + "/open.json: line 1: JSON nests deeper than 64 levels");
  // A deep value where the schema is: the error message used to dump() it, recursively.
  const std::string deep_schema = std::string("{\"schema\": ") +=
      Repeat("[", 500000) + Repeat("]", 500000) + "}";
  state = agent::ParsePolicyState(deep_schema);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message, "line 1: JSON nests deeper than 64 levels");
}

TEST_F(HostileFilesTest, DeepOrMistypedSlurmOutcomeIsAnErrorNotACrash) {
  const std::string expected_suffix = ": not a nodehealth-slurm-healthcheck/1 file";
  for (const std::string& content :
       {std::string("{\"schema\": 1}"), std::string("{\"schema\": [\"x\"]}"),
        "{\"schema\": \"nodehealth-slurm-healthcheck/1\", \"at_unix_seconds\": " +
            Repeat("[", 300000) + Repeat("]", 300000) + "}",
        std::string(""), std::string("[]")}) {
    const std::string path = Write("slurm.json", content);
    Expected<slurm::SlurmOutcomeSummary> outcome = slurm::ReadSlurmOutcome(path);
    ASSERT_FALSE(outcome.ok()) << content.substr(0, 60);
    EXPECT_EQ(outcome.error().message, path + expected_suffix);
  }
}

TEST_F(HostileFilesTest, DeepReportFromAnAgentIsAnErrorNotACrash) {
  const std::string report =
      R"({"schema_version": 1, "drain": {"recommended": false, "reasons": []}, "probes": [)"
      R"({"name": "x", "verdict": "pass", "findings": )" +
      Repeat("[", 300000) + Repeat("]", 300000) + "}]}";
  Expected<slurm::HealthView> view =
      slurm::ParseHealthReport(report, slurm::HealthView::Source::kAgent);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().message, "report: nested deeper than JSON reports nest");
}

TEST_F(HostileFilesTest, DeepAgentStatusFileIsAnErrorNotACrash) {
  const std::string status = std::string("{\"schema\": ") +=
      Repeat("[", 300000) + Repeat("]", 300000) + "}";
  Expected<slurm::HealthView> view =
      slurm::ParseAgentStatus(status, {.node = "n1", .boot_id = "b"}, 0);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error().message, "status file: nested deeper than status files nest");
}

TEST_F(HostileFilesTest, MalformedTopologyBaselinesAreErrorsNotCrashes) {
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {"{\"schema\": 1}", "b.json: not a nodehealth topology fingerprint (nodehealth-topology/1)"},
      {"", "b.json: not a nodehealth topology fingerprint (nodehealth-topology/1)"},
      {std::string("{\"schema\": \"nodehealth-topology/1\", \"packages\": ") +=
       Repeat("[", 1 << 20),
       "b.json:1: JSON nests deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    Expected<topo::Topology> baseline = topo::ReadFingerprint(c.text, "b.json");
    ASSERT_FALSE(baseline.ok()) << c.message;
    EXPECT_EQ(baseline.error().message, c.message);
  }
}

TEST_F(HostileFilesTest, DeepTopologyXmlIsAnErrorWithEitherHwlocXmlImporter) {
  // 30,000 nested <object>s crashed hwloc's own importer; libxml2 stops at 256 by itself.
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
      "<topology version=\"2.0\">\n";
  xml += Repeat("<object type=\"Group\" cpuset=\"0x1\">\n", 30000);
  xml += Repeat("</object>\n", 30000) + "</topology>\n";
  const std::string path = Write("deep.xml", xml);
  for (const char* libxml : {"1", "0"}) {
    ::setenv("HWLOC_LIBXML_IMPORT", libxml, 1);
    Expected<topo::Topology> topology = topo::DiscoverTopology({.xml_path = path});
    ASSERT_FALSE(topology.ok());
    EXPECT_EQ(topology.error().message, path + ":131: XML nests deeper than 128 levels");
  }
  ::unsetenv("HWLOC_LIBXML_IMPORT");
}

// --- empty files -----------------------------------------------------------------------------

TEST_F(HostileFilesTest, EmptyFilesGiveTheirUsualAnswers) {
  Expected<Profile> profile = LoadProfileFile(Write("empty.toml", ""));
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.error().message, dir_.path() + "/empty.toml:1: missing required key \"name\"");
  EXPECT_TRUE(LoadConfig(Write("empty-config.toml", ""), false).ok());  // all defaults
  EXPECT_FALSE(agent::LoadPolicyState(Write("empty.json", "")).ok());
}

}  // namespace
}  // namespace nodehealth
