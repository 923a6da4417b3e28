#include "agent/daemon/agent.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include "agent/daemon/agent_snapshot.h"
#include "agent/daemon/http_endpoint.h"
#include "agent/daemon/kernel_log_watch.h"
#include "agent/daemon/nvml_xid_events.h"
#include "agent/daemon/sd_notify.h"
#include "agent/engine/probe_runner.h"
#include "agent/engine/report_assembly.h"
#include "agent/policy/policy_state.h"
#include "agent/policy/report_support.h"
#include "agent/policy/status_file.h"
#include "exporters/atomic_file.h"
#include "probes/all_probes.h"
#include "probes/finding_catalog.h"
#include "probes/platform/child_process.h"
#include "probes/platform/sysfs_values.h"
#include "probes/platform/trusted_file.h"

namespace nodehealth::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

// At most one write of the state files per this long for kernel-log events alone (an XID storm):
// a crash loses at most this much XID history, and only events the ring buffer no longer holds
// (the rest is read again at start).
constexpr std::chrono::seconds kStateWriteInterval{10};
// How long children (mpirun) get between SIGTERM and SIGKILL when the agent stops: the agent ends
// within about this plus a second (TimeoutStopSec in nodehealth.service leaves room for it).
constexpr std::chrono::seconds kChildStopGrace{3};
// How often an address that could not be bound (taken by another process) is tried again.
constexpr std::chrono::seconds kListenRetry{10};

// The signals the agent takes with sigwait, blocked in every thread it starts.
sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  return set;
}

std::string DescribeDecision(const DrainDecision& decision) {
  if (!decision.recommended) return "no drain";
  std::string text = "drain (" + std::string(ToString(decision.action)) + "):";
  for (const DrainReason& r : decision.reasons) text += " " + r.code + " " + r.entity + ";";
  return text;
}

class Agent {
 public:
  Agent(const AgentOptions& options, ResolvedSettings settings, std::string node,
        std::string boot_id, PolicyState state)
      : options_(options),
        settings_(std::move(settings)),
        fs_(options.common.sysroot),
        node_(std::move(node)),
        boot_id_(std::move(boot_id)),
        policy_state_(std::move(state)),
        nvml_(std::make_shared<platform::NvmlRuntime>(settings_.nvml_library)),
        watch_(fs_, boot_id_, [this](std::vector<XidEventRecord> xids) {
          Reevaluate(std::move(xids), /*round_ended=*/false);
        }) {
    counters_.start_time = UnixNow();
    counters_.config_reload_time = counters_.start_time;
    last_run_id_ = HighestRunId(policy_state_);
    SetScheduled();
  }

  int Run(std::ostream& err);

 private:
  // Binds the endpoint (http_); an Error when the address cannot be bound now.
  Expected<bool> Listen(std::ostream& err);
  void ListenRetryLoop(std::ostream& err);
  void SetScheduled();
  void SignalLoop();
  void NvmlEventLoop();
  void WatchdogLoop(std::chrono::microseconds period);
  void Reload();
  void RunRound(const std::vector<ScheduledProbe>& probes);
  void Reevaluate(std::vector<XidEventRecord> new_xids, bool round_ended);
  ProbeResult XidResult(const KernelLogView& view, const NodeInventory& inventory);
  std::vector<ProbeSnapshot> LatestInCatalogueOrder() const;
  void SaveState(bool urgent);
  void WriteStateFiles(bool stopping);
  void FlushStateIfDue();
  void ExpectProgressWithin(std::chrono::steady_clock::duration d) {
    progress_deadline_.store((SteadyClock::now() + d).time_since_epoch().count());
  }
  bool Healthy() const {
    return SteadyClock::now().time_since_epoch().count() < progress_deadline_.load();
  }
  std::chrono::milliseconds LongestTimeout(const std::vector<ScheduledProbe>& probes) const {
    std::chrono::milliseconds longest{0};
    for (const ScheduledProbe& p : probes) longest = std::max(longest, p.timeout);
    return longest;
  }

  const AgentOptions& options_;
  // Written by the scheduler thread under results_mutex_; read there freely, elsewhere under it.
  ResolvedSettings settings_;
  platform::RootedFileSystem fs_;
  const std::string node_;
  const std::string boot_id_;

