#!/usr/bin/env bash
# The GPU burn-in probes' own overhead next to the copies they time (bench/README.md, "GPU burn-in:
# the probe's overhead"). Runs `nodehealth check --only gpu_bandwidth` and `--only nccl_allreduce`
# on the 8-GPU h100-vm fixture with the fake libcuda.so.1 / libnccl.so.2 (tests/fakes), whose copies
# take no GPU time: each run's duration is then what the probe itself costs (starting the worker,
# loading the libraries, eight contexts, the bookkeeping of 80 copy figures or one all-reduce, the
# JSON both ways, the judgement), an upper bound since the fake's own calls are included. Copies of
# 4 KiB, and one all-reduce of 1 MiB (the fake sums on the CPU), keep the fake's own work out of
# the figure.
#
# The copies it times on a real node are computed from the defaults (256 MiB x 21 per figure) at
# H100 rates: PCIe Gen5 x16 host<->device 55 GB/s, device->device 1.5 TB/s (HBM3 reads and writes),
# NVLink 4 peer 360 GB/s (Azure NHC's floors are 48 and 335 GB/s); the all-reduce at 16 GiB at Azure
# NHC's ND H100 v5 floor of 460 GB/s bus bandwidth.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
runs="${RUNS:-20}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
"$build/tests/nodehealth-fixture" tests/fixtures/nodes/h100-vm.toml "$root/node" >/dev/null
{
  echo "peer_gbps 360"
  for gpu in 53 64 75 86 97 a8 b9 ca; do echo "gpu 0000:$gpu:00.0"; done
} >"$root/scenario"
cat >"$root/profile.toml" <<'TOML'
name = "bench"
[gpu_bandwidth]
copy_bytes = "4K"
[nccl_allreduce]
size_bytes = "1M"
iterations = 1   # the fake sums on the CPU: one call keeps its work out of the figure
warmup = 0
TOML
export NODEHEALTH_FAKE_GPU_SCENARIO="$root/scenario"
for probe in gpu_bandwidth nccl_allreduce; do
  : >"$root/times"
  for _ in $(seq "$runs"); do
    "$build/agent/nodehealth" check --only "$probe" --sysroot "$root/node" --profile "$root/profile.toml" \
      --cuda-library "$build/tests/fakes/cuda/libcuda.so.1" \
      --nccl-library "$build/tests/fakes/nccl/libnccl.so.2" --format json >"$root/report.json" || true
    jq -r --arg p "$probe" '.probes[] | select(.name == $p) | "\(.duration_seconds) \(.verdict)"' \
      "$root/report.json" >>"$root/times"
  done
  sort -n "$root/times" | awk -v probe="$probe" '{ d[NR] = $1; v[$2]++ } END {
    printf "%s, %d runs: median %.1f ms, max %.1f ms (verdicts:", probe, NR, d[int((NR + 1) / 2)] * 1000, d[NR] * 1000
    for (k in v) printf " %s %d", k, v[k]
    print ")" }'
done
awk 'BEGIN {
  b = 256 * 2^20 * 21
  local = 8 * (2 * b / 55e9 + b / 1500e9); peer = 56 * b / 360e9
  printf "copies timed on an 8x H100 node with the defaults: %.2f s (host<->device and device->device %.2f s, peers %.2f s)\n", local + peer, local, peer
  nccl = 25 * 16 * 2^30 / (460e9 * 8 / 14)
  printf "all-reduces timed at 16 GiB on 8 GPUs at Azure NHC%ss floor (460 GB/s bus bandwidth), 20 + 5 warm-up: %.2f s\n", "\047", nccl }'
