#!/bin/bash
# `nodehealth slurm-healthcheck` against a real Slurm on localhost (local_slurm.sh) and the real
# agent on a fixture node (the Azure ND H100 v5 recording, the fake NVML):
#   1. healthy: nothing done;                     2. IB port down: drained with the exact reason;
#   3. port back: resumed;                        4. a foreign reason: never overwritten or resumed;
#   5. no agent: fallback "none" does nothing, the fallback check never resumes and drains only on
#      a hard fault or an XID window ([drain.xid.<number>]) over the kernel log; another local user
#      listening on the agent's port (issue 13 item 2) neither drains nor resumes the node;
#   6. blast radius: two of four nodes already drained by nodehealth: suppressed (status file and
#      the agent's nodehealth_slurm_drain_suppressed), then allowed once one is resumed;
#   7. slurmd itself runs it as HealthCheckProgram (only SLURMD_NODENAME, no PATH): drain, resume.
# Exits 77 (skipped) without the Slurm daemons or root.
#   slurm_healthcheck_test.sh SOURCE_DIR NODEHEALTH NODEHEALTH_FIXTURE FAKE_NVML_LIBRARY
set -euo pipefail
source_dir="$1" nodehealth="$2" fixture_tool="$3" fake_nvml="$4"
source "$source_dir/tests/slurm/local_slurm.sh"

fail() {
  echo "FAIL: $*"
  echo "--- sinfo"; sinfo -N -o '%N %T %E' || true
  echo "--- agent log"; tail -20 "$dir/agent.err" 2>/dev/null || true
  echo "--- slurmctld log"; tail -20 "$dir/log/slurmctld.log" 2>/dev/null || true
  exit 1
}

# slurm.conf's HealthCheckProgram: as installed it is the link nodehealth-slurm-healthcheck (the
# binary runs the subcommand under that name) reading /etc/nodehealth; here a wrapper runs the
# binary under that name with the test's config. It does nothing until step 7 creates the flag,
# so slurmd's periodic runs do not race the direct ones.
cat > "$dir/healthcheck.sh" <<WRAPPER
#!/bin/bash
[ -e "$dir/healthcheck-enabled" ] || exit 0
env > "$dir/healthcheck.env"
exec -a nodehealth-slurm-healthcheck "$nodehealth" --config "$dir/nodehealth.toml" \
  --state-dir "$dir/agent-state" --sysroot "$dir/node"
WRAPPER
chmod 755 "$dir/healthcheck.sh"
# SlurmdTimeout=6: slurmctld pings every 2 s, so a resumed node answers again within seconds.
start_local_slurm "HealthCheckProgram=$dir/healthcheck.sh
HealthCheckInterval=2
SlurmdTimeout=6" "fake[1-3]"