  std::mutex results_mutex_;  // guards everything below up to the next blank line
  PolicyState policy_state_;
  std::map<std::string, ProbeSnapshot> latest_;
  uint64_t last_run_id_ = 0;  // run ids only grow, across restarts too (drain_policy.h)
  uint64_t xid_batches_seen_ = UINT64_MAX;
  AgentCounters counters_;
  std::shared_ptr<const NodeInventory> inventory_;
  DrainPolicyConfig drain_;
  std::shared_ptr<const Profile> profile_;
  std::string kernel_log_probe_;  // the name of settings_.kernel_log_probe; empty: none
  double round_started_ = 0;
  double round_seconds_ = 0;
  // state.json and status.json: written at once when the decision changes, a round ends or the
  // agent stops; kernel-log events between rounds (an XID storm that jobs can cause at will) mark
  // them dirty and are written at most once per kStateWriteInterval (README "Reliability").
  bool state_dirty_ = false;
  SteadyClock::time_point last_state_write_{};

  std::shared_ptr<platform::NvmlRuntime> nvml_;
  ProbeRunner runner_;
  // Probe::NewRoundMemory of each scheduled probe that has one, by probe name; scheduler thread.
  std::map<std::string, std::unique_ptr<RoundMemory>> round_memories_;
  SnapshotStore store_;
  KernelLogWatch watch_;
  std::atomic<int64_t> progress_deadline_{0};

  NvmlXidEvents nvml_events_{nvml_};  // NvmlEventLoop's thread only

  std::mutex wake_mutex_;  // guards the requests below and wakes the scheduler
  std::condition_variable wake_cv_;
  bool stop_ = false;
  bool reload_ = false;
  bool run_active_ = false;
  std::optional<SteadyClock::time_point> flush_state_at_;  // a dirty state waits for this

  // The endpoint, bound at start or later by ListenRetryLoop; SIGHUP hands it a reloaded web
  // config.
  std::mutex http_mutex_;  // guards http_
  std::unique_ptr<HttpEndpoint> http_;
};

void Agent::SetScheduled() {
  std::lock_guard lock(results_mutex_);
  counters_.scheduled_probes.clear();
  for (const auto* list : {&settings_.plan.passive, &settings_.plan.active}) {
    for (const ScheduledProbe& p : *list) {
      counters_.scheduled_probes.emplace_back(p.probe->info().name);
    }
  }
  drain_ = settings_.drain;
  profile_ = settings_.plan.profile;
  counters_.round_interval_seconds = settings_.interval_seconds;
  // A reload keeps the memories of probes still scheduled (their histories go on).
  std::map<std::string, std::unique_ptr<RoundMemory>> memories;
  for (const auto* list : {&settings_.plan.passive, &settings_.plan.active}) {
    for (const ScheduledProbe& p : *list) {
      const std::string name(p.probe->info().name);
      if (auto it = round_memories_.find(name); it != round_memories_.end()) {
        memories[name] = std::move(it->second);
      } else if (std::unique_ptr<RoundMemory> fresh = p.probe->NewRoundMemory()) {
        memories[name] = std::move(fresh);
      }
    }
  }
  round_memories_ = std::move(memories);
  kernel_log_probe_ = settings_.plan.kernel_log_probe
                          ? std::string(settings_.plan.kernel_log_probe->info().name)
                          : "";
  // Results of probes no longer scheduled would linger in /metrics forever: drop them.
  for (auto it = latest_.begin(); it != latest_.end();) {
    const bool kept =
        (!kernel_log_probe_.empty() && it->first == kernel_log_probe_) ||
        std::find(counters_.scheduled_probes.begin(), counters_.scheduled_probes.end(),
                  it->first) != counters_.scheduled_probes.end();
    it = kept ? std::next(it) : latest_.erase(it);
  }
}

void Agent::SignalLoop() {
  const sigset_t set = HandledSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    {
      std::lock_guard lock(wake_mutex_);
      if (sig == SIGHUP) {
        reload_ = true;
      } else if (sig == SIGUSR1) {
        run_active_ = true;
      } else {
        stop_ = true;
      }
      wake_cv_.notify_all();
    }
    if (sig != SIGTERM && sig != SIGINT) continue;
    // Stopping must not wait for a round: an active one may have minutes left (MPI, RDMA). The
    // scheduler stops waiting for it, and what it started (mpirun and its ranks) ends with its
    // process group, before the state is written and the process exits.
    runner_.Cancel();
    if (const int left = platform::TerminateAllChildren(kChildStopGrace); left > 0) {
      spdlog::error("{} child process group(s) still running after SIGKILL", left);
    }
    return;
  }
}

