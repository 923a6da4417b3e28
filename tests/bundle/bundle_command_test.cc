// `nodehealth bundle` as an operator runs it: the real binary on a fixture node (fault-xid48: an
// XID 48/63/94 incident on GPU 0000:19:00.0, the fake NVML), fake vendor tools on a PATH of the
// test's own, the agent's state files, and the archive read back with the real `tar`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/bundle/bundle_manifest.h"
#include "agent/http/http_server.h"
#include "agent/policy/policy_state.h"
#include "tests/support/run_command.h"
#include "tests/support/test_env.h"

namespace nodehealth {
namespace {

using nlohmann::json;
using testing::CommandResult;
using testing::FakeNvmlLibrary;
using testing::FixtureNode;
using testing::NodehealthBinary;
using testing::RunCommand;
using testing::SourceDir;
using testing::TempDir;

constexpr char kScenario[] = "fault-xid48.toml";
constexpr char kGpu[] = "gpu/0000:19:00.0";
// 2024-11-15T12:02:03Z, when gpud's capture shows the XID 48.
constexpr double kSince = 1731672123;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& content, bool executable = false) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  if (executable) ::chmod(path.c_str(), 0755);
}

// A fixture node with the agent's files in its default state directory and a bin directory that
// is the bundle's whole PATH: tests add the tools they want found.
class BundleNode {
 public:
  BundleNode() : node_(kScenario) {
    agent::PolicyState state;
    state.sticky.push_back(agent::StickyFault{"gpu_xid", "gpu_xid", kGpu, "XID 48 (DBE)",
                                              Action::kResetGpu, kSince, 1});
    const std::string dir = node_.root() + "/var/lib/nodehealth";
    WriteFile(dir + "/state.json", agent::SerializePolicyState(state));
    WriteFile(dir + "/status.json", R"({"node":"hgx-h100-01","drain":{"recommended":true}})");
    WriteFile(dir + "/slurm-healthcheck.json", R"({"action":"drain","node":"hgx-h100-01"})");
    WriteFile(dir + "/notes.txt", "not a json file: not collected\n");
    std::filesystem::create_directories(bin());
  }

  const std::string& root() const { return node_.root(); }
  std::string bin() const { return work_.path() + "/bin"; }
  std::string out_dir() const { return work_.path(); }
  void Tool(const std::string& name, const std::string& script) const {
    WriteFile(bin() + "/" + name, "#!/bin/sh\n" + script + "\n", true);
  }

 private:
  FixtureNode node_;
  TempDir work_;
};

struct Bundle {
  CommandResult run;
  std::string archive;  // its path
  std::string top;      // the extracted top directory
  std::vector<std::string> entries;
  json manifest;

  std::string File(const std::string& path) const { return ReadFile(top + "/" + path); }
  const json* Item(std::string_view path_or_source) const {
    for (const json& f : manifest["files"]) {
      if ((f["path"].is_string() && f["path"] == path_or_source) ||
          (f["source"].is_string() && f["source"] == path_or_source) ||
          (f["command"].is_array() && !f["command"].empty() && f["command"][0] == path_or_source)) {
        return &f;
      }
    }
    return nullptr;
  }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  return lines;
}

// Runs `nodehealth bundle` on `node` with --output in the work directory, then lists and extracts
// the archive with the real tar.
Bundle RunBundle(const BundleNode& node, std::vector<std::string> args,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  Bundle b;
  b.archive = node.out_dir() + "/b.tar.gz";
  std::vector<std::string> argv = {
      NodehealthBinary(), "bundle",
      "--sysroot",        node.root(),
      "--nvml-library",   FakeNvmlLibrary(),
      "--config",         SourceDir() + "/tests/fixtures/empty-config.toml",
      "--output",         b.archive};
  argv.insert(argv.end(), args.begin(), args.end());
  b.run = RunCommand(
      argv, {{"PATH", node.bin()}, {"NODEHEALTH_FAKE_NVML", testing::ScenarioPath(kScenario)}},
      timeout);
  if (b.run.exit_code != 0) return b;
  CommandResult list = RunCommand({"/usr/bin/tar", "-tzf", b.archive});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.err, "");
  b.entries = Lines(list.out);
  const std::string extract_dir = node.out_dir() + "/x";
  std::filesystem::create_directories(extract_dir);
  CommandResult extract = RunCommand({"/usr/bin/tar", "-xzf", b.archive, "-C", extract_dir});
  EXPECT_EQ(extract.exit_code, 0) << extract.err;
  if (!b.entries.empty()) b.top = extract_dir + "/" + b.entries[0];
  b.manifest = json::parse(b.File("MANIFEST.json"), nullptr, false);
  return b;
}

