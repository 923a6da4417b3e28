#include "agent/agent.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

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

#include "agent/agent_snapshot.h"
#include "agent/http_endpoint.h"
#include "agent/kernel_log_watch.h"
#include "agent/nvml_xid_events.h"
#include "agent/policy_state.h"
#include "agent/probe_runner.h"
#include "agent/report_support.h"
#include "agent/round_runner.h"
#include "agent/sd_notify.h"
#include "exporters/atomic_file.h"
#include "probes/all_probes.h"
#include "probes/finding_catalog.h"
#include "probes/ib_ports/ib_ports_probe.h"
#include "probes/platform/sysfs_values.h"
#include "probes/topology/topology_discovery.h"

#ifndef NODEHEALTH_VERSION
#define NODEHEALTH_VERSION "0.0.0"
#endif

namespace nodehealth::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string BootId(const platform::FileSystem& fs) {
  if (Expected<std::string> id = fs.ReadFile("/proc/sys/kernel/random/boot_id", 128)) {
    const std::string_view trimmed = platform::TrimSpace(*id);
    if (!trimmed.empty()) return std::string(trimmed);
  }
  return "unknown";
}

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
    SetScheduled();
  }

  int Run(std::ostream& err);

 private:
  void SetScheduled();
  void SignalLoop();
  void NvmlEventLoop();
  void WatchdogLoop(std::chrono::microseconds period);
  void Reload();
  void RunRound(const std::vector<ScheduledProbe>& probes);
  void Reevaluate(std::vector<XidEventRecord> new_xids, bool round_ended);
  ProbeResult XidResult(const KernelLogView& view, const NodeInventory& inventory);
  void WriteStateFiles(bool decision_changed, bool force);
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
  uint64_t xid_run_ = 0;
  uint64_t xid_batches_seen_ = UINT64_MAX;
  AgentCounters counters_;
  std::shared_ptr<const NodeInventory> inventory_;
  DrainPolicyConfig drain_;
  std::shared_ptr<const Profile> profile_;
  bool xid_watch_ = true;
  double round_started_ = 0;
  double round_seconds_ = 0;

  std::shared_ptr<platform::NvmlRuntime> nvml_;
  RoundRunner runner_;
  double link_window_seconds_ = 0;  // the profile's flap window that link_downed_ uses
  ib::CounterWindow link_downed_{0};
  SnapshotStore store_;
  KernelLogWatch watch_;
  std::atomic<int64_t> progress_deadline_{0};
  HttpEndpoint* http_ = nullptr;  // Run's endpoint; SIGHUP hands it a reloaded web config

  NvmlXidEvents nvml_events_{nvml_};  // NvmlEventLoop's thread only

  std::mutex wake_mutex_;  // guards the three requests and wakes the scheduler
  std::condition_variable wake_cv_;
  bool stop_ = false;
  bool reload_ = false;
  bool run_active_ = false;
};

void Agent::SetScheduled() {
  std::lock_guard lock(results_mutex_);
  counters_.scheduled_probes.clear();
  for (const auto* list : {&settings_.passive, &settings_.active}) {
    for (const ScheduledProbe& p : *list) {
      counters_.scheduled_probes.emplace_back(p.probe->info().name);
    }
  }
  drain_ = settings_.drain;
  profile_ = settings_.profile;
  counters_.round_interval_seconds = settings_.interval_seconds;
  const double window =
      (profile_ ? profile_->infiniband : InfinibandExpectations{}).link_flap_window_seconds;
  if (window != link_window_seconds_) {  // a reload with the same window keeps the history
    link_window_seconds_ = window;
    link_downed_ = ib::CounterWindow(window);
  }
  xid_watch_ = settings_.xid_watch;
  // Results of probes no longer scheduled would linger in /metrics forever: drop them.
  for (auto it = latest_.begin(); it != latest_.end();) {
    const bool kept =
        it->first == "gpu_xid"
            ? xid_watch_
            : std::find(counters_.scheduled_probes.begin(), counters_.scheduled_probes.end(),
                        it->first) != counters_.scheduled_probes.end();
    it = kept ? std::next(it) : latest_.erase(it);
  }
}

