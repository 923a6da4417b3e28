#!/bin/bash
# The fleet path on a real four-node Slurm cluster (multinode_slurm.sh: munge, slurmctld and four
# slurmd, each node in its own network and UTS namespace), real Open MPI over TCP between the
# namespaces, and a really slow link (tbf):
#   1. burn-in gating: each slurmd starts behind the burn-in unit's own command line; node3's
#      burn-in fails (a fixture GPU fallen off the bus), so node3 never registers, the others do;
#      once its burn-in passes, it registers;
#   2. nodehealth-allreduce.sbatch across 2 and 4 nodes through srun --mpi=pmix: the JSON names
#      the node count, every sum is right, bus bandwidth > 0;
#   3. pairwise.sh on the healthy cluster: no suspect; slurm-drain run by an ordinary user
#      (nobody) is refused by slurmctld;
#   4. node2's link slowed: pairwise.sh --drain names exactly node2, and `nodehealth slurm-drain`
#      drains it with "nodehealth: mpi_allreduce_bandwidth_low fleet";
#   5. a node drained for another reason is never touched by slurm-drain;
#   6. node2 and node4 slow: both named, node2 drained, node4's drain suppressed by the
#      blast-radius limit (one node of four with the default fraction 0.1);
#   7. three nodes (an odd count): no suspect;
#   8. a node that never answers (its link down): cut at the pair timeout and named; slurm-drain
#      leaves a node Slurm already has down alone.
# Exits 77 (skipped) without root or the tools (multinode_slurm.sh).
#   multinode_test.sh SOURCE_DIR NODEHEALTH GPU_WORKER NODEHEALTH_ALLREDUCE NODEHEALTH_FIXTURE
#                     FAKE_NVML
set -euo pipefail
source_dir="$1"
source "$source_dir/tests/slurm/multinode_slurm.sh"
nodehealth="$(stage_program "$2")"
stage_program "$3" > /dev/null  # beside nodehealth, where it looks for it
allreduce="$(stage_program "$4")"
fixture_tool="$5" fake_nvml="$6"
started=$SECONDS

fail() {
  echo "FAIL: $*"
  echo "--- sinfo"; sinfo -N -o '%N %T %E' 2>&1 || true
  echo "--- slurmctld log"; tail -20 "$dir/log/slurmctld.log" 2>/dev/null || true
  exit 1
}
step() { echo "ok: $* ($((SECONDS - started)) s)"; }

start_multinode_slurm 4

# 1. Burn-in gating. systemd starts slurmd only after nodehealth-burnin.service succeeded
# (Requires= + Before=); here each node's slurmd starts only when the unit's ExecStart exits 0.
# The command line is the unit's (@...@ and %S replaced), plus the fixture node's options.
unit_args="$(sed -n 's|^ExecStart=@CMAKE_INSTALL_FULL_BINDIR@/nodehealth ||p' \
  "$source_dir/systemd/nodehealth-burnin.service.in")"
[[ "$unit_args" == "burnin "* ]] || fail "no burnin ExecStart in the unit: $unit_args"
healthy_scenario="$source_dir/tests/fixtures/nodes/azure-nd96isr-h100-v5.toml"
failing_scenario="$source_dir/tests/fixtures/nodes/fault-gpu-lost.toml"
burnin_gate() {  # NODE SCENARIO: prints the gate command for start_slurmd
  local node="$1" scenario="$2" args
  rm -rf "$dir/fixture/$node"
  "$fixture_tool" "$scenario" "$dir/fixture/$node" > /dev/null
  mkdir -p "$dir/burnin/$node/state/nodehealth" "$dir/burnin/$node/textfile"
  args="${unit_args//%S/$dir/burnin/$node/state}"
  args="${args//\/var\/lib\/prometheus\/node-exporter/$dir/burnin/$node/textfile}"
  local words
  read -r -a words <<< "$args"  # the unit's words (no quoting in that line)
  gate=(env "NODEHEALTH_FAKE_NVML=$scenario" "$nodehealth" "${words[@]}"
        --sysroot "$dir/fixture/$node" --nvml-library "$fake_nvml"
        --config "$source_dir/tests/fixtures/empty-config.toml" --skip "rdma_loopback,mpi_allreduce")
}
for node in "${cluster_nodes[@]}"; do
  scenario="$healthy_scenario"
  [[ "$node" == node3 ]] && scenario="$failing_scenario"
  burnin_gate "$node" "$scenario"
  start_slurmd "$node" "${gate[@]}"
done
wait_nodes_idle node1 node2 node4
wait "${node_pid[node3]}" || true  # the gate ended without starting slurmd
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["verdict"] != "fail")' \
  "$dir/burnin/node3/state/nodehealth/burnin.json" ||
  fail "node3's burn-in report: $(head -c 400 "$dir/burnin/node3/state/nodehealth/burnin.json")"
grep -q '^nodehealth_drain_recommended{origin="burnin"} 1' \
  "$dir/burnin/node3/textfile/nodehealth_burnin_report.prom" || fail "node3's burn-in textfile"
