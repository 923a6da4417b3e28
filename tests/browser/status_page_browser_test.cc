// The status page in a real browser: headless Chromium (Debian's `chromium`) loads `/` from the
// real agent on a fixture node with a fault (fault-xid48, its hostname made hostile) and dumps
// the DOM it built: the node's drain reasons and findings are there with their exact codes and
// entities, and the hostname is text, not an element (no injected attribute appears either).
// Then a screenshot, kept as BUILD/tests/status-page.png, whose PNG header says 1280x2000.
// Skips when /usr/bin/chromium is absent (tools/setup.sh installs it). Label: browser.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/agent_harness.h"
#include "tests/support/run_command.h"

namespace nodehealth::testing {
namespace {

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kHostname[] =
    "gpu07<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">";

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Chromium with a fresh profile in `profile_dir`, nothing in the background, and a deadline:
// `timeout` ends it (and RunCommand its whole process group) if it hangs.
CommandResult RunChromium(const std::string& profile_dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {"timeout",
                                   "-k",
                                   "5",
                                   "60",
                                   kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"HOME", profile_dir}}, std::chrono::seconds(70));
}

uint32_t BigEndian32(const std::string& bytes, std::size_t at) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

TEST(StatusPageBrowserTest, ChromiumRendersTheFaultNodesPage) {
  if (!std::filesystem::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed";
  Node node("fault-xid48.toml");
  WriteFile(node.root() + "/proc/sys/kernel/hostname", std::string(kHostname) + "\n");
  AgentDirs dirs;
  AgentProcess agent(node, dirs.state(), dirs.config(), {"--interval", "30"});
  ASSERT_TRUE(agent.ok()) << agent.error();
  ASSERT_TRUE(agent.WaitForReport(15s).is_object()) << agent.Tail();
  const std::string url = "http://" + agent.host_port() + "/";

  // The DOM and the report of one snapshot: the same /report before and after Chromium's load
  // (the kernel-log watch may publish a new one just after the first round).
  ScopedTempDir profile("nodehealth-chromium");
  json report;
  CommandResult dom;
  for (int attempt = 0; attempt < 3 && !report.is_object(); ++attempt) {
    const HttpResponse before = agent.Get("/report");
    dom = RunChromium(profile.path(), {"--dump-dom", url});
    ASSERT_EQ(dom.exit_code, 0) << "timed out: " << dom.timed_out << "\n" << dom.err;
    const HttpResponse after = agent.Get("/report");
    if (before.status == 200 && before.body == after.body) {
      report = json::parse(before.body, nullptr, false);
    }
  }
  ASSERT_TRUE(report.is_object()) << "the report kept changing\n" << agent.Tail();
  ASSERT_EQ(report.value("node", ""), kHostname);
  const std::string& html = dom.out;
  ASSERT_NE(html.find("<h1 id=\"node\">"), std::string::npos) << html.substr(0, 2000);

  // The hostname is text: no <img> element, no attribute its onerror would have set.
  EXPECT_NE(html.find("<h1 id=\"node\">gpu07&lt;img src=x onerror=\"document.body.setAttribute("
                      "'data-pwned','1')\"&gt;</h1>"),
            std::string::npos)
      << html.substr(0, 3000);
  EXPECT_EQ(Count(html, "<img"), 0u);
  EXPECT_EQ(Count(html, "<script"), 0u);
  EXPECT_EQ(Count(html, "data-pwned=\"1\""), 0u);

  EXPECT_NE(html.find("<div id=\"badge\" class=\"badge drain\" data-status=\"drain\">DRAIN</div>"),
            std::string::npos);
  const std::string entity = "gpu/0000:19:00.0";
  for (const char* code : {"gpu_ecc_uncorrectable", "gpu_row_remap_pending", "gpu_xid"}) {
    EXPECT_EQ(Count(html, std::string("<tr class=\"reason\" data-code=\"") + code +
                              "\" data-entity=\"" + entity + "\">"),
              1u)
        << code;
  }
  std::size_t findings = 0;
  for (const json& probe : report["probes"]) {
    for (const json& f : probe["findings"]) {
      ++findings;
      const std::string row = "<tr class=\"finding\" data-code=\"" + f.value("code", "") +
                              "\" data-entity=\"" + f.value("entity", "") + "\"";
      EXPECT_GE(Count(html, row), 1u) << row;
    }
  }
  EXPECT_EQ(Count(html, "<tr class=\"finding\""), findings);
  EXPECT_EQ(Count(html, "<tr class=\"finding\" data-code=\"gpu_ecc_uncorrectable\" data-entity=\"" +
                            entity + "\""),
            1u);
  for (const std::string& gpu : node.NvidiaGpus()) {
    EXPECT_EQ(Count(html, "<tr data-gpu=\"" + gpu + "\">"), 1u) << gpu;
  }

  const std::string png = std::string(NODEHEALTH_BROWSER_OUTPUT_DIR) + "/status-page.png";
  std::filesystem::remove(png);
  const CommandResult shot =
      RunChromium(profile.path(), {"--screenshot=" + png, "--window-size=1280,2000", url});
  ASSERT_EQ(shot.exit_code, 0) << "timed out: " << shot.timed_out << "\n" << shot.err;
  const std::string bytes = ReadFile(png);
  std::cout << "status page screenshot: " << png << " (" << bytes.size() << " bytes)\n";
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(bytes, 16), 1280u);
  EXPECT_EQ(BigEndian32(bytes, 20), 2000u);
  // A page of tables, not a blank one (a blank 1280x2000 PNG is a few kilobytes).
  EXPECT_GT(bytes.size(), 50000u);
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace nodehealth::testing