void Agent::SignalLoop() {
  const sigset_t set = HandledSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::lock_guard lock(wake_mutex_);
    if (sig == SIGHUP) {
      reload_ = true;
    } else if (sig == SIGUSR1) {
      run_active_ = true;
    } else {
      stop_ = true;
    }
    wake_cv_.notify_all();
    if (stop_) return;
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
    {
      std::lock_guard lock(results_mutex_);  // Reevaluate reads settings_ on the watch thread
      settings_ = std::move(*fresh);
    }
    if (http_) http_->SetSecurity(settings_.web_security);  // certificates, users, headers
    SetScheduled();
    std::lock_guard lock(results_mutex_);
    counters_.config_reload_ok = true;
    counters_.config_reload_time = UnixNow();
    spdlog::info("reloaded: profile {}", settings_.profile ? settings_.profile->name : "none");
  }
  Reevaluate({}, /*round_ended=*/false);
  SdNotify("READY=1");
}

void Agent::RunRound(const std::vector<ScheduledProbe>& probes) {
  if (probes.empty()) return;
  auto environment = std::make_shared<RoundEnvironment>(options_.common.sysroot);
  environment->inventory = GatherNodeInventory(environment->fs);
  environment->profile = settings_.profile;
  environment->nvml = nvml_;
  environment->topology_xml = options_.common.topology_xml.value_or("");
  environment->topology_baseline = settings_.config.topology_baseline.value_or("");
  environment->mpi_allreduce_ranks = settings_.config.mpi_allreduce_ranks;
  ExpectProgressWithin(LongestTimeout(probes) + nodehealth::kProbeGrace + std::chrono::seconds(30));
  const double started = UnixNow();
  std::vector<ProbeResult> results = runner_.Run(probes, environment);
  Expected<slurm::SlurmOutcomeSummary> slurm_outcome =
      slurm::ReadSlurmOutcome(settings_.state_dir + "/" + slurm::kSlurmOutcomeFile);
  for (ProbeResult& result : results) {
    // Only the agent sees the counter move between rounds: link_downed growth is a flap too.
    if (result.name == "ib_ports") {
      AddLinkDownedGrowth(link_downed_, settings_.profile.get(), UnixNow(), result);
    }
  }
  ApplyActionOverrides(settings_.config.action_overrides, results);
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::shared_ptr<const NodeInventory>(environment, &environment->inventory);
    for (ProbeResult& result : results) {
      ProbeSnapshot& slot = latest_[result.name];
      slot.result = std::move(result);
      ++slot.run;
    }
    round_started_ = started;
    round_seconds_ = UnixNow() - started;
    counters_.stuck_probes = runner_.Stuck();
    counters_.slurm_healthcheck.reset();
    if (slurm_outcome) counters_.slurm_healthcheck = *slurm_outcome;
  }
  Reevaluate({}, /*round_ended=*/true);
}

ProbeResult Agent::XidResult(const KernelLogView& view, const NodeInventory& inventory) {
  ProbeResult result;
  result.name = "gpu_xid";
  result.finished_at = UnixNow();
  const bool expects_gpus = profile_ && profile_->gpu.count.value_or(0) > 0;
  if (view.tally.entries().empty() && !inventory.HasNvidiaSigns() && !expects_gpus) {
    MarkSkipped(result, "no NVIDIA GPU or driver on this node and the profile expects none");
    return result;
  }
  ReportXids(view.tally, "/dev/kmsg", result);
  if (!view.following) {
    MarkUndecided(result, codes::kProbeError, "node", "cannot follow the kernel log: " + view.error,
                  {{"/dev/kmsg", view.error, "readable"}});
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
  if (xid_watch_) {
    ProbeSnapshot& xid = latest_["gpu_xid"];
    xid.result = XidResult(view, *inventory_);
    ApplyActionOverrides(settings_.config.action_overrides, xid.result);
    if (view.batches != xid_batches_seen_) {  // a new "run": the tally may have changed
      xid_batches_seen_ = view.batches;
      ++xid.run;
    }
  }

  PolicyInput input;
  input.boot_id = boot_id_;
  input.now = now;
  input.new_xids = std::move(new_xids);
  const bool had_new_xids = !input.new_xids.empty();
  Report report;
  report.node = node_;
  report.mode = "agent";
  if (profile_) report.profile = profile_->name;
  report.profile_requested = settings_.profile_requested;
  report.profile_reason = settings_.profile_reason;
  report.started_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(round_started_)));
  report.duration_seconds = round_seconds_;
  report.version = NODEHEALTH_VERSION;
  for (const auto& probe : AllProbes()) {  // the report lists probes in catalogue order
    auto it = latest_.find(std::string(probe->info().name));
    if (it == latest_.end()) continue;
    input.probes.push_back(it->second);
    report.probes.push_back(it->second.result);
  }
  const PolicyOutput output = EvaluateDrainPolicy(drain_, input, policy_state_);
  policy_state_ = output.state;

  Decide(report);  // the verdict as `check` would give it; the policy's decision replaces drain
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
  store_.Publish(BuildAgentSnapshot({.report = report,
                                     .policy = output,
                                     .kernel_log = view,
                                     .gpu_bus_ids = gpus,
                                     .counters = counters_,
                                     .report_process_names = settings_.report_process_names}));
  if (output.changed) {
    spdlog::warn("drain decision: {}", DescribeDecision(output.decision));
    SdNotify("STATUS=" + DescribeDecision(output.decision));
  }
  WriteStateFiles(output.changed, round_ended || had_new_xids);
}

