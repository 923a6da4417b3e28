#include "agent/cli/check_command.h"

#include <unistd.h>

#include <chrono>
#include <ostream>

#include "exporters/atomic_file.h"
#include "exporters/json_report.h"
#include "exporters/prometheus_text.h"
#include "exporters/table_report.h"

namespace nodehealth {

CheckResult RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  CheckResult outcome;
  Expected<CheckRun> run = RunCheckOnce(options);
  if (!run) {
    err << "nodehealth: " << run.error().message << "\n";
    outcome.exit_code = 2;
    return outcome;
  }
  const Report& report = run->report;

  const std::string json = RenderJsonReport(report);
  std::string format = options.format;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "json";
  out << (format == "json" ? json : RenderTableReport(report));
  out.flush();

  outcome.exit_code = report.drain.recommended ? 1 : 0;
  // A run killed mid-write (SIGKILL, OOM, a node rebooted under a burn-in) leaves its temporary
  // beside the target; a file untouched for a minute belongs to no live writer.
  constexpr std::chrono::seconds kStaleTemporaryAge(60);
  if (options.output) {
    RemoveStaleTemporaries(*options.output, kStaleTemporaryAge);
    Expected<bool> written = WriteFileAtomically(*options.output, json);
    if (!written) {
      err << "nodehealth: " << written.error().message << "\n";
      // A drain recommendation outranks the I/O failure: scripts act on 1 first.
      if (outcome.exit_code == 0) outcome.exit_code = 2;
    }
  }
  if (options.textfile_dir) {
    // Written to a temporary name in the directory and renamed: the collector never reads half.
    const std::string path = *options.textfile_dir + "/" + kBurninTextfileName;
    // node_exporter skips a killed run's temporary (its name does not end in ".prom"), but
    // without this it would stay in the collector's directory forever.
    RemoveStaleTemporaries(path, kStaleTemporaryAge);
    Expected<bool> written =
        WriteFileAtomically(path, RenderPrometheusText(report, kBurninTextfileLabels));
    if (!written) {
      err << "nodehealth: " << written.error().message << "\n";
      if (outcome.exit_code == 0) outcome.exit_code = 2;
    }
  }
  outcome.must_exit_immediately = run->must_exit_immediately;
  return outcome;
}

}  // namespace nodehealth
