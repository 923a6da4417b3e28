#include "agent/daemon/agent_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/engine/report_assembly.h"
#include "agent/policy/repair_inbox.h"
#include "agent/policy/report_support.h"
#include "agent/policy/status_file.h"
#include "agent/slurm/slurm_healthcheck_command.h"
#include "exporters/atomic_file.h"
#include "probes/all_probes.h"

namespace nodehealth::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string DescribeDecision(const DrainDecision& decision) {
  if (!decision.recommended) return "no drain";
  std::string text = "drain (" + std::string(ToString(decision.action)) + "):";
  for (const DrainReason& r : decision.reasons) text += " " + r.code + " " + r.entity + ";";
  return text;
}

std::chrono::milliseconds LongestTimeout(const std::vector<ScheduledProbe>& probes) {
  std::chrono::milliseconds longest{0};
  for (const ScheduledProbe& p : probes) longest = std::max(longest, p.timeout);
  return longest;
}

int64_t Ticks(SteadyClock::time_point t) { return t.time_since_epoch().count(); }
SteadyClock::time_point FromTicks(int64_t ticks) {
  return SteadyClock::time_point(SteadyClock::duration(ticks));
}

}  // namespace

AgentCore::AgentCore(DaemonEnv& env, const AgentOptions& options, ResolvedSettings settings,
                     PolicyState state, std::function<void()> wake)
    : env_(env),
      options_(options),
      node_(env.NodeName()),
      boot_id_(env.BootId()),
      wake_(std::move(wake)),
      settings_(std::move(settings)),
      policy_state_(std::move(state)),
      nvml_(std::make_shared<platform::NvmlRuntime>(settings_.nvml_library)),
      schedule_(env.SteadyNow()),
      watch_(env.fs(), boot_id_,
             [this](std::vector<XidEventRecord> xids) { OnKernelLogXids(std::move(xids)); }) {
  counters_.start_time = env_.UnixNow();
  counters_.config_reload_time = counters_.start_time;
  last_run_id_ = HighestRunId(policy_state_);
  next_round_ = Ticks(schedule_.NextRound());
  // Before ApplySettings creates the round memories, which take these back.
  Expected<RoundHistories> saved =
      LoadRoundHistories(settings_.state_dir + "/" + std::string(kRoundMemoryFileName), boot_id_);
  if (saved) {
    saved_histories_ = std::move(*saved);
  } else {
    spdlog::warn("round memories start empty: {}", saved.error().message);
  }
  ApplySettings();
}

AgentCore::~AgentCore() { watch_.Stop(); }

RoundTiming AgentCore::Timing() const {
  return {.interval_seconds = settings_.interval_seconds,
          .jitter = settings_.jitter,
          .active_interval_seconds = settings_.active_interval_seconds};
}

void AgentCore::ExpectProgressWithin(SteadyClock::duration d) {
  progress_deadline_.store(Ticks(env_.SteadyNow() + d));
}

bool AgentCore::Healthy() const { return Ticks(env_.SteadyNow()) < progress_deadline_.load(); }

AgentCore::SteadyTime AgentCore::NextWake() const {
  if (active_requested_.load()) return SteadyTime::min();
  return std::min(FromTicks(next_round_.load()), FromTicks(flush_state_at_.load()));
}

void AgentCore::RequestActiveRound() {
  active_requested_ = true;
  if (wake_) wake_();
}

void AgentCore::ApplySettings() {
  std::lock_guard lock(results_mutex_);
  counters_.scheduled_probes.clear();
  const std::vector<ScheduledProbe>* lists[] = {&settings_.plan.passive, &settings_.plan.active};
  for (const auto* list : lists) {
    for (const ScheduledProbe& p : *list) {
      counters_.scheduled_probes.emplace_back(p.probe->info().name);
    }
  }
  counters_.round_interval_seconds = settings_.interval_seconds;
  // A reload keeps the memories of probes still scheduled (their histories go on).
  std::map<std::string, std::unique_ptr<RoundMemory>> memories;
  for (const auto* list : lists) {
    for (const ScheduledProbe& p : *list) {
      const std::string name(p.probe->info().name);
      if (auto it = round_memories_.find(name); it != round_memories_.end()) {
        memories[name] = std::move(it->second);
      } else if (std::unique_ptr<RoundMemory> fresh = p.probe->NewRoundMemory()) {
        // What the memory saw before the agent restarted, in this boot.
        if (auto saved = saved_histories_.find(name); saved != saved_histories_.end()) {
          fresh->RestoreHistory(saved->second);
          saved_histories_.erase(saved);
        }
        memories[name] = std::move(fresh);
      }
    }
  }
  round_memories_ = std::move(memories);
  const std::string kernel_log_probe =
      settings_.plan.kernel_log_probe ? std::string(settings_.plan.kernel_log_probe->info().name)
                                      : "";
  // Results of probes no longer scheduled would linger in /metrics forever: drop them.
  for (auto it = latest_.begin(); it != latest_.end();) {
    const bool kept =
        (!kernel_log_probe.empty() && it->first == kernel_log_probe) ||
        std::find(counters_.scheduled_probes.begin(), counters_.scheduled_probes.end(),
                  it->first) != counters_.scheduled_probes.end();
    it = kept ? std::next(it) : latest_.erase(it);
  }
}

