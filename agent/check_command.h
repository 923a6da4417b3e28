// `nodehealth check`: run the passive probes once, print the report, exit 0 (no drain), 1 (drain
// recommended) or 2 (could not evaluate: bad usage, profile or config). CONTRACT.md.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace nodehealth {

struct CheckOptions {
  std::string mode = "check";
  std::string sysroot = "/";
  std::optional<std::string> profile;       // --profile; config, then "auto" otherwise
  std::optional<std::string> config;        // --config; default path when absent
  std::optional<std::string> nvml_library;  // --nvml-library; config, then libnvidia-ml.so.1
  std::optional<std::string> topology_xml;  // --topology-xml (used by the topology probe)
  std::vector<std::string> only;
  std::vector<std::string> skip;
  double timeout_seconds = 60;
  // burnin: false when --timeout was not given, so the profile's [burnin] timeout_seconds decides.
  bool timeout_given = true;
  // Called once the run's timeout is final, to arm the process-wide hard deadline (main.cc).
  std::function<void(double seconds)> arm_hard_deadline;
  std::string format;  // "table", "json", or empty: table on a terminal, else json
  std::optional<std::string> output;
  // burnin --textfile DIR: also write the metrics for node_exporter's textfile collector there.
  std::optional<std::string> textfile_dir;
};

struct CheckResult {
  int exit_code = 0;
  // True when a probe thread or an NVML call is still running: the process must end with
  // std::_Exit once output is flushed (see probe_runner.h).
  bool must_exit_immediately = false;
};

CheckResult RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace nodehealth