void Agent::NvmlEventLoop() {
  // XIDs the driver delivers as NVML events. The kernel log is the main source (it has every XID
  // and the text); these count on their own, and feed the policy only while the log cannot be
  // read, so one XID never counts twice.
  using std::chrono::seconds;
  SteadyClock::time_point next_register = SteadyClock::now();
  while (true) {
    {
      std::unique_lock lock(wake_mutex_);
      if (wake_cv_.wait_for(lock, seconds(1), [this] { return stop_; })) return;
    }
    if (!nvml_events_.registered()) {
      if (SteadyClock::now() < next_register) continue;
      const bool ok = nvml_events_.Register(platform::Deadline::In(seconds(10)));
      spdlog::info("NVML XID events: {}", nvml_events_.status());
      next_register = SteadyClock::now() + seconds(300);
      std::lock_guard lock(results_mutex_);
      counters_.nvml_events_registered = ok;
      if (!ok) continue;
    }
    std::vector<NvmlXidEvent> events = nvml_events_.Poll(platform::Deadline::In(seconds(2)));
    if (events.empty()) continue;
    const bool log_followed = watch_.View().following;
    std::vector<XidEventRecord> records;
    {
      std::lock_guard lock(results_mutex_);
      for (const NvmlXidEvent& e : events) ++counters_.nvml_xids[{e.bus_id, e.xid}];
    }
    for (const NvmlXidEvent& e : events) {
      spdlog::warn("NVML XID event: XID {} on {}", e.xid, e.bus_id.empty() ? "?" : e.bus_id);
      if (log_followed) continue;
      watch_.InjectLine("NVRM: Xid (PCI:" + e.bus_id + "): " + std::to_string(e.xid) +
                        ", pid='<unknown>', name=<unknown>, reported by an NVML XID event");
      records.push_back({.boot_id = boot_id_,
                         .sequence = 0,
                         .time = UnixNow(),
                         .bus_id = e.bus_id,
                         .xid = e.xid});
    }
    Reevaluate(std::move(records), /*round_ended=*/false);
  }
}

void Agent::WatchdogLoop(std::chrono::microseconds period) {
  // Pings only while the scheduler keeps its promise of progress: a wedged scheduler stops the
  // pings and systemd restarts the agent.
  while (true) {
    {
      std::unique_lock lock(wake_mutex_);
      if (wake_cv_.wait_for(lock, period / 2, [this] { return stop_; })) return;
    }
    if (Healthy()) SdNotify("WATCHDOG=1");
  }
}

void Agent::Reload() {
  SdNotify("RELOADING=1");
  const NodeInventory inventory = GatherNodeInventory(fs_);
  Expected<ResolvedSettings> fresh =
      ResolveAgentSettings(options_, GatherNodeFacts(fs_, inventory));
  if (!fresh) {
    spdlog::error("reload failed, keeping the running settings: {}", fresh.error().message);
    std::lock_guard lock(results_mutex_);
    counters_.config_reload_ok = false;
  } else {
    if (fresh->listen != settings_.listen || fresh->state_dir != settings_.state_dir ||
        fresh->nvml_library != settings_.nvml_library) {
      spdlog::warn("listen, state_dir and nvml_library take effect at the next restart");
    }
    // Bound at start: the old values stay until a restart (the warning above says so).
    fresh->listen = settings_.listen;
    fresh->state_dir = settings_.state_dir;
    fresh->nvml_library = settings_.nvml_library;
    {
      std::lock_guard lock(results_mutex_);  // Reevaluate reads settings_ on the watch thread
      settings_ = std::move(*fresh);
    }
    {
      std::lock_guard lock(http_mutex_);
      if (http_) http_->SetSecurity(settings_.web_security);  // certificates, users, headers
    }
    SetScheduled();
    std::lock_guard lock(results_mutex_);
    counters_.config_reload_ok = true;
    counters_.config_reload_time = UnixNow();
    spdlog::info("reloaded: profile {}",
                 settings_.plan.profile ? settings_.plan.profile->name : "none");
  }
  Reevaluate({}, /*round_ended=*/false);
  SdNotify("READY=1");
}

