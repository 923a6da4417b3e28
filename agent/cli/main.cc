// nodehealth: wiring only. Parses the command line, runs a command, and exits with the contract's
// status (0 no drain, 1 drain recommended, 2 could not evaluate).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/bundle/bundle_command.h"
#include "agent/cli/check_command.h"
#include "agent/cli/log_setup.h"
#include "agent/cli/probes_command.h"
#include "agent/cli/repair_command.h"
#include "agent/cli/sysroot.h"
#include "agent/cli/topology_command.h"
#include "agent/daemon/agent.h"
#include "agent/provider/provider_report_command.h"
#include "agent/slurm/slurm_drain_command.h"
#include "agent/slurm/slurm_healthcheck_command.h"
#include "probes/all_probes.h"
#include "probes/platform/child_process.h"

#ifndef NODEHEALTH_VERSION
#define NODEHEALTH_VERSION "0.0.0"
#endif

namespace {

// Last line of defence for "the process ends within --timeout + 5 s": if anything (a write to a
// stuck pipe, a probe that ignored its deadline) keeps the process alive past that, end it.
// Exit 1 because a node that cannot finish its own health check is not fit for jobs.
void StartHardDeadline(double seconds, const char* message, int exit_code) {
  std::thread([seconds, message, exit_code] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    std::fputs(message, stderr);
    std::_Exit(exit_code);
  }).detach();
}

// `check` and `burnin` killed by SIGTERM or SIGINT (systemd stopping the burn-in unit, Ctrl-C):
// the children a probe started (mpirun and its ranks) live in their own process group, so the
// terminal's or systemd's signal to ours does not reach them, and the process's death would leave
// them running on the GPUs and the fabric. Taken with sigwait on a thread of its own; call before
// any other thread starts, so that every thread inherits the blocked mask.
std::atomic<bool> g_terminating{false};

void EndChildrenOnTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    g_terminating = true;  // main must not exit with the run's own status meanwhile
    nodehealth::platform::TerminateAllChildren(std::chrono::seconds(2));
    std::fprintf(stderr, "nodehealth: stopped by signal %d; child processes ended\n", sig);
    std::_Exit(128 + sig);
  }).detach();
}

void StartCheckDeadline(double seconds) {
  StartHardDeadline(seconds, "nodehealth: run exceeded --timeout + 4 s; exiting\n", 1);
}

// Slurm kills a HealthCheckProgram after 60 s; ending first keeps the log line ours.
constexpr double kSlurmHealthcheckSeconds = 55;
constexpr std::string_view kSlurmHealthcheckLink = "nodehealth-slurm-healthcheck";

void AddCommonOptions(CLI::App* command, nodehealth::CheckOptions& o) {
  command->add_option("--profile", o.profile, "Profile FILE, shipped NAME, auto or none")
      ->type_name("FILE|NAME|auto");
  command
      ->add_option("--config", o.config, "Settings file (default /etc/nodehealth/nodehealth.toml)")
      ->type_name("FILE");
  command->add_option("--sysroot", o.sysroot, "Read /sys, /proc and /dev below DIR")
      ->type_name("DIR");
  command
      ->add_option("--nvml-library", o.nvml_library,
                   "NVML shared library to dlopen (default libnvidia-ml.so.1)")
      ->type_name("PATH");
  command
      ->add_option("--cuda-library", o.cuda_library,
                   "CUDA driver library for the GPU burn-in probes (default libcuda.so.1)")
      ->type_name("PATH");
  command
      ->add_option("--nccl-library", o.nccl_library,
                   "NCCL library for the nccl_allreduce probe (default libnccl.so.2)")
      ->type_name("PATH");
  command->add_option("--topology-xml", o.topology_xml, "hwloc XML instead of discovery")
      ->type_name("FILE");
  command->add_option("--only", o.only, "Run only these probes")
      ->delimiter(',')
      ->type_name("P1,P2");
  command->add_option("--skip", o.skip, "Skip these probes")->delimiter(',')->type_name("P1,P2");
  command->add_option("--timeout", o.timeout_seconds, "Deadline for the whole run, seconds")
      ->check(CLI::Range(0.1, 86400.0));
  command->add_option("--format", o.format, "table (default on a terminal) or json")
      ->check(CLI::IsMember({"table", "json"}));
  command->add_option("--output", o.output, "Also write the JSON report to FILE (atomically)")
      ->type_name("FILE");
}

