#!/bin/bash
# The round logic of mpi-tests/slurm/pairwise.sh, with stand-ins for Slurm's scontrol and srun on
# PATH (tests/slurm/multinode_test.sh runs it on a real four-node cluster):
#   1. five nodes, n3 slow: an odd count (one node sits out each round), n3 the only suspect;
#   2. four nodes, two slow, relative threshold: both are named, also when rounds 1 and 2 pair a
#      slow node in every pair and only round 3 has a healthy pair to compare with;
#   3. a node that never answers (its srun hangs): cut at --pair-timeout, named;
#   4. every pair fails: nothing to compare with, every node undetermined, none named;
#   5. healthy with --min-gbps: one round, no suspect, exit 0;
#   6. --drain hands the suspects to `nodehealth slurm-drain` (a stand-in recording its argv);
#   7. bad usage: exit 2.
#   pairwise_test.sh SOURCE_DIR
set -euo pipefail
source_dir="$1"
pairwise="$source_dir/mpi-tests/slurm/pairwise.sh"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin"
cat > "$dir/bin/scontrol" <<'STUB'
#!/bin/bash
[[ "$1 $2" == "show hostnames" ]] && tr ',' '\n' <<< "$NODES"
STUB
cat > "$dir/bin/srun" <<'STUB'
#!/bin/bash
# Prints what nodehealth-allreduce would: 400 Gb/s busbw, 100 Gb/s when a slow node takes part;
# fails for a FAILING node; never ends for a HUNG node.
nodes=""
for arg in "$@"; do [[ "$arg" == -w ]] && want=1 && continue; [[ -n "${want:-}" ]] && nodes="$arg" && want=""; done
echo "$nodes" >> "$SRUN_LOG"
for n in ${HUNG:-}; do [[ ",$nodes," == *",$n,"* ]] && exec sleep 600; done
for n in ${FAILING:-}; do [[ ",$nodes," == *",$n,"* ]] && { echo "srun: error: $n: task 1: Exited" >&2; exit 1; }; done
busbw=5e10
for n in ${SLOW:-}; do [[ ",$nodes," == *",$n,"* ]] && busbw=1.25e10; done
echo "{\"schema\": \"nodehealth-allreduce/1\", \"ranks\": 16, \"nodes\": 2, \"datatype\": \"float\", \"truncated\": false, \"correct\": true, \"results\": ["
echo "  {\"size_bytes\": 67108864, \"iterations\": 100, \"latency_seconds\": {\"avg\": 0.001, \"min\": 0.001, \"max\": 0.001}, \"algbw_bytes_per_second\": 2.8e10, \"busbw_bytes_per_second\": $busbw, \"correct\": true}"
echo "]}"
STUB
cat > "$dir/bin/nodehealth" <<'STUB'
#!/bin/bash
echo "$*" > "$DRAIN_LOG"
echo "nodehealth slurm-drain: stand-in"
exit "${DRAIN_EXIT:-0}"
STUB
chmod +x "$dir/bin/"*
export PATH="$dir/bin:$PATH" SRUN_LOG="$dir/srun.log" DRAIN_LOG="$dir/drain.log"
export NODEHEALTH="$dir/bin/nodehealth" SLURM_JOB_NODELIST="stand-in"

fail() { echo "FAIL: $*"; echo "--- output"; echo "$out"; exit 1; }
expect() { grep -qx "$1" <<< "$out" || fail "no line \"$1\""; }
# run EXPECTED_STATUS NODES [pairwise.sh arguments]
run() {
  local want="$1"; export NODES="$2"; shift 2
  : > "$SRUN_LOG"
  status=0
  out="$(bash "$pairwise" "$@" 2>&1)" || status=$?
  [[ $status == "$want" ]] || fail "exit status $status, expected $want"
}

