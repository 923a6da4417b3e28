#include "agent/engine/check_run.h"

#include <chrono>
#include <iterator>
#include <memory>

#include "agent/engine/probe_runner.h"
#include "agent/engine/report_assembly.h"
#include "agent/engine/run_plan.h"
#include "agent/policy/report_support.h"

namespace nodehealth {

Expected<CheckRun> RunCheckOnce(const CheckOptions& options) {
  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  double timeout_seconds = options.timeout_seconds;

  // The config decides the NVML library, which the environment needs before the plan exists.
  Expected<Config> config = LoadRunConfig(options);
  if (!config) return config.error();
  auto environment = std::make_shared<RunEnvironment>(
      options.sysroot, std::make_shared<platform::NvmlRuntime>(options.nvml_library.value_or(
                           config->nvml_library.value_or(std::string(kDefaultNvmlLibrary)))));
  environment->inventory = GatherNodeInventory(environment->fs);
  const RunMode mode = options.mode == "burnin" ? RunMode::kBurnin : RunMode::kCheck;
  Expected<RunPlan> plan = PlanRun(mode, options, std::move(*config),
                                   GatherNodeFacts(environment->fs, environment->inventory));
  if (!plan) return plan.error();
  environment->profile = plan->profile;
  environment->topology_xml = options.topology_xml.value_or("");
  environment->topology_baseline = plan->config.topology_baseline.value_or("");
  environment->mpi_allreduce_ranks = plan->config.mpi_allreduce_ranks;
  environment->cuda_library = options.cuda_library.value_or(plan->config.cuda_library.value_or(""));
  environment->nccl_library = options.nccl_library.value_or(plan->config.nccl_library.value_or(""));

  // A burn-in without --timeout runs within the profile's budget.
  if (mode == RunMode::kBurnin && !options.timeout_given && plan->profile &&
      plan->profile->burnin.timeout_seconds) {
    timeout_seconds = *plan->profile->burnin.timeout_seconds;
  }
  if (options.arm_hard_deadline) options.arm_hard_deadline(timeout_seconds + 4);
  const platform::Deadline run_deadline = platform::Deadline::At(
      started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(timeout_seconds)));

  // Passive probes first, active ones after them: a burn-in judges a node's load tests only once
  // its inventory is known, and load never distorts a passive reading.
  ProbeRunner runner;
  RunOutcome run = runner.Run(plan->passive, environment, run_deadline);
  if (!plan->active.empty()) {
    RunOutcome second = runner.Run(plan->active, environment, run_deadline);
    std::move(second.results.begin(), second.results.end(), std::back_inserter(run.results));
    run.abandoned += second.abandoned;
  }
  ApplyActionOverrides(plan->config.action_overrides, run.results);

  CheckRun result;
  result.report = AssembleReport({.node = NodeName(environment->fs),
                                  .mode = options.mode,
                                  .plan = *plan,
                                  .started_at = started_wall,
                                  .duration_seconds = 0},
                                 std::move(run.results));
  result.report.summary = SummarizeNode(environment->inventory, plan->profile.get(), result.report);
  result.report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A probe thread or NVML call still running holds the environment (probe_runner.h): the
  // process must end with std::_Exit.
  result.must_exit_immediately = run.abandoned > 0 || environment->nvml->wedged();
  return result;
}

}  // namespace nodehealth