void Agent::RunRound(const std::vector<ScheduledProbe>& probes) {
  if (probes.empty()) return;
  auto environment = std::make_shared<RunEnvironment>(options_.common.sysroot, nvml_);
  environment->inventory = GatherNodeInventory(environment->fs);
  environment->profile = settings_.plan.profile;
  environment->topology_xml = options_.common.topology_xml.value_or("");
  environment->topology_baseline = settings_.plan.config.topology_baseline.value_or("");
  environment->mpi_allreduce_ranks = settings_.plan.config.mpi_allreduce_ranks;
  ExpectProgressWithin(LongestTimeout(probes) + nodehealth::kProbeGrace + std::chrono::seconds(30));
  const double started = UnixNow();
  std::vector<ProbeResult> results = runner_.Run(probes, environment).results;
  if (runner_.cancelled()) return;  // stopping: these results were abandoned, not decided
  Expected<slurm::SlurmOutcomeSummary> slurm_outcome =
      slurm::ReadSlurmOutcome(settings_.state_dir + "/" + slurm::kSlurmOutcomeFile);
  for (ProbeResult& result : results) {
    // What only a process that lives on sees (a counter that grew between two rounds).
    if (auto it = round_memories_.find(result.name); it != round_memories_.end()) {
      it->second->AfterRun(settings_.plan.profile.get(), UnixNow(), result);
    }
  }
  ApplyActionOverrides(settings_.plan.config.action_overrides, results);
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::shared_ptr<const NodeInventory>(environment, &environment->inventory);
    for (ProbeResult& result : results) {
      ProbeSnapshot& slot = latest_[result.name];
      slot.result = std::move(result);
      slot.run = ++last_run_id_;
    }
    round_started_ = started;
    round_seconds_ = UnixNow() - started;
    // A probe whose run was abandoned in a hung NVML call returned at its deadline; the call did
    // not: that probe is stuck too, as long as NVML is.
    counters_.stuck_probes = runner_.Stuck();
    if (const std::optional<std::string> caller = nvml_->StuckCaller();
        caller && !caller->empty() &&
        std::find(counters_.stuck_probes.begin(), counters_.stuck_probes.end(), *caller) ==
            counters_.stuck_probes.end()) {
      counters_.stuck_probes.push_back(*caller);
    }
    counters_.slurm_healthcheck.reset();
    if (slurm_outcome) counters_.slurm_healthcheck = *slurm_outcome;
  }
  Reevaluate({}, /*round_ended=*/true);
}

ProbeResult Agent::XidResult(const KernelLogView& view, const NodeInventory& inventory) {
  ProbeResult result;
  result.name = kernel_log_probe_;
  result.finished_at = UnixNow();
  const bool expects_gpus = profile_ && profile_->gpu.count.value_or(0) > 0;
  if (view.tally.entries().empty() && !inventory.HasNvidiaSigns() && !expects_gpus) {
    MarkSkipped(result, "no NVIDIA GPU or driver on this node and the profile expects none");
    return result;
  }
  ReportXids(view.tally, "/dev/kmsg", result);
  if (!view.following) {
    const std::string why = view.error.empty() ? "cannot follow the kernel log" : view.error;
    MarkUndecided(result, codes::kProbeError, "node", why,
                  {{"/dev/kmsg", why, "the kernel's records since boot"}});
    return result;
  }
  if (view.stats.overwritten > 0) {
    result.notes.push_back(std::to_string(view.stats.overwritten) +
                           " kernel log records were overwritten before they were read");
  }
  FinalizeVerdict(result);
  return result;
}

