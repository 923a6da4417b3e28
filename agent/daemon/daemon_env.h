// Everything the daemon reads from or does to the world, behind one interface in the spirit of
// leveldb's Env: the node's files, clocks, randomness, identity, the service manager and child
// processes. The agent's logic (agent_core.h) goes through it only, so a test steps the daemon's
// rounds with a fake clock and a recorded node instead of waiting on real timers; the real one
// (NewRealDaemonEnv) is what `nodehealth agent` runs with.
//
// Not behind it, on purpose: probe threads and their deadlines (real time bounds real calls: a
// hung NVML call must be abandoned after a real 10 s whatever a test's clock says), and the HTTP
// endpoint's sockets (tests reach it over loopback, see agent.cc).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "probes/platform/file_system.h"

namespace nodehealth::agent {

class DaemonEnv {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~DaemonEnv() = default;

  // The node's files: the host's, or a recorded node's under --sysroot.
  virtual const platform::FileSystem& fs() const = 0;
  // The node's name and this boot's id (report_support.h reads them from fs()).
  virtual std::string NodeName() const = 0;
  virtual std::string BootId() const = 0;
  virtual long ProcessId() const = 0;

  // A monotonic clock for schedules and throttles, and the wall clock (Unix seconds) for what
  // people and the state files read.
  virtual SteadyTime SteadyNow() const = 0;
  virtual double UnixNow() const = 0;
  // Uniform in [-1, 1]: spreads rounds so that a fleet does not probe in step.
  virtual double Jitter() = 0;

  // A state for the service manager (sd_notify.h: READY=1, STATUS=..., WATCHDOG=1, ...).
  virtual void Notify(std::string_view state) = 0;
  // Ends every child process group the daemon started (mpirun and its ranks): SIGTERM, then
  // SIGKILL after `grace`. Returns how many were still running after SIGKILL.
  virtual int StopChildren(std::chrono::milliseconds grace) = 0;
};

// The host (or the recorded node at `sysroot`), the real clocks, sd_notify and
// platform::TerminateAllChildren.
std::unique_ptr<DaemonEnv> NewRealDaemonEnv(const std::string& sysroot);

}  // namespace nodehealth::agent
