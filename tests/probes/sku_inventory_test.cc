// sku_inventory on the real peer trees (procfs's /proc/meminfo, node_exporter's CPUs and NVMe),
// on the Azure ND H100 v5 fixture node against its shipped profile, and on that node with one
// fault written into its tree each: memory lost, CPUs offline, an NVMe drive gone, bad files.
#include "probes/sku_inventory/sku_inventory_probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "probes/finding_catalog.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using testing::FindMeasurement;
using testing::FixtureNode;
using testing::ShippedProfile;

constexpr const char* kAzureProfile = "azure-nd96isr-h100-v5";
// The profile's band: 1915071 MB (x 1024 kB) within 5%, the 5% rounded down to whole kB.
constexpr const char* kAzureMemoryExpected =
    "1961032704 kB within 5% (1862981069 to 2059084339 kB)";
constexpr const char* kPackageIds = "/sys/devices/system/cpu/cpu*/topology/physical_package_id";
constexpr const char* kCoreIds = "/sys/devices/system/cpu/cpu*/topology/core_id";

void Write(const FixtureNode& node, const std::string& path, const std::string& content) {
  const std::filesystem::path full = std::filesystem::path(node.root()) / path;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream(full, std::ios::trunc) << content;
}

void Remove(const FixtureNode& node, const std::string& path) {
  std::filesystem::remove_all(std::filesystem::path(node.root()) / path);
}

std::string MemTotal(uint64_t kib) { return "MemTotal:       " + std::to_string(kib) + " kB\n"; }

double Measured(const ProbeResult& r, std::string_view name) {
  const Measurement* m = FindMeasurement(r, name);
  return m == nullptr ? -1 : m->value;
}

// The one finding of `r`, which must have `code` on the node.
const Finding& OnlyFinding(const ProbeResult& r, std::string_view code) {
  static const Finding kNone;
  EXPECT_EQ(r.findings.size(), 1u) << testing::DescribeResult(r);
  if (r.findings.size() != 1) return kNone;
  EXPECT_EQ(r.findings[0].code, code);
  EXPECT_EQ(r.findings[0].entity, "node");
  return r.findings[0];
}

TEST(SkuInventoryTest, RealPeerTreesAreMeasuredWithoutAProfile) {
  FixtureNode node("sku-peer-trees.toml");
  ProbeResult r = node.Run(SkuInventoryProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  EXPECT_EQ(Measured(r, "node_memory_bytes"), 15666184.0 * 1024);
  EXPECT_EQ(Measured(r, "node_cpu_sockets"), 2);
  EXPECT_EQ(Measured(r, "node_cpu_cores"), 4);
  EXPECT_EQ(Measured(r, "node_cpu_threads"), 4);
  EXPECT_EQ(Measured(r, "node_nvme_controllers"), 1);
}

TEST(SkuInventoryTest, RealPeerTreesAgainstAProfile) {
  FixtureNode node("sku-peer-trees.toml");
  Profile profile;
  profile.name = "peer";
  profile.node.memory_kib = 15666184;
  profile.node.cpu_sockets = 2;
  profile.node.cpu_cores = 4;
  profile.node.cpu_threads = 4;
  profile.node.nvme_count = 1;
  EXPECT_EQ(node.Run(SkuInventoryProbe(), &profile).verdict, ProbeVerdict::kPass);

  profile.node.nvme_count = 2;
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding& f = OnlyFinding(r, "nvme_missing");
  EXPECT_EQ(f.action, Action::kDrain);
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0], (Evidence{"/sys/class/nvme", "1: nvme0", "at least 2"}));
}

TEST(SkuInventoryTest, HealthyAzureNodePassesItsShippedProfile) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(Measured(r, "node_memory_bytes"), 1992294400.0 * 1024);
  EXPECT_EQ(Measured(r, "node_cpu_sockets"), 2);
  EXPECT_EQ(Measured(r, "node_cpu_cores"), 96);
  EXPECT_EQ(Measured(r, "node_cpu_threads"), 96);
  EXPECT_EQ(Measured(r, "node_nvme_controllers"), 8);
}