void Agent::Reevaluate(std::vector<XidEventRecord> new_xids, bool round_ended) {
  const KernelLogView view = watch_.View();
  std::lock_guard lock(results_mutex_);
  if (!inventory_) return;  // before the first round: nothing to decide on yet
  const double now = UnixNow();
  if (!kernel_log_probe_.empty()) {
    ProbeSnapshot& xid = latest_[kernel_log_probe_];
    xid.result = XidResult(view, *inventory_);
    ApplyActionOverrides(settings_.plan.config.action_overrides, xid.result);
    if (view.batches != xid_batches_seen_) {  // a new "run": the tally may have changed
      xid_batches_seen_ = view.batches;
      xid.run = ++last_run_id_;
    }
  }

  PolicyInput input;
  input.boot_id = boot_id_;
  input.now = now;
  input.new_xids = std::move(new_xids);
  const bool had_new_xids = !input.new_xids.empty();
  input.probes = LatestInCatalogueOrder();  // the report lists probes in catalogue order
  std::vector<ProbeResult> results;
  for (const ProbeSnapshot& snapshot : input.probes) results.push_back(snapshot.result);
  Report report =
      AssembleReport({.node = node_,
                      .mode = "agent",
                      .plan = settings_.plan,
                      .started_at = std::chrono::system_clock::time_point(
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(round_started_))),
                      .duration_seconds = round_seconds_},
                     std::move(results));
  const PolicyOutput output = EvaluateDrainPolicy(drain_, input, policy_state_);
  policy_state_ = output.state;

  // The verdict as `check` would give it (AssembleReport); the policy's decision replaces drain.
  report.drain = output.decision;
  if (report.drain.recommended) {
    report.verdict = RunVerdict::kFail;
  } else if (report.verdict == RunVerdict::kFail) {
    report.verdict = RunVerdict::kWarn;  // findings held back by the policy (pending)
  }
  report.summary = "nodehealth agent: " + DescribeDecision(report.drain);
  if (round_ended) ++counters_.rounds;

  std::vector<std::string> gpus;
  for (const platform::PciDevice& gpu : inventory_->PciGpus()) gpus.push_back(gpu.bus_id);
  if (output.changed) {
    spdlog::warn("drain decision: {}", DescribeDecision(output.decision));
    SdNotify("STATUS=" + DescribeDecision(output.decision));
  }
  // The status file first: whoever sees the decision on /report finds it there too.
  if (output.changed || round_ended || had_new_xids) SaveState(output.changed || round_ended);
  store_.Publish(BuildAgentSnapshot({.report = report,
                                     .policy = output,
                                     .kernel_log = view,
                                     .gpu_bus_ids = gpus,
                                     .counters = counters_,
                                     .report_process_names = settings_.report_process_names}));
}

std::vector<ProbeSnapshot> Agent::LatestInCatalogueOrder() const {
  std::vector<ProbeSnapshot> out;
  for (const auto& probe : AllProbes()) {
    auto it = latest_.find(std::string(probe->info().name));
    if (it != latest_.end()) out.push_back(it->second);
  }
  return out;
}

void Agent::SaveState(bool urgent) {
  // Caller holds results_mutex_.
  state_dirty_ = true;
  const SteadyClock::time_point due = last_state_write_ + kStateWriteInterval;
  if (urgent || SteadyClock::now() >= due) {
    WriteStateFiles(/*stopping=*/false);
    return;
  }
  std::lock_guard lock(wake_mutex_);  // order: results_mutex_, then wake_mutex_
  if (!flush_state_at_ || due < *flush_state_at_) {
    flush_state_at_ = due;
    wake_cv_.notify_all();
  }
}

void Agent::FlushStateIfDue() {
  {
    std::lock_guard lock(wake_mutex_);
    if (!flush_state_at_ || SteadyClock::now() < *flush_state_at_) return;
    flush_state_at_.reset();
  }
  std::lock_guard lock(results_mutex_);
  if (state_dirty_) WriteStateFiles(/*stopping=*/false);
}

void Agent::WriteStateFiles(bool stopping) {
  // Caller holds results_mutex_.
  const std::string dir = settings_.state_dir;
  state_dirty_ = false;
  last_state_write_ = SteadyClock::now();
  if (Expected<bool> saved = SavePolicyState(dir + "/state.json", policy_state_); !saved) {
    ++counters_.state_write_errors;
    counters_.state_error = saved.error().message;
    spdlog::error("{}", saved.error().message);
  } else {
    counters_.state_error.clear();
  }
  // The status file vouches for the node only while the agent runs: valid for a few rounds (and
  // the longest probe), and no longer from the moment the agent stops.
  std::chrono::milliseconds longest =
      std::max(LongestTimeout(settings_.plan.passive), LongestTimeout(settings_.plan.active));
  const double valid_seconds = stopping ? 0
                                        : 3 * settings_.interval_seconds +
                                              std::chrono::duration<double>(longest).count() + 30;
  const std::string status = RenderStatusFile({.node = node_,
                                               .boot_id = boot_id_,
                                               .state = policy_state_,
                                               .probes = LatestInCatalogueOrder(),
                                               .updated_at = UnixNow(),
                                               .valid_seconds = valid_seconds,
                                               .round_interval_seconds = settings_.interval_seconds,
                                               .version = std::string(NodehealthVersion()),
                                               .pid = static_cast<long>(::getpid()),
                                               .state_error = counters_.state_error});
  if (Expected<bool> saved = WriteFileAtomically(dir + "/" + kStatusFileName, status); !saved) {
    ++counters_.state_write_errors;
    spdlog::error("{}", saved.error().message);
    if (counters_.state_error.empty()) counters_.state_error = saved.error().message;
  }
}

