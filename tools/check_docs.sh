#!/usr/bin/env bash
# Checks what a reader of the repository's documents relies on (the `docs_consistency` test):
#   - every relative link in README.md, CONTRIBUTING.md, CHANGELOG.md, docs/ and the folders'
#     README.md files names a file that exists inside the repository (users never see ../shared);
#   - README.md stays a first page: under 200 lines;
#   - one version everywhere: CMakeLists.txt's project version is the newest CHANGELOG.md entry,
#     the one README.md states and the one the Debian changelog template takes.
#
#   tools/check_docs.sh [SOURCE_DIR]
set -euo pipefail
root="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
cd "$root"
failures=0
fail() { echo "check_docs: $*" >&2; failures=$((failures + 1)); }

mapfile -t documents < <(ls README.md CONTRIBUTING.md CHANGELOG.md docs/*.md */README.md \
                           */*/README.md 2>/dev/null | sort -u)
(( ${#documents[@]} > 3 )) || fail "no documents found under $root"
for doc in "${documents[@]}"; do
  dir="$(dirname "$doc")"
  # Inline links [text](target), outside fenced code blocks; the target up to a space or ')'.
  while IFS=: read -r line target; do
    case "$target" in
      http://* | https://* | mailto:* | '#'* | '') continue ;;
    esac
    path="${target%%#*}"
    resolved="$(realpath -m "$dir/$path")"
    case "$resolved/" in
      "$root"/*) ;;
      *) fail "$doc:$line: link outside the repository: $target"; continue ;;
    esac
    [[ -e "$resolved" ]] || fail "$doc:$line: broken link: $target"
  done < <(awk '/^```/ { fence = !fence; next }
                !fence {
                  line = $0
                  while (match(line, /\]\([^) ]+[) ]/)) {
                    print NR ":" substr(line, RSTART + 2, RLENGTH - 3)
                    line = substr(line, RSTART + RLENGTH)
                  }
                }' "$doc")
done

lines="$(wc -l < README.md)"
(( lines < 200 )) || fail "README.md has $lines lines; keep it under 200 and move depth to docs/"

version="$(sed -n 's/^project(nodehealth VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
[[ -n "$version" ]] || fail "no project version in CMakeLists.txt"
changelog="$(sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' CHANGELOG.md | head -n 1)"
[[ "$changelog" == "$version" ]] ||
  fail "CHANGELOG.md's newest entry is '$changelog', the project version is '$version'"
grep -q "^Version $version\. " README.md || fail "README.md does not say 'Version $version.'"
grep -q "^nodehealth (@PROJECT_VERSION@) " packaging/debian/changelog.in ||
  fail "packaging/debian/changelog.in does not take the project version"

if (( failures )); then
  echo "check_docs: $failures problem(s)" >&2
  exit 1
fi
echo "check_docs: ${#documents[@]} documents, links and version $version consistent"