TEST(SkuInventoryTest, MemorySixPercentBelowIsAMismatch) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Write(node, "proc/meminfo", MemTotal(1843370741));  // 94% of 1961032704 kB
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding& f = OnlyFinding(r, "node_memory_mismatch");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message,
            "MemTotal 1843370741 kB is 6.0% below the profile's 1961032704 kB (tolerance 5%): "
            "memory lost to a failed DIMM or channel, or another machine size");
  ASSERT_EQ(f.evidence.size(), 1u);
  EXPECT_EQ(f.evidence[0],
            (Evidence{"/proc/meminfo", "MemTotal: 1843370741 kB", kAzureMemoryExpected}));
  EXPECT_EQ(Measured(r, "node_memory_bytes"), 1843370741.0 * 1024);
}

TEST(SkuInventoryTest, MemoryInsideTheToleranceAndOnItsEdgesPasses) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  for (uint64_t kib :
       {uint64_t{1882591395} /* 4% below */, uint64_t{1862981069}, uint64_t{2059084339}}) {
    Write(node, "proc/meminfo", MemTotal(kib));
    ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
    EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << kib << " " << testing::DescribeResult(r);
  }
  Write(node, "proc/meminfo", MemTotal(1862981068));
  EXPECT_EQ(OnlyFinding(node.Run(SkuInventoryProbe(), &profile), "node_memory_mismatch")
                .evidence.at(0)
                .observed,
            "MemTotal: 1862981068 kB");
  Write(node, "proc/meminfo", MemTotal(2059084340));
  const ProbeResult above = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_NE(OnlyFinding(above, "node_memory_mismatch").message.find("is 5.0% above"),
            std::string::npos)
      << testing::DescribeResult(above);
}

TEST(SkuInventoryTest, ASocketOfflineIsACpuCountMismatch) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Write(node, "sys/devices/system/cpu/online", "0-47\n");
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding& f = OnlyFinding(r, "cpu_count_mismatch");
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message,
            "CPUs differ from the profile: sockets 1 (expected 2), cores 48 (expected 96), "
            "threads 48 (expected 96): CPUs taken offline, SMT switched, or another machine size");
  EXPECT_EQ(f.evidence, (std::vector<Evidence>{
                            {kPackageIds, "1", "2"},
                            {kCoreIds, "48", "96"},
                            {"/sys/devices/system/cpu/online", "48 (online 0-47)", "96"},
                        }));
  EXPECT_EQ(Measured(r, "node_cpu_sockets"), 1);
  EXPECT_EQ(Measured(r, "node_cpu_threads"), 48);
}

TEST(SkuInventoryTest, ThreadsAloneNamesOnlyThreads) {
  // The profile of an SMT machine (two threads per core) on this node with SMT off.
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  Profile profile;
  profile.name = "smt-on";
  profile.node.cpu_sockets = 2;
  profile.node.cpu_cores = 96;
  profile.node.cpu_threads = 192;
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  const Finding& f = OnlyFinding(r, "cpu_count_mismatch");
  EXPECT_EQ(f.evidence,
            (std::vector<Evidence>{{"/sys/devices/system/cpu/online", "96 (online 0-95)", "192"}}));
}

TEST(SkuInventoryTest, SevenOfEightNvmeIsNvmeMissing) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Remove(node, "sys/class/nvme/nvme7");
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kFail);
  const Finding& f = OnlyFinding(r, "nvme_missing");
  EXPECT_EQ(f.action, Action::kDrain);
  EXPECT_EQ(f.message,
            "expected at least 8 NVMe controllers, found 7: a drive that dropped off its bus or "
            "lost its driver");
  EXPECT_EQ(f.evidence, (std::vector<Evidence>{
                            {"/sys/class/nvme",
                             "7: nvme0, nvme1, nvme2, nvme3, nvme4, nvme5, nvme6", "at least 8"}}));
  EXPECT_EQ(Measured(r, "node_nvme_controllers"), 7);
}

