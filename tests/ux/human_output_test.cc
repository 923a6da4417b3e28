// The human (table) report: durations in the unit that fits, columns sized from their content,
// wrapped long text, repeated findings grouped, and each finding's remedy; the JSON report's
// "remedy" extension.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "exporters/human_format.h"
#include "exporters/json_report.h"
#include "exporters/table_report.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

TEST(HumanOutputDurationTest, PicksTheUnitAtEachBoundary) {
  EXPECT_EQ(FormatDuration(0), "0.0 ms");
  EXPECT_EQ(FormatDuration(0.0034), "3.4 ms");
  EXPECT_EQ(FormatDuration(0.00994), "9.9 ms");
  EXPECT_EQ(FormatDuration(0.00996), "10 ms");
  EXPECT_EQ(FormatDuration(0.312), "312 ms");
  EXPECT_EQ(FormatDuration(0.9994), "999 ms");
  EXPECT_EQ(FormatDuration(0.9996), "1.0 s");  // never "1000 ms"
  EXPECT_EQ(FormatDuration(1), "1.0 s");
  EXPECT_EQ(FormatDuration(25.6543), "25.7 s");  // never "25654.3 ms"
  EXPECT_EQ(FormatDuration(59.94), "59.9 s");
  EXPECT_EQ(FormatDuration(59.96), "1.0 min");  // never "60.0 s"
  EXPECT_EQ(FormatDuration(246), "4.1 min");
  EXPECT_EQ(FormatDuration(3596), "59.9 min");
  EXPECT_EQ(FormatDuration(3598), "1.0 h");
  EXPECT_EQ(FormatDuration(9000), "2.5 h");
  EXPECT_EQ(FormatDuration(-1), "-");
  EXPECT_EQ(FormatDuration(std::nan("")), "-");
  EXPECT_EQ(FormatDuration(INFINITY), "-");
}