Expected<bool> Agent::Listen(std::ostream& err) {
  Expected<std::unique_ptr<HttpEndpoint>> http = HttpEndpoint::Start(
      {.listen = settings_.listen, .security = settings_.web_security},
      {.snapshot = [this] { return store_.Latest(); }, .healthy = [this] { return Healthy(); }});
  if (!http) return http.error();
  std::vector<int> ports = (*http)->ports();
  spdlog::info("listening on {} (port {})", settings_.listen, ports.empty() ? 0 : ports.front());
  // Tests and scripts that start the agent on port 0 learn the port from this line.
  if (!ports.empty()) err << "nodehealth agent: listening on port " << ports.front() << "\n";
  err.flush();
  std::lock_guard lock(http_mutex_);
  http_ = std::move(*http);
  return true;
}

void Agent::ListenRetryLoop(std::ostream& err) {
  while (true) {
    {
      std::unique_lock lock(wake_mutex_);
      if (wake_cv_.wait_for(lock, kListenRetry, [this] { return stop_; })) return;
    }
    if (Listen(err)) return;
  }
}

int Agent::Run(std::ostream& err) {
  // A local user can hold the port while the agent is down (a restart, a crash): that must not
  // keep the agent down too. Its rounds, drain decisions and status file do not need the port;
  // the endpoint is tried again every kListenRetry until it binds.
  std::thread listen_retry;
  if (Expected<bool> listening = Listen(err); !listening) {
    spdlog::error("{}; the agent runs on and tries again every {} s", listening.error().message,
                  kListenRetry.count());
    err << "nodehealth agent: " << listening.error().message << "; retrying every "
        << kListenRetry.count() << " s\n";
    err.flush();
    listen_retry = std::thread([this, &err] { ListenRetryLoop(err); });
  }

  ExpectProgressWithin(LongestTimeout(settings_.plan.passive) + std::chrono::seconds(60));
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::make_shared<const NodeInventory>(GatherNodeInventory(fs_));
  }
  // Signals first: SIGTERM is taken however long the start takes.
  std::thread signals([this] { SignalLoop(); });
  // The backlog is read here, before the first round: XIDs from before the agent started reach
  // the policy (and a sticky fault from the saved state drains at once).
  watch_.Start();
  Reevaluate({}, /*round_ended=*/false);

  std::thread nvml_events([this] { NvmlEventLoop(); });
  std::thread watchdog;
  if (std::optional<std::chrono::microseconds> period = WatchdogPeriod()) {
    watchdog = std::thread([this, p = *period] { WatchdogLoop(p); });
  }

  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(-1.0, 1.0);
  SteadyClock::time_point next_passive = SteadyClock::now();
  constexpr SteadyClock::time_point kNever = SteadyClock::time_point::max();
  SteadyClock::time_point next_active = kNever;  // only with [agent] active_probes
  const auto after = [](double seconds) {
    return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(seconds));
  };
  bool ready = false;
  while (true) {
    bool reload = false, run_active = false;
    {
      std::unique_lock lock(wake_mutex_);
      const auto wake_at = [&] {
        return std::min({next_passive, next_active, flush_state_at_.value_or(kNever)});
      };
      ExpectProgressWithin(wake_at() - SteadyClock::now() + std::chrono::seconds(30));
      // The wake time may move earlier while waiting (a state flush requested): loop, not a
      // predicate, so the wait is recomputed after every notification.
      while (!stop_ && !reload_ && !run_active_ && SteadyClock::now() < wake_at()) {
        wake_cv_.wait_until(lock, wake_at());
      }
      if (stop_) break;
      std::swap(reload, reload_);
      std::swap(run_active, run_active_);
    }
    FlushStateIfDue();
    if (reload) {
      Reload();
      if (!settings_.active_interval_seconds) {
        next_active = kNever;
      } else if (next_active == kNever && ready) {
        next_active = after(*settings_.active_interval_seconds);
      }
    }
    if (SteadyClock::now() >= next_passive) {
      RunRound(settings_.plan.passive);
      if (settings_.plan.passive.empty()) Reevaluate({}, /*round_ended=*/true);
      next_passive = after(settings_.interval_seconds * (1 + settings_.jitter * jitter(random)));
      if (!ready) {
        ready = true;
        SdNotify("READY=1\nSTATUS=first passive round done");
        if (settings_.active_interval_seconds) {
          next_active = after(*settings_.active_interval_seconds);
        }
      }
    }
    if (run_active || SteadyClock::now() >= next_active) {
      spdlog::info("running the active probes");
      RunRound(settings_.plan.active);
      next_active =
          settings_.active_interval_seconds ? after(*settings_.active_interval_seconds) : kNever;
    }
  }

  SdNotify("STOPPING=1");
  spdlog::info("stopping");
  watch_.Stop();
  {
    std::lock_guard lock(results_mutex_);
    WriteStateFiles(/*stopping=*/true);
  }
  if (listen_retry.joinable()) listen_retry.join();  // it sees stop_ and returns
  {
    std::lock_guard lock(http_mutex_);
    http_.reset();
  }
  signals.join();
  // The NVML thread may be inside a hung driver call for up to its deadline (10 s when
  // registering): stopping must not wait for it. RunAgent ends the process with _Exit right after
  // this returns, and the agent is never destroyed, so the thread's references stay valid.
  nvml_events.detach();
  if (watchdog.joinable()) watchdog.join();
  return 0;
}

}  // namespace