scenario="$source_dir/tests/fixtures/nodes/azure-nd96isr-h100-v5.toml"
node="$dir/node"
"$fixture_tool" "$scenario" "$node"
port_dir="$node/sys/class/infiniband/mlx5_ib3/ports/1"
port_down() { printf '1: DOWN\n' > "$port_dir/state"; printf '3: Disabled\n' > "$port_dir/phys_state"; }
port_up() { printf '4: ACTIVE\n' > "$port_dir/state"; printf '5: LinkUp\n' > "$port_dir/phys_state"; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  agent_port=$((20000 + RANDOM % 12000))
  in_use "$agent_port" || break
done
mkdir -p "$dir/agent-state"
write_config() {  # $1: extra [slurm] lines
  cat > "$dir/nodehealth.toml" <<TOML
[agent]
listen = "127.0.0.1:$agent_port"
[slurm]
slurm_conf = "$SLURM_CONF"
max_drained_fraction = 0.5
$1
TOML
}
write_config ""

agent_pid=""
start_agent() {
  NODEHEALTH_FAKE_NVML="$scenario" "$nodehealth" agent --sysroot "$node" \
    --nvml-library "$fake_nvml" --state-dir "$dir/agent-state" --config "$dir/nodehealth.toml" \
    --interval 1 2>> "$dir/agent.err" &
  agent_pid=$!
  pids+=("$agent_pid")
  for _ in $(seq 100); do [[ "$(http_get /healthz)" == "HTTP/1."?" 200"* ]] && return; sleep 0.1; done
  fail "the agent did not answer on port $agent_port"
}
stop_agent() { kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; }
http_get() {
  (exec 3<>"/dev/tcp/127.0.0.1/$agent_port" &&
     printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3 && timeout 5 cat <&3) 2>/dev/null
}
# (Whole bodies into variables, not `| grep -q`: with pipefail, grep's early exit fails the pipe.)
# Waits until the agent's /report says "recommended": true or false.
wait_for_agent() {
  for _ in $(seq 100); do
    [[ "$(http_get /report)" == *"\"recommended\": $1"* ]] && return
    sleep 0.1
  done
  fail "the agent's drain recommendation did not become $1"
}

# As slurmd runs it: an empty environment but SLURMD_NODENAME (and the fake NVML's scenario when
# the fallback check runs on a fixture node: NVML=SCENARIO healthcheck ...). The agent runs on the
# fixture node, so its status file names that node: --sysroot "$node" unless a test gives another.
status=0
healthcheck() {
  status=0
  local root=("--sysroot" "$node")
  [[ " $* " == *" --sysroot "* ]] && root=()
  out="$(env -i SLURMD_NODENAME="$host" ${NVML:+NODEHEALTH_FAKE_NVML="$NVML"} \
           "$nodehealth" slurm-healthcheck "${root[@]}" \
           --config "$dir/nodehealth.toml" --state-dir "$dir/agent-state" "$@")" || status=$?
  echo "  $out (exit $status)"
}
expect() {  # $1: exit status, $2: "state reason" as sinfo shows them
  [[ "$status" == "$1" ]] || fail "exit $status, expected $1: $out"
  # A resumed node is NOT_RESPONDING ("idle*") until slurmctld's next ping answers: wait for it
  # (up to 30 s: on a loaded CI machine with the fuzzers running, a ping cycle can take 10 s).
  local seen
  for _ in $(seq 150); do
    seen="$(node_state)"
    [[ "$seen" == "$2" ]] && return
    sleep 0.2
  done
  [[ "$seen" == "$2" ]] || fail "node is \"$seen\", expected \"$2\" ($out)"
}
# A resumed node is NOT_RESPONDING until slurmctld's next ping: wait, so the next run acts on it.
resume_host() {
  scontrol update NodeName="$host" State=RESUME
  for _ in $(seq 150); do [[ "$(node_state)" == "idle none" ]] && return; sleep 0.2; done
  fail "$host did not come back after State=RESUME"
}
outcome() { grep -o "\"$1\": [^,]*" "$dir/agent-state/slurm-healthcheck.json"; }

reason="nodehealth: ib_port_down hca/mlx5_ib3/1"

echo "1. healthy node"
start_agent
wait_for_agent false
healthcheck
expect 0 "idle none"
[[ "$(outcome action)" == '"action": "none"' ]] || fail "status file: $(outcome action)"

echo "2. IB port down: drained"
port_down
wait_for_agent true
healthcheck
expect 1 "drained $reason"
healthcheck  # again: nothing changes, the reason is not rewritten
expect 1 "drained $reason"
[[ "$out" == *"already drained"* ]] || fail "$out"
timeout 5 sinfo -R -h -n "$host" | grep -q '^nodehealth: ib_port_' || fail "sinfo -R: $(sinfo -R)"

echo "3. port back: resumed"
port_up
wait_for_agent false
healthcheck
expect 0 "idle none"
[[ "$out" == *"resume (ib_port_down hca/mlx5_ib3/1 is gone: ib_ports passed again)"* ]] ||
  fail "$out"

echo "4. a reason nodehealth did not write"
scontrol update NodeName="$host" State=DRAIN Reason="maintenance: bios update"
port_down
wait_for_agent true
healthcheck
expect 1 "drained maintenance: bios update"
port_up
wait_for_agent false
healthcheck
expect 0 "drained maintenance: bios update"
[[ "$out" == *"was not set by nodehealth: left as is"* ]] || fail "$out"
resume_host

echo "5. no agent"
stop_agent
scontrol update NodeName="$host" State=DRAIN Reason="$reason"
write_config 'fallback = "none"'
healthcheck
expect 2 "drained $reason"
[[ "$out" == *'fallback = "none": no action'* ]] || fail "$out"
write_config ""
# The fallback check on the healthy node: it cannot see what the agent held, so no resume.
NVML="$scenario" healthcheck --sysroot "$node" --nvml-library "$fake_nvml"
expect 0 "drained $reason"
[[ "$out" == *"only the agent can tell that the fault is gone: not resumed); verdict from check"* ]] ||
  fail "$out"
resume_host
# A lost GPU is a hard fault: the fallback check drains for it.
lost_scenario="$source_dir/tests/fixtures/nodes/fault-gpu-lost.toml"
"$fixture_tool" "$lost_scenario" "$dir/lost-node"
NVML="$lost_scenario" healthcheck --sysroot "$dir/lost-node" \
  --nvml-library "$fake_nvml"
expect 1 "drained nodehealth: gpu_lost gpu/0000:9b:00.0 (+1 more)"
resume_host
# [drain.xid.31] windows: the fallback counts this boot's kernel-log XIDs, placed in time by
# /proc/uptime. XID 31 alone does not drain; three on one GPU, one of them two hours old.
xid_node="$dir/xid-node"
cp -a "$node" "$xid_node"
printf '100000.00 190000.00\n' > "$xid_node/proc/uptime"
for since_boot in 92800 99700 99800; do
  printf '4,%d,%d000000,-;NVRM: Xid (PCI:0000:53:00): 31, pid=7, name=python, MMU Fault\n' \
    "$since_boot" "$since_boot" >> "$xid_node/dev/kmsg"
done
write_config $'[drain.xid.31]\ncount = 3\nwindow_seconds = 600'
NVML="$scenario" healthcheck --sysroot "$xid_node" --nvml-library "$fake_nvml"
expect 0 "idle none"  # two in the last 600 s
write_config $'[drain.xid.31]\ncount = 2\nwindow_seconds = 600\naction = "reset_gpu"'
NVML="$scenario" healthcheck --sysroot "$xid_node" --nvml-library "$fake_nvml"
expect 1 "drained nodehealth: gpu_xid gpu/0000:53:00.0"
[[ "$out" == *"drain recommended: nodehealth: gpu_xid gpu/0000:53:00.0); verdict from check"* ]] ||
  fail "$out"
resume_host
write_config ""

echo "5b. another local user listens on the agent's port while the agent is down"
# What any user or job can do (issue 13 item 2): bind the agent's port and answer /healthz and
# /report with a report of its own. The verdict comes from the root-owned status file only, so
# the fallback check on the healthy node decides: no drain, and no resume either.
imposter_dir="$(mktemp -d)"
chmod 755 "$imposter_dir"
forged_report() {  # $1: "sick" or "healthy"
  local drain='{"recommended": false, "action": "none", "reasons": []}' findings='[]'
  if [[ "$1" == sick ]]; then
    findings='[{"code": "gpu_row_remap_failure", "severity": "fail", "action": "replace",
      "entity": "gpu/0000:53:00.0", "message": "forged", "evidence": []}]'
    drain='{"recommended": true, "action": "replace", "reasons": [{"code":
      "gpu_row_remap_failure", "entity": "gpu/0000:53:00.0", "message": "forged"}]}'
  fi
  local body="{\"schema_version\": 1, \"node\": \"$host\", \"mode\": \"agent\",
    \"verdict\": \"pass\", \"drain\": $drain, \"probes\": [
    {\"name\": \"gpu_presence\", \"verdict\": \"pass\", \"findings\": []},
    {\"name\": \"gpu_health\", \"verdict\": \"pass\", \"findings\": $findings}]}"
  printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "${#body}" "$body" > "$imposter_dir/response"
  chmod 644 "$imposter_dir/response"
}
start_imposter() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
    socat "TCP-LISTEN:$agent_port,bind=127.0.0.1,reuseaddr,fork" \
    "SYSTEM:cat $imposter_dir/response" 2>> "$dir/imposter.err" &
  imposter_pid=$!
  pids+=("$imposter_pid")
  for _ in $(seq 50); do [[ "$(http_get /healthz)" == "HTTP/1.0 200"* ]] && return; sleep 0.1; done
  fail "the imposter did not listen on port $agent_port: $(cat "$dir/imposter.err")"
}
forged_report sick
start_imposter
NVML="$scenario" healthcheck --sysroot "$node" --nvml-library "$fake_nvml"
expect 0 "idle none"
[[ "$out" == *"verdict from check"* ]] || fail "$out"
scontrol update NodeName="$host" State=DRAIN Reason="nodehealth: gpu_lost gpu/0000:9b:00.0"
forged_report healthy
NVML="$scenario" healthcheck --sysroot "$node" --nvml-library "$fake_nvml"
expect 0 "drained nodehealth: gpu_lost gpu/0000:9b:00.0"
kill "$imposter_pid"; wait "$imposter_pid" 2>/dev/null || true
rm -rf "$imposter_dir"
resume_host

