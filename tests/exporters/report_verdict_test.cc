// The report's verdict has one writer (json_report.cc) and one reader (report_verdict.h): a
// rendered report reads back exactly as the Report value says, and what is not a report is
// refused with the reason.
#include "exporters/report_verdict.h"

#include <gtest/gtest.h>

#include "exporters/json_report.h"

namespace nodehealth {
namespace {

Report DrainingReport() {
  Report report;
  report.node = "gpu01";
  report.mode = "check";
  report.version = "test";
  ProbeResult presence;
  presence.name = "gpu_presence";
  presence.findings.push_back({.code = "gpu_missing",
                               .severity = Severity::kFail,
                               .action = Action::kReboot,
                               .entity = "node",
                               .message = "7 of 8 GPUs",
                               .evidence = {}});
  FinalizeVerdict(presence);
  ProbeResult xid;
  xid.name = "gpu_xid";
  xid.findings.push_back({.code = "gpu_xid",
                          .severity = Severity::kFail,
                          .action = Action::kResetGpu,
                          .entity = "gpu/0000:19:00.0",
                          .message = "XID 48",
                          .evidence = {}});
  FinalizeVerdict(xid);
  ProbeResult skipped;
  skipped.name = "ib_ports";
  skipped.verdict = ProbeVerdict::kSkip;
  report.probes = {presence, xid, skipped};
  Decide(report);
  return report;
}

TEST(ReportVerdictTest, ARenderedReportReadsBackAsTheValueSays) {
  const Report report = DrainingReport();
  const ReportVerdict expected = VerdictOf(report);
  ASSERT_TRUE(expected.drain_recommended);
  ASSERT_EQ(expected.reasons.size(), 2u);
  EXPECT_EQ(expected.reasons[0].code, "gpu_missing");  // the highest action (reboot) first
  EXPECT_EQ(expected.probes.at("ib_ports").verdict, "skip");
  EXPECT_EQ(expected.probes.at("gpu_presence").findings.at(0).action, Action::kReboot);

  Expected<ReportVerdict> read = ParseReportVerdict(RenderJsonReport(report));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, expected);
}

TEST(ReportVerdictTest, WhatIsNoReportIsRefusedWithTheReason) {
  EXPECT_EQ(ParseReportVerdict("{").error().message, "report: not JSON");
  EXPECT_EQ(ParseReportVerdict(R"({"schema_version": 2})").error().message,
            "report: not a nodehealth report (schema_version 1)");
  EXPECT_EQ(ParseReportVerdict(R"({"schema_version": 1, "drain": {"recommended": true,
                                   "reasons": []}, "probes": []})")
                .error()
                .message,
            "report: drain recommended without a reason");
  EXPECT_EQ(ParseReportVerdict(std::string(100000, '[')).error().message,
            "report: nested deeper than JSON reports nest");
}

}  // namespace
}  // namespace nodehealth