// Every file below `dir`, relative path -> content.
std::map<std::string, std::string> AllFiles(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      files[std::filesystem::relative(e.path(), dir).string()] = ReadFile(e.path().string());
    }
  }
  return files;
}

TEST(BundleCommandTest, ArchiveHoldsExactlyTheCollectedFilesAndTheManifestVouchesForThem) {
  BundleNode node;
  node.Tool("nvidia-smi", "echo \"fake nvidia-smi $*\"");
  node.Tool("ibstat", "echo 'no IB devices found' >&2; exit 1");
  Bundle b = RunBundle(node, {"--no-cloud-metadata"});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;

  ASSERT_FALSE(b.entries.empty());
  const std::string top = b.entries[0];
  EXPECT_TRUE(top.starts_with("nodehealth-bundle-hgx-h100-01-")) << top;
  EXPECT_EQ(top.size(), std::string("nodehealth-bundle-hgx-h100-01-20250101T000000Z/").size());
  std::vector<std::string> expected = {"",
                                       "report/check.json",
                                       "agent/slurm-healthcheck.json",
                                       "agent/state.json",
                                       "agent/status.json",
                                       "kernel/kmsg.txt",
                                       "kernel/filtered.txt",
                                       "commands/nvidia-smi-q.txt",
                                       "commands/ibstat.txt",
                                       "sysfs/pci.txt",
                                       "sysfs/infiniband.txt",
                                       "sysfs/dmi.txt",
                                       "gpus.json",
                                       "versions.txt",
                                       "config/empty-config.toml",
                                       "SUMMARY.txt",
                                       "MANIFEST.json"};
  for (std::string& e : expected) e = top + e;
  EXPECT_EQ(b.entries, expected);

  // The archive: 0600, and stdout names its path, size and SHA-256.
  struct stat st {};
  ASSERT_EQ(::stat(b.archive.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string archive = ReadFile(b.archive);
  EXPECT_EQ(b.run.out, "bundle: " + b.archive + "\nsize: " + std::to_string(archive.size()) +
                           " bytes\nsha256: " + bundle::Sha256Hex(archive) + "\n");
  for (const auto& e : std::filesystem::directory_iterator(node.out_dir())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".b.tar.gz.tmp")) << e.path();
  }

  // The manifest: every file's size and hash match what tar extracted.
  ASSERT_TRUE(b.manifest.is_object());
  EXPECT_EQ(b.manifest["schema"], "nodehealth-bundle/1");
  EXPECT_EQ(b.manifest["node"], "hgx-h100-01");
  EXPECT_EQ(b.manifest["redacted"], false);
  EXPECT_EQ(b.manifest["max_bytes"], 256u << 20);
  int files = 0;
  for (const json& f : b.manifest["files"]) {
    if (!f["path"].is_string()) {
      EXPECT_TRUE(f["sha256"].is_null()) << f.dump();
      continue;
    }
    ++files;
    const std::string content = b.File(f["path"]);
    EXPECT_EQ(f["sha256"], bundle::Sha256Hex(content)) << f["path"];
    EXPECT_EQ(f["size_bytes"], content.size()) << f["path"];
    EXPECT_EQ(f["omitted"], false);
  }
  EXPECT_EQ(files, 15);  // every entry but the directory and MANIFEST.json itself

  const json* smi = b.Item("commands/nvidia-smi-q.txt");
  ASSERT_NE(smi, nullptr);
  EXPECT_EQ((*smi)["command"], json({"nvidia-smi", "-q"}));
  EXPECT_EQ((*smi)["status"], "ok");
  EXPECT_EQ((*smi)["exit_status"], 0);
  EXPECT_EQ((*smi)["timed_out"], false);
  EXPECT_EQ(b.File("commands/nvidia-smi-q.txt"), "fake nvidia-smi -q\n");
  // A tool that failed keeps its output and says how it ended.
  const json* ibstat = b.Item("commands/ibstat.txt");
  ASSERT_NE(ibstat, nullptr);
  EXPECT_EQ((*ibstat)["status"], "failed");
  EXPECT_EQ((*ibstat)["exit_status"], 1);
  EXPECT_EQ((*ibstat)["error"], "no IB devices found\n");

  // The check report is `check --format json`'s, and the summary carries its verdict.
  const json report = json::parse(b.File("report/check.json"));
  EXPECT_EQ(report["node"], "hgx-h100-01");
  EXPECT_EQ(report["verdict"], "fail");
  const std::string summary = b.File("SUMMARY.txt");
  EXPECT_NE(summary.find("\nNode: hgx-h100-01\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\nVerdict: fail\nDrain: recommended, action " +
                         report["drain"]["action"].get<std::string>() + "\n"),
            std::string::npos)
      << summary;
  for (const json& reason : report["drain"]["reasons"]) {
    EXPECT_NE(summary.find("  - " + reason["code"].get<std::string>() + " " +
                           reason["entity"].get<std::string>() + ": " +
                           reason["message"].get<std::string>() + "\n"),
              std::string::npos)
        << summary;
  }
  const json gpus = json::parse(b.File("gpus.json"));
  std::string serial;
  for (const json& g : gpus) {
    if (g["pci_bus_id"] == "0000:19:00.0") serial = g["serial"];
  }
  ASSERT_FALSE(serial.empty()) << gpus.dump();
  EXPECT_NE(summary.find("  - gpu/0000:19:00.0 serial " + serial + " uuid GPU-"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("\nFirst seen (agent state):\n  - gpu_xid gpu/0000:19:00.0 since "
                         "2024-11-15T12:02:03.000Z\n"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("\nCloud: none answered"), std::string::npos) << summary;

  // The filtered kernel log: exactly the NVRM lines of the capture.
  for (const std::string& line : Lines(b.File("kernel/filtered.txt"))) {
    EXPECT_TRUE(line.find("NVRM") != std::string::npos || line.find("mlx5") != std::string::npos ||
                line.find("AER") != std::string::npos)
        << line;
  }
  EXPECT_NE(b.File("kernel/filtered.txt")
                .find("NVRM: Xid (PCI:0000:19:00): 94, pid=1248209, name=python3.10, Ch 00000008"),
            std::string::npos);
}

TEST(BundleCommandTest, MissingToolsAreNotedNotFatal) {
  BundleNode node;  // an empty PATH: no tool at all
  Bundle b = RunBundle(node, {"--no-cloud-metadata"});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;
  for (const char* tool : {"nvidia-smi", "nvidia-bug-report.sh", "lspci", "ibstat", "ibv_devinfo",
                           "nv-fabricmanager", "lstopo-no-graphics"}) {
    const json* item = b.Item(tool);
    ASSERT_NE(item, nullptr) << tool;
    EXPECT_EQ((*item)["status"], "not_installed") << tool;
    EXPECT_EQ((*item)["error"], std::string(tool) + " not found in PATH");
    EXPECT_TRUE((*item)["path"].is_null());
    EXPECT_TRUE((*item)["exit_status"].is_null());
  }
  EXPECT_NE(b.run.err.find("collectors did not complete (see MANIFEST.json)"), std::string::npos)
      << b.run.err;
}

TEST(BundleCommandTest, HungToolIsCutAtItsDeadline) {
  BundleNode node;
  node.Tool("nvidia-smi", "echo partial; exec /bin/sleep 60");
  Bundle b = RunBundle(node, {"--no-cloud-metadata", "--tool-timeout", "1"});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;
  EXPECT_LT(b.run.seconds, 15) << "one hung tool costs its deadline, not the suite's";
  const json* smi = b.Item("commands/nvidia-smi-q.txt");
  ASSERT_NE(smi, nullptr);
  EXPECT_EQ((*smi)["status"], "timed_out");
  EXPECT_EQ((*smi)["timed_out"], true);
  EXPECT_TRUE((*smi)["exit_status"].is_null());
  EXPECT_GE((*smi)["duration_seconds"].get<double>(), 1.0);
  EXPECT_LT((*smi)["duration_seconds"].get<double>(), 4.0);
  EXPECT_EQ(b.File("commands/nvidia-smi-q.txt"), "partial\n");
}

TEST(BundleCommandTest, SizeBoundLeavesFilesOutAndTheManifestSaysSo) {
  BundleNode node;
  Bundle full = RunBundle(node, {"--no-cloud-metadata"});
  ASSERT_EQ(full.run.exit_code, 0) << full.run.err;
  const json* report = full.Item("report/check.json");
  ASSERT_NE(report, nullptr);
  const uint64_t report_bytes = (*report)["size_bytes"];
  ASSERT_GT(report_bytes, 40000u);  // the largest file of this node, with sysfs/pci.txt

  // Read before the second run replaces the extraction (its top directory may have another
  // name: the time in it has whole seconds).
  const std::string full_filtered = full.File("kernel/filtered.txt");
  const std::string full_gpus = full.File("gpus.json");
  ASSERT_NE(full_filtered, "");
  ASSERT_NE(full_gpus, "");
  std::filesystem::remove_all(node.out_dir() + "/x");
  const uint64_t max_bytes = 64 * 1024;
  Bundle b = RunBundle(node, {"--no-cloud-metadata", "--max-bytes", std::to_string(max_bytes)});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;
  EXPECT_LE(std::filesystem::file_size(b.archive), max_bytes);
  const json* omitted = b.Item("report/check.json");
  ASSERT_NE(omitted, nullptr);
  EXPECT_EQ((*omitted)["omitted"], true);
  EXPECT_EQ((*omitted)["status"], "omitted");
  // Its size is this run's report's (durations differ by a digit or two between runs).
  const uint64_t omitted_bytes = (*omitted)["size_bytes"];
  EXPECT_NEAR(static_cast<double>(omitted_bytes), static_cast<double>(report_bytes), 64);
  EXPECT_TRUE((*omitted)["sha256"].is_null());
  EXPECT_EQ((*omitted)["error"], "left out: the archive would exceed --max-bytes 65536 with its " +
                                     std::to_string(omitted_bytes) + " bytes");
  const std::string top = b.entries[0];
  EXPECT_EQ(std::count(b.entries.begin(), b.entries.end(), top + "report/check.json"), 0);
  // Smaller files after it are still there, the summary (from the report in memory) and the
  // manifest last.
  EXPECT_EQ(b.File("kernel/filtered.txt"), full_filtered);
  EXPECT_EQ(b.File("gpus.json"), full_gpus);
  EXPECT_EQ(b.entries.back(), top + "MANIFEST.json");
  EXPECT_EQ(b.entries[b.entries.size() - 2], top + "SUMMARY.txt");
  EXPECT_NE(b.File("SUMMARY.txt").find("\nVerdict: fail\n"), std::string::npos);
  int left_out = 0;
  for (const json& f : b.manifest["files"]) left_out += f["omitted"].get<bool>();
  EXPECT_EQ(left_out, 2) << "check.json and sysfs/pci.txt";
  EXPECT_EQ((*b.Item("sysfs/pci.txt"))["omitted"], true);
}

TEST(BundleCommandTest, RedactionReplacesNamesAddressesAndProcessesInEveryFile) {
  BundleNode node;
  // Addresses as the kernel prints them (net/ipv4/route.c "martian source %pI4 from %pI4", tg3's
  // "MAC address %pM" from gpud's dmesg.decode.iso.log.1) and the node's FQDN in /etc/hosts.
  std::ofstream(node.root() + "/dev/kmsg", std::ios::app)
      << "2024-11-15T12:05:00,000000+00:00 IPv4: martian source 10.20.30.40 from 10.20.30.41, "
         "on dev eth0\n"
      << "2024-11-15T12:05:01,000000+00:00 tg3 0000:02:00.0 eth0: Tigon3 [partno(BCM95720) rev "
         "5720000] (PCI Express) MAC address c4:cb:e1:ab:58:e2\n"
      << "2024-11-15T12:05:02,000000+00:00 hgx-h100-01.cluster.example.com: fe80::c6cb:e1ff:feab:"
         "58e2 joined\n";
  WriteFile(node.root() + "/etc/hosts",
            "127.0.0.1 localhost\n10.20.30.40 hgx-h100-01.cluster.example.com hgx-h100-01\n");
  Bundle b = RunBundle(node, {"--no-cloud-metadata", "--redact"});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;
  EXPECT_EQ(b.manifest["redacted"], true);
  EXPECT_EQ(b.manifest["node"], "host-2");
  EXPECT_TRUE(b.entries[0].starts_with("nodehealth-bundle-host-2-")) << b.entries[0];
  EXPECT_EQ(b.run.out.find("hgx-h100-01"), std::string::npos) << b.run.out;

  const std::map<std::string, std::string> files = AllFiles(b.top);
  ASSERT_EQ(files.size(), 14u);
  for (const auto& [path, content] : files) {
    for (const char* secret :
         {"hgx-h100-01", "HGX-H100-01", "10.20.30.40", "10.20.30.41", "c4:cb:e1:ab:58:e2",
          "fe80::c6cb:e1ff:feab:58e2", "python3.10", "1248209"}) {
      EXPECT_EQ(content.find(secret), std::string::npos) << secret << " in " << path;
    }
  }
  const std::string kmsg = b.File("kernel/kmsg.txt");
  EXPECT_NE(kmsg.find("IPv4: martian source ip-1 from ip-2, on dev eth0\n"), std::string::npos);
  EXPECT_NE(kmsg.find("MAC address mac-1\n"), std::string::npos);
  EXPECT_NE(kmsg.find("host-1: ip-3 joined\n"), std::string::npos);
  EXPECT_NE(kmsg.find("94, pid=<redacted>, name=<redacted>, Ch 00000008"), std::string::npos);
  // One mapping for the whole bundle: the report and the summary say host-2 too.
  EXPECT_EQ(json::parse(b.File("report/check.json"))["node"], "host-2");
  EXPECT_NE(b.File("SUMMARY.txt").find("\nNode: host-2\n"), std::string::npos);
  // Serials stay: support needs them.
  const json gpus = json::parse(b.File("gpus.json"));
  ASSERT_FALSE(gpus.empty());
  EXPECT_NE(b.File("SUMMARY.txt").find(" serial " + gpus[0]["serial"].get<std::string>()),
            std::string::npos);
}

// A metadata service on loopback answering what Azure IMDS or Google's server would, plus keys
// that must never reach the bundle.
struct MetadataServer {
  std::unique_ptr<http::HttpServer> server;
  std::string base;
  MetadataServer() {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    Expected<std::unique_ptr<http::HttpServer>> started =
        http::HttpServer::Start(options, nullptr, [](const http::Request& r) {
          if (r.path == "/metadata/instance/compute" && r.Field("metadata") == "true") {
            return http::TextResponse(200, R"({"vmId":"6e1a3c2b-0000-4a9e-9d1b-1c2d3e4f5a6b",
              "vmSize":"Standard_ND96isr_H100_v5","subscriptionId":"sub-123",
              "resourceGroupName":"rg-gpu","name":"vm-gpu-7","location":"eastus","zone":"2",
              "customData":"c2VjcmV0","osProfile":{"adminPassword":"hunter2"},"tags":"t"})");
          }
          const std::map<std::string, std::string> gcp = {
              {"/computeMetadata/v1/project/project-id", "proj-9"},
              {"/computeMetadata/v1/instance/zone", "projects/123/zones/us-central1-a"},
              {"/computeMetadata/v1/instance/id", "4242"},
              {"/computeMetadata/v1/instance/name", "a3-node-1"},
              {"/computeMetadata/v1/instance/machine-type",
               "projects/123/machineTypes/a3-highgpu-8g"}};
          if (auto it = gcp.find(r.path);
              it != gcp.end() && r.Field("metadata-flavor") == "Google") {
            return http::TextResponse(200, it->second);
          }
          return http::TextResponse(404, "not found");
        });
    if (!started) {
      ADD_FAILURE() << started.error().message;
      return;
    }
    server = std::move(*started);
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
};

// A loopback port with nothing listening: connections are refused at once.
std::string ClosedPortUrl(const std::string& path) { return "http://127.0.0.1:9/" + path; }

TEST(BundleCommandTest, CloudMetadataFromALoopbackServerNamesTheVm) {
  MetadataServer server;
  ASSERT_TRUE(server.server);
  BundleNode node;

  Bundle azure = RunBundle(node, {"--azure-imds-endpoint",
                                  server.base + "/metadata/instance/compute?api-version=2021-02-01",
                                  "--gcp-metadata-endpoint", ClosedPortUrl("computeMetadata/v1/")});
  ASSERT_EQ(azure.run.exit_code, 0) << azure.run.err;
  EXPECT_NE(azure.File("SUMMARY.txt")
                .find("\nCloud: Azure vmId=6e1a3c2b-0000-4a9e-9d1b-1c2d3e4f5a6b "
                      "vmSize=Standard_ND96isr_H100_v5 subscriptionId=sub-123 "
                      "resourceGroupName=rg-gpu name=vm-gpu-7 location=eastus zone=2\n"),
            std::string::npos)
      << azure.File("SUMMARY.txt");
  EXPECT_EQ(json::parse(azure.File("cloud/azure-compute.json")),
            json::parse(R"({"vmId":"6e1a3c2b-0000-4a9e-9d1b-1c2d3e4f5a6b",
              "vmSize":"Standard_ND96isr_H100_v5","subscriptionId":"sub-123",
              "resourceGroupName":"rg-gpu","name":"vm-gpu-7","location":"eastus","zone":"2"})"));
  for (const auto& [path, content] : AllFiles(azure.top)) {
    EXPECT_EQ(content.find("c2VjcmV0"), std::string::npos) << path;
    EXPECT_EQ(content.find("hunter2"), std::string::npos) << path;
  }
  const json* gcp_failed = azure.Item(ClosedPortUrl("computeMetadata/v1/"));
  ASSERT_NE(gcp_failed, nullptr);
  EXPECT_EQ((*gcp_failed)["status"], "failed");
  EXPECT_TRUE((*gcp_failed)["path"].is_null());

  std::filesystem::remove_all(node.out_dir() + "/x");
  Bundle gcp = RunBundle(node, {"--azure-imds-endpoint", ClosedPortUrl("metadata/x"),
                                "--gcp-metadata-endpoint", server.base + "/computeMetadata/v1"});
  ASSERT_EQ(gcp.run.exit_code, 0) << gcp.run.err;
  EXPECT_NE(gcp.File("SUMMARY.txt")
                .find("\nCloud: Google Cloud project-id=proj-9 zone=us-central1-a id=4242 "
                      "name=a3-node-1 machine-type=a3-highgpu-8g\n"),
            std::string::npos)
      << gcp.File("SUMMARY.txt");
  EXPECT_EQ(gcp.entries[gcp.entries.size() - 3], gcp.entries[0] + "cloud/gcp-metadata.json");
}

TEST(BundleCommandTest, WithoutAMetadataServerTheBundleStillCompletesQuickly) {
  BundleNode node;
  Bundle b = RunBundle(node, {"--azure-imds-endpoint", ClosedPortUrl("metadata/x"),
                              "--gcp-metadata-endpoint", ClosedPortUrl("computeMetadata/v1/")});
  ASSERT_EQ(b.run.exit_code, 0) << b.run.err;
  EXPECT_LT(b.run.seconds, 15);
  const json* azure = b.Item(ClosedPortUrl("metadata/x"));
  ASSERT_NE(azure, nullptr);
  EXPECT_EQ((*azure)["status"], "failed");
  EXPECT_LT((*azure)["duration_seconds"].get<double>(), 3.0);
  EXPECT_NE((*azure)["error"], "") << *azure;
  EXPECT_TRUE((*azure)["path"].is_null());
  EXPECT_NE(b.File("SUMMARY.txt").find("\nCloud: none answered"), std::string::npos);
}

TEST(BundleCommandTest, AnUnwritableOutputIsBadUsage) {
  BundleNode node;
  CommandResult run =
      RunCommand({NodehealthBinary(), "bundle", "--sysroot", node.root(), "--no-cloud-metadata",
                  "--output", node.out_dir() + "/no-such-dir/b.tar.gz"},
                 {{"PATH", node.bin()}}, std::chrono::seconds(30));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "nodehealth: cannot create the bundle in " + node.out_dir() +
                         "/no-such-dir/: No such file or directory\n");
  CommandResult dir = RunCommand(
      {NodehealthBinary(), "bundle", "--sysroot", node.root(), "--output", node.out_dir()},
      {{"PATH", node.bin()}}, std::chrono::seconds(30));
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_EQ(dir.err, "nodehealth: " + node.out_dir() + " is a directory, not a bundle file\n");
}

}  // namespace
}  // namespace nodehealth
