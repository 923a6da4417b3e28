#!/usr/bin/env bash
# The agent beside Prometheus' node_exporter (issue 6), in one run, on this machine:
#
#   bench/agent_vs_node_exporter.sh [IDLE_SECONDS [SCRAPES]]      (defaults: 120, 10000)
#   Environment: BUILD (default build), NODE_EXPORTER (default /usr/bin/prometheus-node-exporter),
#   AGENT_ARGS (more agent options, e.g. "--skip topology"). About 7 minutes with the defaults.
#
# nodehealth: `nodehealth agent --interval 30` on the Azure ND96isr H100 v5 fixture node
# (8 GPUs, 9 HCAs, fake NVML). node_exporter: Debian's prometheus-node-exporter with its default
# collectors, once on this machine's real /sys and /proc, once with --path.sysfs/--path.procfs on
# the fixture node (its InfiniBand collector then reports the same 9 HCAs). All on 127.0.0.1,
# ports chosen by the kernel. Measured, for each process:
#   1. VmRSS and VmHWM (/proc/PID/status) after start and every SCRAPES/5 scrapes of /metrics;
#   2. CPU per scrape: utime+stime (/proc/PID/stat, every thread) over SCRAPES scrapes, with
#      `Accept-Encoding: gzip` as Prometheus sends it, then SCRAPES more without;
#   3. idle CPU over IDLE_SECONDS without any scrape (the agent runs a round every 30 s);
#   4. the agent only: XID to metric latency, 20 XID lines appended to the fixture's /dev/kmsg,
#      /metrics polled every 5 ms until the counter of that GPU and XID has moved.
# The load is a small Python client (below): sequential requests, one TCP connection per scrape
# with `Connection: close`, the same for both (the costlier case: Prometheus keeps its connection
# to either open between scrapes). The client's own CPU is not counted.
# Targets (bench/README.md): RSS ratio <= 0.75, CPU-per-scrape ratio <= 0.25, idle <= 0.1 % of a
# core, XID latency <= 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
idle="${1:-120}"
scrapes="${2:-10000}"
scenario=tests/fixtures/nodes/azure-nd96isr-h100-v5.toml
node_exporter="${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}"
read -ra agent_args <<< "${AGENT_ARGS:-}"  # more agent options, e.g. AGENT_ARGS="--skip topology"

command -v python3 >/dev/null || { echo "python3 not found"; exit 1; }
command -v curl >/dev/null || { echo "curl not found: apt-get install curl"; exit 1; }
[ -x "$node_exporter" ] || { echo "$node_exporter not found: apt-get install prometheus-node-exporter"; exit 1; }
for f in "$build/agent/nodehealth" "$build/tests/libnvml_fake.so" "$build/tests/nodehealth-fixture"; do
  [ -e "$f" ] || { echo "$f missing: ninja -C $build nodehealth nvml_fake nodehealth-fixture"; exit 1; }
done
(( scrapes >= 5 && scrapes % 5 == 0 )) || { echo "SCRAPES must be a positive multiple of 5"; exit 1; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$tmp/load.py" <<'EOF'
import re, socket, sys, time

def get(port, path, gzip):
    """One scrape on a new connection; returns (status, encoding, body bytes)."""
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: nodehealth-bench\r\n"
               "Accept: text/plain\r\n%sConnection: close\r\n\r\n"
               % (path, port, "Accept-Encoding: gzip\r\n" if gzip else "")).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        chunks = []
        while True:
            data = s.recv(1 << 16)
            if not data:
                break
            chunks.append(data)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    encoding = b""
    for line in lines[1:]:
        if line.lower().startswith(b"content-encoding:"):
            encoding = line.split(b":", 1)[1].strip()
    return status, encoding, body

