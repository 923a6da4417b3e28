#!/usr/bin/env bash
# The all-reduce bus bandwidth at 1 MiB (nodehealth-allreduce, two ranks over shared memory)
# beside this machine's memory-copy ceiling (Debian's mbw, memcpy of the same size), in one run.
#   bench/allreduce_vs_mbw.sh [RANKS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
ranks="${1:-2}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MALLOC_MMAP_MAX_=0
echo "nodehealth-allreduce, $ranks ranks, 1 MiB, 5 runs (busbw GB/s):"
for i in 1 2 3 4 5; do
  mpirun -np "$ranks" --oversubscribe "$build/mpi-tests/nodehealth-allreduce" --sizes 1M \
    --iterations 200 --warmup 20 --json |
    python3 -c 'import json,sys; print("  %.3f" % (json.load(sys.stdin)["results"][0]["busbw_bytes_per_second"] / 1e9))'
done
echo "mbw memcpy of 1 MiB, 200 runs (average, MB/s = MiB/s in mbw's output):"
mbw -q -n 200 -t 0 1 | awk '/^AVG/ {print "  " $0}'
