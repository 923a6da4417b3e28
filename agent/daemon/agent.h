// `nodehealth agent` (docs/contract.md): the daemon on every execute node. Its logic is AgentCore
// (agent_core.h), reached through a DaemonEnv (daemon_env.h); agent.cc runs it with threads.
//
//   * scheduler: passive probes every --interval (+- jitter), each on its own thread with its own
//     deadline (engine/probe_runner.h, the runner `check` uses); active probes on SIGUSR1 or every
//     [agent] active_interval_seconds when the config names them; never both at once.
//   * kernel-log watch (kernel_log_watch.h): XIDs, NVLink and mlx5 errors, link up/down, from boot
//     on; an XID reaches /metrics and the drain decision within a second.
//   * drain policy (drain_policy.h) over the latest results and the XID history, re-evaluated
//     after every round and every batch of kernel-log events; its decision, reasons and time are
//     in /report, in the metrics and in <state_dir>/status.json (written atomically), and its
//     state in <state_dir>/state.json, kept across restarts.
//   * HTTP (http_endpoint.h): /metrics, /report, /healthz; scrapes only copy the latest snapshot.
//   * life cycle: sd_notify READY=1 after the first passive round, WATCHDOG=1 while the scheduler
//     makes progress, SIGTERM/SIGINT clean exit (status 0), SIGHUP reloads config and profile
//     (a bad file keeps the running settings and sets nodehealth_config_last_reload_successful 0).
//
// Exit status: 0 after SIGTERM; 2 when it cannot start (invalid config or profile, a malformed
// listen address, the state directory cannot be created or another agent holds it). A listen
// address that cannot be bound now (another process holds the port) is no reason to stop: the
// agent runs on without its endpoint and binds as soon as it can (every 10 s).
#pragma once

#include <iosfwd>

#include "agent/daemon/agent_settings.h"

namespace nodehealth::agent {

// Blocks until SIGTERM or SIGINT. Call from main() before any other thread exists: it blocks the
// signals it handles in every thread (they are taken with sigwait).
int RunAgent(const AgentOptions& options, std::ostream& err);

}  // namespace nodehealth::agent