TEST(SkuInventoryTest, NoNvmeAtAllWithEightExpected) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  for (int i = 0; i < 8; ++i) Remove(node, "sys/class/nvme/nvme" + std::to_string(i));
  ProbeResult empty = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(OnlyFinding(empty, "nvme_missing").evidence,
            (std::vector<Evidence>{{"/sys/class/nvme", "0", "at least 8"}}));
  EXPECT_EQ(Measured(empty, "node_nvme_controllers"), 0);

  Remove(node, "sys/class/nvme");  // no nvme driver loaded
  ProbeResult absent = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(OnlyFinding(absent, "nvme_missing").evidence,
            (std::vector<Evidence>{
                {"/sys/class/nvme", "0 (/sys/class/nvme does not exist)", "at least 8"}}));
  EXPECT_EQ(Measured(absent, "node_nvme_controllers"), 0);
}

TEST(SkuInventoryTest, ControllersOfEveryTransportCountAndNothingElse) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  Profile profile;
  profile.name = "nvme-10";
  profile.node.nvme_count = 10;
  Write(node, "sys/class/nvme/nvme8/transport", "tcp\n");
  Write(node, "sys/class/nvme/nvme10/transport", "rdma\n");
  Write(node, "sys/class/nvme/nvme-fabrics/dev", "10:122\n");  // not a controller
  Write(node, "sys/class/nvme/nvme/x", "");                    // nor this
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(Measured(r, "node_nvme_controllers"), 10);

  profile.node.nvme_count = 11;
  EXPECT_EQ(OnlyFinding(node.Run(SkuInventoryProbe(), &profile), "nvme_missing").evidence.at(0),
            (Evidence{"/sys/class/nvme",
                      "10: nvme0, nvme1, nvme2, nvme3, nvme4, nvme5, nvme6, nvme7, nvme8, nvme10",
                      "at least 11"}));
}

TEST(SkuInventoryTest, MalformedMeminfoIsAProbeErrorWhenTheProfileExpectsMemory) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Write(node, "proc/meminfo", "MemTotal:       lots kB\n");
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding& f = OnlyFinding(r, "probe_error");
  EXPECT_EQ(f.message,
            "cannot tell the node's memory: malformed MemTotal line: "
            "\"MemTotal:       lots kB\"");
  EXPECT_EQ(f.evidence,
            (std::vector<Evidence>{{"/proc/meminfo",
                                    "malformed MemTotal line: \"MemTotal:       lots kB\"",
                                    kAzureMemoryExpected}}));
  EXPECT_EQ(FindMeasurement(r, "node_memory_bytes"), nullptr);
  // The rest is still judged and measured.
  EXPECT_EQ(Measured(r, "node_cpu_cores"), 96);
  EXPECT_EQ(Measured(r, "node_nvme_controllers"), 8);
}

TEST(SkuInventoryTest, MalformedMeminfoWithoutAnExpectationMeasuresTheRestAndPasses) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  Write(node, "proc/meminfo", "MemFree: 5 kB\n");
  ProbeResult r = node.Run(SkuInventoryProbe());
  EXPECT_EQ(r.verdict, ProbeVerdict::kPass) << testing::DescribeResult(r);
  EXPECT_EQ(r.notes, std::vector<std::string>{"memory not measured: no MemTotal line"});
  EXPECT_EQ(FindMeasurement(r, "node_memory_bytes"), nullptr);
  EXPECT_EQ(Measured(r, "node_cpu_threads"), 96);

  // A profile that expects other things only: memory is still not a reason to fail.
  Profile cpus_only;
  cpus_only.name = "cpus-only";
  cpus_only.node.cpu_threads = 96;
  EXPECT_EQ(node.Run(SkuInventoryProbe(), &cpus_only).verdict, ProbeVerdict::kPass);
}

