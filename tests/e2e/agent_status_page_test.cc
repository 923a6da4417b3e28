// The status page at `/` (exporters/status_page.h) from the real agent on a fixture node with a
// fault: fault-xid48 (a double-bit ECC error, a pending row remap and XIDs 48/63/94 on GPU
// 0000:19:00.0), its hostname and one more XID line made hostile. The page names the drain
// reasons and findings with their exact codes and entities, the GPUs by bus id, and escapes
// every string the node supplied; the XID line's process name is redacted as in /report. With
// a web config, `/` is behind the same TLS and basic auth as /report.
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/agent_harness.h"
#include "tests/support/tls_client.h"
#include "tests/support/tls_test_files.h"

namespace nodehealth::testing {
namespace {

constexpr char kBusId[] = "0000:19:00.0";

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(AgentStatusPageTest, FaultNodeShowsItsReasonsFindingsAndEscapesWhatTheNodeSays) {
  Node node("fault-xid48.toml");
  WriteFile(node.root() + "/proc/sys/kernel/hostname", "gpu<script>alert(1)</script>07\n");
  const auto [seq, usec] = node.LastKmsgRecord();
  AppendToFile(node.kmsg(), "2," + std::to_string(seq + 1) + "," + std::to_string(usec + 1000) +
                                ",-;NVRM: Xid (PCI:0000:19:00): 13, pid=4242, name=<img src=x>, "
                                "Graphics Exception: ESR 0x4041b0=0x3f20\n");
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--interval", "30"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();

  // The page and the report of one snapshot: the same /report before and after the page.
  json report;
  HttpResponse r;
  for (int attempt = 0; attempt < 50 && !report.is_object(); ++attempt) {
    const HttpResponse before = agent.Get("/report");
    r = agent.Get("/");
    const HttpResponse after = agent.Get("/report");
    if (before.status == 200 && r.status == 200 && before.body == after.body) {
      report = json::parse(before.body, nullptr, false);
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  ASSERT_TRUE(report.is_object()) << agent.Tail();
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  const std::string& page = r.body;

  // What the node said, escaped; nothing it said opens an element.
  EXPECT_EQ(report.value("node", ""), "gpu<script>alert(1)</script>07");
  EXPECT_NE(page.find("<h1 id=\"node\">gpu&lt;script&gt;alert(1)&lt;/script&gt;07</h1>"),
            std::string::npos)
      << page.substr(0, 3000);
  EXPECT_EQ(Count(page, "<script"), 0u);
  EXPECT_EQ(Count(page, "<img"), 0u);
  // The XID line's process is redacted as in /report (report_redaction.h).
  EXPECT_EQ(page.find("4242"), std::string::npos);
  EXPECT_NE(page.find("pid=&lt;redacted&gt;, name=&lt;redacted&gt;, Graphics Exception"),
            std::string::npos);

  EXPECT_NE(page.find("<div id=\"badge\" class=\"badge drain\" data-status=\"drain\">DRAIN</div>"),
            std::string::npos);
  EXPECT_NE(page.find("<section id=\"drain\" data-recommended=\"true\" data-action=\"reset_gpu\">"),
            std::string::npos);
  const std::string entity = std::string("gpu/") + kBusId;
  // Each of the report's drain reasons has its row; these three are the fixture's.
  ASSERT_TRUE(report["drain"]["reasons"].is_array());
  for (const json& reason : report["drain"]["reasons"]) {
    const std::string row = "<tr class=\"reason\" data-code=\"" + reason.value("code", "") +
                            "\" data-entity=\"" + reason.value("entity", "") + "\">";
    EXPECT_EQ(Count(page, row), 1u) << row;
  }
  for (const char* code : {"gpu_ecc_uncorrectable", "gpu_row_remap_pending", "gpu_xid"}) {
    EXPECT_NE(FindReason(report["drain"], code, entity), nullptr) << code;
    EXPECT_EQ(Count(page, std::string("<tr class=\"reason\" data-code=\"") + code +
                              "\" data-entity=\"" + entity + "\">"),
              1u)
        << code;
  }
  // Each finding of the report has its row, in the report's order.
  std::size_t findings = 0;
  std::size_t last = 0;
  for (const json& probe : report["probes"]) {
    for (const json& f : probe["findings"]) {
      ++findings;
      const std::string row = "<tr class=\"finding\" data-code=\"" + f.value("code", "") +
                              "\" data-entity=\"" + f.value("entity", "") + "\" data-severity=\"" +
                              f.value("severity", "") + "\" data-action=\"" +
                              f.value("action", "") + "\">";
      const std::size_t at = page.find(row, last);
      EXPECT_NE(at, std::string::npos) << row;
      if (at != std::string::npos) last = at + 1;
    }
  }
  EXPECT_GE(findings, 4u);
  EXPECT_NE(page.find("<section id=\"findings\" data-count=\"" + std::to_string(findings) + "\">"),
            std::string::npos);
  EXPECT_EQ(Count(page, "<tr class=\"finding\" data-code=\"gpu_row_remap_pending\" data-entity=\"" +
                            entity + "\" data-severity=\"fail\" data-action=\"reset_gpu\">"),
            1u);
  // Every GPU on PCI has a row; the faulty one with its model and UUID from NVML.
  const std::vector<std::string> gpus = node.NvidiaGpus();
  ASSERT_EQ(gpus.size(), 8u);
  for (const std::string& gpu : gpus) {
    EXPECT_EQ(Count(page, "<tr data-gpu=\"" + gpu + "\">"), 1u) << gpu;
  }
  EXPECT_NE(page.find("<tr data-gpu=\"0000:19:00.0\"><td class=\"mono\">0000:19:00.0</td>"
                      "<td>NVIDIA H100 80GB HBM3</td><td class=\"mono\">"
                      "GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa</td>"),
            std::string::npos);
  // Every probe of the report, with its verdict.
  for (const json& probe : report["probes"]) {
    const std::string row = "<tr data-probe=\"" + probe.value("name", "") + "\" data-verdict=\"" +
                            probe.value("verdict", "") + "\">";
    EXPECT_EQ(Count(page, row), 1u) << row;
  }
  for (const char* link : {"/metrics", "/report", "/healthz"}) {
    EXPECT_NE(page.find(std::string("<a href=\"") + link + "\">"), std::string::npos) << link;
  }
  // Self-contained: nothing else to load.
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(agent.Stop(), 0);
}

TEST(AgentStatusPageTest, BehindTheSameTlsAndBasicAuthAsTheReport) {
  Node node("fault-xid48.toml");
  AgentDirs dirs;
  const TestPki pki = MakeTestPki(dirs.dir.path());
  ASSERT_TRUE(pki.ok()) << pki.error;
  const std::string hash = BcryptHash("page-pass", 10);
  ASSERT_FALSE(hash.empty());
  const std::string web = dirs.dir.path() + "/web.yml";
  WriteFile(web,
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "basic_auth_users:\n  ops: " +
                hash + "\n");
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--web-config", web});
  ASSERT_TRUE(agent.ok()) << agent.error();
  const TlsClientOptions verified{.ca_file = pki.ca_cert};
  const std::map<std::string, std::string> good = {
      {"Authorization", BasicAuthorization("ops", "page-pass")}};
  TlsResponse report;
  const auto deadline = Clock::now() + 15s;
  do {
    report = TlsGet(agent.host_port(), "/report", verified, good);
    if (report.status != 200) std::this_thread::sleep_for(20ms);
  } while (report.status != 200 && Clock::now() < deadline);
  ASSERT_EQ(report.status, 200) << report.error << agent.Tail();

  for (const char* path : {"/", "/report"}) {
    TlsResponse r = TlsGet(agent.host_port(), path, verified);
    EXPECT_EQ(r.status, 401) << path << " " << r.error;
    EXPECT_EQ(r.body.find("gpu_ecc_uncorrectable"), std::string::npos) << path;
    r = TlsGet(agent.host_port(), path, verified,
               {{"Authorization", BasicAuthorization("ops", "guess")}});
    EXPECT_EQ(r.status, 401) << path << " " << r.error;
  }
  const TlsResponse page = TlsGet(agent.host_port(), "/", verified, good);
  ASSERT_EQ(page.status, 200) << page.error;
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<tr class=\"reason\" data-code=\"gpu_ecc_uncorrectable\" "
                           "data-entity=\"gpu/0000:19:00.0\">"),
            std::string::npos);
  // Plain HTTP to the TLS port gets no page either.
  const HttpResponse plain = agent.Get("/");
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(plain.body.find("<html"), std::string::npos);
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace nodehealth::testing