// What a one-shot check reads (docs/contract.md's common options a run needs), for the commands
// that run one on the side: provider-report, bundle, repair.
void AddCheckInputOptions(CLI::App* command, nodehealth::CheckOptions& o) {
  command->add_option("--profile", o.profile, "Profile FILE, shipped NAME, auto or none")
      ->type_name("FILE|NAME|auto");
  command->add_option("--config", o.config, "Settings file")->type_name("FILE");
  command->add_option("--sysroot", o.sysroot, "Read /sys, /proc and /dev below DIR")
      ->type_name("DIR");
  command->add_option("--nvml-library", o.nvml_library, "NVML shared library to dlopen")
      ->type_name("PATH");
  command->add_option("--topology-xml", o.topology_xml, "hwloc XML instead of discovery")
      ->type_name("FILE");
}

// The agent's state directory, for the commands that read or write beside the agent.
void AddStateDirOption(CLI::App* command, std::optional<std::string>& state_dir) {
  command
      ->add_option("--state-dir", state_dir,
                   "The agent's state directory (default $STATE_DIRECTORY or /var/lib/nodehealth)")
      ->type_name("DIR");
}

// `provider-report`: the check's inputs and its own.
void AddProviderReportOptions(CLI::App* command, nodehealth::provider::ProviderReportOptions& o) {
  AddCheckInputOptions(command, o.check);
  command->add_option("--timeout", o.check.timeout_seconds, "Deadline for the check, seconds")
      ->check(CLI::Range(0.1, 3600.0));
  AddStateDirOption(command, o.state_dir);
  command->add_flag("--dry-run", o.dry_run, "Print the requests; send nothing");
  command->add_flag("--status", o.status, "Ask the cloud about the reports sent; print them");
  command->add_flag("--no-check", o.no_check, "Only the agent's sticky faults, no fresh check");
  command->add_option("--code", o.code, "Report this finding code (an operator's decision)");
  command->add_option("--entity", o.entity, "... on this entity only (with --code)")
      ->type_name("ENTITY");
  command->get_option("--status")->excludes(command->get_option("--dry-run"));
}

// `bundle`: the check's inputs (docs/contract.md's common options that a check reads) and its own.
void AddBundleOptions(CLI::App* command, nodehealth::bundle::BundleOptions& o) {
  AddCheckInputOptions(command, o.check);
  command
      ->add_option("--output", o.output,
                   "Archive path (default ./nodehealth-bundle-<node>-<UTC time>.tar.gz)")
      ->type_name("FILE");
  AddStateDirOption(command, o.state_dir);
  command->add_flag("--redact", o.redact,
                    "Replace host names, IP and MAC addresses and process names with placeholders");
  command->add_option("--timeout", o.timeout_seconds, "Deadline for the whole bundle, seconds")
      ->check(CLI::Range(5.0, 86400.0));
  command->add_option("--tool-timeout", o.tool_timeout_seconds, "Deadline per tool, seconds")
      ->check(CLI::Range(0.1, 3600.0));
  command
      ->add_option("--bug-report-timeout", o.bug_report_timeout_seconds,
                   "Deadline for nvidia-bug-report.sh, seconds")
      ->check(CLI::Range(0.1, 3600.0));
  command->add_option("--max-bytes", o.max_bytes, "Size bound of the archive, bytes")
      ->check(CLI::Range(std::uint64_t{4096}, std::uint64_t{1} << 40));
  command->add_option("--azure-imds-endpoint", o.azure_imds_endpoint, "Azure IMDS compute URL")
      ->type_name("URL");
  command
      ->add_option("--gcp-metadata-endpoint", o.gcp_metadata_endpoint,
                   "Google metadata server base URL (.../computeMetadata/v1/)")
      ->type_name("URL");
  command->add_flag("--no-cloud-metadata", o.no_cloud_metadata, "Ask no metadata service");
}

