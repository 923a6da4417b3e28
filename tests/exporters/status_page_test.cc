// The status page (exporters/status_page.h): escaping of every string from the report (a hostile
// entity, message, evidence and node name), the filter, the catalogue's remedies, the GPU and
// port matrix from measurements, human durations and the size bound.
#include "exporters/status_page.h"

#include <gtest/gtest.h>

#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

constexpr char kHostile[] = "gpu/<script>alert(\"x\")</script>&'";
constexpr char kHostileEscaped[] =
    "gpu/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

Report DrainingReport() {
  Report report;
  report.node = "node<b>01</b>";
  report.mode = "agent";
  report.version = "1.2.3";
  report.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1764800000));
  ProbeResult health;
  health.name = "gpu_health";
  health.verdict = ProbeVerdict::kFail;
  health.duration = std::chrono::duration<double>(25.74);
  health.finished_at = 1764800030;
  Finding hostile =
      MakeFinding(codes::kGpuEccUncorrectable, kHostile, "message <img src=x onerror=alert(1)>",
                  {{"nvml <i>", "observed \"1\"", "<0>"}});
  Finding plain = MakeFinding(codes::kGpuRowRemapPending, "gpu/0000:19:00.0", "remap pending");
  health.findings = {hostile, plain};
  health.measurements = {
      {"gpu_info",
       {{"gpu", "0000:19:00.0"},
        {"name", "NVIDIA H100 80GB HBM3"},
        {"uuid", "GPU-ee7954ec"},
        {"vbios_version", "96.00.74.00.0D"}},
       1},
      {"gpu_temperature_celsius", {{"gpu", "0000:19:00.0"}}, 29},
      {"gpu_pcie_link_generation", {{"gpu", "0000:19:00.0"}, {"state", "current"}}, 5},
      {"gpu_pcie_link_width", {{"gpu", "0000:19:00.0"}, {"state", "current"}}, 16},
      {"gpu_pcie_link_width", {{"gpu", "0000:19:00.0"}, {"state", "max"}}, 8},
  };
  FinalizeVerdict(health);
  ProbeResult ib;
  ib.name = "ib_ports";
  ib.duration = std::chrono::duration<double>(0.0032);
  ib.measurements = {
      {"ib_hca_info", {{"device", "mlx5_0"}, {"firmware_version", "28.39.1002"}}, 1},
      {"ib_port_info", {{"device", "mlx5_0"}, {"port", "1"}, {"link_layer", "InfiniBand"}}, 1},
      {"ib_port_state_id", {{"device", "mlx5_0"}, {"port", "1"}}, 1},
      {"ib_port_physical_state_id", {{"device", "mlx5_0"}, {"port", "1"}}, 3},
      {"ib_port_rate_bytes_per_second", {{"device", "mlx5_0"}, {"port", "1"}}, 50e9},
  };
  ProbeResult skipped;
  skipped.name = "topology";
  MarkSkipped(skipped, "no hwloc <here>");
  report.probes = {health, ib, skipped};
  Decide(report);
  return report;
}

TEST(StatusPageTest, HtmlEscapeReplacesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape(kHostile), kHostileEscaped);
  EXPECT_EQ(HtmlEscape("plain 0000:19:00.0"), "plain 0000:19:00.0");
}