TEST(SkuInventoryTest, MissingOrHugeMeminfoIsAProbeError) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Remove(node, "proc/meminfo");
  ProbeResult missing = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(missing.verdict, ProbeVerdict::kError);
  EXPECT_EQ(OnlyFinding(missing, "probe_error").evidence.at(0).observed,
            "cannot open /proc/meminfo: No such file or directory");

  std::string huge = MemTotal(1961032704);
  while (huge.size() <= 64 * 1024) huge += "Padding:               0 kB\n";
  Write(node, "proc/meminfo", huge);
  ProbeResult big = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(big.verdict, ProbeVerdict::kError);
  EXPECT_EQ(OnlyFinding(big, "probe_error").evidence.at(0).observed,
            "file too large: /proc/meminfo (over 65536 bytes)");
}

TEST(SkuInventoryTest, UnreadableTopologyIsAProbeErrorOnlyWhenCoresAreExpected) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  Write(node, "sys/devices/system/cpu/cpu5/topology/core_id", "five\n");
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile);
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  const Finding& f = OnlyFinding(r, "probe_error");
  const std::string path = "/sys/devices/system/cpu/cpu5/topology/core_id";
  EXPECT_EQ(f.evidence, (std::vector<Evidence>{{path, path + ": malformed number: \"five\"",
                                                "a readable CPU list and topology ids"}}));
  EXPECT_EQ(FindMeasurement(r, "node_cpu_cores"), nullptr);
  EXPECT_EQ(Measured(r, "node_cpu_threads"), 96);

  Profile threads_only;
  threads_only.name = "threads-only";
  threads_only.node.cpu_threads = 96;
  ProbeResult judged = node.Run(SkuInventoryProbe(), &threads_only);
  EXPECT_EQ(judged.verdict, ProbeVerdict::kPass) << testing::DescribeResult(judged);
  EXPECT_EQ(judged.notes,
            std::vector<std::string>{"CPUs not counted: " + path + ": malformed number: \"five\""});

  Write(node, "sys/devices/system/cpu/online", "0-95,junk\n");
  ProbeResult bad_list = node.Run(SkuInventoryProbe(), &threads_only);
  EXPECT_EQ(bad_list.verdict, ProbeVerdict::kError);
  EXPECT_EQ(OnlyFinding(bad_list, "probe_error").evidence.at(0).source,
            "/sys/devices/system/cpu/online");
}

TEST(SkuInventoryTest, ADeadlineThatPassedIsAProbeTimeout) {
  FixtureNode node("azure-nd96isr-h100-v5.toml");
  const Profile profile = ShippedProfile(kAzureProfile);
  ProbeResult r = node.Run(SkuInventoryProbe(), &profile, testing::FakeNvmlLibrary(),
                           std::chrono::milliseconds(0));
  EXPECT_EQ(r.verdict, ProbeVerdict::kError);
  EXPECT_EQ(OnlyFinding(r, "probe_timeout").message,
            "cannot count the CPUs: the deadline passed while reading the CPUs' topology");
}

TEST(SkuValuesTest, MemTotal) {
  EXPECT_EQ(*sku::ParseMemTotalKib("MemTotal:       15666184 kB\nMemFree: 1 kB\n"), 15666184u);
  EXPECT_EQ(*sku::ParseMemTotalKib("Foo: 1 kB\nMemTotal: 7 kB"), 7u);
  EXPECT_EQ(*sku::ParseMemTotalKib("MemTotal:\t1099511627776 kB\n"), sku::kMaxMemTotalKib);
  for (const char* bad :
       {"", "MemFree: 1 kB\n", "MemTotal: 15666184\n", "MemTotal: 15666184 MB\n",
        "MemTotal: -5 kB\n", "MemTotal: 0 kB\n", "MemTotal: 1099511627777 kB\n",
        "MemTotal: 99999999999999999999999 kB\n", "MemTotal: 1 2 kB\n", "MemTotal: 0x10 kB\n"}) {
    EXPECT_FALSE(sku::ParseMemTotalKib(bad).ok()) << bad;
  }
  EXPECT_EQ(sku::ParseMemTotalKib("MemFree: 1 kB\n").error().message, "no MemTotal line");
}