def scrape(port, count, gzip):
    errors, wrong_encoding, size, lat = 0, 0, 0, []
    start = time.monotonic()
    for _ in range(count):
        t = time.monotonic()
        status, encoding, body = get(port, "/metrics", gzip)
        lat.append(time.monotonic() - t)
        errors += status != 200
        wrong_encoding += gzip and encoding != b"gzip"
        size = len(body)
    wall = time.monotonic() - start
    lat.sort()
    print("%d %d %d %.3f %.3f %.3f %.3f %.3f %d" % (
        count, errors, wrong_encoding, wall, 1e3 * sum(lat) / len(lat), 1e3 * lat[len(lat) // 2],
        1e3 * lat[int(len(lat) * 0.99)], 1e3 * lat[-1], size))

def counter(port, gpu, xid):
    status, _, body = get(port, "/metrics", False)
    m = re.search(rb'^nodehealth_gpu_xid_events_total\{gpu="%s",xid="%d"\} (\S+)$'
                  % (gpu.encode(), xid), body, re.M)
    return float(m.group(1)) if status == 200 and m else 0.0

def xid(port, kmsg, gpu, xid_number, sequence):
    """Appends one XID record; prints the seconds until /metrics shows it (or -1 after 10 s)."""
    before = counter(port, gpu, xid_number)
    bus = gpu[:-2]  # NVRM writes PCI:DDDD:BB:DD, the function left out
    line = ("2,%d,%d,-;NVRM: Xid (PCI:%s): %d, pid='<unknown>', name=<unknown>, "
            "benchmark record %d\n" % (sequence, 6000000000 + sequence, bus, xid_number, sequence))
    start = time.monotonic()
    with open(kmsg, "a") as f:
        f.write(line)
    while time.monotonic() - start < 10:
        if counter(port, gpu, xid_number) > before:
            print("%.6f" % (time.monotonic() - start))
            return
        time.sleep(0.005)
    print("-1")

if __name__ == "__main__":
    if sys.argv[1] == "scrape":
        scrape(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "gzip")
    else:
        xid(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
EOF
load() { python3 "$tmp/load.py" "$@"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }  # utime + stime
hz="$(getconf CLK_TCK)"
series() { curl -sf "http://127.0.0.1:$1/metrics" | grep -v '^#' | grep -c .; }
wait_http() {  # PORT PATH: until it answers 200, at most 60 s
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  echo "no answer from 127.0.0.1:$1$2"; exit 1
}

root="$tmp/root"
"$build/tests/nodehealth-fixture" "$scenario" "$root" > /dev/null
mkdir -p "$tmp/state"
NODEHEALTH_FAKE_NVML="$scenario" "$build/agent/nodehealth" agent --sysroot "$root" \
  --nvml-library "$build/tests/libnvml_fake.so" --listen 127.0.0.1:0 --interval 30 \
  --state-dir "$tmp/state" --config /dev/null --profile azure-nd96isr-h100-v5 \
  ${agent_args[@]+"${agent_args[@]}"} 2> "$tmp/agent.err" &
pids+=($!)
agent_pid=$!
for _ in $(seq 300); do
  grep -q 'listening on port' "$tmp/agent.err" && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$tmp/agent.err"; exit 1; }
  sleep 0.1
done
agent_port="$(sed -n 's/.*nodehealth agent: listening on port \([0-9]*\).*/\1/p' "$tmp/agent.err" | head -1)"
[ -n "$agent_port" ] || { cat "$tmp/agent.err"; exit 1; }

ne_port="$(free_port)"
"$node_exporter" --web.listen-address="127.0.0.1:$ne_port" 2> "$tmp/ne.err" &
pids+=($!)
ne_pid=$!
nf_port="$(free_port)"
"$node_exporter" --web.listen-address="127.0.0.1:$nf_port" --path.sysfs="$root/sys" \
  --path.procfs="$root/proc" 2> "$tmp/nf.err" &
pids+=($!)
nf_pid=$!

wait_http "$agent_port" /report  # 200 once the first round has finished
wait_http "$ne_port" /metrics
wait_http "$nf_port" /metrics
sleep 2

names=(agent ne nf)
declare -A pid=([agent]=$agent_pid [ne]=$ne_pid [nf]=$nf_pid)
declare -A port=([agent]=$agent_port [ne]=$ne_port [nf]=$nf_port)
declare -A label=([agent]="nodehealth agent" [ne]="node_exporter, real" [nf]="node_exporter, fixture")
declare -A n_series rss0 hwm0 trace hwm_end gz_cpu gz_lat id_cpu id_lat idle_pct rss_end size_gz size_id
for n in "${names[@]}"; do
  n_series[$n]="$(series "${port[$n]}")"  # this first scrape happens before the start figures
  rss0[$n]="$(kib "${pid[$n]}" VmRSS)"
  hwm0[$n]="$(kib "${pid[$n]}" VmHWM)"
done

echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "Agent: --interval 30 on the fixture node${AGENT_ARGS:+, with $AGENT_ARGS}"
echo "node_exporter: $("$node_exporter" --version 2>&1 | head -1)"
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "Load: sequential Python client, one connection per scrape; $scrapes scrapes per phase"
echo

# 3. Idle first, right after start: nothing scrapes any of the three for IDLE_SECONDS.
echo "Idle phase: $idle s without scrapes..."
declare -A t0
for n in "${names[@]}"; do t0[$n]="$(ticks "${pid[$n]}")"; done
w0="$(date +%s.%N)"
sleep "$idle" & wait $!  # in the background so that a signal ends the wait at once
w1="$(date +%s.%N)"
for n in "${names[@]}"; do
  idle_pct[$n]="$(awk -v a="${t0[$n]}" -v b="$(ticks "${pid[$n]}")" -v hz="$hz" -v w0="$w0" -v w1="$w1" \
    'BEGIN {printf "%.3f", 100 * (b - a) / hz / (w1 - w0)}')"
done

# 1 and 2. SCRAPES gzip scrapes in five steps (RSS after each), then SCRAPES without gzip.
step=$((scrapes / 5))
for n in "${names[@]}"; do
  echo "Scraping ${label[$n]}..."
  trace[$n]="$(awk -v k="$(kib "${pid[$n]}" VmRSS)" 'BEGIN {printf "%.1f", k / 1024}')"
  a="$(ticks "${pid[$n]}")"
  lat=()
  for i in 1 2 3 4 5; do
    out="$(load scrape "${port[$n]}" "$step" gzip)"
    read -r count errors wrong wall mean p50 p99 max bytes <<< "$out"
    (( errors == 0 && wrong == 0 )) || echo "  warning: $errors errors, $wrong responses not gzip"
    lat+=("$mean $p99 $max")
    size_gz[$n]=$bytes
    trace[$n]+=" $(awk -v k="$(kib "${pid[$n]}" VmRSS)" 'BEGIN {printf "%.1f", k / 1024}')"
  done
  b="$(ticks "${pid[$n]}")"
  gz_cpu[$n]="$(awk -v a="$a" -v b="$b" -v hz="$hz" -v s="$scrapes" 'BEGIN {printf "%.3f", 1000 * (b - a) / hz / s}')"
  gz_lat[$n]="$(printf '%s\n' "${lat[@]}" | awk '{m += $1; if ($2 > p) p = $2; if ($3 > x) x = $3}
    END {printf "mean %.2f ms, p99 %.2f ms, max %.1f ms", m / NR, p, x}')"
  a="$(ticks "${pid[$n]}")"
  out="$(load scrape "${port[$n]}" "$scrapes" identity)"
  read -r count errors wrong wall mean p50 p99 max bytes <<< "$out"
  (( errors == 0 )) || echo "  warning: $errors errors without gzip"
  b="$(ticks "${pid[$n]}")"
  id_cpu[$n]="$(awk -v a="$a" -v b="$b" -v hz="$hz" -v s="$scrapes" 'BEGIN {printf "%.3f", 1000 * (b - a) / hz / s}')"
  id_lat[$n]="mean $mean ms, p99 $p99 ms, max $max ms"
  size_id[$n]=$bytes
  rss_end[$n]="$(kib "${pid[$n]}" VmRSS)"
  hwm_end[$n]="$(kib "${pid[$n]}" VmHWM)"
done

# 4. XID to metric latency, 20 records over the 8 GPUs.
echo "XID latency: 20 records..."
mapfile -t gpus < <(for d in "$root"/sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor" 2>/dev/null)" = 0x10de ] && [[ "$(cat "$d/class" 2>/dev/null)" == 0x0302* ]] &&
    basename "$d"; done)
(( ${#gpus[@]} > 0 )) || { echo "no NVIDIA GPU in the fixture"; exit 1; }
xids=(79 48 119 94 95 63 64 74 13 31)
latencies=()
for i in $(seq 0 19); do
  latencies+=("$(load xid "$agent_port" "$root/dev/kmsg" "${gpus[i % ${#gpus[@]}]}" "${xids[i % ${#xids[@]}]}" $((5000 + i)))")
  sleep 0.2
done
xid_summary="$(printf '%s\n' "${latencies[@]}" | sort -g | awk '
  $1 < 0 {lost++; next} {v[++n] = $1}
  END {printf "median %.1f ms, max %.1f ms, min %.1f ms (%d of 20 seen", 1000 * v[int((n + 1) / 2)],
       1000 * v[n], 1000 * v[1], n; if (lost) printf ", %d not within 10 s", lost; printf ")"}')"
xid_max_ms="$(printf '%s\n' "${latencies[@]}" | awk '$1 < 0 {lost = 1} $1 > m {m = $1}
  END {printf "%.1f", lost ? 1e9 : 1000 * m}')"
kill -0 "$agent_pid" || { echo "the agent exited:"; cat "$tmp/agent.err"; exit 1; }

echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
echo
echo "(node_exporter, real: this VM's /sys and /proc; node_exporter, fixture: --path.sysfs and"
echo " --path.procfs on the fixture node, where most collectors find nothing)"
printf '%-46s | %-22s | %-22s | %-22s\n' "" "${label[agent]}" "${label[ne]}" "${label[nf]}"
row() { printf '%-46s | %-22s | %-22s | %-22s\n' "$1" "$2" "$3" "$4"; }
row "series (lines of /metrics not starting with #)" "${n_series[agent]}" "${n_series[ne]}" "${n_series[nf]}"
row "/metrics body, gzip / plain (bytes)" "${size_gz[agent]} / ${size_id[agent]}" \
  "${size_gz[ne]} / ${size_id[ne]}" "${size_gz[nf]} / ${size_id[nf]}"
row "VmRSS after start" "$(mib "${rss0[agent]}")" "$(mib "${rss0[ne]}")" "$(mib "${rss0[nf]}")"
row "VmHWM after start" "$(mib "${hwm0[agent]}")" "$(mib "${hwm0[ne]}")" "$(mib "${hwm0[nf]}")"
row "VmRSS after $((2 * scrapes)) scrapes" "$(mib "${rss_end[agent]}")" "$(mib "${rss_end[ne]}")" "$(mib "${rss_end[nf]}")"
row "VmHWM after $((2 * scrapes)) scrapes" "$(mib "${hwm_end[agent]}")" "$(mib "${hwm_end[ne]}")" "$(mib "${hwm_end[nf]}")"
row "CPU per scrape, gzip" "${gz_cpu[agent]} ms" "${gz_cpu[ne]} ms" "${gz_cpu[nf]} ms"
row "CPU per scrape, no gzip" "${id_cpu[agent]} ms" "${id_cpu[ne]} ms" "${id_cpu[nf]} ms"
row "idle CPU over $idle s (% of one core)" "${idle_pct[agent]} %" "${idle_pct[ne]} %" "${idle_pct[nf]} %"
echo
echo "VmRSS (MiB) before the gzip scrapes and after every $step of them:"
for n in "${names[@]}"; do printf '  %-24s %s\n' "${label[$n]}" "${trace[$n]}"; done
echo "Scrape latency seen by the client, gzip (mean of steps, worst p99, worst max) / plain:"
for n in "${names[@]}"; do printf '  %-24s %s / %s\n' "${label[$n]}" "${gz_lat[$n]}" "${id_lat[$n]}"; done
echo "XID to metric latency (agent, 20 records, /metrics polled every 5 ms): $xid_summary"
echo
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "NOT met"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
for ref in ne nf; do
  r_rss="$(ratio "${rss_end[agent]}" "${rss_end[$ref]}")"
  r_rss0="$(ratio "${rss0[agent]}" "${rss0[$ref]}")"
  r_gz="$(ratio "${gz_cpu[agent]}" "${gz_cpu[$ref]}")"
  r_id="$(ratio "${id_cpu[agent]}" "${id_cpu[$ref]}")"
  echo "Ratios nodehealth / ${label[$ref]}:"
  echo "  VmRSS after scrapes $r_rss, after start $r_rss0 (target <= 0.75: $(verdict "$r_rss" 0.75) after scrapes)"
  echo "  CPU per scrape, gzip $r_gz (target <= 0.25: $(verdict "$r_gz" 0.25)); no gzip $r_id ($(verdict "$r_id" 0.25))"
done
echo "Agent idle CPU ${idle_pct[agent]} % of a core (target <= 0.1 %: $(verdict "${idle_pct[agent]}" 0.1))"
echo "XID to metric, max ${xid_max_ms} ms (target <= 1000 ms: $(verdict "$xid_max_ms" 1000))"
