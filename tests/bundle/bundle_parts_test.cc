// The support bundle's pieces in process: the ustar/gzip writer read back by the real `tar`, the
// size bound's arithmetic, the redaction of host names, addresses and process names (on the forms
// the peer kernel logs show), and the metadata filter that keeps secrets out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/bundle/bundle_archive.h"
#include "agent/bundle/bundle_cloud.h"
#include "agent/bundle/bundle_collectors.h"
#include "agent/bundle/bundle_manifest.h"
#include "agent/bundle/bundle_redaction.h"
#include "agent/bundle/tar_writer.h"
#include "tests/support/fixture_node.h"
#include "tests/support/run_command.h"

namespace nodehealth::bundle {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::TempDir;

std::string WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(BundleTarTest, RealTarListsAndExtractsWhatTheWriterWrote) {
  TarGzWriter writer(1700000000);
  ASSERT_TRUE(writer.AddDirectory("top").ok());
  ASSERT_TRUE(writer.AddFile("top/empty.txt", "").ok());
  ASSERT_TRUE(writer.AddFile("top/a/one.txt", "one\n").ok());
  const std::string block(512, 'x');  // exactly one block: no padding
  ASSERT_TRUE(writer.AddFile("top/block.bin", block).ok());
  // 130 bytes of name: split into ustar's prefix and name fields.
  const std::string long_name = "top/" + std::string(60, 'd') + "/" + std::string(65, 'f');
  ASSERT_TRUE(writer.AddFile(long_name, "long\n").ok());
  Expected<std::string> archive = writer.Finish();
  ASSERT_TRUE(archive.ok());

  TempDir dir;
  const std::string path = WriteFile(dir.path() + "/t.tar.gz", *archive);
  CommandResult list = RunCommand({"/usr/bin/tar", "-tzvf", path});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  CommandResult names = RunCommand({"/usr/bin/tar", "-tzf", path});
  EXPECT_EQ(names.out, "top/\ntop/empty.txt\ntop/a/one.txt\ntop/block.bin\n" + long_name + "\n");
  EXPECT_EQ(names.err, "");  // no "checksum error", no "skipping to next header"
  EXPECT_NE(list.out.find("-rw------- root/root         4 2023-11-14 22:13 top/a/one.txt"),
            std::string::npos)
      << list.out;
  CommandResult extract = RunCommand({"/usr/bin/tar", "-xzf", path, "-C", dir.path()});
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  EXPECT_EQ(ReadFile(dir.path() + "/top/a/one.txt"), "one\n");
  EXPECT_EQ(ReadFile(dir.path() + "/top/block.bin"), block);
  EXPECT_EQ(ReadFile(dir.path() + "/" + long_name), "long\n");
  EXPECT_EQ(std::filesystem::file_size(dir.path() + "/top/empty.txt"), 0u);
}

TEST(BundleTarTest, NamesThatUstarCannotHoldAreErrors) {
  std::string prefix;
  std::string base;
  EXPECT_TRUE(SplitUstarName(std::string(100, 'n'), prefix, base));
  EXPECT_EQ(prefix, "");
  // No '/' to split at, or a last component over 100 bytes.
  EXPECT_FALSE(SplitUstarName(std::string(101, 'n'), prefix, base));
  EXPECT_FALSE(SplitUstarName("top/" + std::string(101, 'n'), prefix, base));
  TarGzWriter writer(0);
  Expected<bool> added = writer.AddFile("top/" + std::string(101, 'n'), "x");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().message.substr(0, 41), "archive member name does not fit ustar: t");
}

TEST(BundleTarTest, MemberSizesAndTheGzipBound) {
  EXPECT_EQ(TarMemberBytes(0), 512u);
  EXPECT_EQ(TarMemberBytes(1), 1024u);
  EXPECT_EQ(TarMemberBytes(512), 1024u);
  EXPECT_EQ(TarMemberBytes(513), 1536u);
  // Incompressible data: the bound holds for what zlib really writes.
  std::string noise(200000, '\0');
  uint32_t x = 12345;
  for (char& c : noise) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  TarGzWriter writer(0);
  ASSERT_TRUE(writer.AddFile("n.bin", noise).ok());
  Expected<std::string> archive = writer.Finish();
  ASSERT_TRUE(archive.ok());
  const uint64_t tar_bytes = TarMemberBytes(noise.size()) + kTarTrailerBytes;
  EXPECT_GT(archive->size(), noise.size());
  EXPECT_LE(archive->size(), GzipBound(tar_bytes));
}