echo "6. blast radius: 2 of 4 nodes already drained by nodehealth (limit 0.5 x 4 = 2)"
scontrol update NodeName=fake1 State=DRAIN Reason="nodehealth: gpu_lost gpu/0000:19:00.0"
scontrol update NodeName=fake2 State=DRAIN Reason="nodehealth: ib_port_down hca/mlx5_ib0/1"
scontrol update NodeName=fake3 State=DRAIN Reason="cable swap"  # not nodehealth's: not counted
start_agent
port_down
wait_for_agent true
healthcheck
expect 1 "idle none"
[[ "$(outcome action)" == '"action": "suppressed"' ]] || fail "status file: $(outcome action)"
grep -q '"drained_by_nodehealth": 2' "$dir/agent-state/slurm-healthcheck.json" ||
  fail "$(cat "$dir/agent-state/slurm-healthcheck.json")"
[[ "$out" == *"partition test already has 2 of 4 nodes drained by nodehealth (limit 2)"* ]] ||
  fail "$out"
suppressed_metric=$'\nnodehealth_slurm_drain_suppressed 1\n'
for _ in $(seq 100); do  # the agent reads the status file each round
  [[ "$(http_get /metrics)" == *"$suppressed_metric"* ]] && break
  sleep 0.1
done
[[ "$(http_get /metrics)" == *"$suppressed_metric"* ]] ||
  fail "no nodehealth_slurm_drain_suppressed 1 in /metrics"
scontrol update NodeName=fake2 State=DOWN Reason="replaced"  # never answers: RESUME is refused
healthcheck
expect 1 "drained $reason"

echo "7. slurmd runs it (HealthCheckProgram)"
port_up
touch "$dir/healthcheck-enabled"
for _ in $(seq 100); do node_state | grep -q '^idle none' && break; sleep 0.2; done
expect 1 "idle none"  # $status is the last direct run's; the state is what slurmd's run did
grep -q "^SLURMD_NODENAME=$host\$" "$dir/healthcheck.env" || fail "$(cat "$dir/healthcheck.env")"
grep -q '^PATH=' "$dir/healthcheck.env" && echo "  (this slurmd passes PATH)"
port_down
for _ in $(seq 100); do node_state | grep -q "^drained $reason" && break; sleep 0.2; done
[[ "$(node_state)" == "drained $reason" ]] || fail "slurmd's health check did not drain"
echo "ok: slurm-healthcheck drains, resumes, respects foreign reasons and the blast radius"