void AgentCore::Start() {
  ExpectProgressWithin(LongestTimeout(settings_.plan.passive) + std::chrono::seconds(60));
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::make_shared<const NodeInventory>(GatherNodeInventory(env_.fs()));
  }
  // The backlog is read here, before the first round: XIDs from before the agent started reach
  // the policy (and a sticky fault from the saved state drains at once).
  watch_.Start();
  ApplyRepairRecords();
  Reevaluate({}, /*round_ended=*/false);
}

void AgentCore::Step() {
  FlushStateIfDue();
  const SteadyTime now = env_.SteadyNow();
  if (schedule_.PassiveDue(now)) {
    ApplyRepairRecords();
    RunRound(settings_.plan.passive);
    if (settings_.plan.passive.empty()) Reevaluate({}, /*round_ended=*/true);
    if (schedule_.PassiveDone(env_.SteadyNow(), Timing(), env_.Jitter())) {
      ready_ = true;
      env_.Notify("READY=1\nSTATUS=first passive round done");
    }
  }
  if (active_requested_.exchange(false)) schedule_.RequestActive();
  if (schedule_.ActiveDue(env_.SteadyNow())) {
    spdlog::info("running the active probes");
    RunRound(settings_.plan.active);
    schedule_.ActiveDone(env_.SteadyNow(), Timing());
  }
  next_round_ = Ticks(schedule_.NextRound());
  // The scheduler promises to come back by its next wake (and a round's probes by their
  // deadlines): the watchdog stops pinging when it does not.
  const SteadyTime after = env_.SteadyNow();
  ExpectProgressWithin(std::max(NextWake(), after) - after + std::chrono::seconds(30));
}

void AgentCore::Reload() {
  env_.Notify("RELOADING=1");
  const NodeInventory inventory = GatherNodeInventory(env_.fs());
  Expected<ResolvedSettings> fresh =
      ResolveAgentSettings(options_, GatherNodeFacts(env_.fs(), inventory));
  if (!fresh) {
    spdlog::error("reload failed, keeping the running settings: {}", fresh.error().message);
    std::lock_guard lock(results_mutex_);
    counters_.config_reload_ok = false;
  } else {
    if (fresh->listen != settings_.listen || fresh->state_dir != settings_.state_dir ||
        fresh->nvml_library != settings_.nvml_library) {
      spdlog::warn("listen, state_dir and nvml_library take effect at the next restart");
    }
    // Bound at start: the old values stay until a restart (the warning above says so). The
    // endpoint takes the new web security from settings() (agent.cc).
    fresh->listen = settings_.listen;
    fresh->state_dir = settings_.state_dir;
    fresh->nvml_library = settings_.nvml_library;
    {
      std::lock_guard lock(results_mutex_);  // Reevaluate reads settings_ on other threads
      settings_ = std::move(*fresh);
    }
    ApplySettings();
    schedule_.Reloaded(env_.SteadyNow(), Timing());
    next_round_ = Ticks(schedule_.NextRound());
    std::lock_guard lock(results_mutex_);
    counters_.config_reload_ok = true;
    counters_.config_reload_time = env_.UnixNow();
    spdlog::info("reloaded: profile {}",
                 settings_.plan.profile ? settings_.plan.profile->name : "none");
  }
  Reevaluate({}, /*round_ended=*/false);
  env_.Notify("READY=1");
}

void AgentCore::Stop() {
  env_.Notify("STOPPING=1");
  watch_.Stop();
  std::lock_guard lock(results_mutex_);
  WriteStateFiles(/*stopping=*/true);
}

void AgentCore::ApplyRepairRecords() {
  const std::string state_dir = settings_.state_dir;
  RepairInbox inbox = CollectRepairs(state_dir);
  for (const std::string& message : inbox.rejected) spdlog::error("{}", message);
  if (inbox.records.empty()) return;
  {
    std::lock_guard lock(results_mutex_);
    for (const AppliedRepair& r : ApplyRepairs(policy_state_, inbox.records, env_.UnixNow())) {
      spdlog::warn("sticky fault {} {} cleared by repair: by {} (uid {}) at {}", r.code, r.entity,
                   r.by, r.uid, UnixRfc3339(r.at));
    }
  }
  Reevaluate({}, /*round_ended=*/false);
  {
    // On disk before the records leave the inbox: a crash in between applies them again.
    std::lock_guard lock(results_mutex_);
    WriteStateFiles(/*stopping=*/false);
  }
  for (const std::string& error : FileAppliedRepairs(state_dir, inbox.paths)) {
    spdlog::error("{}", error);
  }
}

