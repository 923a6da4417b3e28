#include "agent/config/profile_selector.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "agent/config/profile_loader.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::FixtureNode;
using testing::SourceDir;

std::vector<std::string> Shipped() { return {SourceDir() + "/profiles"}; }

NodeFacts Facts(std::string vendor, std::string product, int cpus, std::vector<uint32_t> gpus,
                bool ib) {
  NodeFacts f;
  f.dmi_sys_vendor = std::move(vendor);
  f.dmi_product_name = std::move(product);
  f.cpu_count = cpus;
  f.gpu_pci_device_ids = std::move(gpus);
  f.infiniband = ib;
  return f;
}

TEST(GlobMatchTest, Stars) {
  EXPECT_TRUE(GlobMatch("p5.48xlarge", "p5.48xlarge"));
  EXPECT_TRUE(GlobMatch("DGX*H100*", "DGXH100 920-23687-2530-000"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("p5.*", "p4d.24xlarge"));
  EXPECT_FALSE(GlobMatch("abc", "abcd"));
}

TEST(MatchScoreTest, EveryConditionMustHold) {
  ProfileMatch m;
  m.dmi_sys_vendor = {"Amazon EC2"};
  m.dmi_product_name = {"p5.48xlarge"};
  m.gpu_pci_device_ids = {0x2330};
  EXPECT_EQ(MatchScore(m, Facts("Amazon EC2", "p5.48xlarge", 192, {0x2330}, false)), 3);
  EXPECT_EQ(MatchScore(m, Facts("Amazon EC2", "p4d.24xlarge", 96, {0x20b0}, false)), -1);
  // One GPU of the model is enough: a node that lost seven still gets its profile.
  EXPECT_EQ(MatchScore(m, Facts("Amazon EC2", "p5.48xlarge", 192, {0x2330}, false)), 3);
  EXPECT_EQ(MatchScore(ProfileMatch{}, Facts("", "", 1, {}, false)), -1);
}

TEST(ShippedProfilesTest, AllLoadWithUniqueNamesAndSources) {
  Expected<std::vector<Profile>> profiles = LoadProfiles(Shipped());
  ASSERT_TRUE(profiles.ok()) << profiles.error().message;
  std::set<std::string> names;
  for (const Profile& p : *profiles) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_FALSE(p.sources.empty()) << p.name << " cites no source";
    EXPECT_FALSE(p.match.empty()) << p.name << " cannot be chosen by --profile auto";
    EXPECT_EQ(p.path, SourceDir() + "/profiles/" + p.name + ".toml");
  }
  for (const char* required :
       {"azure-nd96isr-h100-v5", "azure-nd96asr-a100-v4", "azure-nd96amsr-a100-v4",
        "azure-nc24ads-a100-v4", "azure-nc48ads-a100-v4", "azure-nc96ads-a100-v4",
        "aws-p5.48xlarge", "aws-p4d.24xlarge", "gcp-a3-highgpu-8g", "gcp-a2-highgpu-8g",
        "dgx-h100"}) {
    EXPECT_TRUE(names.contains(required)) << required;
  }
}

struct AutoCase {
  NodeFacts facts;
  const char* expected;  // nullptr: observe-only
};