grep -q '^nodehealth_drain_recommended{origin="burnin"} 0' \
  "$dir/burnin/node1/textfile/nodehealth_burnin_report.prom" || fail "node1's burn-in textfile"
line="$(timeout 5 scontrol show node -o node3)"
[[ "$line" == *"BootTime=None"* ]] || fail "node3 registered: $line"
[[ "$(node_state node3)" != idle* ]] || fail "node3 is idle without slurmd"
step "burn-in gating: node3 failed its burn-in and never registered; node1, node2, node4 idle"
# The repair: its burn-in passes now, slurmd starts and the node registers.
burnin_gate node3 "$healthy_scenario"
start_slurmd node3 "${gate[@]}"
wait_nodes_idle node3
step "node3 registered once its burn-in passed"

# Open MPI over TCP between the namespaces (eth0 in each), ranks that yield when idle (2 cores).
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=eth0 OMPI_MCA_oob_tcp_if_include=eth0 \
  OMPI_MCA_mpi_yield_when_idle=1 NODEHEALTH_ALLREDUCE="$allreduce" NODEHEALTH="$nodehealth"
cd "$dir/out"

# 2. The all-reduce batch script across 2 and 4 nodes.
for n in 2 4; do
  timeout 120 sbatch --wait -N "$n" --ntasks-per-node=1 -o "$dir/out/allreduce-$n.out" \
    -e "$dir/out/allreduce-$n.err" "$source_dir/mpi-tests/slurm/nodehealth-allreduce.sbatch" \
    --sizes 1M,4M --iterations 20 --warmup 2 ||
    fail "nodehealth-allreduce.sbatch -N $n: $(cat "$dir/out/allreduce-$n.err")"
  out="$(cat "$dir/out/allreduce-$n.out")"
  grep -q "\"ranks\": $n, \"nodes\": $n," <<< "$out" || fail "-N $n: $out"
  grep -q '"correct": true, "results"' <<< "$out" || fail "-N $n: wrong sums: $out"
  busbw="$(grep -o '"size_bytes": 4194304, .*"busbw_bytes_per_second": [0-9.e+]*' <<< "$out" |
           sed 's/.*: //')"
  awk -v b="${busbw:-0}" 'BEGIN { exit !(b > 0) }' || fail "-N $n: no 4 MiB bus bandwidth: $out"
  step "all-reduce across $n nodes: $(awk -v b="$busbw" 'BEGIN { printf "%.2f", b * 8 / 1e9 }') Gb/s bus bandwidth at 4 MiB"
done

cat > "$dir/nodehealth.toml" <<TOML
[slurm]
scontrol = "$(command -v scontrol)"
slurm_conf = "$SLURM_CONF"
TOML
# pairwise.sh as an operator runs it: one job over the partition, as root (Slurm lets only an
# operator drain), the suspects to slurm-drain. --fraction 0.2, not the default 0.9: here the two
# pairs of a round share 2 cores, and healthy pairs measured from 1.5 to 3.7 Gb/s in one run; a
# link at 100 Mbit/s gives at most 0.1 Gb/s, far below a fifth of any healthy pair.
pairwise() {  # NAME [-N COUNT] [--no-kill] [pairwise.sh options]: the job's output in $out, its
               # exit status in $status
  local name="$1" count=4 sbatch_options=(); shift
  [[ "${1:-}" == -N ]] && { count="$2"; shift 2; }
  [[ "${1:-}" == --no-kill ]] && { sbatch_options=(--no-kill); shift; }
  status=0
  timeout 300 sbatch --wait -N "$count" "${sbatch_options[@]}" --ntasks-per-node=1 --exclusive \
    -o "$dir/out/$name.out" \
    -e "$dir/out/$name.err" "$source_dir/mpi-tests/slurm/pairwise.sh" --size 1M \
    --fraction 0.2 --pair-timeout 60 "$@" -- --iterations 20 --warmup 2 || status=$?
  out="$(cat "$dir/out/$name.out" "$dir/out/$name.err")"
  echo "$out" | sed "s/^/  $name: /"
}
reason_of() { timeout 5 scontrol show node -o "$1" | sed -n 's/.* Reason=\(.*\) \[.*/\1/p'; }

# 3. Healthy.
pairwise healthy
[[ $status == 0 ]] || fail "healthy pairwise: exit $status"
grep -qx "suspects: none" <<< "$out" || fail "healthy pairwise named a suspect"
step "pairwise on the healthy cluster: no suspect"
# An ordinary user cannot drain: slurmctld refuses the update of a user who is not an operator.
status=0
drain_out="$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$nodehealth" slurm-drain \
  --config "$dir/nodehealth.toml" node1 2>&1)" || status=$?
[[ $status == 2 ]] || fail "slurm-drain as nobody: exit $status: $drain_out"
[[ "$drain_out" == *"node node1: could not act: "* ]] || fail "slurm-drain as nobody: $drain_out"
[[ "$(node_state node1)" == "idle none" ]] || fail "node1 as nobody left it: $(node_state node1)"
step "an ordinary user cannot drain: $drain_out"