TEST(BundleRedactionTest, HostNamesAddressesAndProcessesGetStablePlaceholders) {
  Redactor r({"hgx-h100-01", "hgx-h100-01.cluster.example.com", "lo", "localhost"});
  // The FQDN (longer) was numbered first.
  EXPECT_EQ(r.HostName("HGX-H100-01.cluster.example.com"), "host-1");
  EXPECT_EQ(r.HostName("hgx-h100-01"), "host-2");
  EXPECT_EQ(r.Text("node hgx-h100-01.cluster.example.com and HGX-H100-01, not hgx-h100-012\n"),
            "node host-1 and host-2, not hgx-h100-012\n");
  // gpud's dmesg.decode.iso.log.1, lines 1407 and 1415.
  EXPECT_EQ(r.Text("ifname=bootnet:94:6d:ae:c2:8a:10\n"
                   "tg3 0000:02:00.0 eth0: Tigon3 MAC address c4:cb:e1:ab:58:e2\n"),
            "ifname=bootnet:mac-1\ntg3 0000:02:00.0 eth0: Tigon3 MAC address mac-2\n");
  EXPECT_EQ(r.Text("martian source 10.1.2.3 from 10.1.2.4, on dev eth0; again 10.1.2.3\n"),
            "martian source ip-1 from ip-2, on dev eth0; again ip-1\n");
  EXPECT_EQ(r.Text("addr fe80::1e34:daff:fe5a:1234/64 and FE80::1E34:DAFF:FE5A:1234\n"),
            "addr ip-3/64 and ip-3\n");
  // Kept: versions, PCI addresses, times, loopback, C++ scopes, a lone "::1".
  const std::string kept =
      "mpt3sas version 40.100.00.00 loaded; FWVersion(04.103.00.00); driver 535.161.08; "
      "kernel 5.15.0.1051; 0000:19:00.0 at 12:02:03,470068; 127.0.0.1 std::string ::1 "
      "GUID 0c42:a103:0010:aaaa\n";
  EXPECT_EQ(r.Text(kept), kept);
  // The NVIDIA XID form of gpud's dmesg-time-format-iso.log (line 14).
  EXPECT_EQ(r.Text("NVRM: Xid (PCI:0000:19:00): 94, pid=1248209, name=python3.10, Ch 00000008\n"),
            "NVRM: Xid (PCI:0000:19:00): 94, pid=<redacted>, name=<redacted>, Ch 00000008\n");
}

TEST(BundleRedactionTest, JsonIsRedactedPerStringAndStaysJson) {
  Redactor r({"gpu-node-7"});
  const std::string in =
      R"({"node":"gpu-node-7","evidence":"pid=77, name=train.py","next":"10.0.0.9 stays put?"})";
  const std::string out = r.Json(in);
  nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["node"], "host-1");
  EXPECT_EQ(parsed["evidence"], "pid=<redacted>, name=<redacted>");  // cut at its string's end
  EXPECT_EQ(parsed["next"], "ip-1 stays put?");
  // Not JSON: redacted as text.
  EXPECT_EQ(r.File("x.json", "gpu-node-7 {").value(), "host-1 {");
}

TEST(BundleRedactionTest, GzipFilesAreRedactedInsideOrRefused) {
  Redactor r({"gpu-node-7"});
  // nvidia-bug-report.log.gz: the text inside is redacted and the file stays gzip.
  Expected<std::string> gz = Gzip("hostname: gpu-node-7\ninet 10.0.0.9/24\n");
  ASSERT_TRUE(gz.ok());
  Expected<std::string> redacted = r.File("commands/nvidia-bug-report.log.gz", *gz);
  ASSERT_TRUE(redacted.ok()) << redacted.error().message;
  Expected<std::string> text = Gunzip(*redacted, 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hostname: host-1\ninet ip-1/24\n");
  // Not gzip: an error, so the caller leaves the file out instead of storing it unredacted.
  Expected<std::string> bad = r.File("x.log.gz", "gpu-node-7 in plain text");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.substr(0, 26), "not gzip data, or damaged:");
  // A bomb is cut at the bound.
  EXPECT_FALSE(Gunzip(Gzip(std::string(1 << 20, 'a')).value(), 1000).ok());
}