# 1. Slots n1..n5 and an empty one; the circle method: round 1 (n2 n5) (n3 n4), n1 sits out;
# round 2 (n1 n5) (n2 n3), n4 out; round 3 (n1 n4) (n5 n3), n2 out.
SLOW=n3 run 1 n1,n2,n3,n4,n5
expect "round 1: n2 n5 400.00"
expect "round 1: n3 n4 100.00"
expect "round 2: n1 n5 400.00"
expect "round 2: n2 n3 100.00"
expect "round 3: n1 n4 400.00"
expect "round 3: n5 n3 100.00"
expect "threshold: 360.00 Gb/s"
expect "suspects: n3"
[[ "$(grep -c '^round' <<< "$out")" == 6 ]] || fail "six pairs in three rounds"
grep -q '^undetermined' <<< "$out" && fail "no node is undetermined"
echo "ok: five nodes, n3 slow"

# 2. Two slow nodes of four: (n1 n4) (n2 n3), (n1 n3) (n4 n2), (n1 n2) (n3 n4).
SLOW="n2 n3" run 1 n1,n2,n3,n4
expect "round 1: n1 n4 400.00"
expect "round 1: n2 n3 100.00"
expect "round 2: n1 n3 100.00"
expect "round 2: n4 n2 100.00"
expect "suspects: n2 n3"
echo "ok: two slow nodes of four"
# n1 and n2 slow: every pair of rounds 1 and 2 has a slow node, so their fastest pair is a slow
# one, and stopping there would have named nobody.
SLOW="n1 n2" run 1 n1,n2,n3,n4
expect "round 1: n1 n4 100.00"
expect "round 1: n2 n3 100.00"
expect "round 2: n1 n3 100.00"
expect "round 2: n4 n2 100.00"
expect "round 3: n1 n2 100.00"
expect "round 3: n3 n4 400.00"
expect "suspects: n1 n2"
echo "ok: rounds 1 and 2 without a healthy pair"

# 3. n4 never answers: its pairs are cut at --pair-timeout and count as failed.
start=$SECONDS
HUNG=n4 run 1 n1,n2,n3,n4 --pair-timeout 2
(( SECONDS - start < 30 )) || fail "the hung pairs were not cut at 2 s"
expect "round 1: n1 n4 failed"
expect "  n1 n4: timed out after 2 s"
expect "suspects: n4"
echo "ok: a node that never answers"

# 4. Every pair fails: no healthy pair, so no node can be named.
FAILING="n1 n2 n3 n4" run 1 n1,n2,n3,n4
expect "round 1: n1 n4 failed"
expect "  n1 n4: srun: error: n1: task 1: Exited"
expect "suspects: none"
expect "undetermined: n1 n2 n3 n4"
echo "ok: nothing to compare with"

# 5. Healthy, absolute threshold: one round is enough.
run 0 n1,n2,n3,n4,n5,n6 --min-gbps 300
expect "threshold: 300 Gb/s"
expect "suspects: none"
[[ "$(grep -c '^round 1' <<< "$out")" == 3 && "$(grep -c '^round' <<< "$out")" == 3 ]] ||
  fail "one round of three pairs"
echo "ok: healthy in one round"

# 6. --drain: the suspects, and only they, go to slurm-drain with the code and the config.
SLOW=n3 run 1 n1,n2,n3,n4 --drain --config /etc/nodehealth/test.toml
[[ "$(cat "$DRAIN_LOG")" == "slurm-drain --code mpi_allreduce_bandwidth_low --config /etc/nodehealth/test.toml n3" ]] ||
  fail "slurm-drain arguments: $(cat "$DRAIN_LOG")"
expect "drain: exit 0"
DRAIN_EXIT=2 SLOW=n3 run 2 n1,n2,n3,n4 --drain
expect "drain: exit 2"
NODEHEALTH="$dir/no-such-nodehealth" SLOW=n3 run 2 n1,n2,n3,n4 --drain
expect "drain: exit 127"
rm -f "$DRAIN_LOG"
run 0 n1,n2,n3,n4 --drain
[[ ! -e "$DRAIN_LOG" ]] || fail "slurm-drain ran without suspects"
echo "ok: --drain"

# 7. Bad usage.
run 2 n1,n2 --fraction 2
run 2 n1,n2 --pair-timeout 0
run 2 n1,n2 --bogus
run 2 n1
echo "ok: pairwise"
