#!/bin/bash
# Finds the nodes that slow a collective, inside one allocation: all-reduces between pairs of
# nodes, in rounds (every pair of a round runs at the same time), until each node is judged.
#
#   sbatch -N 16 --ntasks-per-node=8 --exclusive mpi-tests/slurm/pairwise.sh [--size 64M]
#       [--min-gbps 300] [--fraction 0.9] [--pair-timeout 300] [--drain [--config FILE]]
#       [-- NODEHEALTH-ALLREDUCE OPTIONS]
#
# Rounds follow the circle method of a round-robin tournament, so no pair repeats and an odd node
# count leaves a different node out of each round. A pair is as fast as its slower node, so:
#   * the threshold is --min-gbps, else --fraction (0.9) of the fastest pair measured so far;
#   * a node is healthy once it was in a pair at or above the threshold;
#   * a node is a suspect when it is not healthy and was slow (or failed) with a healthy partner;
#   * any other node is undetermined, and the next round pairs it with a new partner.
# Without --min-gbps the threshold is relative, and a relative threshold is only as good as the
# fastest pair seen: the first 3 rounds (all rounds on 4 nodes) run every pair, so that two slow
# nodes that meet everyone in turn still leave one healthy pair to compare with; after that only
# pairs with an undetermined node run. When most of the nodes are slow, only --min-gbps can tell.
#
# A pair that fails, prints no valid result or runs past --pair-timeout seconds (a node that never
# answers) counts as slow. Output: one line per pair ("round 2: node3 node7 391.20" or
# "... failed", then an indented line with srun's or the program's last words), then "threshold: ...", "suspects: <nodes>" (or "suspects: none") and, when some
# node could not be judged, "undetermined: <nodes>".
#
# --drain hands the suspects to `nodehealth slurm-drain` (the blast-radius limit and the rule
# never to touch a node drained for another reason apply; Slurm only lets an operator or root
# drain). Exit 0: no suspect and none undetermined; 1: suspects or undetermined nodes; 2: bad
# usage, or --drain could not act.
set -euo pipefail
usage="usage: $0 [--size SIZE] [--min-gbps GBPS] [--fraction F] [--pair-timeout SEC] [--drain [--config FILE]] [-- ALLREDUCE OPTIONS]"
size=64M
min_gbps=""
fraction=0.9
pair_timeout=300
drain=0
config=()
while (( $# )); do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --min-gbps) min_gbps="$2"; shift 2 ;;
    --fraction) fraction="$2"; shift 2 ;;
    --pair-timeout) pair_timeout="$2"; shift 2 ;;
    --drain) drain=1; shift ;;
    --config) config=(--config "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
number='^[0-9]+([.][0-9]+)?$'
[[ -z "$min_gbps" || "$min_gbps" =~ $number ]] || { echo "--min-gbps: not a number" >&2; exit 2; }
[[ "$fraction" =~ $number ]] && awk -v f="$fraction" 'BEGIN { exit !(f > 0 && f <= 1) }' ||
  { echo "--fraction: a number in (0, 1]" >&2; exit 2; }
[[ "$pair_timeout" =~ ^[1-9][0-9]*$ ]] || { echo "--pair-timeout: whole seconds" >&2; exit 2; }
allreduce_args=("$@")
program="${NODEHEALTH_ALLREDUCE:-nodehealth-allreduce}"
per_node="${SLURM_NTASKS_PER_NODE:-1}"
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1099511627776
mapfile -t nodes < <(scontrol show hostnames "${SLURM_JOB_NODELIST:?run inside a Slurm allocation}")
(( ${#nodes[@]} >= 2 )) || { echo "pairwise needs at least two nodes" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# busbw in Gb/s of one two-node run, or "failed" (and why, in $work/A+B.json.why). The step's own
# time limit (whole minutes) ends it in Slurm too when `timeout` has to kill srun.
run_pair() {
  local a="$1" b="$2" out="$work/$1+$2.json" rc=0
  timeout -k 10 "$pair_timeout" srun --mpi="${NODEHEALTH_SRUN_MPI:-pmix}" -N2 -w "$a,$b" \
    --ntasks-per-node="$per_node" --exclusive --kill-on-bad-exit=1 \
    --time=$(( (pair_timeout + 59) / 60 )) \
    "$program" --json --sizes "$size" "${allreduce_args[@]}" > "$out" 2>"$out.err" || rc=$?
  # The program's JSON: one size, so one busbw; "correct" at the top says every sum was right.
  if (( rc == 0 )) && grep -q '"correct": true, "results"' "$out" &&
      grep -q '"busbw_bytes_per_second": [0-9]' "$out"; then
    grep -o '"busbw_bytes_per_second": [0-9.e+-]*' "$out" | awk '{printf "%.2f\n", $2 * 8 / 1e9}'
    return
  fi
  echo failed
  # Why, in a line: the time limit, and srun's or the program's last words.
  local last
  last="$(grep -v '^[[:space:]]*$' "$out.err" | tail -1 | cut -c1-200 || true)"
  if (( rc == 124 || rc == 137 )); then
    echo "timed out after $pair_timeout s${last:+ (last: $last)}" > "$out.why"
  else
    echo "${last:-exit $rc, no valid result}" > "$out.why"
  fi
}

# The circle method: slot 0 stays, the others turn by one place each round; slot i meets slot
# n-1-i. An odd count gets an empty slot ("-"): its partner sits the round out.
slots=("${nodes[@]}")
(( ${#slots[@]} % 2 )) && slots+=("-")
count=${#slots[@]}
rounds=$(( count - 1 ))
min_rounds=1
[[ -z "$min_gbps" ]] && min_rounds=$(( rounds < 3 ? rounds : 3 ))

results=()  # "a b value"
declare -A healthy suspect
threshold=""
judge() {
  local best line a b v
  best="$(printf '%s\n' "${results[@]}" |
          awk '$3 != "failed" && $3 + 0 > m { m = $3 + 0 } END { print m + 0 }')"
  if [[ -n "$min_gbps" ]]; then
    threshold="$min_gbps"
  else
    threshold="$(awk -v m="$best" -v f="$fraction" 'BEGIN { printf "%.2f", f * m }')"
  fi
  healthy=() suspect=()
  for line in "${results[@]}"; do
    read -r a b v <<< "$line"
    if [[ "$v" != failed ]] && awk -v v="$v" -v t="$threshold" 'BEGIN { exit !(v >= t && v > 0) }'
    then
      healthy[$a]=1 healthy[$b]=1
    fi
  done
  for line in "${results[@]}"; do
    read -r a b v <<< "$line"
    [[ -z "${healthy[$a]:-}" && -n "${healthy[$b]:-}" ]] && suspect[$a]=1
    [[ -z "${healthy[$b]:-}" && -n "${healthy[$a]:-}" ]] && suspect[$b]=1
  done
  return 0
}
undetermined() {
  local n
  for n in "${nodes[@]}"; do
    [[ -n "${healthy[$n]:-}" || -n "${suspect[$n]:-}" ]] || echo "$n"
  done
}

for (( round = 1; round <= rounds; round++ )); do
  open=" $(undetermined | tr '\n' ' ')"
  (( round > min_rounds )) && [[ "$open" == " " ]] && break
  pairs=()
  for (( i = 0; i < count / 2; i++ )); do
    a="${slots[i]}" b="${slots[count - 1 - i]}"
    [[ "$a" == - || "$b" == - ]] && continue
    # After the first rounds, only the pairs that can still tell something.
    if (( round > min_rounds )) && [[ "$open" != *" $a "* && "$open" != *" $b "* ]]; then continue; fi
    pairs+=("$a $b")
  done
  for p in "${pairs[@]}"; do
    read -r a b <<< "$p"
    run_pair "$a" "$b" > "$work/$a+$b.result" &
  done
  wait
  for p in "${pairs[@]}"; do
    read -r a b <<< "$p"
    v="$(cat "$work/$a+$b.result")"
    echo "round $round: $a $b $v"
    [[ "$v" == failed ]] && echo "  $a $b: $(cat "$work/$a+$b.json.why")"
    results+=("$a $b $v")
  done
  judge
  # Turn slots 1..count-1 by one place.
  slots=("${slots[0]}" "${slots[count - 1]}" "${slots[@]:1:count-2}")
done

echo "threshold: $threshold Gb/s"
suspects=()
for n in "${nodes[@]}"; do [[ -n "${suspect[$n]:-}" ]] && suspects+=("$n"); done
mapfile -t left < <(undetermined)
echo "suspects: ${suspects[*]:-none}"
(( ${#left[@]} )) && echo "undetermined: ${left[*]}"
status=0
(( ${#suspects[@]} + ${#left[@]} )) && status=1
if (( drain && ${#suspects[@]} )); then
  drain_status=0
  "${NODEHEALTH:-nodehealth}" slurm-drain --code mpi_allreduce_bandwidth_low "${config[@]}" \
    "${suspects[@]}" || drain_status=$?
  echo "drain: exit $drain_status"
  (( drain_status >= 2 )) && status=2  # could not act (or no nodehealth: 127)
fi
exit "$status"
