#!/bin/bash
# A real Slurm on localhost (munge, slurmctld, slurmd, one node), started and stopped by this test:
#   1. mpi-tests/slurm/nodehealth-allreduce.sbatch runs the all-reduce through sbatch and srun;
#   2. `nodehealth burnin` inside a batch job runs the mpi_allreduce probe, which uses srun there.
# Exits 77 (skipped) where the Slurm daemons are not installed or the test is not root.
#   slurm_test.sh SOURCE_DIR NODEHEALTH NODEHEALTH_ALLREDUCE
set -euo pipefail
source_dir="$1" nodehealth="$2" allreduce="$3"
for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
[[ "$(id -u)" == 0 ]] || { echo "skipped: slurmd needs root"; exit 77; }

dir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do  # up to 5 s to stop, then no more waiting
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n "${NODEHEALTH_KEEP_SLURM_DIR:-}" ]] || rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir"/{state,spool,log,munge,run}
# munged insists that everyone may traverse the directories of its socket.
chmod 755 "$dir" "$dir/munge"
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged -F --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/seed" &
pids+=($!)

host="$(hostname)"
# Two free ports in a row, below the ephemeral range (32768+) that other tests' clients use: a
# slurmctld that cannot bind exits, and every sinfo after it waits out its message timeout.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 12000))
  in_use "$port" || in_use $((port + 1)) || break
done
export SLURM_CONF="$dir/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=nodehealth-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
for _ in $(seq 50); do [[ -S "$dir/munge/munge.socket" ]] && break; sleep 0.1; done
[[ -S "$dir/munge/munge.socket" ]] || { echo "munged did not start"; exit 1; }
slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" > "$dir/log/slurmd.out" 2>&1 &
pids+=($!)
ctld_pid="${pids[1]}"
for _ in $(seq 100); do
  kill -0 "$ctld_pid" 2>/dev/null || break  # slurmctld gave up: say why at once
  timeout 5 sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 0.2
done
if ! timeout 5 sinfo -h -o %t 2>/dev/null | grep -q idle; then
  echo "Slurm did not come up:"; cat "$dir"/log/*; exit 1
fi

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
