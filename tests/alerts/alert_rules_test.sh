#!/bin/bash
# The Prometheus alerting rules (exporters/alerts/nodehealth-alerts.yml): `promtool check rules`
# on the file, `promtool test rules` on tests/alerts/nodehealth-alerts.test.yml, and a check that
# every alert has a test in which it fires and is named in the healthy-node test where nothing
# fires. Exits 77 (skipped) without promtool (Debian: prometheus).
#   alert_rules_test.sh SOURCE_DIR
set -euo pipefail
source_dir="${1:?usage: alert_rules_test.sh SOURCE_DIR}"
promtool="${PROMTOOL:-$(command -v promtool || true)}"
if [[ -z "$promtool" ]]; then
  echo "SKIP: promtool not found (apt-get install prometheus)"
  exit 77
fi
rules="$source_dir/exporters/alerts/nodehealth-alerts.yml"
tests="$source_dir/tests/alerts/nodehealth-alerts.test.yml"

"$promtool" check rules "$rules"
"$promtool" test rules "$tests"

# Every alert: a firing case (`alertname: X` followed by `exp_alerts:`) and a place in the
# healthy-node list (`{eval_time: ..., alertname: X}`).
status=0
alerts="$(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\) *$/\1/p' "$rules")"
[[ -n "$alerts" ]] || { echo "FAIL: no alerts found in $rules"; exit 1; }
for alert in $alerts; do
  if ! awk -v name="$alert" '
      found && /^ *exp_alerts:/ { ok = 1 }
      { found = 0 }
      $0 ~ "^ *alertname: " name " *$" { found = 1 }
      END { exit ok ? 0 : 1 }' "$tests"; then
    echo "FAIL: $alert has no test in which it fires"
    status=1
  fi
  if ! grep -Eq "alertname: $alert\}" "$tests"; then
    echo "FAIL: $alert is missing from the healthy-node test"
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "OK: $(wc -w <<<"$alerts") alerts, each tested firing and silent"
exit $status
