#!/usr/bin/env bash
# Reproduces the figures in bench/README.md from a `tools/setup.sh test` build:
#   1. the passive-sweep benchmarks (Google Benchmark, CPU time of the benchmark thread);
#   2. peak RSS and wall time of `nodehealth check` on the 8-GPU fixture node (GNU time),
#      and on this machine as it is;
#   3. where the machine has an HCA, the RDMA loopback against ib_write_bw (rdma_vs_perftest.sh);
#   4. the agent beside node_exporter: memory, CPU per scrape, idle CPU, XID latency
#      (agent_vs_node_exporter.sh, about 7 minutes);
#   5. one `nodehealth slurm-healthcheck` run against a local Slurm (slurm_healthcheck.sh, root);
#   6. the agent's endpoint: kept-alive scrape latency, and scrapes by a real Prometheus while 64
#      hostile clients hammer the port, plain and over TLS with basic auth (http_endpoint.sh);
#   7. the GPU burn-in probes' own overhead next to the copies they time (gpu_worker_overhead.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
runs="${RUNS:-20}"

"$build/bench/nodehealth_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

scenario=tests/fixtures/nodes/hgx-h100-xe9680.toml
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
"$build/tests/nodehealth-fixture" "$scenario" "$root"
echo
echo "nodehealth check on the XE9680 fixture (8 GPUs, fake NVML), $runs runs:"
for i in $(seq "$runs"); do
  NODEHEALTH_FAKE_NVML="$scenario" /usr/bin/time -o "$root/time" -f "%M" \
    "$build/agent/nodehealth" check --sysroot "$root" --nvml-library "$build/tests/libnvml_fake.so" \
    --format json --profile none > "$root/report.json" || true
  # GNU time's clock is too coarse for this; the report times itself.
  echo "$(cat "$root/time") $(grep -m1 '"duration_seconds"' "$root/report.json" | tr -dc '0-9.')" \
    >> "$root/times"
done
sort -n -k1,1 "$root/times" | awk '{rss[NR]=$1} END {
  printf "  peak RSS: min %d KiB, median %d KiB, max %d KiB\n", rss[1], rss[int((NR+1)/2)], rss[NR] }'
sort -n -k2,2 "$root/times" | awk '{d[NR]=$2} END {
  printf "  run duration (report): median %.1f ms, max %.1f ms\n", d[int((NR+1)/2)]*1000, d[NR]*1000 }'
echo "nodehealth check on this machine:"
/usr/bin/time -f "  peak RSS %M KiB, wall %e s" "$build/agent/nodehealth" check --format json > /dev/null || true
echo
echo "RDMA loopback against ib_write_bw:"
bench/rdma_vs_perftest.sh 5 || true
echo
echo "The agent beside node_exporter:"
bench/agent_vs_node_exporter.sh
echo
echo "slurm-healthcheck against a local Slurm:"
if [[ "$(id -u)" == 0 ]]; then BUILD="$build" bench/slurm_healthcheck.sh; else echo "  (needs root)"; fi
echo
echo "The agent's endpoint, kept alive and under abuse:"
BUILD="$build" bench/http_endpoint.sh
echo
echo "The GPU burn-in probes' own overhead (fake libcuda and libnccl):"
BUILD="$build" bench/gpu_worker_overhead.sh
