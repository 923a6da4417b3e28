#include "exporters/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exporters/json_report.h"
#include "exporters/table_report.h"
#include "probes/finding_catalog.h"

namespace nodehealth {
namespace {

ProbeResult Probe(std::string name, std::vector<Finding> findings) {
  ProbeResult r;
  r.name = std::move(name);
  r.findings = std::move(findings);
  FinalizeVerdict(r);
  return r;
}

TEST(DecideTest, TheHighestActionWinsAndReasonsAreDeduplicated) {
  Report report;
  report.probes.push_back(
      Probe("a", {MakeFinding(codes::kGpuClockSlowdown, "gpu/0000:19:00.0", "slow"),
                  MakeFinding(codes::kGpuEccUncorrectable, "gpu/0000:19:00.0", "ecc")}));
  report.probes.push_back(
      Probe("b", {MakeFinding(codes::kGpuLost, "gpu/0000:9b:00.0", "lost"),
                  MakeFinding(codes::kGpuLost, "gpu/0000:9b:00.0", "lost again")}));
  Decide(report);
  EXPECT_EQ(report.verdict, RunVerdict::kFail);
  EXPECT_TRUE(report.drain.recommended);
  EXPECT_EQ(report.drain.action, Action::kReboot);
  ASSERT_EQ(report.drain.reasons.size(), 2u);
  EXPECT_EQ(report.drain.reasons[0].code, "gpu_lost");  // reboot before reset_gpu
  EXPECT_EQ(report.drain.reasons[1].code, "gpu_ecc_uncorrectable");
}

TEST(DecideTest, WarningsOrUndecidedProbesWarn) {
  Report warn;
  warn.probes.push_back(Probe("a", {MakeFinding(codes::kGpuClockSlowdown, "gpu/x", "slow")}));
  Decide(warn);
  EXPECT_EQ(warn.verdict, RunVerdict::kWarn);
  EXPECT_FALSE(warn.drain.recommended);
  EXPECT_EQ(warn.drain.action, Action::kMonitor);
  Report pass;
  pass.probes.push_back(Probe("a", {}));
  Decide(pass);
  EXPECT_EQ(pass.verdict, RunVerdict::kPass);
  EXPECT_EQ(pass.drain.action, Action::kNone);
}

TEST(JsonReportTest, FollowsTheContractAndSurvivesBinaryStrings) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  report.profile = "dgx-h100";
  report.profile_requested = "auto";
  report.started_at =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1764000000123));
  report.duration_seconds = 0.5;
  ProbeResult probe = Probe(
      "gpu_xid", {MakeFinding(codes::kGpuXid, "gpu/0000:19:00.0", std::string("bad \xff\xfe bytes"),
                              {{"/dev/kmsg", "line", ""}})});
  probe.measurements.push_back(
      {"gpu_xid_events_total", {{"gpu", "0000:19:00.0"}, {"xid", "48"}}, 1});
  report.probes.push_back(probe);
  ProbeResult skipped;
  skipped.name = "gpu_health";
  MarkSkipped(skipped, "nothing to do");
  report.probes.push_back(skipped);
  Decide(report);
  const nlohmann::json j = nlohmann::json::parse(RenderJsonReport(report));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["profile"], "dgx-h100");
  EXPECT_EQ(j["started_at"], "2025-11-24T16:00:00.123Z");
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["drain"]["recommended"], true);
  EXPECT_EQ(j["drain"]["action"], "drain");
  EXPECT_EQ(j["drain"]["reasons"][0]["code"], "gpu_xid");
  const auto& finding = j["probes"][0]["findings"][0];
  EXPECT_EQ(finding["severity"], "fail");
  EXPECT_EQ(finding["entity"], "gpu/0000:19:00.0");
  EXPECT_EQ(finding["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");  // U+FFFD, not an exception
  EXPECT_EQ(finding["evidence"][0]["source"], "/dev/kmsg");
  EXPECT_EQ(j["probes"][0]["measurements"][0]["labels"]["xid"], "48");
  EXPECT_FALSE(j["probes"][0].contains("error"));
  EXPECT_EQ(j["probes"][1]["verdict"], "skip");
  EXPECT_EQ(j["probes"][1]["skip_reason"], "nothing to do");
  Report observe;
  EXPECT_TRUE(nlohmann::json::parse(RenderJsonReport(observe))["profile"].is_null());
}

TEST(TableReportTest, ShowsProbesFindingsAndVerdict) {
  Report report;
  report.node = "n1";
  report.mode = "check";
  report.probes.push_back(
      Probe("gpu_presence",
            {MakeFinding(codes::kGpuMissing, "node", "expected 8 H100 GPUs, found 7 on PCI",
                         {{"/sys/bus/pci/devices", "7", "8"}})}));
  Decide(report);
  const std::string table = RenderTableReport(report);
  EXPECT_NE(table.find("profile: none (observe-only)"), std::string::npos);
  EXPECT_NE(table.find("gpu_presence  fail"), std::string::npos);
  EXPECT_NE(table.find("  FAIL  reboot  gpu_missing  node\n"
                       "        expected 8 H100 GPUs, found 7 on PCI\n"
                       "        /sys/bus/pci/devices: 7 (expected 8)\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("VERDICT FAIL: drain recommended (reboot), 1 reason"), std::string::npos);
}

}  // namespace
}  // namespace nodehealth
