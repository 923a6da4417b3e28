# shellcheck shell=bash
# A real Slurm cluster of several nodes on one machine, for the tests that source this file:
#
#   source multinode_slurm.sh
#   start_multinode_slurm 4                 # sets dir, SLURM_CONF, cluster_nodes, node_addr
#   start_slurmd node3                      # each node's slurmd, when the test wants it
#   wait_nodes_idle node1 node2 node4
#   slow_node node3 100mbit                 # tbf on both directions of its link
#
# munged and slurmctld run in this namespace; each node has its own network namespace (a veth
# pair to a bridge here, an address in a /24 of the test's own choosing inside 10.0.0.0/8), its
# own UTS namespace (host name = node name) and a private /tmp (the PMIx plugin of each node
# creates the same /tmp/spmix_appdir_* names). Everything else lives under $dir, which is outside
# /tmp so the nodes' private /tmp does not hide it: slurm.conf, state, spool, logs, munge, and the
# programs the nodes run (stage_program copies them there; a build tree under /tmp is invisible
# to the nodes). Names carry a random tag, so two runs never collide; the daemons, namespaces and
# the bridge are removed on every exit (NODEHEALTH_KEEP_SLURM_DIR=1 keeps $dir), and what a run
# killed outright left is removed by the next one. Exits 77 (skipped)
# without the Slurm daemons, Open MPI, ip/tc/nsenter/unshare/setpriv, or root.

for tool in munged slurmctld slurmd sbatch srun scontrol sinfo ip tc nsenter unshare setpriv mpirun; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
[[ "$(id -u)" == 0 ]] || { echo "skipped: network namespaces and slurmd need root"; exit 77; }