TEST(StatusPageTest, HostileStringsFromTheReportAreEscaped) {
  const std::string page = RenderStatusPage(DrainingReport());
  // Nothing from the report opens an element: the only <script, <img, <b> and <i> would be
  // the report's, and the page has no script of its own.
  EXPECT_EQ(Count(page, "<script"), 0u);
  EXPECT_EQ(Count(page, "<img"), 0u);
  EXPECT_EQ(Count(page, "<b>"), 0u);
  EXPECT_EQ(Count(page, "<i>"), 0u);
  // The hostile entity, in the drain reason and the finding, as text and as data-entity.
  EXPECT_EQ(Count(page, std::string("data-entity=\"") + kHostileEscaped + "\""), 2u) << page;
  EXPECT_EQ(Count(page, std::string(">") + kHostileEscaped + "</td>"), 2u);
  EXPECT_NE(page.find("message &lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(page.find("nvml &lt;i&gt;</span>: observed &quot;1&quot; (expected &lt;0&gt;)"),
            std::string::npos);
  EXPECT_NE(page.find("<h1 id=\"node\">node&lt;b&gt;01&lt;/b&gt;</h1>"), std::string::npos);
  EXPECT_NE(page.find("no hwloc &lt;here&gt;"), std::string::npos);
}

TEST(StatusPageTest, DrainDecisionWithTheCataloguesRemedies) {
  const std::string page = RenderStatusPage(DrainingReport());
  EXPECT_NE(page.find("<div id=\"badge\" class=\"badge drain\" data-status=\"drain\">DRAIN</div>"),
            std::string::npos);
  EXPECT_NE(page.find("<section id=\"drain\" data-recommended=\"true\" data-action=\"reset_gpu\">"),
            std::string::npos);
  for (std::string_view code : {codes::kGpuEccUncorrectable, codes::kGpuRowRemapPending}) {
    const CatalogEntry* entry = FindCatalogEntry(code);
    ASSERT_NE(entry, nullptr);
    // Once in the drain reasons, once in the findings.
    EXPECT_EQ(Count(page, "<td>" + HtmlEscape(entry->remedy) + "</td>"), 2u) << code;
  }
  EXPECT_EQ(Count(page,
                  "<tr class=\"reason\" data-code=\"gpu_row_remap_pending\" "
                  "data-entity=\"gpu/0000:19:00.0\">"),
            1u);
  EXPECT_EQ(Count(page,
                  "<tr class=\"finding\" data-code=\"gpu_row_remap_pending\" "
                  "data-entity=\"gpu/0000:19:00.0\" data-severity=\"fail\" "
                  "data-action=\"reset_gpu\">"),
            1u);
  EXPECT_NE(page.find("<section id=\"findings\" data-count=\"2\">"), std::string::npos);
}

TEST(StatusPageTest, HealthyNodeGetsTheGreenBadge) {
  Report report;
  report.node = "n1";
  ProbeResult probe;
  probe.name = "gpu_presence";
  report.probes = {probe};
  Decide(report);
  const std::string page = RenderStatusPage(report);
  EXPECT_NE(page.find("data-status=\"healthy\">HEALTHY</div>"), std::string::npos);
  EXPECT_NE(page.find("<section id=\"drain\" data-recommended=\"false\" data-action=\"none\">"),
            std::string::npos);
  EXPECT_NE(page.find("<p class=\"s-ok\">No findings.</p>"), std::string::npos);
  EXPECT_NE(page.find("The report names no GPU."), std::string::npos);
}

TEST(StatusPageTest, ProbesWithHumanDurationsAndLastRun) {
  const std::string page = RenderStatusPage(DrainingReport());
  EXPECT_NE(page.find("<tr data-probe=\"gpu_health\" data-verdict=\"fail\"><td><code>gpu_health"
                      "</code></td><td class=\"v-fail\">fail</td><td>25.7 s</td>"
                      "<td class=\"mono time\">2025-12-03T22:13:50.000Z</td><td>2</td>"),
            std::string::npos)
      << page;
  // No finished_at: the report's end stands for it.
  EXPECT_NE(page.find("<td>3.2 ms</td><td class=\"mono time\">2025-12-03T22:13:20.000Z</td>"),
            std::string::npos);
}

TEST(StatusPageTest, GpuAndPortMatrixFromMeasurementsAndFindings) {
  const std::string page = RenderStatusPage(DrainingReport());
  EXPECT_NE(page.find("<tr data-gpu=\"0000:19:00.0\"><td class=\"mono\">0000:19:00.0</td>"
                      "<td>NVIDIA H100 80GB HBM3</td><td class=\"mono\">GPU-ee7954ec</td>"
                      "<td class=\"mono\">-</td><td class=\"mono\">96.00.74.00.0D</td><td>29</td>"
                      "<td>Gen5 x16</td><td>-</td><td>-</td><td class=\"s-bad\">1</td></tr>"),
            std::string::npos)
      << page;
  // The hostile entity is a GPU only findings name: its row carries it escaped.
  EXPECT_NE(page.find("<tr data-gpu=\"&lt;script&gt;"), std::string::npos);
  EXPECT_NE(page.find("<section id=\"gpus\" data-count=\"2\">"), std::string::npos);
  EXPECT_NE(page.find("<tr data-port=\"mlx5_0/1\"><td class=\"mono\">mlx5_0/1</td>"
                      "<td class=\"s-bad\">DOWN</td><td>Disabled</td><td>400 Gb/s</td>"
                      "<td>InfiniBand</td><td class=\"mono\">28.39.1002</td>"),
            std::string::npos)
      << page;
}

TEST(StatusPageTest, FilterSeesEveryStringFromTheReport) {
  StatusPageOptions options;
  options.filter = [](std::string_view text) {
    std::string out(text);
    for (std::size_t at = out.find("0000:19"); at != std::string::npos;
         at = out.find("0000:19", at)) {
      out.replace(at, 7, "XXXX:YY");
    }
    return out;
  };
  const std::string page = RenderStatusPage(DrainingReport(), options);
  EXPECT_EQ(page.find("0000:19"), std::string::npos);
  EXPECT_NE(page.find("data-entity=\"gpu/XXXX:YY:00.0\""), std::string::npos);
  EXPECT_NE(page.find("data-gpu=\"XXXX:YY:00.0\""), std::string::npos);
}

TEST(StatusPageTest, ControlCharactersAndInvalidUtf8BecomeReplacementCharacters) {
  Report report;
  report.node = std::string(
      "a\x01"
      "b\xff"
      "c\xc3\xa9\0d",
      9);
  const std::string page = RenderStatusPage(report);
  EXPECT_NE(page.find("<h1 id=\"node\">a\uFFFDb\uFFFDc\u00e9\uFFFDd</h1>"), std::string::npos);
}

TEST(StatusPageTest, PageIsBoundedWhateverTheReportHolds) {
  Report report;
  report.node = std::string(100000, 'n');
  ProbeResult probe;
  probe.name = "gpu_xid";
  // 200 findings of a 100 kB message and 30 evidence items of 3 kB each (38 MB in all).
  Finding f = MakeFinding(codes::kGpuXid, "gpu/0000:19:00.0", std::string(100000, '<'),
                          std::vector<Evidence>(30, {"kmsg", std::string(3000, '>'), ""}));
  probe.findings.assign(200, f);
  report.probes = {probe};
  Decide(report);
  const std::string page = RenderStatusPage(report);
  // Each finding row is about 170 kB escaped; the page stops at its budget.
  EXPECT_GE(page.size(), kStatusPageBudgetBytes);
  EXPECT_LT(page.size(), 4u << 20);
  const std::size_t rows = Count(page, "<tr class=\"finding\"");
  EXPECT_GT(rows, 0u);
  EXPECT_LT(rows, 20u);
  EXPECT_NE(page.find(std::to_string(200 - rows) + " more findings not shown"), std::string::npos);
  EXPECT_EQ(Count(page, "10 more items not shown"), rows);
  EXPECT_NE(page.find("<h1 id=\"node\">" + std::string(2000, 'n') + "\u2026</h1>"),
            std::string::npos);
  // Each string stops at 2000 characters of the input, before escaping.
  EXPECT_NE(page.find("<td class=\"wrap\">" + HtmlEscape(std::string(2000, '<')) + "\u2026</td>"),
            std::string::npos);
}

TEST(StatusPageTest, HumanDurations) {
  EXPECT_EQ(HumanDuration(25.74), "25.7 s");
  EXPECT_EQ(HumanDuration(0.0032), "3.2 ms");
  EXPECT_EQ(HumanDuration(0.000120), "120 \u00b5s");
  EXPECT_EQ(HumanDuration(125), "2 min 5 s");
  EXPECT_EQ(HumanDuration(0), "0 s");
  EXPECT_EQ(HumanDuration(-1), "-");
}

TEST(StatusPageTest, WaitingPageHasTheLinks) {
  const std::string page = RenderStatusPageWaiting();
  for (const char* link : {"/metrics", "/report", "/healthz"}) {
    EXPECT_NE(page.find(std::string("<a href=\"") + link + "\">"), std::string::npos) << link;
  }
}

}  // namespace
}  // namespace nodehealth
