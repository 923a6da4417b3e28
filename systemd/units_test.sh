#!/bin/bash
# The systemd units as installed: `cmake --install --component systemd` into a temporary DESTDIR,
# then, on each unit,
#   * systemd-analyze verify must exit 0 and print nothing at all (it reports unknown keys and bad
#     values as warnings and still exits 0, so silence is the real check);
#   * systemd-analyze security --offline must stay at or under the threshold (x10) for the agent
#     and burn-in services;
#   * systemctl --root=DESTDIR enable must create the [Install] links (burn-in in slurmd's
#     Requires=).
# verify also checks that every Exec*= command exists. The installed units name
# <bindir>/nodehealth, which is not installed on the test machine, so that one path is rewritten
# to the build tree's binary; every other byte is the installed file.
# Skips (77) only when systemd-analyze is missing.
#
# usage: units_test.sh CMAKE BUILD_DIR CONFIG UNIT_DIR BINDIR NODEHEALTH_BINARY MAX_AGENT MAX_BURNIN
set -u
if [ $# -ne 8 ]; then
  echo "usage: $0 CMAKE BUILD_DIR CONFIG UNIT_DIR BINDIR NODEHEALTH_BINARY MAX_AGENT MAX_BURNIN" >&2
  exit 2
fi
cmake=$1 build=$2 config=$3 unit_dir=$4 bindir=$5 binary=$6 max_agent=$7 max_burnin=$8

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
  exit 77
fi
echo "$(systemd-analyze --version | head -n 1)"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! DESTDIR="$tmp/root" "$cmake" --install "$build" --config "$config" --component systemd \
    >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL: cmake --install --component systemd"
  exit 1
fi

units="nodehealth.service nodehealth-burnin.service nodehealth-deep-check.service
       nodehealth-deep-check.timer"
mkdir "$tmp/units"
for unit in $units; do
  installed="$tmp/root$unit_dir/$unit"
  if [ ! -f "$installed" ]; then
    fail "$unit is not installed in $unit_dir"
    continue
  fi
  # The services' Exec lines are "Exec...=$bindir/nodehealth ARGS".
  sed "s|=$bindir/nodehealth |=$binary |" "$installed" >"$tmp/units/$unit"
  if grep -q "$bindir/nodehealth" "$tmp/units/$unit"; then
    fail "$unit: a reference to $bindir/nodehealth was not rewritten:"
    grep -n "$bindir/nodehealth" "$tmp/units/$unit"
  fi
  case $unit in
    *.service)
      grep -q "=$binary " "$tmp/units/$unit" || fail "$unit does not run $bindir/nodehealth" ;;
  esac
done

# verify: exit 0 and not one line of output. Run from the units' directory, so that the timer
# finds its service there (verify adds the directories of the named files to the unit path).
for unit in $units; do
  [ -f "$tmp/units/$unit" ] || continue
  output=$(cd "$tmp/units" && systemd-analyze verify "./$unit" 2>&1)
  status=$?
  if [ $status -ne 0 ] || [ -n "$output" ]; then
    fail "systemd-analyze verify $unit: exit $status, output:"
    printf '%s\n' "$output"
  else
    echo "ok: systemd-analyze verify $unit (exit 0, no output)"
  fi
done

# security: --threshold is on the x10 scale; exposure above it exits non-zero.
check_exposure() {
  local unit=$1 max=$2 output status level
  output=$(systemd-analyze security --offline=true --threshold="$max" --no-pager \
           "$tmp/units/$unit" 2>&1)
  status=$?
  level=$(printf '%s\n' "$output" | sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")
  if [ -z "$level" ]; then
    fail "systemd-analyze security $unit printed no exposure level (exit $status):"
    printf '%s\n' "$output" | tail -n 20
  elif [ $status -ne 0 ]; then
    fail "$unit: exposure $level is above the threshold $max/10; the settings that count:"
    printf '%s\n' "$output" | grep '✗'
  else
    echo "ok: systemd-analyze security $unit: exposure $level (threshold $max/10)"
  fi
}
check_exposure nodehealth.service "$max_agent"
check_exposure nodehealth-burnin.service "$max_burnin"

# [Install], which verify does not read: enabling offline in the DESTDIR must wire burn-in into
# slurmd's Requires= (the burn-in decision) and multi-user.target, the agent into
# multi-user.target and the timer into timers.target.
mkdir -p "$tmp/root/etc/systemd/system"
if ! output=$(systemctl --root="$tmp/root" enable nodehealth.service nodehealth-burnin.service \
              nodehealth-deep-check.timer 2>&1); then
  fail "systemctl --root enable:"
  printf '%s\n' "$output"
fi
for link in slurmd.service.requires/nodehealth-burnin.service \
            multi-user.target.wants/nodehealth-burnin.service \
            multi-user.target.wants/nodehealth.service \
            timers.target.wants/nodehealth-deep-check.timer; do
  if [ "$(readlink "$tmp/root/etc/systemd/system/$link")" = "$unit_dir/${link#*/}" ]; then
    echo "ok: systemctl enable links $link"
  else
    fail "systemctl enable did not link /etc/systemd/system/$link to $unit_dir/${link#*/}"
  fi
done

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all systemd unit checks passed"
