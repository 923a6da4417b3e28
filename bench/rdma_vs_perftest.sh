#!/usr/bin/env bash
# Side by side on real hardware: nodehealth's RDMA WRITE loopback against perftest's ib_write_bw
# (Debian package perftest) on the same ports, message size and depth, in one run.
#
#   bench/rdma_vs_perftest.sh [DURATION_SECONDS]
#
# For every ACTIVE InfiniBand port: `ib_write_bw -d DEV -i PORT -s 8388608 -t 128 -D DURATION
# --report_gbits` as server and client on the same host (a loopback through the HCA, as Azure's
# NHC runs it), then nodehealth's figure for that port from `nodehealth burnin --only
# rdma_loopback`, and the ratio (goal: at least 0.97). Needs an HCA; prints why when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
duration="${1:-5}"
size=8388608
depth=128

command -v ib_write_bw >/dev/null || { echo "ib_write_bw not found: apt-get install perftest"; exit 1; }
ports=()
for state in /sys/class/infiniband/*/ports/*/state; do
  [[ -e "$state" ]] || continue
  dir="${state%/state}"
  [[ "$(cat "$dir/link_layer")" == InfiniBand && "$(cat "$state")" == *ACTIVE* ]] || continue
  dev="${dir#/sys/class/infiniband/}"
  ports+=("${dev%%/*} ${dir##*/}")
done
(( ${#ports[@]} )) || { echo "no ACTIVE InfiniBand port on this machine: nothing to compare"; exit 0; }

profile="$(mktemp)"
report="$(mktemp)"
trap 'rm -f "$profile" "$report"' EXIT
cat > "$profile" <<TOML
name = "bench-rdma"
[rdma_loopback]
message_bytes = $size
depth = $depth
duration_seconds = $duration
gpudirect = "off"
TOML
"$build/agent/nodehealth" burnin --only rdma_loopback --profile "$profile" --format json \
  --timeout 3600 > "$report" || true

printf "%-12s %5s %14s %14s %7s\n" device port ib_write_bw nodehealth ratio
for entry in "${ports[@]}"; do
  read -r dev port <<< "$entry"
  ib_write_bw -d "$dev" -i "$port" -s "$size" -t "$depth" -D "$duration" --report_gbits \
    > /dev/null 2>&1 &
  server=$!
  sleep 1
  perf_gbps="$(ib_write_bw -d "$dev" -i "$port" -s "$size" -t "$depth" -D "$duration" \
    --report_gbits localhost 2>/dev/null | awk -v s="$size" '$1 == s {print $4}')"
  wait "$server" || true
  ours="$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
for p in r["probes"]:
    for m in p["measurements"]:
        if m["name"] == "rdma_loopback_bandwidth_bytes_per_second" and \
           m["labels"] == {"device": sys.argv[2], "port": sys.argv[3]}:
            print("%.2f" % (m["value"] * 8 / 1e9))' "$report" "$dev" "$port")"
  ratio="$(python3 -c "print('%.3f' % (float('${ours:-0}') / float('${perf_gbps:-0}')) if '${perf_gbps}' else 'n/a')")"
  printf "%-12s %5s %11s Gb/s %9s Gb/s %7s\n" "$dev" "$port" "${perf_gbps:-?}" "${ours:-?}" "$ratio"
done
