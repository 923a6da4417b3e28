# A real Slurm on localhost (munge, slurmctld, slurmd), for the tests that source this file.
#
#   source local_slurm.sh
#   start_local_slurm "EXTRA slurm.conf LINES" "EXTRA NODE NAMES"   # sets dir, host, SLURM_CONF
#
# The node of this host is "$host" (slurmd runs for it). Extra node names (e.g. "fake[1-3]") are
# defined with a port nothing listens on, so they never answer and never disturb "$host"; they
# share the partition "test" with it. Daemons are stopped and the directory removed on exit
# (NODEHEALTH_KEEP_SLURM_DIR=1 keeps it). Exits 77 (skipped) where the Slurm daemons are not
# installed or the caller is not root.

for tool in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
[[ "$(id -u)" == 0 ]] || { echo "skipped: slurmd needs root"; exit 77; }

dir="$(mktemp -d)"
pids=()
local_slurm_cleanup() {
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
trap local_slurm_cleanup EXIT

start_local_slurm() {
  local extra_conf="${1:-}" extra_nodes="${2:-}"
  mkdir -p "$dir"/{state,spool,log,munge,run}
  # munged insists that everyone may traverse the directories of its socket.
  chmod 755 "$dir" "$dir/munge"
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  munged -F --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/seed" &
  pids+=($!)

  host="$(hostname -s)"
  # Three free ports in a row, below the ephemeral range (32768+) that other tests' clients use:
  # a slurmctld that cannot bind exits, and every sinfo after it waits out its message timeout.
  in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12000))
    in_use "$port" || in_use $((port + 1)) || in_use $((port + 2)) || break
  done
  local nodes="$host" extra_node_line=""
  if [[ -n "$extra_nodes" ]]; then
    nodes="$host,$extra_nodes"
    extra_node_line="NodeName=$extra_nodes NodeAddr=127.0.0.1 Port=$((port + 2)) CPUs=2 State=UNKNOWN"
  fi
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
$extra_conf
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
$extra_node_line
PartitionName=test Nodes=$nodes Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  for _ in $(seq 50); do [[ -S "$dir/munge/munge.socket" ]] && break; sleep 0.1; done
  [[ -S "$dir/munge/munge.socket" ]] || { echo "munged did not start"; exit 1; }
  slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  pids+=($!)
  local ctld_pid=$!
  slurmd -D -f "$SLURM_CONF" -N "$host" > "$dir/log/slurmd.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    kill -0 "$ctld_pid" 2>/dev/null || break  # slurmctld gave up: say why at once
    node_state | grep -q '^idle' && break
    sleep 0.2
  done
  if ! node_state | grep -q '^idle'; then
    echo "Slurm did not come up:"; cat "$dir"/log/*; exit 1
  fi
}

# "<state> <reason>" of this host's node as sinfo shows them ("idle none", "drained nodehealth: ...").
node_state() { timeout 5 sinfo -h -N -n "${1:-$host}" -o '%T %E' 2>/dev/null; }