void Agent::WriteStateFiles(bool decision_changed, bool force) {
  if (!decision_changed && !force) return;
  const std::string dir = settings_.state_dir;
  if (Expected<bool> saved = SavePolicyState(dir + "/state.json", policy_state_); !saved) {
    ++counters_.state_write_errors;
    spdlog::error("{}", saved.error().message);
  }
  if (Expected<bool> saved = WriteFileAtomically(dir + "/status.json",
                                                 RenderStatusFile(node_, policy_state_, UnixNow()));
      !saved) {
    ++counters_.state_write_errors;
    spdlog::error("{}", saved.error().message);
  }
}

int Agent::Run(std::ostream& err) {
  Expected<std::unique_ptr<HttpEndpoint>> http = HttpEndpoint::Start(
      {.listen = settings_.listen, .security = settings_.web_security},
      {.snapshot = [this] { return store_.Latest(); }, .healthy = [this] { return Healthy(); }});
  if (!http) {
    err << "nodehealth agent: " << http.error().message << "\n";
    return 2;
  }
  http_ = http->get();
  std::vector<int> ports = (*http)->ports();
  spdlog::info("listening on {} (port {})", settings_.listen, ports.empty() ? 0 : ports.front());
  // Tests and scripts that start the agent on port 0 learn the port from this line.
  if (!ports.empty()) err << "nodehealth agent: listening on port " << ports.front() << "\n";
  err.flush();

  ExpectProgressWithin(LongestTimeout(settings_.passive) + std::chrono::seconds(60));
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::make_shared<const NodeInventory>(GatherNodeInventory(fs_));
  }
  // The backlog is read here, before the first round: XIDs from before the agent started reach
  // the policy (and a sticky fault from the saved state drains at once).
  watch_.Start();
  Reevaluate({}, /*round_ended=*/false);

  std::thread signals([this] { SignalLoop(); });
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
      const SteadyClock::time_point wake = std::min(next_passive, next_active);
      ExpectProgressWithin(wake - SteadyClock::now() + std::chrono::seconds(30));
      wake_cv_.wait_until(lock, wake, [&] {
        return stop_ || reload_ || run_active_ || SteadyClock::now() >= wake;
      });
      if (stop_) break;
      std::swap(reload, reload_);
      std::swap(run_active, run_active_);
    }
    if (reload) {
      Reload();
      if (!settings_.active_interval_seconds) {
        next_active = kNever;
      } else if (next_active == kNever && ready) {
        next_active = after(*settings_.active_interval_seconds);
      }
    }
    if (SteadyClock::now() >= next_passive) {
      RunRound(settings_.passive);
      if (settings_.passive.empty()) Reevaluate({}, /*round_ended=*/true);
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
      RunRound(settings_.active);
      next_active =
          settings_.active_interval_seconds ? after(*settings_.active_interval_seconds) : kNever;
    }
  }

  SdNotify("STOPPING=1");
  spdlog::info("stopping");
  watch_.Stop();
  {
    std::lock_guard lock(results_mutex_);
    WriteStateFiles(false, /*force=*/true);
  }
  http_ = nullptr;
  http->reset();
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
  topo::PrepareHwlocEnvironment(options.common.sysroot);

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
  const std::string state_path = settings->state_dir + "/state.json";
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
