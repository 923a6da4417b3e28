// One run of the probes as `check`, `burnin` and the Slurm fallback check do it: plan it
// (run_plan.h: config, profile, probes), run the probes with their deadlines (probe_runner.h;
// passive ones first, then active ones) and assemble the Report value (report_assembly.h), the
// same three steps as each of the agent's rounds. Nothing is rendered or written here: the commands
// do that at their edge (cli/check_command.h renders JSON or a table and writes files; the Slurm
// fallback reads the Report directly).
//
// Ownership: a probe thread that outlived its deadline, or a hung NVML call, still holds the
// run's environment (file system, inventory, profile, NVML) through its shared_ptr; the caller
// then writes its output and ends the process with std::_Exit (`must_exit_immediately`).
//
// Thread safety: one run at a time per process (it arms the process-wide hard deadline through
// `arm_hard_deadline`); otherwise reentrant.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "exporters/report.h"
#include "probes/util/expected.h"

namespace nodehealth {

struct CheckOptions {
  std::string mode = "check";
  std::string sysroot = "/";
  std::optional<std::string> profile;       // --profile; config, then "auto" otherwise
  std::optional<std::string> config;        // --config; default path when absent
  std::optional<std::string> nvml_library;  // --nvml-library; config, then libnvidia-ml.so.1
  std::optional<std::string> cuda_library;  // --cuda-library; config, then libcuda.so.1
  std::optional<std::string> nccl_library;  // --nccl-library; config, then libnccl.so.2
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

struct CheckRun {
  Report report;  // decided (Decide) and with its summary; duration measured to the end
  // True when a probe thread or an NVML call is still running: the process must end with
  // std::_Exit once output is flushed (see probe_runner.h).
  bool must_exit_immediately = false;
};

// Errors (exit 2 for the commands): an invalid config, an unknown probe name in --only/--skip or
// the config, an invalid profile. The message says which, as "invalid config: ...".
Expected<CheckRun> RunCheckOnce(const CheckOptions& options);

}  // namespace nodehealth