void AgentCore::RunRound(const std::vector<ScheduledProbe>& probes) {
  if (probes.empty()) return;
  auto environment = std::make_shared<RunEnvironment>(options_.common.sysroot, nvml_);
  environment->inventory = GatherNodeInventory(environment->fs);
  environment->profile = settings_.plan.profile;
  environment->topology_xml = options_.common.topology_xml.value_or("");
  environment->topology_baseline = settings_.plan.config.topology_baseline.value_or("");
  environment->mpi_allreduce_ranks = settings_.plan.config.mpi_allreduce_ranks;
  environment->cuda_library = settings_.cuda_library;
  environment->nccl_library = settings_.nccl_library;
  ExpectProgressWithin(LongestTimeout(probes) + kProbeGrace + std::chrono::seconds(30));
  const double started = env_.UnixNow();
  std::vector<ProbeResult> results = runner_.Run(probes, environment).results;
  if (runner_.cancelled()) return;  // stopping: these results were abandoned, not decided
  Expected<slurm::SlurmOutcomeSummary> slurm_outcome =
      slurm::ReadSlurmOutcome(settings_.state_dir + "/" + slurm::kSlurmOutcomeFile);
  const std::string& provider_kind = settings_.plan.config.provider.kind;
  Expected<provider::ProviderLedger> provider_ledger = provider::ProviderLedger{};
  if (provider_kind != "none") {
    provider_ledger = provider::LoadLedger(settings_.state_dir + "/" + provider::kLedgerFile);
  }
  for (ProbeResult& result : results) {
    // What only a process that lives on sees (a counter that grew between two rounds).
    if (auto it = round_memories_.find(result.name); it != round_memories_.end()) {
      it->second->AfterRun(settings_.plan.profile.get(), env_.UnixNow(), result);
    }
  }
  RoundHistories histories;
  for (const auto& [name, memory] : round_memories_) histories[name] = memory->SaveHistory();
  std::string round_memory_text = SerializeRoundHistories(boot_id_, histories);
  ApplyActionOverrides(settings_.plan.config.action_overrides, results);
  {
    std::lock_guard lock(results_mutex_);
    inventory_ = std::shared_ptr<const NodeInventory>(environment, &environment->inventory);
    for (ProbeResult& result : results) {
      ProbeSnapshot& slot = latest_[result.name];
      // A probe that could not decide is worth a line in the journal (`journalctl -p warning`)
      // when it starts failing or fails differently, not every round.
      if (result.verdict == ProbeVerdict::kError &&
          (slot.result.verdict != ProbeVerdict::kError || slot.result.error != result.error)) {
        spdlog::warn("probe {} could not decide: {}", result.name, result.error);
      } else if (result.verdict != ProbeVerdict::kError &&
                 slot.result.verdict == ProbeVerdict::kError) {
        spdlog::info("probe {} decides again ({})", result.name, ToString(result.verdict));
      }
      slot.result = std::move(result);
      slot.run = ++last_run_id_;
    }
    round_memory_text_ = std::move(round_memory_text);
    round_started_ = started;
    round_seconds_ = env_.UnixNow() - started;
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
    counters_.provider_kind = provider_kind;
    counters_.provider_error = provider_ledger ? "" : provider_ledger.error().message;
    counters_.provider_ledger =
        provider_ledger ? std::move(*provider_ledger) : provider::ProviderLedger{};
  }
  Reevaluate({}, /*round_ended=*/true);
}

void AgentCore::OnKernelLogXids(std::vector<XidEventRecord> new_xids) {
  Reevaluate(std::move(new_xids), /*round_ended=*/false);
}

void AgentCore::SetNvmlEventsRegistered(bool registered) {
  std::lock_guard lock(results_mutex_);
  counters_.nvml_events_registered = registered;
}

void AgentCore::OnNvmlXidEvents(const std::vector<NvmlXidEvent>& events) {
  // The kernel log is the main source (it has every XID and the text); NVML events count on
  // their own, and feed the policy only while the log cannot be read, so one XID never counts
  // twice.
  if (events.empty()) return;
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
                       .time = env_.UnixNow(),
                       .bus_id = e.bus_id,
                       .xid = e.xid});
  }
  Reevaluate(std::move(records), /*round_ended=*/false);
}