int RunAgent(const AgentOptions& options, std::ostream& err) {
  // Before any thread exists, so that every thread inherits the mask and only sigwait sees them.
  const sigset_t handled = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a scraper that hangs up must not kill the agent
  // glibc gives every thread that allocates its own arena (the HTTP loop, each round's probe
  // threads); for a daemon that is mostly idle, two arenas hold the same work in less memory.
  mallopt(M_ARENA_MAX, 2);
  PrepareProbesForProcess(options.common.sysroot);

  platform::RootedFileSystem fs(options.common.sysroot);
  const NodeInventory inventory = GatherNodeInventory(fs);
  Expected<ResolvedSettings> settings =
      ResolveAgentSettings(options, GatherNodeFacts(fs, inventory));
  if (!settings) {
    err << "nodehealth agent: " << settings.error().message << "\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(settings->state_dir, ec);
  if (ec) {
    err << "nodehealth agent: cannot create the state directory " << settings->state_dir << ": "
        << ec.message() << "\n";
    return 2;
  }
  // One agent per state directory: a second would overwrite the first's decisions. The lock dies
  // with the process (kill -9 included); the descriptor stays open until _Exit.
  const std::string lock_path = settings->state_dir + "/.agent.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    err << "nodehealth agent: "
        << (lock_fd < 0
                ? "cannot open " + lock_path + ": " + std::strerror(errno)
                : "another nodehealth agent uses the state directory " + settings->state_dir)
        << "\n";
    return 2;
  }
  const std::string state_path = settings->state_dir + "/state.json";
  // Left by a predecessor killed while writing (this process is the only writer now).
  for (const std::string& file : {state_path, settings->state_dir + "/" + kStatusFileName}) {
    if (const int removed = RemoveStaleTemporaries(file, std::chrono::seconds(0)); removed > 0) {
      spdlog::info("removed {} temporary file(s) of {} left by an interrupted write", removed,
                   file);
    }
  }
  if (Expected<bool> trusted = platform::CheckTrustedDirectory(settings->state_dir); !trusted) {
    spdlog::error("slurm-healthcheck will not trust the status file in {}: {}", settings->state_dir,
                  trusted.error().message);
  }
  Expected<PolicyState> state = LoadPolicyState(state_path);
  if (!state) {
    // Kept for a person to read, never overwritten: the agent starts with an empty history.
    const std::string aside = state_path + ".corrupt";
    std::rename(state_path.c_str(), aside.c_str());
    spdlog::error("{}; moved to {} and starting with an empty state", state.error().message, aside);
    state = PolicyState{};
  }
  auto agent = std::make_unique<Agent>(options, std::move(*settings), NodeName(fs), BootId(fs),
                                       std::move(*state));
  const int status = agent->Run(err);
  // A probe thread may still be inside a hung library call holding references into the agent:
  // end without running destructors (the state files are already written).
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(status);
}

}  // namespace nodehealth::agent