# 4. node2's link at 100 Mbit/s, both directions.
slow_node node2 100mbit
pairwise slow-node2 --drain --config "$dir/nodehealth.toml"
[[ $status == 1 ]] || fail "pairwise with node2 slow: exit $status"
grep -qx "suspects: node2" <<< "$out" || fail "pairwise did not name exactly node2"
grep -q '^undetermined' <<< "$out" && fail "undetermined nodes"
grep -qx "nodehealth slurm-drain: node node2: drain (drain recommended: nodehealth: mpi_allreduce_bandwidth_low fleet)" <<< "$out" ||
  fail "slurm-drain's line for node2"
grep -qx "drain: exit 0" <<< "$out" || fail "slurm-drain did not drain node2"
[[ "$(reason_of node2)" == "nodehealth: mpi_allreduce_bandwidth_low fleet" ]] ||
  fail "node2's reason: $(reason_of node2)"
[[ "$(node_state node2)" == drained* ]] || fail "node2: $(node_state node2)"
for node in node1 node3 node4; do
  [[ "$(node_state "$node")" == "idle none" ]] || fail "$node: $(node_state "$node")"
done
step "node2 slowed: named alone and drained with the fleet reason"

# 5. A node drained for another reason: slurm-drain leaves it (and its reason) alone.
timeout 5 scontrol update NodeName=node4 State=DRAIN Reason="maintenance: cable swap"
status=0
drain_out="$("$nodehealth" slurm-drain --config "$dir/nodehealth.toml" node4)" || status=$?
[[ $status == 1 ]] || fail "slurm-drain of a node drained by hand: exit $status: $drain_out"
[[ "$(reason_of node4)" == "maintenance: cable swap" ]] || fail "node4's reason: $(reason_of node4)"
timeout 5 scontrol update NodeName=node4 State=RESUME
step "a node drained by hand is left alone: $drain_out"

# 6. Two of four nodes slow: the blast-radius limit (max(1, floor(0.1 x 4)) = 1) holds.
timeout 5 scontrol update NodeName=node2 State=RESUME  # the operator's repair ...
slow_node node4 100mbit                                # ... while node4's link goes bad too
wait_nodes_idle node2 node4
pairwise slow-node2-node4 --drain --config "$dir/nodehealth.toml"
[[ $status == 1 ]] || fail "pairwise with node2 and node4 slow: exit $status"
grep -qx "suspects: node2 node4" <<< "$out" || fail "pairwise did not name node2 and node4"
grep -qx "nodehealth slurm-drain: node node2: drain (drain recommended: nodehealth: mpi_allreduce_bandwidth_low fleet)" <<< "$out" ||
  fail "slurm-drain's line for node2"
grep -q "^nodehealth slurm-drain: node node4: suppressed (drain suppressed: partition gpu already has 1 of 4 nodes drained by nodehealth (limit 1)" <<< "$out" ||
  fail "slurm-drain's line for node4"
grep -qx "drain: exit 1" <<< "$out" || fail "slurm-drain's exit status"
[[ "$(reason_of node2)" == "nodehealth: mpi_allreduce_bandwidth_low fleet" ]] ||
  fail "node2's reason: $(reason_of node2)"
[[ "$(node_state node4)" == "idle none" ]] || fail "node4: $(node_state node4)"
step "node2 and node4 slowed: both named, node2 drained, node4 suppressed by the blast radius"

# 7. Repaired; an odd node count: three nodes, one sits out each round, none named.
for node in node2 node4; do
  tc qdisc del dev "${node_veth[$node]}" root
  in_node "$node" tc qdisc del dev eth0 root
done
timeout 5 scontrol update NodeName=node2 State=RESUME
wait_nodes_idle node2
pairwise three-nodes -N 3
[[ $status == 0 ]] || fail "pairwise on three healthy nodes: exit $status"
grep -qx "suspects: none" <<< "$out" || fail "pairwise on three nodes named a suspect"
[[ "$(grep -c '^round [123]: node' <<< "$out")" == 3 ]] || fail "three rounds of one pair"
step "three nodes: three rounds of one pair, no suspect"

# 8. A node that never answers: node3's link goes down once the job has its nodes. Its pairs are
# cut at --pair-timeout (then fail at once, when Slurm has marked it down), it is named, and
# slurm-drain leaves a node Slurm already has down to Slurm. --no-kill keeps the job alive.
pairwise_hung_started=$SECONDS
in_node node3 ip link set eth0 down
pairwise node3-silent --no-kill --pair-timeout 15 --drain --config "$dir/nodehealth.toml"
in_node node3 ip link set eth0 up
[[ $status == 1 ]] || fail "pairwise with node3 silent: exit $status"
grep -q '^round [123]: \(node[124] node3\|node3 node[124]\) failed$' <<< "$out" ||
  fail "no failed pair with node3"
grep -qx "suspects: node3" <<< "$out" || fail "pairwise did not name exactly node3"
grep -q "^nodehealth slurm-drain: node node3: none (" <<< "$out" || fail "slurm-drain acted on node3"
(( SECONDS - pairwise_hung_started < 240 )) || fail "the silent node held pairwise too long"
step "a node that never answers: cut at the pair timeout, named, left to Slurm"
echo "ok: multinode ($((SECONDS - started)) s)"