ProbeResult AgentCore::KernelLogResult(const Probe& probe, const KernelLogView& view,
                                       const NodeInventory& inventory) {
  // Caller holds results_mutex_. The probe judges the watch's tally (Probe::FromKernelLogWatch).
  ProbeResult result = probe.FromKernelLogWatch({.following = view.following,
                                                 .error = view.error,
                                                 .tally = view.tally,
                                                 .overwritten = view.stats.overwritten},
                                                settings_.plan.profile.get(), inventory);
  result.name = std::string(probe.info().name);
  result.finished_at = env_.UnixNow();
  return result;
}

void AgentCore::Reevaluate(std::vector<XidEventRecord> new_xids, bool round_ended) {
  const KernelLogView view = watch_.View();
  std::lock_guard lock(results_mutex_);
  if (!inventory_) return;  // before Start: nothing to decide on yet
  const double now = env_.UnixNow();
  // Read under the lock that a reload replaces settings_ under.
  if (const Probe* watch_probe = settings_.plan.kernel_log_probe) {
    ProbeSnapshot& xid = latest_[std::string(watch_probe->info().name)];
    xid.result = KernelLogResult(*watch_probe, view, *inventory_);
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
  const PolicyOutput output = EvaluateDrainPolicy(settings_.drain, input, policy_state_);
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
    env_.Notify("STATUS=" + DescribeDecision(output.decision));
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

std::vector<ProbeSnapshot> AgentCore::LatestInCatalogueOrder() const {
  std::vector<ProbeSnapshot> out;
  for (const auto& probe : AllProbes()) {
    auto it = latest_.find(std::string(probe->info().name));
    if (it != latest_.end()) out.push_back(it->second);
  }
  return out;
}

void AgentCore::SaveState(bool urgent) {
  // Caller holds results_mutex_.
  state_dirty_ = true;
  const SteadyTime due = last_state_write_ + kStateWriteInterval;
  if (urgent || env_.SteadyNow() >= due) {
    WriteStateFiles(/*stopping=*/false);
    return;
  }
  // The scheduler writes it at `due` (FlushStateIfDue), however many events come before.
  int64_t waiting = flush_state_at_.load();
  while (Ticks(due) < waiting && !flush_state_at_.compare_exchange_weak(waiting, Ticks(due))) {
  }
  if (wake_) wake_();
}

void AgentCore::FlushStateIfDue() {
  if (Ticks(env_.SteadyNow()) < flush_state_at_.load()) return;
  flush_state_at_ = INT64_MAX;
  std::lock_guard lock(results_mutex_);
  if (state_dirty_) WriteStateFiles(/*stopping=*/false);
}

void AgentCore::WriteStateFiles(bool stopping) {
  // Caller holds results_mutex_.
  const std::string dir = settings_.state_dir;
  state_dirty_ = false;
  last_state_write_ = env_.SteadyNow();
  if (Expected<bool> saved = SavePolicyState(dir + "/state.json", policy_state_); !saved) {
    ++counters_.state_write_errors;
    counters_.state_error = saved.error().message;
    spdlog::error("{}", saved.error().message);
  } else {
    counters_.state_error.clear();
  }
  if (!round_memory_text_.empty()) {
    const std::string path = dir + "/" + std::string(kRoundMemoryFileName);
    if (Expected<bool> saved = WriteFileAtomically(path, round_memory_text_); !saved) {
      ++counters_.state_write_errors;
      spdlog::error("{}", saved.error().message);
    }
  }
  // The status file vouches for the node only while the agent runs: valid for a few rounds (and
  // the longest probe), and no longer from the moment the agent stops.
  const std::chrono::milliseconds longest =
      std::max(LongestTimeout(settings_.plan.passive), LongestTimeout(settings_.plan.active));
  const double valid_seconds = stopping ? 0
                                        : 3 * settings_.interval_seconds +
                                              std::chrono::duration<double>(longest).count() + 30;
  const std::string status = RenderStatusFile({.node = node_,
                                               .boot_id = boot_id_,
                                               .state = policy_state_,
                                               .probes = LatestInCatalogueOrder(),
                                               .updated_at = env_.UnixNow(),
                                               .valid_seconds = valid_seconds,
                                               .round_interval_seconds = settings_.interval_seconds,
                                               .version = std::string(NodehealthVersion()),
                                               .pid = env_.ProcessId(),
                                               .state_error = counters_.state_error});
  if (Expected<bool> saved = WriteFileAtomically(dir + "/" + kStatusFileName, status); !saved) {
    ++counters_.state_write_errors;
    spdlog::error("{}", saved.error().message);
    if (counters_.state_error.empty()) counters_.state_error = saved.error().message;
  }
}

}  // namespace nodehealth::agent
