#!/bin/bash
# packaging/bash-completion/nodehealth: sourced in bash, its function gives exactly the expected
# COMPREPLY for a few command lines, completes every command `nodehealth --help` lists, and each
# command's flags are exactly those its --help lists. Usage: completion_test.sh BINARY SCRIPT.
set -u
binary=$1
script=$2
# shellcheck source=/dev/null
source "$script" || exit 1
failures=0
# The first word of each line under the heading $1 of a --help ("Options:" or "OPTIONS:").
section() {
  awk -v title="$1:" 'tolower($0) == title {inside = 1; next} inside && !/^ / {exit} inside {print $1}'
}
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# complete EXPECTED WORD...: the last word is the one being completed.
expect() {
  local expected=$1
  shift
  COMP_WORDS=("$binary" "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _nodehealth
  local actual="${COMPREPLY[*]}"
  [ "$actual" = "$expected" ] || fail "nodehealth $*: expected '$expected', got '$actual'"
}

all="check burnin agent topology slurm-healthcheck slurm-drain repair provider-report probes bundle"
expect "$all" ""
expect "check" ch
expect "burnin bundle" b
expect "provider-report probes" pr
expect "--log-level --help --version" -
expect "warn" --log-level w
expect "agent" --log-level debug a
expect "--format" check --f
expect "table json" check --format ""
expect "json" probes --format j
expect "--dry-run" slurm-healthcheck --d
expect "--idle-check" slurm-healthcheck --i
expect "slurm-healthcheck slurm-drain" sl
expect "--code --config" slurm-drain --c
expect "--dry-run" slurm-drain --d
expect "mpi_allreduce_bandwidth_low mpi_allreduce_failed mpi_allreduce_wrong_result" \
  slurm-drain --code mpi_allreduce_
expect "" slurm-drain --dry-run node17 ""
expect "--listen --log-level" agent --l
expect "--topology-xml --timeout --textfile" burnin --t
expect "save" topology ""
expect "save" topology --format json ""
expect "" check --timeout ""
expect "auto" check --profile au
expect "gpu_presence" check --only gpu_pres
expect "gpu_presence,gpu_health" check --only gpu_presence,gpu_hea
expect "" check ""

# Every command, and each command's flags exactly as its --help defines them.
commands=$(timeout 30 "$binary" --help | section subcommands)
[ "$(echo $commands)" = "$all" ] || fail "nodehealth --help lists '$(echo $commands)'"
for command in $commands; do
  expect "$command" "$command"
  # --log-level is nodehealth's own, accepted after any command too.
  defined=$({
    timeout 30 "$binary" "$command" --help | section options |
      awk '{n = split($1, names, ","); for (i = 1; i <= n; i++) if (names[i] ~ /^--[a-z]/) print names[i]}'
    echo --log-level
  } | sort -u)
  COMP_WORDS=("$binary" "$command" --)
  COMP_CWORD=2
  _nodehealth
  completed=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u)
  [ "$completed" = "$defined" ] ||
    fail "$command: completion and --help differ: $(diff <(echo "$defined") <(echo "$completed") | grep '^[<>]' | tr '\n' ' ')"
done

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "OK"
