// Runs a program as a child with a deadline: stdout and stderr captured (each capped), the
// environment extended, and the child in its own process group so that a timeout kills everything
// it started (mpirun's daemons and ranks): SIGTERM to the group, SIGKILL after a grace period.
// posix_spawn, not fork: safe in a multi-threaded process.
//
// Thread safety: reentrant; reads `environ` (callers must not modify it concurrently).
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "probes/platform/deadline.h"

namespace nodehealth::platform {

struct ChildResult {
  bool started = false;     // false: spawn failed (see `error`)
  int exit_code = -1;       // -1 when killed by a signal or by the deadline
  int signal = 0;           // the signal that ended it, 0 when it exited
  bool timed_out = false;   // killed at the deadline
  bool terminated = false;  // ended by TerminateAllChildren (the process is stopping)
  std::string out;
  std::string err;
  std::string error;  // why it could not start
  double seconds = 0;
};

// Starts `argv` with posix_spawn(p) in a new process group, with an empty signal mask and every
// signal at its default disposition, in this process's environment with `env` replacing or adding
// variables; `actions` (may be null) redirects its descriptors. `argv[0]` without a '/' is
// searched in PATH. The child's pid, or -1 with `error` set. The caller reaps it.
pid_t SpawnInOwnGroup(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env,
                      const posix_spawn_file_actions_t* actions, std::string& error);

// `argv[0]` without a '/' is searched in PATH. `env` entries replace or add variables. After
// TerminateAllChildren nothing is started any more (started = false, error says why).
ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, Deadline deadline,
                     std::size_t max_output = 4u << 20,
                     std::chrono::milliseconds kill_grace = std::chrono::seconds(2));

// For a process that is stopping (the agent on SIGTERM): ends every child that a RunChild is
// waiting for, with its whole process group (SIGTERM, then SIGKILL to whatever is left after
// `grace`), waits up to one more second for the RunChild calls to reap them, and refuses new
// children from then on. Returns how many groups were still running at the end (0 normally).
int TerminateAllChildren(std::chrono::milliseconds grace);

}  // namespace nodehealth::platform
