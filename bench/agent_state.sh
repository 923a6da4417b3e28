#!/usr/bin/env bash
# The agent's state under stress (issue 13, README "Reliability"), on the Azure ND H100 v5 fixture
# node with the fake NVML:
#   1. an XID storm against a full history: 10,000 XID 31 records in the kernel log's backlog,
#      then 20 XIDs a second for 10 s; bytes the agent wrote (/proc/PID/io wchar: the state
#      files, its log, nothing else is written) and CPU seconds it used during the storm;
#   2. kill -9 at a random moment (0.2 to 1.5 s after a start, an XID 79 appended each time):
#      state.json and status.json must parse after every kill; temporary files left by killed
#      writes are counted before the next start and after it;
#   3. SIGTERM during an active round (an mpirun stand-in that would run 60 s): seconds to exit.
# OLD=path/to/an/older/nodehealth repeats 1 and 3 with that binary for comparison; ONLY_STOP=1
# runs 3 alone; KEEP=1 keeps the scratch directory (its agent.err) for a look afterwards.
#   BUILD=build KILLS=100 bench/agent_state.sh
set -Eeuo pipefail
trap 'echo "agent_state.sh: line $LINENO: $BASH_COMMAND failed" >&2' ERR
cd "$(dirname "$0")/.."
build="$(cd "${BUILD:-build}" && pwd)"
kills="${KILLS:-100}"
scenario="$PWD/tests/fixtures/nodes/azure-nd96isr-h100-v5.toml"
fake_nvml="$build/tests/libnvml_fake.so"
work="$(mktemp -d)"
agent_pid=""
cleanup() {
  [[ -n "$agent_pid" ]] && kill -9 "$agent_pid" 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
echo > "$work/empty.toml"

# start_agent BINARY NODE STATE [ARGS...]: in the background; $agent_pid.
start_agent() {
  local binary="$1" node="$2" state="$3"; shift 3
  NODEHEALTH_FAKE_NVML="$scenario" "$binary" agent --sysroot "$node" --nvml-library "$fake_nvml" \
    --listen 127.0.0.1:0 --state-dir "$state" --config "$work/empty.toml" --profile none "$@" \
    2> "$work/agent.err" &
  agent_pid=$!
}
wait_for_file() { for _ in $(seq 300); do [[ -s "$1" ]] && return 0; sleep 0.05; done; return 1; }
last_record() { awk -F, '/^[0-9]+,[0-9]+,[0-9]+,/ {s=$2; t=$3} END {print s, t}' "$1"; }
xid() { printf '4,%d,%d,-;NVRM: Xid (PCI:0000:53:00): %d, pid=%d, name=python3, %s\n' "$@"; }
# True while PID runs (a zombie nobody reaped yet runs no more).
running() { [[ -d "/proc/$1" && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
wchar() { awk '/^wchar:/ {print $2}' "/proc/$1/io"; }

storm() {  # $1: binary, $2: label
  local node="$work/storm-node" state="$work/storm-state"
  rm -rf "$node" "$state"; mkdir -p "$state"
  "$build/tests/nodehealth-fixture" "$scenario" "$node" > /dev/null
  read -r seq usec < <(last_record "$node/dev/kmsg")
  for _ in $(seq 10000); do
    seq=$((seq + 1)); usec=$((usec + 1000))
    xid "$seq" "$usec" 31 7 "MMU Fault: ENGINE GRAPHICS"
  done >> "$node/dev/kmsg"
  start_agent "$1" "$node" "$state" --interval 60
  wait_for_file "$state/state.json"
  sleep 2
  local bytes0 cpu0; bytes0=$(wchar "$agent_pid"); cpu0=$(cpu_seconds "$agent_pid")
  for _ in $(seq 200); do
    seq=$((seq + 1)); usec=$((usec + 50000))
    xid "$seq" "$usec" 31 7 "MMU Fault" >> "$node/dev/kmsg"
    sleep 0.05
  done
  sleep 1
  local bytes1 cpu1; bytes1=$(wchar "$agent_pid"); cpu1=$(cpu_seconds "$agent_pid")
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
  awk -v label="$2" -v b=$((bytes1 - bytes0)) -v c0="$cpu0" -v c1="$cpu1" \
      -v size="$(stat -c %s "$state/state.json")" 'BEGIN {
    printf "  %-8s state.json %.0f KiB; 200 XIDs in 10 s: %.2f MB written (%.0f bytes per XID), CPU %.2f s (%.0f %% of a core)\n",
           label, size / 1024, b / 1e6, b / 200, c1 - c0, (c1 - c0) * 10 }'
}

kill_loop() {
  local node="$work/kill-node" state="$work/kill-state"
  rm -rf "$node" "$state"; mkdir -p "$state"
  "$build/tests/nodehealth-fixture" "$scenario" "$node" > /dev/null
  read -r seq usec < <(last_record "$node/dev/kmsg")
  local corrupted=0 temporaries=0 left_after=0
  for i in $(seq "$kills"); do
    start_agent "$build/agent/nodehealth" "$node" "$state" --interval 1
    seq=$((seq + 1)); usec=$((usec + 1000000))
    xid "$seq" "$usec" 79 0 "GPU has fallen off the bus." >> "$node/dev/kmsg"
    sleep "$(awk -v r="$RANDOM" 'BEGIN {print 0.2 + 1.3 * r / 32767}')"
    kill -9 "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
    for f in state.json status.json; do
      [[ -s "$state/$f" ]] && jq -e . "$state/$f" > /dev/null 2>&1 || corrupted=$((corrupted + 1))
    done
    temporaries=$((temporaries + $(find "$state" -name '.*.tmp.*' | wc -l)))
  done
  start_agent "$build/agent/nodehealth" "$node" "$state" --interval 1
  sleep 2
  left_after=$(find "$state" -name '.*.tmp.*' | wc -l)
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
  echo "  $kills kills: $corrupted of $((2 * kills)) state/status files corrupted;" \
       "$temporaries temporary files seen after kills, $left_after after the next start"
}

stop_time() {  # $1: binary, $2: label
  local node="$work/stop-node" state="$work/stop-state" bin="$work/bin"
  rm -rf "$node" "$state" "$bin"; mkdir -p "$state" "$bin"
  "$build/tests/nodehealth-fixture" "$PWD/tests/fixtures/nodes/no-gpu.toml" "$node" > /dev/null
  printf '#!/bin/sh\nsleep 60 &\necho $! > %s/rank.pid\nwait\n' "$bin" > "$bin/mpirun"
  chmod 755 "$bin/mpirun"
  PATH="$bin:$PATH" start_agent "$1" "$node" "$state" --interval 30
  wait_for_file "$state/status.json"
  kill -USR1 "$agent_pid"
  wait_for_file "$bin/rank.pid"
  sleep 0.5
  local start; start=$(date +%s%N)
  kill "$agent_pid"
  for _ in $(seq 1200); do running "$agent_pid" || break; sleep 0.01; done
  local took=$(( ($(date +%s%N) - start) / 1000000 ))
  kill -9 "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
  local rank; rank=$(cat "$bin/rank.pid")
  local alive="no"; running "$rank" && alive="yes"
  kill -9 "$rank" 2>/dev/null || true
  echo "  $2 SIGTERM during an active round: exited after ${took} ms; the MPI rank still running: $alive"
}

echo "XID storm against a full history:"
[[ -n "${ONLY_STOP:-}" ]] || storm "$build/agent/nodehealth" "this"
[[ -n "${OLD:-}" ]] && storm "$OLD" "old"
echo "kill -9 while writing:"
[[ -n "${ONLY_STOP:-}" ]] || kill_loop
echo "stop during an active round:"
stop_time "$build/agent/nodehealth" "this"
[[ -n "${OLD:-}" ]] && stop_time "$OLD" "old"
exit 0
