#include "agent/daemon/agent.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <ostream>
#include <thread>

#include "agent/daemon/agent_core.h"
#include "agent/daemon/daemon_env.h"
#include "agent/daemon/http_endpoint.h"
#include "agent/daemon/nvml_xid_events.h"
#include "agent/daemon/provider_reporter.h"
#include "agent/daemon/sd_notify.h"
#include "agent/policy/policy_state.h"
#include "agent/policy/status_file.h"
#include "exporters/atomic_file.h"
#include "probes/all_probes.h"
#include "probes/platform/trusted_file.h"

namespace nodehealth::agent {
namespace {

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

// The daemon around AgentCore (agent_core.h): its threads (signals, NVML events, the watchdog,
// the endpoint and its retries) and the scheduler loop that sleeps until the core's next wake.
class Agent {
 public:
  Agent(DaemonEnv& env, const AgentOptions& options, ResolvedSettings settings, PolicyState state)
      : env_(env), core_(env, options, std::move(settings), std::move(state), [this] {
          std::lock_guard lock(wake_mutex_);
          wake_cv_.notify_all();
        }) {}

  int Run(std::ostream& err);

 private:
  // Binds the endpoint (http_); an Error when the address cannot be bound now.
  Expected<bool> Listen(std::ostream& err);
  void ListenRetryLoop(std::ostream& err);
  void SignalLoop();
  void NvmlEventLoop();
  void WatchdogLoop(std::chrono::microseconds period);
  // Sleeps until the core has something due or a signal asks for something; false: stop.
  bool WaitForWork(bool& reload);

  DaemonEnv& env_;
  AgentCore core_;
  NvmlXidEvents nvml_events_{core_.nvml()};  // NvmlEventLoop's thread only

  std::mutex wake_mutex_;  // guards the requests below and wakes the scheduler
  std::condition_variable wake_cv_;
  bool stop_ = false;
  bool reload_ = false;

  // The endpoint, bound at start or later by ListenRetryLoop; SIGHUP hands it a reloaded web
  // config.
  std::mutex http_mutex_;  // guards http_
  std::unique_ptr<HttpEndpoint> http_;
};

void Agent::SignalLoop() {
  const sigset_t set = HandledSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      core_.RequestActiveRound();
      continue;
    }
    {
      std::lock_guard lock(wake_mutex_);
      (sig == SIGHUP ? reload_ : stop_) = true;
      wake_cv_.notify_all();
    }
    if (sig == SIGHUP) continue;
    // Stopping must not wait for a round: an active one may have minutes left (MPI, RDMA). The
    // scheduler stops waiting for it, and what it started (mpirun and its ranks) ends with its
    // process group, before the state is written and the process exits.
    core_.CancelRounds();
    if (const int left = env_.StopChildren(kChildStopGrace); left > 0) {
      spdlog::error("{} child process group(s) still running after SIGKILL", left);
    }
    return;
  }
}

void Agent::NvmlEventLoop() {
  // XIDs the driver delivers as NVML events (AgentCore::OnNvmlXidEvents). Real time: NVML calls
  // are bounded by real deadlines whatever clock the core runs on.
  using std::chrono::seconds;
  auto next_register = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(wake_mutex_);
      if (wake_cv_.wait_for(lock, seconds(1), [this] { return stop_; })) return;
    }
    if (!nvml_events_.registered()) {
      if (std::chrono::steady_clock::now() < next_register) continue;
      const bool ok = nvml_events_.Register(platform::Deadline::In(seconds(10)));
      spdlog::info("NVML XID events: {}", nvml_events_.status());
      next_register = std::chrono::steady_clock::now() + seconds(300);
      core_.SetNvmlEventsRegistered(ok);
      if (!ok) continue;
    }
    core_.OnNvmlXidEvents(nvml_events_.Poll(platform::Deadline::In(seconds(2))));
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
    if (core_.Healthy()) env_.Notify("WATCHDOG=1");
  }
}

Expected<bool> Agent::Listen(std::ostream& err) {
  Expected<std::unique_ptr<HttpEndpoint>> http = HttpEndpoint::Start(
      {.listen = core_.settings().listen, .security = core_.settings().web_security},
      {.snapshot = [this] { return core_.Latest(); },
       .healthy = [this] { return core_.Healthy(); }});
  if (!http) return http.error();
  std::vector<int> ports = (*http)->ports();
  spdlog::info("listening on {} (port {})", core_.settings().listen,
               ports.empty() ? 0 : ports.front());
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

bool Agent::WaitForWork(bool& reload) {
  std::unique_lock lock(wake_mutex_);
  // The core's clock is the env's (real here); waits are on the condition variable's own
  // steady clock, which is the same one. The wake time may move earlier while waiting (a state
  // flush requested, SIGUSR1): loop, not a predicate, so the wait is recomputed after every
  // notification.
  while (!stop_ && !reload_ && env_.SteadyNow() < core_.NextWake()) {
    wake_cv_.wait_until(lock, core_.NextWake());
  }
  if (stop_) return false;
  std::swap(reload, reload_);
  return true;
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

  // Signals first: SIGTERM is taken however long the start takes.
  std::thread signals([this] { SignalLoop(); });
  core_.Start();
  std::thread nvml_events([this] { NvmlEventLoop(); });
  // Reports to the cloud: their own thread, their own deadlines (provider_reporter.h). The
  // [provider] section is read at start; a change needs a restart.
  std::unique_ptr<ProviderReporter> reporter;
  if (const ProviderSettings& p = core_.settings().plan.config.provider;
      p.kind != "none" && p.from_agent) {
    reporter = std::make_unique<ProviderReporter>(p, core_.settings().state_dir, core_.nvml());
  }
  std::thread watchdog;
  if (std::optional<std::chrono::microseconds> period = WatchdogPeriod()) {
    watchdog = std::thread([this, p = *period] { WatchdogLoop(p); });
  }

  for (bool reload = false; WaitForWork(reload); reload = false) {
    if (reload) {
      core_.Reload();
      std::lock_guard lock(http_mutex_);
      if (http_) http_->SetSecurity(core_.settings().web_security);  // certificates, users
    }
    core_.Step();
  }

  spdlog::info("stopping");
  // A report in flight must not delay the stop: the thread is told to stop and left to the
  // process's _Exit (RunAgent), which ends it; its ledger writes are atomic and its lock dies
  // with the process.
  if (reporter) reporter.release()->StopSoon();
  core_.Stop();
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
  // Never destroyed (the _Exit below): probe threads may outlive the run.
  DaemonEnv* env = NewRealDaemonEnv(options.common.sysroot).release();
  auto agent = std::make_unique<Agent>(*env, options, std::move(*settings), std::move(*state));
  const int status = agent->Run(err);
  // A probe thread may still be inside a hung library call holding references into the agent:
  // end without running destructors (the state files are already written).
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(status);
}

}  // namespace nodehealth::agent
