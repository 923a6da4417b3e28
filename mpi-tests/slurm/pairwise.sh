#!/bin/bash
# Finds the node that slows a collective, in two passes, inside one allocation:
#   pass 1: the nodes in pairs, one all-reduce per pair (pairs run at the same time);
#   pass 2: each node of a slow or failed pair against a node from a good pair.
# A node is a suspect when it is slow in both passes. Run it as a batch job:
#
#   sbatch -N 16 --ntasks-per-node=8 --exclusive mpi-tests/slurm/pairwise.sh [--size 64M]
#       [--min-gbps 300]
#
# Without --min-gbps a pair is slow below 90 % of the best pair (a healthy pair is the reference: no
# pair can be faster than healthy). Output: one line per run and a
# summary "suspects: <nodes>" (or "suspects: none"). Exit 0 without suspects, 1 with.
set -euo pipefail
size=64M
min_gbps=""
while (( $# )); do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --min-gbps) min_gbps="$2"; shift 2 ;;
    *) echo "usage: $0 [--size SIZE] [--min-gbps GBPS]" >&2; exit 2 ;;
  esac
done
program="${NODEHEALTH_ALLREDUCE:-nodehealth-allreduce}"
per_node="${SLURM_NTASKS_PER_NODE:-1}"
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1099511627776
mapfile -t nodes < <(scontrol show hostnames "${SLURM_JOB_NODELIST:?run inside a Slurm allocation}")
(( ${#nodes[@]} >= 2 )) || { echo "pairwise needs at least two nodes" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# busbw in Gb/s of one two-node run, or "failed".
run_pair() {
  local a="$1" b="$2" out="$work/$1+$2.json"
  if srun --mpi="${NODEHEALTH_SRUN_MPI:-pmix}" -N2 -w "$a,$b" --ntasks-per-node="$per_node" \
      --exclusive --kill-on-bad-exit=1 "$program" --json --sizes "$size" > "$out" 2>"$out.err"; then
    # The program's JSON: one size, so one busbw; "correct" at the top says every sum was right.
    if grep -q '"correct": true, "results"' "$out"; then
      grep -o '"busbw_bytes_per_second": [0-9.e+-]*' "$out" | awk '{printf "%.2f\n", $2 * 8 / 1e9}'
    else
      echo failed
    fi
  else
    echo failed
  fi
}

slow() {  # $1 = result, $2 = threshold
  [[ "$1" == failed ]] || awk -v v="$1" -v t="$2" 'BEGIN { exit !(v < t) }'
}

declare -A pass1
pairs=()
for (( i = 0; i + 1 < ${#nodes[@]}; i += 2 )); do pairs+=("${nodes[i]} ${nodes[i+1]}"); done
for p in "${pairs[@]}"; do read -r a b <<< "$p"; run_pair "$a" "$b" > "$work/$a+$b.result" & done
wait
values=()
for p in "${pairs[@]}"; do
  read -r a b <<< "$p"
  pass1["$a $b"]="$(cat "$work/$a+$b.result")"
  echo "pass 1: $a $b ${pass1["$a $b"]}"
  [[ "${pass1["$a $b"]}" == failed ]] || values+=("${pass1["$a $b"]}")
done
if [[ -z "$min_gbps" ]]; then
  best="$(printf '%s\n' "${values[@]:-0}" | sort -n | tail -1)"
  min_gbps="$(awk -v m="${best:-0}" 'BEGIN { printf "%.2f", 0.9 * m }')"
fi
echo "threshold: $min_gbps Gb/s"

good="" ; candidates=()
for p in "${pairs[@]}"; do
  if slow "${pass1["$p"]}" "$min_gbps"; then
    read -r a b <<< "$p"
    candidates+=("$a" "$b")
  elif [[ -z "$good" ]]; then
    good="${p%% *}"
  fi
done
# An odd node out was not tested in pass 1: it goes to pass 2.
(( ${#nodes[@]} % 2 )) && candidates+=("${nodes[-1]}")
suspects=()
for n in "${candidates[@]}"; do
  if [[ -z "$good" ]]; then suspects+=("$n"); continue; fi
  result="$(run_pair "$n" "$good")"
  echo "pass 2: $n $good $result"
  slow "$result" "$min_gbps" && suspects+=("$n")
done
echo "suspects: ${suspects[*]:-none}"
(( ${#suspects[@]} == 0 ))