TEST(HumanOutputTextTest, TruncatesWithAnEllipsisOnCharacterBoundaries) {
  EXPECT_EQ(Truncate("abcdef", 4), "abc\u2026");
  EXPECT_EQ(Truncate("abcd", 4), "abcd");
  EXPECT_EQ(Truncate("\u00e9\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");
  EXPECT_EQ(Truncate("abc", 0), "");
  EXPECT_EQ(DisplayWidth("a\u2026\u00e9"), 3u);
}

TEST(HumanOutputTextTest, WrapsAtSpacesAndCutsLongWords) {
  EXPECT_EQ(WrapText("the quick brown fox", 10),
            (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(WrapText("abcdefghij klm", 4), (std::vector<std::string>{"abcd", "efgh", "ij", "klm"}));
  EXPECT_EQ(WrapText("one\ntwo", 80), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(WrapText("", 10), (std::vector<std::string>{""}));
  EXPECT_EQ(WrapText("a  b", 10), (std::vector<std::string>{"a b"}));
}

ProbeResult Probe(std::string name, double seconds, std::vector<Finding> findings) {
  ProbeResult p;
  p.name = std::move(name);
  p.duration = std::chrono::duration<double>(seconds);
  p.findings = std::move(findings);
  FinalizeVerdict(p);
  return p;
}

Finding Slowdown(const std::string& bus_id) {
  return MakeFinding(codes::kGpuClockSlowdown, "gpu/" + bus_id,
                     "GPU " + bus_id + " clocks are held down: hardware slowdown",
                     {{"nvml", "HW_SLOWDOWN", "none"}});
}

TEST(HumanOutputTableTest, GroupsRepeatedFindingsAndShowsRemedies) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  report.probes.push_back(Probe("gpu_presence", 0.0123, {}));
  report.probes.push_back(
      Probe("gpu_health", 25.6543,
            {Slowdown("0000:19:00.0"), Slowdown("0000:3b:00.0"), Slowdown("0000:4c:00.0"),
             MakeFinding(codes::kGpuLost, "gpu/0000:9b:00.0", "NVML reports GPU 0000:9b:00.0 lost",
                         {{"nvml", "NVML_ERROR_GPU_IS_LOST", "NVML_SUCCESS"}})}));
  Decide(report);
  const std::string remedy_slowdown(FindCatalogEntry(codes::kGpuClockSlowdown)->remedy);
  const std::string remedy_lost(FindCatalogEntry(codes::kGpuLost)->remedy);
  ASSERT_LT(remedy_slowdown.size(), 80u);  // one line each below
  ASSERT_LT(remedy_lost.size(), 80u);
  EXPECT_EQ(RenderTableReport(report),
            "nodehealth check on n1\n"
            "profile: none (observe-only)\n"
            "\n"
            "PROBE         VERDICT  TIME    RESULT\n"
            "gpu_presence  pass     12 ms   ok\n"
            "gpu_health    fail     25.7 s  4 findings\n"
            "\n"
            "FINDINGS\n"
            "  WARN  monitor  3 GPUs: gpu_clock_slowdown\n"
            "        gpu/0000:19:00.0, gpu/0000:3b:00.0, gpu/0000:4c:00.0\n"
            "        GPU 0000:19:00.0 clocks are held down: hardware slowdown (1 of 3; --format "
            "json lists "
            "each\n"
            "        with its evidence)\n"
            "        remedy: " +
                remedy_slowdown +
                "\n"
                "  FAIL  reboot   gpu_lost  gpu/0000:9b:00.0\n"
                "        NVML reports GPU 0000:9b:00.0 lost\n"
                "        nvml: NVML_ERROR_GPU_IS_LOST (expected NVML_SUCCESS)\n"
                "        remedy: " +
                remedy_lost +
                "\n"
                "\n"
                "VERDICT FAIL: drain recommended (reboot), 1 reason\n");
}

TEST(HumanOutputTableTest, AGroupListsTheEntitiesThatFitOnOneLine) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  std::vector<Finding> findings;
  for (int i = 0; i < 8; ++i) findings.push_back(Slowdown("0000:0" + std::to_string(i) + ":00.0"));
  report.probes.push_back(Probe("gpu_health", 0.02, std::move(findings)));
  Decide(report);
  const std::string table = RenderTableReport(report);
  EXPECT_NE(table.find("  WARN  monitor  8 GPUs: gpu_clock_slowdown\n"
                       "        gpu/0000:00:00.0, gpu/0000:01:00.0, gpu/0000:02:00.0, "
                       "gpu/0000:03:00.0, \u2026 and 4 more\n"
                       "        GPU 0000:00:00.0 clocks are held down: hardware slowdown (1 of 8;"),
            std::string::npos)
      << table;
}

TEST(HumanOutputTableTest, TwoFindingsOfOneCodeOnOneEntityStaySeparate) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  report.probes.push_back(
      Probe("gpu_xid", 0.001,
            {MakeFinding(codes::kGpuXid, "gpu/0000:19:00.0", "XID 48 on GPU 0000:19:00.0"),
             MakeFinding(codes::kGpuXid, "gpu/0000:19:00.0", "XID 94 on GPU 0000:19:00.0")}));
  Decide(report);
  const std::string table = RenderTableReport(report);
  EXPECT_EQ(table.find("GPUs:"), std::string::npos) << table;
  EXPECT_NE(table.find("gpu_xid  gpu/0000:19:00.0\n        XID 48 on GPU 0000:19:00.0\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("gpu_xid  gpu/0000:19:00.0\n        XID 94 on GPU 0000:19:00.0\n"),
            std::string::npos)
      << table;
}

TEST(HumanOutputTableTest, LongNamesEntitiesAndMessagesStayInTheirColumns) {
  Report report;
  report.node = "n1";
  report.mode = "burnin";
  const std::string long_name(40, 'p');
  const std::string long_entity = "hca/" + std::string(120, 'e') + "/1";
  std::string long_message;
  for (int i = 0; i < 40; ++i) long_message += "word" + std::to_string(i) + " ";
  ProbeResult errored;
  errored.name = long_name;
  errored.verdict = ProbeVerdict::kError;
  errored.error = long_message;
  errored.duration = std::chrono::duration<double>(300);
  report.probes.push_back(errored);
  report.probes.push_back(
      Probe("ib_ports", 0.5, {MakeFinding(codes::kIbPortDown, long_entity, long_message)}));
  Decide(report);
  const std::string table = RenderTableReport(report);
  std::size_t start = 0;
  while (start < table.size()) {
    const std::size_t end = table.find('\n', start);
    const std::string line = table.substr(start, end - start);
    EXPECT_LE(DisplayWidth(line), 100u) << line;
    start = end + 1;
  }
  // The name is cut to 24 columns; the columns after it keep their places; the error wraps under
  // the RESULT column.
  const std::string cut_name = std::string(23, 'p') + "\u2026";
  EXPECT_NE(table.find("PROBE                     VERDICT  TIME     RESULT\n" + cut_name +
                       "  error    5.0 min  word0 word1"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("word7 word8\n" + std::string(44, ' ') + "word9 word10 "), std::string::npos)
      << table;
  // The entity goes below the code and is split over lines rather than running past the page.
  EXPECT_NE(table.find("  FAIL  drain  ib_port_down\n               hca/" + std::string(81, 'e') +
                       "\n               " + std::string(39, 'e') + "/1\n        word0 word1"),
            std::string::npos)
      << table;
}

TEST(HumanOutputJsonTest, FindingsCarryTheirRemedyAfterTheContractFields) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  report.probes.push_back(Probe("gpu_health", 1, {Slowdown("0000:19:00.0")}));
  Decide(report);
  const nlohmann::ordered_json json = nlohmann::ordered_json::parse(RenderJsonReport(report));
  const nlohmann::ordered_json& finding = json["probes"][0]["findings"][0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : finding.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"code", "severity", "action", "entity", "message",
                                            "evidence", "remedy"}));
  EXPECT_EQ(finding["remedy"], std::string(FindCatalogEntry(codes::kGpuClockSlowdown)->remedy));
}

}  // namespace
}  // namespace nodehealth
