#!/bin/bash
# The two-pass logic of mpi-tests/slurm/pairwise.sh, with stand-ins for Slurm's scontrol and srun
# on PATH: five nodes n1..n5, node n3 slow. Pass 1 pairs (n1 n2) (n3 n4) and leaves n5 over; pass 2
# tries n3, n4 and n5 against a good node; only n3 stays slow. Then a run where every node is fine.
#   pairwise_test.sh SOURCE_DIR
set -euo pipefail
source_dir="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bin"
cat > "$dir/bin/scontrol" <<'STUB'
#!/bin/bash
[[ "$1 $2" == "show hostnames" ]] && printf 'n1\nn2\nn3\nn4\nn5\n'
STUB
cat > "$dir/bin/srun" <<'STUB'
#!/bin/bash
# Prints what nodehealth-allreduce would: 400 Gb/s busbw, 100 Gb/s when the slow node takes part.
nodes=""
for arg in "$@"; do [[ "$arg" == -w ]] && want=1 && continue; [[ -n "${want:-}" ]] && nodes="$arg" && want=""; done
echo "$nodes" >> "$SRUN_LOG"
busbw=5e10
[[ ",$nodes," == *",${SLOW_NODE:-none},"* ]] && busbw=1.25e10
echo "{\"schema\": \"nodehealth-allreduce/1\", \"ranks\": 16, \"nodes\": 2, \"datatype\": \"float\", \"truncated\": false, \"correct\": true, \"results\": ["
echo "  {\"size_bytes\": 67108864, \"iterations\": 100, \"latency_seconds\": {\"avg\": 0.001, \"min\": 0.001, \"max\": 0.001}, \"algbw_bytes_per_second\": 2.8e10, \"busbw_bytes_per_second\": $busbw, \"correct\": true}"
echo "]}"
STUB
chmod +x "$dir/bin/scontrol" "$dir/bin/srun"
export PATH="$dir/bin:$PATH" SLURM_JOB_NODELIST="n[1-5]" SRUN_LOG="$dir/srun.log"

fail() { echo "FAIL: $*"; exit 1; }

status=0
out="$(SLOW_NODE=n3 bash "$source_dir/mpi-tests/slurm/pairwise.sh")" || status=$?
echo "$out"
[[ $status == 1 ]] || fail "exit status $status with a slow node"
grep -qx "pass 1: n1 n2 400.00" <<< "$out" || fail "pass 1 n1 n2"
grep -qx "pass 1: n3 n4 100.00" <<< "$out" || fail "pass 1 n3 n4"
grep -qx "threshold: 360.00 Gb/s" <<< "$out" || fail "threshold is 90 % of the best pair"
grep -qx "pass 2: n3 n1 100.00" <<< "$out" || fail "pass 2 n3"
grep -qx "pass 2: n4 n1 400.00" <<< "$out" || fail "pass 2 n4"
grep -qx "pass 2: n5 n1 400.00" <<< "$out" || fail "pass 2 n5 (the odd node)"
grep -qx "suspects: n3" <<< "$out" || fail "suspects"

status=0
out="$(bash "$source_dir/mpi-tests/slurm/pairwise.sh" --min-gbps 300)" || status=$?
[[ $status == 0 ]] || fail "exit status $status without a slow node: $out"
grep -qx "suspects: none" <<< "$out" || fail "no suspects expected: $out"
echo "ok: pairwise finds n3"
