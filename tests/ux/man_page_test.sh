#!/bin/bash
# docs/man/nodehealth.1: renders with groff without a warning, has the sections a man page needs,
# and names every command `nodehealth --help` lists (as a subsection) and every flag that each
# command's --help lists. Usage: man_page_test.sh NODEHEALTH_BINARY MAN_PAGE. Exit 77: no groff.
set -u
binary=$1
page=$2
if ! command -v groff > /dev/null; then
  echo "SKIP: groff is not installed (Debian: groff-base)"
  exit 77
fi
failures=0
# The first word of each line under the heading $1 of a --help ("Options:" or "OPTIONS:").
section() {
  awk -v title="$1:" 'tolower($0) == title {inside = 1; next} inside && !/^ / {exit} inside {print $1}'
}
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

warnings=$(timeout 30 groff -man -Tutf8 -ww -z "$page" 2>&1)
[ -z "$warnings" ] || fail "groff warns: $warnings"
rendered=$(timeout 30 groff -man -Tutf8 -P-cbou "$page" 2> /dev/null)
for section in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" FILES "SEE ALSO"; do
  grep -qx "$section" <<< "$rendered" || fail "no section $section"
done

# The source with roff's escapes for '-' and zero-width characters undone.
source_text=$(sed -e 's/\\-/-/g' -e 's/\\&//g' "$page")
commands=$(timeout 30 "$binary" --help | section subcommands)
[ "$(wc -w <<< "$commands")" -ge 9 ] || fail "nodehealth --help lists too few commands: $commands"
for command in $commands; do
  grep -qx ".SS $command" <<< "$source_text" || fail "command $command has no .SS subsection"
  flags=$(timeout 30 "$binary" "$command" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
  for flag in $flags; do
    grep -qF -- "$flag" <<< "$source_text" || fail "$command $flag is not in the man page"
  done
done
grep -qF "topology save" <<< "$source_text" || fail "topology save is not in the man page"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "OK: $(wc -w <<< "$commands") commands, every flag documented, no groff warnings"
