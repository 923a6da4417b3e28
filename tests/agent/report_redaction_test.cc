// /report leaves users' process names and PIDs out (agent/daemon/report_redaction.h): every form
// the drivers print, every kernel-log line in the repository's and the peer fixtures, and the
// report the agent serves, with and without `[agent] report_process_names`.
#include "agent/daemon/report_redaction.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "agent/daemon/agent_snapshot.h"
#include "exporters/json_report.h"

namespace nodehealth::agent {
namespace {

TEST(ReportRedactionTest, EveryForm) {
  const std::pair<std::string, std::string> cases[] = {
      {"NVRM: Xid (PCI:0000:53:00): 31, pid=1234, name=python3.10, Ch 00000008, intr 10000000.",
       "NVRM: Xid (PCI:0000:53:00): 31, pid=<redacted>, name=<redacted>, Ch 00000008, intr "
       "10000000."},
      {"NVRM: Xid (PCI:0000:9b:00): 8, pid=2960, name=pt_main_thread, Ch 0000000c",
       "NVRM: Xid (PCI:0000:9b:00): 8, pid=<redacted>, name=<redacted>, Ch 0000000c"},
      // The newer driver's form: "channel" instead of "Ch".
      {"NVRM: Xid (PCI:0000:01:00): 31, pid=77, name=train, channel 0x00000008, intr 00000000. "
       "MMU Fault: ENGINE GRAPHICS",
       "NVRM: Xid (PCI:0000:01:00): 31, pid=<redacted>, name=<redacted>, channel 0x00000008, intr "
       "00000000. MMU Fault: ENGINE GRAPHICS"},
      // Nothing to hide: kept as the driver wrote it.
      {"NVRM: Xid (PCI:0000:19:00): 13, pid='<unknown>', name=<unknown>, Graphics Exception: ESR "
       "0x50da30=0x10000",
       "NVRM: Xid (PCI:0000:19:00): 13, pid='<unknown>', name=<unknown>, Graphics Exception: ESR "
       "0x50da30=0x10000"},
      // A name with the separator in it loses its first part; one at the end of the line, all.
      {"NVRM: Xid (PCI:0000:53:00): 43, pid=5, name=a, b, Ch 00000001",
       "NVRM: Xid (PCI:0000:53:00): 43, pid=<redacted>, name=<redacted>, b, Ch 00000001"},
      {"NVRM: Xid (PCI:0000:53:00): 43, pid=5, name=last one",
       "NVRM: Xid (PCI:0000:53:00): 43, pid=<redacted>, name=<redacted>"},
      {"mlx5_core 0000:0c:00.0: mlx5_cmd_out_err:838:(pid 81234): CREATE_MKEY(0x200) op_mod(0x0) "
       "failed, status bad parameter(0x3), syndrome (0x2d3a2a), err(-22)",
       "mlx5_core 0000:0c:00.0: mlx5_cmd_out_err:838:(pid <redacted>): CREATE_MKEY(0x200) "
       "op_mod(0x0) failed, status bad parameter(0x3), syndrome (0x2d3a2a), err(-22)"},
      {"[Sun Feb  4 10:00:00 2024] CPU: 3 PID: 1234 Comm: nvidia-smi Tainted: P           OE",
       "[Sun Feb  4 10:00:00 2024] CPU: 3 PID: <redacted> Comm: <redacted> Tainted: P           "
       "OE"},
      {"CPU: 0 PID: 1 Comm: my job Not tainted 6.1.0-18-amd64 #1",
       "CPU: 0 PID: <redacted> Comm: <redacted> Not tainted 6.1.0-18-amd64 #1"},
      // Words that merely contain "pid" are not process ids.
      {"ppid=3 rapid=4 (pid x) PID: none", "ppid=3 rapid=4 (pid x) PID: none"},
      {"no process here", "no process here"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(RedactProcessIdentities(in), out) << in;
  // Lines are redacted one by one inside a longer text.
  EXPECT_EQ(RedactProcessIdentities("pid=1, name=a\npid=2, name=b, c"),
            "pid=<redacted>, name=<redacted>\npid=<redacted>, name=<redacted>, c");
}

TEST(ReportRedactionTest, EveryKernelLogLineInTheFixtures) {
  // Whatever form a fixture holds, no process id survives: "pid=<digits>", "(pid <digits>)",
  // "PID: <digits>". Lines without one come out unchanged.
  const std::regex pid_left(
      R"((^|[^A-Za-z0-9_])pid=[0-9]|\(pid [0-9]+\)|(^|[^A-Za-z0-9_])PID: [0-9])");
  int lines_with_pids = 0;
  int names = 0;
  for (const std::string& root : {std::string(NODEHEALTH_SOURCE_DIR) + "/tests/fixtures",
                                  std::string(NODEHEALTH_PEER_FIXTURES_DIR)}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file() || entry.file_size() > (4u << 20)) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string line;
      while (std::getline(in, line)) {
        if (line.find("NVRM") == std::string::npos && line.find("mlx5") == std::string::npos &&
            line.find("PID: ") == std::string::npos) {
          continue;
        }
        const std::string redacted = RedactProcessIdentities(line);
        if (std::regex_search(line, pid_left)) {
          ++lines_with_pids;
          EXPECT_FALSE(std::regex_search(redacted, pid_left)) << entry.path() << "\n"
                                                              << line << "\n"
                                                              << redacted;
          std::smatch m;
          static const std::regex name(R"(pid=[0-9]+, name=([^,]+),)");
          if (std::regex_search(line, m, name)) {
            ++names;
            EXPECT_EQ(redacted.find("name=" + m[1].str()), std::string::npos) << line;
          }
        } else if (line.find("pid=") == std::string::npos) {
          EXPECT_EQ(redacted, line) << entry.path();
        }
      }
    }
  }
  // The fixtures hold XIDs from pt_main_thread, python3.x, nvidia-smi, gpud, cache_mgr_main and
  // mlx5 "(pid N)" lines: if they vanished, this test would prove nothing.
  EXPECT_GE(lines_with_pids, 20);
  EXPECT_GE(names, 15);
}

TEST(ReportRedactionTest, ServedReportOnlyWithoutTheOption) {
  Report report;
  report.node = "gpu-node-7";
  ProbeResult xid;
  xid.name = "gpu_xid";
  const std::string line =
      "NVRM: Xid (PCI:0000:53:00): 31, pid=48213, name=secret_job.py, Ch 00000008, intr 10000000";
  Finding finding;
  finding.code = "gpu_xid";
  finding.entity = "gpu/0000:53:00.0";
  finding.message = "XID 31 on gpu/0000:53:00.0: " + line;
  finding.evidence.push_back({"/dev/kmsg", line, ""});
  xid.findings.push_back(finding);
  report.probes.push_back(xid);
  const PolicyOutput policy;
  const KernelLogView log;
  const std::vector<std::string> gpus;
  AgentCounters counters;
  counters.rounds = 1;
  std::shared_ptr<const AgentSnapshot> redacted = BuildAgentSnapshot({.report = report,
                                                                      .policy = policy,
                                                                      .kernel_log = log,
                                                                      .gpu_bus_ids = gpus,
                                                                      .counters = counters});
  EXPECT_EQ(redacted->report_json.find("secret_job.py"), std::string::npos);
  EXPECT_EQ(redacted->report_json.find("48213"), std::string::npos);
  EXPECT_NE(redacted->report_json.find(
                "NVRM: Xid (PCI:0000:53:00): 31, pid=<redacted>, name=<redacted>, Ch 00000008"),
            std::string::npos);
  EXPECT_NE(redacted->report_json.find("gpu-node-7"), std::string::npos);  // documented: kept

  std::shared_ptr<const AgentSnapshot> whole = BuildAgentSnapshot({.report = report,
                                                                   .policy = policy,
                                                                   .kernel_log = log,
                                                                   .gpu_bus_ids = gpus,
                                                                   .counters = counters,
                                                                   .report_process_names = true});
  EXPECT_NE(whole->report_json.find(line), std::string::npos);
  // The findings the policy reads are the caller's, untouched.
  EXPECT_EQ(report.probes[0].findings[0].evidence[0].observed, line);

  // /report is the check report (RenderJsonReport's keys, in its order) with "policy" last.
  const std::string check_json = RenderJsonReport(report);
  ASSERT_GE(whole->report_json.size(), check_json.size());
  const std::string check_body =
      check_json.substr(0, check_json.rfind('\n', check_json.size() - 2));
  EXPECT_EQ(whole->report_json.substr(0, check_body.size()), check_body);
  EXPECT_NE(whole->report_json.find("\"nodehealth_version\": \"\",\n  \"policy\": {"),
            std::string::npos);
  // Invalid UTF-8 from the kernel log is replaced, as in `check`'s report, not a failed render.
  report.probes[0].findings[0].evidence[0].observed = "bad \xff byte";
  std::shared_ptr<const AgentSnapshot> odd = BuildAgentSnapshot({.report = report,
                                                                 .policy = policy,
                                                                 .kernel_log = log,
                                                                 .gpu_bus_ids = gpus,
                                                                 .counters = counters});
  EXPECT_NE(odd->report_json.find("bad \ufffd byte"), std::string::npos);
}

}  // namespace
}  // namespace nodehealth::agent