TEST(BundleCloudTest, SecretsAreStrippedAtEveryDepth) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(R"({
    "vmId": "v", "customData": "c", "osProfile": {"adminPassword": "p", "adminUsername": "u"},
    "list": [{"access_token": "t", "keep": 1}], "UserData": "d", "clientSecret": "s"})");
  StripSecrets(j);
  EXPECT_EQ(j.dump(), R"({"vmId":"v","osProfile":{"adminUsername":"u"},"list":[{"keep":1}]})");
}

TEST(BundleArchiveTest, SizeBoundOmitsWhatDoesNotFitAndSaysSo) {
  BundleBuilder builder("top", 48 * 1024, nullptr);
  BundleItem small = TextItem("small.txt", "s", "small\n");
  BundleItem big = TextItem("big.txt", "b", std::string(40 * 1024, 'b'));
  BundleItem after = TextItem("after.txt", "a", "after\n");
  builder.Add(small);
  builder.Add(big);
  builder.Add(after);
  ASSERT_EQ(builder.items().size(), 3u);
  EXPECT_FALSE(builder.items()[0].omitted);
  EXPECT_TRUE(builder.items()[1].omitted);
  EXPECT_EQ(builder.items()[1].status, "omitted");
  EXPECT_EQ(builder.items()[1].error,
            "left out: the archive would exceed --max-bytes 49152 with its 40960 bytes");
  EXPECT_EQ(builder.items()[1].sha256, Sha256Hex(std::string(40 * 1024, 'b')));
  EXPECT_FALSE(builder.items()[2].omitted);  // smaller files after it still fit
  Expected<std::string> archive = builder.Finish(ManifestHeader{}, "summary\n", 0);
  ASSERT_TRUE(archive.ok());
  EXPECT_LE(archive->size(), 48u * 1024);

  BundleBuilder tiny("top", 1024, nullptr);
  Expected<std::string> none = tiny.Finish(ManifestHeader{}, "summary\n", 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message.substr(0, 62),
            "--max-bytes 1024 is too small for even the manifest and summar");
}

TEST(BundleCollectorsTest, ToolsMissingFailingAndHung) {
  BundleItem missing = RunTool("x.txt", {"nodehealth-no-such-tool"}, platform::Deadline::Never());
  EXPECT_EQ(missing.status, "not_installed");
  EXPECT_EQ(missing.path, "");
  EXPECT_EQ(missing.error, "nodehealth-no-such-tool not found in PATH");

  BundleItem failing = RunTool("f.txt", {"/bin/sh", "-c", "echo out; echo bad >&2; exit 3"},
                               platform::Deadline::Never());
  EXPECT_EQ(failing.status, "failed");
  EXPECT_EQ(failing.exit_status, 3);
  EXPECT_EQ(failing.content, "out\n");
  EXPECT_EQ(failing.error, "bad\n");

  BundleItem capped =
      RunTool("c.txt", {"/bin/sh", "-c", "printf 0123456789"}, platform::Deadline::Never(), 4);
  EXPECT_EQ(capped.content, "0123");
  EXPECT_TRUE(capped.truncated);

  const auto start = std::chrono::steady_clock::now();
  BundleItem hung = RunTool("h.txt", {"/bin/sh", "-c", "echo started; exec sleep 30"},
                            platform::Deadline::In(std::chrono::milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(hung.status, "timed_out");
  EXPECT_TRUE(hung.timed_out);
  EXPECT_EQ(hung.exit_status, std::nullopt);
  EXPECT_EQ(hung.content, "started\n");
}

TEST(BundleCollectorsTest, KernelLogFilterKeepsDriverLines) {
  EXPECT_TRUE(IsFilteredKernelLine("NVRM: Xid (PCI:0000:19:00): 48, pid='<unknown>'"));
  EXPECT_TRUE(IsFilteredKernelLine("mlx5_core 0000:0c:00.0: mlx5_cmd_out_err:838"));
  EXPECT_TRUE(IsFilteredKernelLine("pcieport 0000:00:01.0: AER: Corrected error received"));
  EXPECT_TRUE(IsFilteredKernelLine("pcieport 0000:00:01.0: PCIe Bus Error: severity=Corrected"));
  EXPECT_FALSE(IsFilteredKernelLine("tg3 0000:02:00.0 eth0: Tigon3 [partno(BCM95720)]"));
}

}  // namespace
}  // namespace nodehealth::bundle
