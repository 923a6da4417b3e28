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

# Every alert's runbook_url is the one base URL with the alert's anchor, and docs/runbook.md
# has a section of that name.
runbook_base="https://github.com/nodehealth/nodehealth/blob/main/docs/runbook.md"
runbook="$source_dir/docs/runbook.md"
runbook_status=0
while read -r alert; do
  anchor="$(tr '[:upper:]' '[:lower:]' <<<"$alert")"
  url="$(awk -v name="$alert" '
      $0 ~ "^ *- alert: " name " *$" { inside = 1; next }
      inside && /^ *- (alert|record):/ { exit }
      inside && /runbook_url:/ { sub(/^ *runbook_url: */, ""); gsub(/"/, ""); print; exit }' "$rules")"
  if [[ "$url" != "$runbook_base#$anchor" ]]; then
    echo "FAIL: $alert: runbook_url '$url', expected '$runbook_base#$anchor'"
    runbook_status=1
  fi
  if ! grep -qx "## $alert" "$runbook"; then
    echo "FAIL: docs/runbook.md has no section '## $alert'"
    runbook_status=1
  fi
done < <(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\) *$/\1/p' "$rules")
sections="$(grep -c '^## Nodehealth' "$runbook")"
alert_count="$(grep -c '^ *- alert: ' "$rules")"
if [[ "$sections" != "$alert_count" ]]; then
  echo "FAIL: docs/runbook.md has $sections alert sections for $alert_count alerts"
  runbook_status=1
fi
[[ $runbook_status -eq 0 ]] || exit 1

# docs/metrics-join.md: its joins evaluated on synthetic dcgm-exporter and nodehealth series;
# every one-line query in a ```promql block of the document must be one of the tested `expr:`.
join_doc="$source_dir/docs/metrics-join.md"
join_tests="$source_dir/tests/alerts/metrics-join.test.yml"
"$promtool" test rules "$join_tests"
join_status=0
queries="$(awk '/^```promql$/ { inside = 1; next } /^```$/ { inside = 0 } inside' "$join_doc")"
[[ -n "$queries" ]] || { echo "FAIL: no promql block in $join_doc"; exit 1; }
while IFS= read -r query; do
  if ! grep -Fxq -- "      - expr: $query" "$join_tests"; then
    echo "FAIL: docs/metrics-join.md query not tested in $join_tests: $query"
    join_status=1
  fi
done <<<"$queries"
[[ $join_status -eq 0 ]] || exit 1

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