TEST(SkuValuesTest, NvmeControllerNames) {
  for (const char* name : {"nvme0", "nvme7", "nvme12", "nvme4294967295"}) {
    EXPECT_TRUE(sku::IsNvmeControllerName(name)) << name;
  }
  for (const char* name :
       {"nvme", "nvme-fabrics", "nvme0n1", "nvme-subsys0", "Nvme0", "nvme 1", "nvme123456789012"}) {
    EXPECT_FALSE(sku::IsNvmeControllerName(name)) << name;
  }
}

TEST(SkuValuesTest, CpuCountsUsePackageDieAndCore) {
  // Two packages whose core ids repeat, each with two dies whose core ids repeat again, and SMT.
  std::vector<sku::CpuPlace> cpus;
  for (int thread = 0; thread < 2; ++thread) {
    for (int package = 0; package < 2; ++package) {
      for (int die = 0; die < 2; ++die) {
        for (int core = 0; core < 3; ++core) cpus.push_back({package, die, core});
      }
    }
  }
  const sku::CpuCounts counts = sku::CountCpus(cpus);
  EXPECT_EQ(counts.sockets, 2);
  EXPECT_EQ(counts.cores, 12);
  EXPECT_EQ(counts.threads, 24);
  EXPECT_EQ(sku::CountCpus({{-1, 0, 0}}).sockets, 1);  // a platform that does not know
}

TEST(SkuValuesTest, MemoryBand) {
  const sku::MemoryBand band = sku::MemoryBandAround(1961032704, 5);
  EXPECT_EQ(band.low_kib, 1862981069u);
  EXPECT_EQ(band.high_kib, 2059084339u);
  EXPECT_TRUE(band.Contains(1961032704));
  EXPECT_FALSE(band.Contains(1862981068));
  const sku::MemoryBand exact = sku::MemoryBandAround(1000, 0);
  EXPECT_EQ(exact.low_kib, 1000u);
  EXPECT_EQ(exact.high_kib, 1000u);
  EXPECT_EQ(sku::MemoryBandAround(1000, 2.5).low_kib, 975u);
  EXPECT_EQ(sku::MemoryBandAround(uint64_t{1} << 40, 50).high_kib, (uint64_t{3} << 39));
}

TEST(SkuInventoryTest, DeclaresItsCodesAndMeasurements) {
  const ProbeInfo& info = SkuInventoryProbe().info();
  EXPECT_EQ(info.name, "sku_inventory");
  EXPECT_EQ(info.kind, ProbeKind::kPassive);
  for (std::string_view code :
       {codes::kNodeMemoryMismatch, codes::kCpuCountMismatch, codes::kNvmeMissing}) {
    const CatalogEntry* entry = FindCatalogEntry(code);
    ASSERT_NE(entry, nullptr) << code;
    EXPECT_EQ(entry->action, Action::kDrain);
    EXPECT_EQ(entry->category, FindingCategory::kNode);
    EXPECT_NE(std::find(info.codes.begin(), info.codes.end(), code), info.codes.end());
  }
  std::vector<std::string> names;
  for (const MeasurementSpec& spec : info.measurements) names.push_back(spec.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"node_memory_bytes", "node_cpu_sockets", "node_cpu_cores",
                                      "node_cpu_threads", "node_nvme_controllers"}));
}

}  // namespace
}  // namespace nodehealth