// `repair`: what the verifying probes need from the common options, the agent's state directory
// and the fault filters.
void AddRepairOptions(CLI::App* command, nodehealth::RepairOptions& o) {
  AddCheckInputOptions(command, o.check);
  command->add_option("--timeout", o.check.timeout_seconds, "Deadline for the probes, seconds")
      ->check(CLI::Range(0.1, 86400.0));
  AddStateDirOption(command, o.state_dir);
  command->add_option("--probe", o.probe, "Only the sticky faults this probe reported");
  command->add_option("--code", o.code, "Only the sticky faults of this finding code");
  command->add_option("--entity", o.entity, "Only the sticky faults on this entity")
      ->type_name("gpu/BUSID|hca/DEV/PORT|node");
  command->add_flag("--dry-run", o.dry_run, "Verify and report; write no repair record");
}

// The end of a command's --help: examples (command line, then what it does) and exit status.
struct HelpExample {
  std::string_view command;
  std::string_view what;
};

void SetHelpFooter(CLI::App* command, std::initializer_list<HelpExample> examples,
                   std::string_view exit_status) {
  std::string footer = "Examples:\n";
  for (const HelpExample& e : examples) {
    footer += "  " + std::string(e.command) + "\n      " + std::string(e.what) + "\n";
  }
  footer += "\nExit status:\n" + std::string(exit_status);
  command->footer(footer);
}

constexpr std::string_view kRunExitStatus =
    "  0    no drain recommended (the verdict is pass or warn)\n"
    "  1    drain recommended, or the run outlived --timeout by more than 4 s\n"
    "  2    could not evaluate: bad usage, an unusable config, profile or --sysroot, or the\n"
    "       --output or --textfile file could not be written\n"
    "  128+N  stopped by signal N (child processes are ended first)\n";

// The first argument that is neither an option nor --log-level's value: the command's name.
std::optional<std::string> CommandWord(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--log-level") {
      ++i;
    } else if (!args[i].starts_with("-")) {
      return args[i];
    }
  }
  return std::nullopt;
}

bool AsksForHelpOrVersion(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "-h" || a == "--help" || a == "--version";
  });
}

