#include "probes/gpu_bandwidth/gpu_worker.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/util/text.h"

namespace nodehealth::gpu_worker {

namespace {

std::string TailOf(const std::string& text) {
  return text.size() > 300 ? text.substr(text.size() - 300) : text;
}

}  // namespace

WorkerRunner DefaultWorkerRunner() {
  return [](const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            platform::Deadline deadline) {
    return platform::RunChild(argv, env, deadline, kMaxOutputBytes, std::chrono::seconds(1));
  };
}

std::string FindGpuWorker() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate :
         {self.parent_path() / "nodehealth-gpu-worker",
          self.parent_path().parent_path() / "probes" / "nodehealth-gpu-worker"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "nodehealth-gpu-worker";
}

WorkerOutcome RunGpuWorker(const WorkerRunner& runner, const WorkerOptions& options,
                           const std::map<std::string, std::string>& env,
                           platform::Deadline deadline, std::string_view failed_code) {
  WorkerOutcome outcome;
  std::vector<std::string> argv = {FindGpuWorker()};
  const std::vector<std::string> args = WorkerArguments(options);
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& [name, value] : env) outcome.command += name + "=" + value + " ";
  for (const std::string& a : argv) outcome.command += (&a == &argv.front() ? "" : " ") + a;

  const auto reserve = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(3),
                                                                     deadline.remaining() / 3);
  const platform::ChildResult child =
      runner(argv, env, platform::Deadline::At(deadline.time_point() - reserve));
  if (!child.started) {
    outcome.findings.push_back(MakeFinding(
        failed_code, std::string(kNodeEntity), "the GPU worker could not start: " + child.error,
        {{outcome.command, child.error, "nodehealth-gpu-worker installed with nodehealth"}}));
    return outcome;
  }
  if (child.timed_out) {
    outcome.findings.push_back(MakeFinding(
        codes::kProbeTimeout, std::string(kNodeEntity),
        "the GPU worker did not finish before the deadline: a CUDA or NCCL call hung; it was "
        "killed with its process group",
        {{outcome.command,
          "still running after " + std::to_string(static_cast<int>(child.seconds)) + " s" +
              (child.err.empty() ? "" : "; its last words: " + Printable(TailOf(child.err), 300)),
          "done before the deadline"}}));
    return outcome;
  }
  Expected<Report> report = ParseReport(child.out);
  if (child.exit_code != 0 || !report) {
    const std::string why =
        child.exit_code != 0
            ? (child.signal != 0 ? "killed by signal " + std::to_string(child.signal)
                                 : "exit status " + std::to_string(child.exit_code))
            : report.error().message;
    outcome.findings.push_back(MakeFinding(
        failed_code, std::string(kNodeEntity), "the GPU worker failed: " + why,
        {{outcome.command, why + "; stderr: " + Printable(child.err.substr(0, 600), 600),
          "exit status 0 and a JSON report"}}));
    return outcome;
  }
  outcome.finished = true;
  outcome.report = std::move(*report);
  return outcome;
}

}  // namespace nodehealth::gpu_worker
