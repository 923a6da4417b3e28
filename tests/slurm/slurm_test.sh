#!/bin/bash
# A real Slurm on localhost (munge, slurmctld, slurmd, one node), started and stopped by this test:
#   1. mpi-tests/slurm/nodehealth-allreduce.sbatch runs the all-reduce through sbatch and srun;
#   2. `nodehealth burnin` inside a batch job runs the mpi_allreduce probe, which uses srun there.
# Exits 77 (skipped) where the Slurm daemons are not installed or the test is not root
# (local_slurm.sh).
#   slurm_test.sh SOURCE_DIR NODEHEALTH NODEHEALTH_ALLREDUCE
set -euo pipefail
source_dir="$1" nodehealth="$2" allreduce="$3"
source "$source_dir/tests/slurm/local_slurm.sh"
start_local_slurm

fail() { echo "FAIL: $*"; echo "--- slurmd log"; tail -20 "$dir/log/slurmd.log"; exit 1; }

# 1. The batch script, through sbatch and srun (PMIx).
export NODEHEALTH_ALLREDUCE="$allreduce"
timeout 120 sbatch --wait -N1 -n2 -o "$dir/allreduce.out" -e "$dir/allreduce.err" \
  "$source_dir/mpi-tests/slurm/nodehealth-allreduce.sbatch" --sizes 8,1M --iterations 20 \
  --warmup 2 || fail "sbatch nodehealth-allreduce.sbatch: $(cat "$dir/allreduce.err")"
out="$(cat "$dir/allreduce.out")"
grep -q '"schema": "nodehealth-allreduce/1", "ranks": 2, "nodes": 1' <<< "$out" || fail "$out"
grep -q '"correct": true, "results"' <<< "$out" || fail "wrong sums: $out"
grep -q '"size_bytes": 1048576' <<< "$out" || fail "no 1 MiB result: $out"
echo "ok: nodehealth-allreduce.sbatch ran 2 ranks under Slurm"

# 2. nodehealth burnin inside a job: the mpi_allreduce probe launches through srun.
cat > "$dir/profile.toml" <<TOML
name = "slurm-test"
[mpi_allreduce]
ranks = 2
sizes = ["8", "1M"]
size_bytes = 1048576
bus_bandwidth_gbps_min = 0.001
iterations = 20
warmup = 2
TOML
timeout 180 sbatch --wait -N1 -n2 -o "$dir/burnin.out" -e "$dir/burnin.err" \
  --wrap "$nodehealth burnin --only mpi_allreduce --profile $dir/profile.toml --format json \
          --config $source_dir/tests/fixtures/empty-config.toml" ||
  fail "burnin job: $(cat "$dir/burnin.out" "$dir/burnin.err")"
report="$(cat "$dir/burnin.out")"
grep -q '"mode": "burnin"' <<< "$report" || fail "$report"
grep -q '"verdict": "pass"' <<< "$report" || fail "$report"
grep -q '"srun --ntasks=2' <<< "$report" && fail "unexpected finding: $report"
grep -q '"name": "allreduce_bus_bandwidth_bytes_per_second"' <<< "$report" || fail "$report"
echo "ok: nodehealth burnin ran the all-reduce through srun"