// CLI11 says "A subcommand is required" for a mistyped command: name it and list the real ones.
std::optional<std::string> CommandError(CLI::App& app, const std::vector<std::string>& args) {
  std::string commands;
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    commands += (commands.empty() ? "" : ", ") + command->get_name();
  }
  const std::optional<std::string> word = CommandWord(args);
  if (word && app.get_subcommands([&](CLI::App* c) { return c->get_name() == *word; }).empty()) {
    return "unknown command '" + *word + "'; commands: " + commands;
  }
  if (!word && !AsksForHelpOrVersion(args)) return "a command is required; commands: " + commands;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nodehealth: is this GPU node fit to run jobs? (man nodehealth, docs/)",
               "nodehealth"};
  app.set_version_flag("--version", NODEHEALTH_VERSION);
  app.require_subcommand(1);
  // Options a command does not know go up to nodehealth's own: `nodehealth check --log-level
  // debug` works as `nodehealth --log-level debug check` does. Inherited by every command.
  app.fallthrough();
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  nodehealth::CheckOptions check_options;
  CLI::App* check = app.add_subcommand("check", "Run the passive probes once and report");
  AddCommonOptions(check, check_options);
  check->get_option("--only")->excludes(check->get_option("--skip"));

  nodehealth::CheckOptions burnin_options;
  burnin_options.mode = "burnin";
  burnin_options.timeout_seconds = 900;
  CLI::App* burnin = app.add_subcommand(
      "burnin", "Run the passive probes, then the active ones (RDMA loopback, ...), and report");
  AddCommonOptions(burnin, burnin_options);
  burnin
      ->add_option("--textfile", burnin_options.textfile_dir,
                   "Also write nodehealth_burnin_report.prom into DIR (node_exporter textfile)")
      ->type_name("DIR");
  burnin->get_option("--only")->excludes(burnin->get_option("--skip"));

  nodehealth::agent::AgentOptions agent_options;
  CLI::App* agent = app.add_subcommand(
      "agent", "Run as the node's daemon: probes on a schedule, kernel-log watch, /metrics");
  AddCommonOptions(agent, agent_options.common);
  agent->get_option("--only")->excludes(agent->get_option("--skip"));
  agent->get_option("--timeout")->description("Cap on each passive probe's deadline, seconds");
  // Common options (docs/contract.md), so accepted; a daemon has no single report to print or
  // write.
  agent->get_option("--format")
      ->description(
          "Accepted, unused: the agent logs to stderr and serves its JSON report at /report");
  agent->get_option("--output")
      ->description(
          "Accepted, unused: the latest report is at /report, the decision in "
          "<state-dir>/status.json");
  agent->add_option("--listen", agent_options.listen, "HTTP address (default 0.0.0.0:9840)")
      ->type_name("ADDR:PORT");
  agent
      ->add_option("--web-config", agent_options.web_config,
                   "TLS and basic authentication for the endpoint (exporter-toolkit format)")
      ->type_name("FILE");
  agent
      ->add_option("--interval", agent_options.interval_seconds,
                   "Seconds between passive rounds (default 60, +-10% jitter)")
      ->check(CLI::Range(1.0, 86400.0));
  agent
      ->add_option("--state-dir", agent_options.state_dir,
                   "Policy state and status file (default $STATE_DIRECTORY or /var/lib/nodehealth)")
      ->type_name("DIR");

  nodehealth::TopologyOptions topology_options;
  CLI::App* topology =
      app.add_subcommand("topology", "Print the GPU/HCA/NUMA matrix (nvidia-smi topo -m terms)");
  topology->add_option("--sysroot", topology_options.sysroot, "Discover below DIR (hwloc fsroot)")
      ->type_name("DIR");
  topology->add_option("--topology-xml", topology_options.topology_xml, "hwloc XML instead")
      ->type_name("FILE");
  topology->add_option("--format", topology_options.format, "table or json (the fingerprint)")
      ->check(CLI::IsMember({"table", "json"}));
  CLI::App* topology_save =
      topology->add_subcommand("save", "Write the topology fingerprint to FILE as the baseline");
  topology_save->add_option("FILE", topology_options.save_path, "Baseline file")->required();

  nodehealth::slurm::SlurmHealthcheckOptions slurm_options;
  CLI::App* slurm = app.add_subcommand(
      "slurm-healthcheck",
      "Slurm's HealthCheckProgram: drain or resume this node from the agent's decision");
  slurm->add_option("--config", slurm_options.check.config, "Settings file ([slurm] section)")
      ->type_name("FILE");
  slurm->add_option("--node", slurm_options.node, "Slurm node name (default $SLURMD_NODENAME)");
  slurm->add_option("--state-dir", slurm_options.state_dir, "Where slurm-healthcheck.json goes")
      ->type_name("DIR");
  slurm->add_flag("--dry-run", slurm_options.dry_run, "Decide and report; change nothing");
  slurm->add_flag("--idle-check", slurm_options.idle_check,
                  "Exit 0 when Slurm has no job on this node, 1 when busy; change nothing");
  slurm->add_option("--profile", slurm_options.check.profile, "Fallback check: profile")
      ->type_name("FILE|NAME|auto");
  slurm->add_option("--sysroot", slurm_options.check.sysroot, "Fallback check: root directory")
      ->type_name("DIR");
  slurm->add_option("--nvml-library", slurm_options.check.nvml_library, "Fallback check: NVML")
      ->type_name("PATH");
  slurm->add_option("--topology-xml", slurm_options.check.topology_xml, "Fallback check: hwloc XML")
      ->type_name("FILE");

  nodehealth::slurm::SlurmDrainOptions drain_options;
  CLI::App* slurm_drain = app.add_subcommand(
      "slurm-drain",
      "Drain the nodes a test across nodes found at fault (pairwise.sh's suspects) in Slurm");
  slurm_drain
      ->add_option("--code", drain_options.code,
                   "Finding code of the drain reason (default mpi_allreduce_bandwidth_low)")
      ->type_name("CODE");
  slurm_drain->add_option("--config", drain_options.config, "Settings file ([slurm] section)")
      ->type_name("FILE");
  slurm_drain->add_flag("--dry-run", drain_options.dry_run, "Decide and report; change nothing");
  slurm_drain->add_option("NODE", drain_options.nodes, "Slurm node names, one per argument")
      ->required();

  nodehealth::RepairOptions repair_options;
  CLI::App* repair = app.add_subcommand(
      "repair", "After a GPU reset or part swap: re-verify sticky faults, clear those that pass");
  AddRepairOptions(repair, repair_options);

  nodehealth::provider::ProviderReportOptions provider_options;
  CLI::App* provider = app.add_subcommand(
      "provider-report",
      "Report this node's hard hardware faults to its cloud (Azure Guest Health Reporting, "
      "Google Cloud reportHostAsFaulty)");
  AddProviderReportOptions(provider, provider_options);

  std::string probes_format;
  CLI::App* probes = app.add_subcommand("probes", "List the probes and the finding codes");
  probes->add_option("--format", probes_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));

  nodehealth::bundle::BundleOptions bundle_options;
  bundle_options.version = NODEHEALTH_VERSION;
  CLI::App* bundle = app.add_subcommand(
      "bundle", "Write a .tar.gz of evidence (report, logs, tool outputs) for a support request");
  AddBundleOptions(bundle, bundle_options);

  app.footer(
      "Run 'nodehealth COMMAND --help' for a command's options, examples and exit status.\n"
      "\n"
      "Exit status (check, burnin, slurm-healthcheck):\n"
      "  0    the node is fit: no drain recommended\n"
      "  1    drain recommended\n"
      "  2    could not evaluate (bad usage, unusable config or profile)\n");
  SetHelpFooter(
      check,
      {{"nodehealth check", "Run the passive probes; a table on a terminal, JSON otherwise."},
       {"nodehealth check --format json --output /run/nodehealth/report.json",
        "Print the JSON report and also write it to a file."},
       {"nodehealth check --only gpu_presence,gpu_health --timeout 30",
        "Run two probes with a 30 s deadline."}},
      kRunExitStatus);
  SetHelpFooter(
      burnin,
      {{"nodehealth burnin", "Passive probes, then the active ones (up to 900 s by default)."},
       {"nodehealth burnin --skip mpi_allreduce --textfile /var/lib/node_exporter/textfile",
        "Skip one probe and leave the result for node_exporter's textfile collector."}},
      kRunExitStatus);
  SetHelpFooter(agent,
                {{"nodehealth agent", "Run the daemon with /etc/nodehealth/nodehealth.toml."},
                 {"nodehealth agent --listen 127.0.0.1:9840 --interval 30",
                  "Serve /metrics on loopback only and run a passive round every 30 s."},
                 {"systemctl kill -s SIGUSR1 nodehealth",
                  "Ask the running agent for a round of the active probes."}},
                "  0    stopped by SIGTERM or SIGINT\n"
                "  2    could not start: invalid config or profile, a malformed --listen, or a\n"
                "       state directory that cannot be created or is held by another agent\n");
  SetHelpFooter(topology,
                {{"nodehealth topology", "Print the GPU/HCA/NUMA matrix of this node."},
                 {"nodehealth topology --format json", "Print the topology fingerprint."},
                 {"nodehealth topology save /etc/nodehealth/topology.json",
                  "Keep this node's topology as the baseline the topology probe compares with."}},
                "  0    printed (or saved)\n"
                "  2    the topology could not be discovered or the file could not be written\n");
  SetHelpFooter(topology_save,
                {{"nodehealth topology save /etc/nodehealth/topology.json",
                  "Write the fingerprint; point topology_baseline in nodehealth.toml at it."}},
                "  0    saved\n"
                "  2    the topology could not be discovered or the file could not be written\n");
  SetHelpFooter(slurm,
                {{"nodehealth slurm-healthcheck --dry-run",
                  "Say what would be done to this node in Slurm; change nothing."},
                 {"HealthCheckProgram=/usr/bin/nodehealth-slurm-healthcheck",
                  "slurm.conf: run it as Slurm's node health check (the link takes no options)."},
                 {"nodehealth slurm-healthcheck --idle-check",
                  "Exit 0 when no job runs on this node (for ExecCondition=)."}},
                "  0    the node is fit (nothing to do, or resumed); with --idle-check: idle\n"
                "  1    a drain is recommended (drained, already drained, or suppressed);\n"
                "       with --idle-check: a job runs on the node\n"
                "  2    could not evaluate: bad config, no scontrol, Slurm not answering, no\n"
                "       agent and no fallback check\n");
  SetHelpFooter(slurm_drain,
                {{"nodehealth slurm-drain --dry-run node17 node42",
                  "Say what would be done to the suspects pairwise.sh printed; change nothing."},
                 {"nodehealth slurm-drain node17 node42",
                  "Drain them with the reason \"nodehealth: mpi_allreduce_bandwidth_low fleet\".\n"
                  "      scontrol update needs root or a Slurm operator (munge authenticates the\n"
                  "      caller): an ordinary user or job cannot drain nodes with it."},
                 {"nodehealth slurm-drain --code ib_link_flapping node17",
                  "Drain with another code of the finding catalogue (nodehealth probes)."}},
                "  0    every node is drained by nodehealth for this reason (now, before, or\n"
                "       would be with --dry-run)\n"
                "  1    some node is not: drain suppressed by the blast-radius limit, a reason\n"
                "       nodehealth did not set, drained by nodehealth for another reason, or a\n"
                "       state nodehealth does not act on\n"
                "  2    bad usage (an unknown code), bad config, no scontrol, or some node could\n"
                "       not be evaluated or drained (unknown node, Slurm not answering, not a\n"
                "       Slurm operator)\n");
  SetHelpFooter(
      repair,
      {{"nodehealth repair --dry-run", "Re-run the probes for every sticky fault; clear nothing."},
       {"nodehealth repair --entity gpu/0000:19:00.0",
        "After a GPU reset: clear that GPU's sticky faults if its probes pass."}},
      "  0    every selected fault repaired, or nothing to repair\n"
      "  1    a fault still fails its probes (it stays)\n"
      "  2    bad usage, an unreadable state directory, not root, or the repair record\n"
      "       could not be written\n");
  SetHelpFooter(provider,
                {{"nodehealth provider-report --dry-run",
                  "Print the requests that would report this node's hard faults; send nothing."},
                 {"nodehealth provider-report --status", "Print the reports sent and their state."},
                 {"nodehealth provider-report --code gpu_lost --entity gpu/0000:9b:00.0",
                  "Report one fault an operator decided on."}},
                "  0    every fault reported (now or before), or nothing to report\n"
                "  1    a report was refused or is still pending\n"
                "  2    bad usage, no cloud configured, an unreadable config, or the instance\n"
                "       could not be identified\n");
  SetHelpFooter(probes,
                {{"nodehealth probes", "List the probes, what they read and their finding codes."},
                 {"nodehealth probes --format json",
                  "The same with every finding code's severity, action, meaning and remedy."}},
                "  0    listed\n"
                "  2    bad usage\n");
  SetHelpFooter(bundle,
                {{"nodehealth bundle", "Write ./nodehealth-bundle-<node>-<UTC time>.tar.gz."},
                 {"nodehealth bundle --redact --output /tmp/support.tar.gz",
                  "Hide host names, addresses and process names; choose the file name."}},
                "  0    written (whatever single collectors failed)\n"
                "  2    bad usage, or the archive could not be written\n");

  try {
    // slurm.conf's HealthCheckProgram is a path without arguments: installed as the link
    // nodehealth-slurm-healthcheck, the binary runs that subcommand.
    std::vector<std::string> args(argv + 1, argv + argc);
    const std::string_view invoked = argv[0];
    if (invoked.substr(invoked.rfind('/') + 1) == kSlurmHealthcheckLink) {
      args.insert(args.begin(), "slurm-healthcheck");
    }
    if (std::optional<std::string> error = CommandError(app, args)) {
      std::cerr << "nodehealth: " << *error << "\nRun with --help for more information.\n";
      return 2;
    }
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last-first
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // docs/contract.md: bad usage is "could not evaluate"
  }

  auto logger = spdlog::stderr_color_mt("nodehealth");
  // Under systemd with stderr going to the journal, lines carry their syslog priority ("<4>").
  nodehealth::ConfigureLogFormat(
      *logger, nodehealth::StreamIsJournal(std::getenv("JOURNAL_STREAM"), STDERR_FILENO));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  // A missing or mistyped --sysroot is bad usage (2), not a node without GPUs or HCAs (1).
  const std::string* sysroot = check->parsed()      ? &check_options.sysroot
                               : burnin->parsed()   ? &burnin_options.sysroot
                               : agent->parsed()    ? &agent_options.common.sysroot
                               : topology->parsed() ? &topology_options.sysroot
                               : slurm->parsed()    ? &slurm_options.check.sysroot
                               : repair->parsed()   ? &repair_options.check.sysroot
                               : bundle->parsed()   ? &bundle_options.check.sysroot
                               : provider->parsed() ? &provider_options.check.sysroot
                                                    : nullptr;
  if (sysroot) {
    if (nodehealth::Expected<bool> usable = nodehealth::CheckSysroot(*sysroot); !usable) {
      std::cerr << "nodehealth: " << usable.error().message << "\n";
      return 2;
    }
  }

  if (probes->parsed()) return nodehealth::RunProbesCommand(probes_format, std::cout);
  if (agent->parsed()) {
    spdlog::set_level(spdlog::level::from_str(app.count("--log-level") ? log_level : "info"));
    if (agent->count("--format") || agent->count("--output")) {
      spdlog::warn("--format and --output are unused by the agent: its report is at /report");
    }
    return nodehealth::agent::RunAgent(agent_options, std::cerr);
  }
  if (slurm->parsed()) {
    // Slurm discards a health check's output: syslog (the journal) is where operators look; the
    // one-line summary still goes to stdout for people running it by hand.
    logger->sinks() = {std::make_shared<spdlog::sinks::syslog_sink_mt>(
        "nodehealth-slurm", LOG_PID, LOG_DAEMON, /*enable_formatting=*/false)};
    spdlog::set_level(spdlog::level::from_str(app.count("--log-level") ? log_level : "info"));
    StartHardDeadline(kSlurmHealthcheckSeconds,
                      "nodehealth slurm-healthcheck: still running after 55 s; exiting\n", 2);
    nodehealth::PrepareProbesForProcess(slurm_options.check.sysroot);
    const nodehealth::slurm::SlurmHealthcheckResult result =
        nodehealth::slurm::RunSlurmHealthcheck(slurm_options, std::cout);
    std::cout.flush();
    std::cerr.flush();
    if (result.must_exit_immediately) std::_Exit(result.exit_code);
    return result.exit_code;
  }
  if (slurm_drain->parsed()) {
    // As slurm-healthcheck: every decision goes to syslog (ident nodehealth-slurm), the audit
    // trail of who drained what; the lines themselves go to stdout.
    logger->sinks() = {std::make_shared<spdlog::sinks::syslog_sink_mt>(
        "nodehealth-slurm", LOG_PID, LOG_DAEMON, /*enable_formatting=*/false)};
    spdlog::set_level(spdlog::level::from_str(app.count("--log-level") ? log_level : "info"));
    return nodehealth::slurm::RunSlurmDrain(drain_options, std::cout, std::cerr);
  }
  if (repair->parsed()) {
    EndChildrenOnTerminationSignals();
    nodehealth::PrepareProbesForProcess(repair_options.check.sysroot);
    repair_options.check.arm_hard_deadline = StartCheckDeadline;
    const nodehealth::CheckResult result =
        nodehealth::RunRepair(repair_options, std::cout, std::cerr);
    while (g_terminating) ::pause();
    if (result.must_exit_immediately) {
      std::cout.flush();
      std::cerr.flush();
      std::_Exit(result.exit_code);
    }
    return result.exit_code;
  }
  if (provider->parsed()) {
    EndChildrenOnTerminationSignals();
    nodehealth::PrepareProbesForProcess(provider_options.check.sysroot);
    provider_options.check.arm_hard_deadline = StartCheckDeadline;
    const nodehealth::provider::ProviderReportResult result =
        nodehealth::provider::RunProviderReport(provider_options, std::cout, std::cerr);
    while (g_terminating) ::pause();
    if (result.must_exit_immediately) {
      std::cout.flush();
      std::cerr.flush();
      std::_Exit(result.exit_code);
    }
    return result.exit_code;
  }
  if (topology->parsed()) {
    nodehealth::PrepareProbesForProcess(topology_options.sysroot);
    return nodehealth::RunTopologyCommand(topology_options, std::cout, std::cerr);
  }

  if (bundle->parsed()) {
    EndChildrenOnTerminationSignals();
    nodehealth::PrepareProbesForProcess(bundle_options.check.sysroot);
    // Collectors and the check keep their own deadlines; this ends a library call that ignored
    // them (its temporary file is then left for the next run to remove).
    StartHardDeadline(bundle_options.timeout_seconds + 10,
                      "nodehealth bundle: still running 10 s past --timeout; exiting\n", 2);
    const nodehealth::bundle::BundleResult result =
        nodehealth::bundle::RunBundle(bundle_options, std::cout, std::cerr);
    while (g_terminating) ::pause();
    if (result.must_exit_immediately) {
      std::cout.flush();
      std::cerr.flush();
      std::_Exit(result.exit_code);
    }
    return result.exit_code;
  }

  EndChildrenOnTerminationSignals();
  const nodehealth::CheckOptions& options = burnin->parsed() ? burnin_options : check_options;
  // hwloc reads HWLOC_FSROOT while discovering: set it now, before any probe thread exists.
  nodehealth::PrepareProbesForProcess(options.sysroot);
  nodehealth::CheckOptions run_options = options;
  run_options.timeout_given = burnin->parsed() ? burnin->count("--timeout") > 0 : true;
  run_options.arm_hard_deadline = StartCheckDeadline;
  const nodehealth::CheckResult result = nodehealth::RunCheck(run_options, std::cout, std::cerr);
  // Ended by a signal: its thread exits with 128 + signal once the children are gone (the run
  // may have finished first because they were killed; its status would say the probe failed).
  while (g_terminating) ::pause();
  if (result.must_exit_immediately) {
    // A probe thread or NVML call is still running and holds references into RunCheck's frame:
    // skip static destructors and atexit handlers.
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(result.exit_code);
  }
  return result.exit_code;
}