# A run killed with SIGKILL (ctest's timeout) cannot clean up after itself: the next run removes
# what such a run left (its owner process gone), by the tag and pid files in its directory. A pid
# is only killed while its command line still names that directory.
sweep_dead_runs() {
  local old owner pidfile pid ns
  for old in /var/tmp/nodehealth-slurm.*; do
    [[ -f "$old/owner" ]] || continue
    owner="$(cat "$old/owner")"
    kill -0 "$owner" 2>/dev/null && continue
    for pidfile in "$old"/run/*.pid "$old/munge/munged.pid"; do
      pid="$(cat "$pidfile" 2>/dev/null)" || continue
      grep -qs "$old" "/proc/$pid/cmdline" && kill -9 "$pid" 2>/dev/null
    done
    if [[ -f "$old/tag" ]]; then
      for ns in $(ip netns list | awk -v p="nh$(cat "$old/tag")n" 'index($1, p) == 1 { print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
      done
      ip link del "nhbr$(cat "$old/tag")" 2>/dev/null
    fi
    rm -rf "$old"
  done
  return 0
}
sweep_dead_runs

tag="$(printf '%04x' $((RANDOM % 65536)))"
while [[ -e "/sys/class/net/nhbr$tag" ]]; do tag="$(printf '%04x' $((RANDOM % 65536)))"; done
bridge="nhbr$tag"
dir="$(mktemp -d /var/tmp/nodehealth-slurm.XXXXXX)"
echo "$$" > "$dir/owner"
echo "$tag" > "$dir/tag"
pids=()
cluster_nodes=()
declare -A node_addr node_ns node_veth node_pid

multinode_cleanup() {
  local status=$?
  for pid in "${pids[@]}" "${node_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do  # up to 5 s to stop, then no more waiting
    alive=0
    for pid in "${pids[@]}" "${node_pid[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${pids[@]}" "${node_pid[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  # Job steps slurmd started (the all-reduce ranks) are in the nodes' namespaces too.
  for ns in "${node_ns[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ -n "${NODEHEALTH_KEEP_SLURM_DIR:-}" ]]; then
    rm -f "$dir/owner"  # kept on purpose: not a dead run's leftovers
  else
    rm -rf "$dir"
  fi
  exit "$status"
}
trap multinode_cleanup EXIT
trap 'exit 130' INT TERM

# A /24 inside 10.0.0.0/8 that no interface of this machine uses.
pick_subnet() {
  local a b
  for _ in $(seq 50); do
    a=$((64 + RANDOM % 128)) b=$((RANDOM % 250))
    ip -4 addr show | grep -q " 10\.$a\.$b\." || { echo "10.$a.$b"; return; }
  done
  echo "no free 10.x.y.0/24" >&2
  return 1
}

# stage_program PATH: a copy under $dir/bin that every node can see; prints its path.
stage_program() {
  mkdir -p "$dir/bin"
  cp "$1" "$dir/bin/"
  echo "$dir/bin/$(basename "$1")"
}

start_multinode_slurm() {
  local count="$1" extra_conf="${2:-}"
  mkdir -p "$dir"/{state,spool,log,munge,run,out}
  chmod 755 "$dir" "$dir/munge"  # munged: everyone may traverse its socket's directories
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  munged -F --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/seed" > "$dir/munge/munged.out" 2>&1 &
  pids+=($!)

  subnet="$(pick_subnet)"
  ip link add "$bridge" type bridge
  ip addr add "$subnet.1/24" dev "$bridge"
  ip link set "$bridge" up
  local i name
  for i in $(seq "$count"); do
    name="node$i"
    cluster_nodes+=("$name")
    node_ns[$name]="nh${tag}n$i"
    node_veth[$name]="nh${tag}v$i"
    node_addr[$name]="$subnet.$((10 + i))"
    ip netns add "${node_ns[$name]}"
    ip link add "${node_veth[$name]}" type veth peer name eth0 netns "${node_ns[$name]}"
    ip link set "${node_veth[$name]}" master "$bridge" up
    ip -n "${node_ns[$name]}" addr add "${node_addr[$name]}/24" dev eth0
    ip -n "${node_ns[$name]}" link set eth0 up
    ip -n "${node_ns[$name]}" link set lo up
  done

  local host port
  host="$(hostname -s)"
  # Two free ports below the ephemeral range (other tests' clients use 32768+).
  in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12000))
    in_use "$port" || in_use $((port + 1)) || break
  done
  export SLURM_CONF="$dir/slurm.conf"
  {
    cat <<CONF
ClusterName=nodehealth-multinode
SlurmctldHost=$host($subnet.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=30
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
$extra_conf
CONF
    for name in "${cluster_nodes[@]}"; do
      echo "NodeName=$name NodeHostname=$name NodeAddr=${node_addr[$name]} CPUs=2 State=UNKNOWN"
    done
    echo "PartitionName=gpu Nodes=node[1-$count] Default=YES MaxTime=INFINITE State=UP"
  } > "$SLURM_CONF"
  for name in "${cluster_nodes[@]}"; do mkdir -p "$dir/spool/$name"; done
  for _ in $(seq 50); do [[ -S "$dir/munge/munge.socket" ]] && break; sleep 0.1; done
  [[ -S "$dir/munge/munge.socket" ]] || { echo "munged did not start"; exit 1; }
  slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  pids+=($!)
  ctld_pid=$!
  for _ in $(seq 100); do
    kill -0 "$ctld_pid" 2>/dev/null || { echo "slurmctld exited:"; cat "$dir"/log/slurmctld*; exit 1; }
    timeout 5 scontrol ping 2>/dev/null | grep -q UP && return
    sleep 0.2
  done
  echo "slurmctld did not answer:"; cat "$dir"/log/slurmctld*
  exit 1
}

# in_node NODE COMMAND...: runs COMMAND in NODE's network namespace (tc, ip; not slurmd).
in_node() { local n="$1"; shift; nsenter --net="/var/run/netns/${node_ns[$n]}" "$@"; }

# start_slurmd NODE [GATE...]: slurmd for NODE in its namespaces; with GATE, a command run there
# first (the burn-in), slurmd only when it succeeds.
start_slurmd() {
  local name="$1"; shift
  local gate="true"
  (( $# )) && gate="$(printf '%q ' "$@")"
  # Not `ip netns exec`: it remounts /sys and slurmd then finds no /sys/fs/cgroup. The gate runs
  # before /tmp turns private, so it still sees a build or source tree there.
  nsenter --net="/var/run/netns/${node_ns[$name]}" unshare --uts --mount --propagation private \
    bash -c "hostname $name && $gate && mount -t tmpfs tmpfs /tmp &&
             exec slurmd -D -f '$SLURM_CONF' -N $name" > "$dir/log/slurmd-$name.out" 2>&1 &
  node_pid[$name]=$!
}

# "<state> <reason>" of NODE as sinfo shows them ("idle none", "drained nodehealth: ...").
node_state() { timeout 5 sinfo -h -N -n "$1" -o '%T %E' 2>/dev/null; }

# wait_nodes_idle NODE...: up to 60 s for each to register and be idle.
wait_nodes_idle() {
  local name
  for name in "$@"; do
    for _ in $(seq 300); do
      node_state "$name" | grep -q '^idle' && continue 2
      sleep 0.2
    done
    echo "node $name did not come up: $(node_state "$name")"
    cat "$dir/log/slurmd-$name.out" "$dir/log/slurmd-$name.log" 2>/dev/null | tail -20
    exit 1
  done
}

# slow_node NODE RATE: a token bucket on both directions of NODE's link (netem is not in this
# kernel; tbf is).
slow_node() {
  tc qdisc add dev "${node_veth[$1]}" root tbf rate "$2" burst 256kb latency 50ms
  in_node "$1" tc qdisc add dev eth0 root tbf rate "$2" burst 256kb latency 50ms
}
