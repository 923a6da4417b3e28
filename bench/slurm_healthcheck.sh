#!/usr/bin/env bash
# What one `nodehealth slurm-healthcheck` run costs on a node, against a real Slurm on localhost
# (tests/slurm/local_slurm.sh) and the real agent on the Azure ND H100 v5 fixture node:
#   1. verdict from the agent (its status file), node healthy (the common case: every
#      HealthCheckInterval);
#   2. verdict from the agent, a port down, node already drained (scontrol show node only);
#   3. no agent: the bounded fallback check (passive probes in-process, fake NVML);
#   4. the same on a full 1 MiB kernel log, without and with an XID window (a second read).
# Prints the median and the worst wall time and peak RSS of RUNS runs each (GNU time).
#   BUILD=build RUNS=20 bench/slurm_healthcheck.sh        (root: slurmd needs it)
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${BUILD:-build}" && pwd)"
runs="${RUNS:-20}"
nodehealth="$build/agent/nodehealth"
source tests/slurm/local_slurm.sh
start_local_slurm "SlurmdTimeout=6" ""

scenario="$PWD/tests/fixtures/nodes/azure-nd96isr-h100-v5.toml"
"$build/tests/nodehealth-fixture" "$scenario" "$dir/node"
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do agent_port=$((20000 + RANDOM % 12000)); in_use "$agent_port" || break; done
cat > "$dir/nodehealth.toml" <<TOML
[agent]
listen = "127.0.0.1:$agent_port"
[slurm]
slurm_conf = "$SLURM_CONF"
TOML
mkdir -p "$dir/state"
NODEHEALTH_FAKE_NVML="$scenario" "$nodehealth" agent --sysroot "$dir/node" \
  --nvml-library "$build/tests/libnvml_fake.so" --state-dir "$dir/state" \
  --config "$dir/nodehealth.toml" --interval 1 2> "$dir/agent.err" &
pids+=($!)
agent_pid=$!
sleep 3

measure() {  # $1: label; the rest: extra arguments
  local label="$1"; shift
  : > "$dir/times"
  for _ in $(seq "$runs"); do
    local start; start=$(date +%s%N)
    # GNU time for the peak RSS (-q: no "exited with non-zero status" line); the clock here.
    env -i SLURMD_NODENAME="$host" NODEHEALTH_FAKE_NVML="$scenario" /usr/bin/time -q -o "$dir/t" \
      -f "%M" "$nodehealth" slurm-healthcheck --config "$dir/nodehealth.toml" \
      --state-dir "$dir/state" "$@" > "$dir/out" || true
    echo "$(( ($(date +%s%N) - start) / 1000 )) $(cat "$dir/t")" >> "$dir/times"
  done
  sort -n "$dir/times" | awk -v label="$label" -v action="$(cut -c1-200 "$dir/out")" '
    {t[NR]=$1; if ($2 > rss) rss=$2} END {
      printf "%-34s median %.1f ms, worst %.1f ms, peak RSS %.1f MiB\n    last: %s\n",
             label, t[int((NR+1)/2)] / 1000, t[NR] / 1000, rss / 1024, action }'
}

# The agent's verdict is its status file for the node it runs on: the recorded node here.
measure "agent, healthy node" --sysroot "$dir/node"
port="$dir/node/sys/class/infiniband/mlx5_ib3/ports/1"
printf '1: DOWN\n' > "$port/state"
sleep 2
measure "agent, drained (first run drains)" --sysroot "$dir/node"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
printf '4: ACTIVE\n' > "$port/state"
measure "no agent: fallback check" --sysroot "$dir/node" --nvml-library "$build/tests/libnvml_fake.so"

# A full 1 MiB kernel log (log_buf_len=1M; Debian's default buffer is 256 KiB) with a few XID 31,
# without and with a [drain.xid.31] window, which reads the log a second time.
printf '100000.00 190000.00\n' > "$dir/node/proc/uptime"
awk 'BEGIN {
  for (i = 0; i < 9000; ++i)
    printf "6,%d,%d000000,-;mlx5_core 0000:%02x:00.0: mlx5_cmd_out_err:838: QUERY_VPORT_COUNTER(0x770) op_mod(0x0) failed, status bad parameter(0x3)\n", 5000 + i, 90000 + i, i % 256
  for (i = 0; i < 3; ++i)
    printf "4,%d,%d000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=7, name=python, MMU Fault\n", 20000 + i, 99900 + i
}' >> "$dir/node/dev/kmsg"
echo "kernel log: $(wc -c < "$dir/node/dev/kmsg") bytes"
measure "no agent: fallback, 1 MiB log" --sysroot "$dir/node" \
  --nvml-library "$build/tests/libnvml_fake.so"
printf '[drain.xid.31]\ncount = 3\nwindow_seconds = 3600\n' >> "$dir/nodehealth.toml"
measure "no agent: fallback, 1 MiB log, window" --sysroot "$dir/node" \
  --nvml-library "$build/tests/libnvml_fake.so"