TEST(ChooseProfileTest, AutoRecognisesEachShippedMachine) {
  const AutoCase cases[] = {
      {Facts("Microsoft Corporation", "Virtual Machine", 96, {0x2330, 0x2330}, true),
       "azure-nd96isr-h100-v5"},
      {Facts("Microsoft Corporation", "Virtual Machine", 96, {0x20b0}, true),
       "azure-nd96asr-a100-v4"},
      {Facts("Microsoft Corporation", "Virtual Machine", 96, {0x20b2}, true),
       "azure-nd96amsr-a100-v4"},
      {Facts("Microsoft Corporation", "Virtual Machine", 24, {0x20b5}, false),
       "azure-nc24ads-a100-v4"},
      {Facts("Microsoft Corporation", "Virtual Machine", 48, {0x20b5}, false),
       "azure-nc48ads-a100-v4"},
      {Facts("Microsoft Corporation", "Virtual Machine", 96, {0x20b5}, false),
       "azure-nc96ads-a100-v4"},
      {Facts("Amazon EC2", "p5.48xlarge", 192, {0x2330}, false), "aws-p5.48xlarge"},
      {Facts("Amazon EC2", "p4d.24xlarge", 96, {0x20b0}, false), "aws-p4d.24xlarge"},
      {Facts("Google", "Google Compute Engine", 208, {0x2330}, false), "gcp-a3-highgpu-8g"},
      {Facts("Google", "Google Compute Engine", 96, {0x20b0}, false), "gcp-a2-highgpu-8g"},
      {Facts("NVIDIA", "DGXH100", 224, {0x2330}, true), "dgx-h100"},
      // Not a shipped machine: observe-only.
      {Facts("Dell Inc.", "PowerEdge XE9680", 224, {0x2330}, true), nullptr},
      {Facts("QEMU", "Standard PC", 2, {}, false), nullptr},
  };
  for (const AutoCase& c : cases) {
    Expected<ProfileChoice> choice = ChooseProfile("auto", c.facts, Shipped());
    ASSERT_TRUE(choice.ok()) << choice.error().message;
    if (c.expected == nullptr) {
      EXPECT_FALSE(choice->profile.has_value())
          << c.facts.Describe() << " -> " << choice->profile->name;
      EXPECT_NE(choice->reason.find("observe-only"), std::string::npos);
    } else {
      ASSERT_TRUE(choice->profile.has_value()) << c.facts.Describe() << ": " << choice->reason;
      EXPECT_EQ(choice->profile->name, c.expected) << c.facts.Describe();
      EXPECT_EQ(choice->reason.rfind("auto: matched " + std::string(c.expected) + " on ", 0), 0u)
          << choice->reason;
    }
  }
}

TEST(ChooseProfileTest, ByNameByPathAndNone) {
  NodeFacts facts;
  Expected<ProfileChoice> by_name = ChooseProfile("dgx-h100", facts, Shipped());
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->profile->name, "dgx-h100");
  Expected<ProfileChoice> by_path =
      ChooseProfile(SourceDir() + "/profiles/aws-p5.48xlarge.toml", facts, Shipped());
  ASSERT_TRUE(by_path.ok());
  EXPECT_EQ(by_path->profile->name, "aws-p5.48xlarge");
  Expected<ProfileChoice> none = ChooseProfile("none", facts, Shipped());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->profile.has_value());
  Expected<ProfileChoice> unknown = ChooseProfile("no-such-machine", facts, Shipped());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message.substr(0, 43), "unknown profile \"no-such-machine\" (known: a");
}

TEST(ChooseProfileTest, TiesFallBackToObserveOnlyAndSaySo) {
  testing::TempDir dir;
  for (const char* name : {"one", "two"}) {
    std::ofstream(dir.path() + "/" + name + ".toml")
        << "name = \"" << name << "\"\nsources = [\"test\"]\n[match]\ncpu_count = 4\n";
  }
  NodeFacts facts;
  facts.cpu_count = 4;
  Expected<ProfileChoice> choice = ChooseProfile("auto", facts, {dir.path()});
  ASSERT_TRUE(choice.ok());
  EXPECT_FALSE(choice->profile.has_value());
  EXPECT_NE(choice->reason.find("several profiles match equally (one, two)"), std::string::npos);
}

TEST(ChooseProfileTest, ABrokenProfileIsAnErrorNotObserveOnly) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/bad.toml") << "name = \"bad\"\n[gpu]\ncount = -1\n";
  Expected<ProfileChoice> choice = ChooseProfile("auto", NodeFacts{}, {dir.path()});
  ASSERT_FALSE(choice.ok());
  EXPECT_EQ(choice.error().message,
            dir.path() + "/bad.toml:3: \"gpu.count\" = -1 is outside 0..64");
}

TEST(GatherNodeFactsTest, FromAFixtureNode) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  NodeFacts facts = GatherNodeFacts(node.fs(), node.inventory());
  EXPECT_EQ(facts.dmi_sys_vendor, "Microsoft Corporation");
  EXPECT_EQ(facts.dmi_product_name, "Virtual Machine");
  EXPECT_EQ(facts.cpu_count, 96);
  EXPECT_EQ(facts.gpu_pci_device_ids.size(), 8u);
  EXPECT_TRUE(facts.infiniband);
  FixtureNode dell("hgx-h100-xe9680.toml");
  NodeFacts dell_facts = GatherNodeFacts(dell.fs(), dell.inventory());
  EXPECT_EQ(dell_facts.dmi_sys_vendor, "Dell Inc.");
  EXPECT_EQ(dell_facts.dmi_product_name, "PowerEdge XE9680");
  EXPECT_EQ(dell_facts.cpu_count, 224);
}

}  // namespace
}  // namespace nodehealth
