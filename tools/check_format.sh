#!/usr/bin/env bash
# Fails when a C++ file in the repository differs from what clang-format 14 (Debian 12's) makes of
# it with .clang-format (Google style, 100 columns). Fix with:
#   tools/check_format.sh --fix
# Exit 77 (skipped under ctest) without clang-format-14: other versions format differently.
# Usage: tools/check_format.sh [--fix] [SOURCE_DIR]
set -euo pipefail
fix=false
if [[ "${1:-}" == --fix ]]; then fix=true; shift; fi
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
formatter=clang-format-14
command -v "$formatter" > /dev/null || { echo "check_format: $formatter not installed" >&2; exit 77; }
cd "$root"
mapfile -d '' files < <(find agent probes exporters mpi-tests tests bench \
                          \( -name '*.cc' -o -name '*.h' \) -print0)
(( ${#files[@]} > 0 )) || { echo "check_format: no C++ files under $root" >&2; exit 1; }
if $fix; then
  timeout 120 "$formatter" -i "${files[@]}"
  echo "check_format: ${#files[@]} files formatted in place"
  exit 0
fi
if ! timeout 120 "$formatter" --dry-run --Werror "${files[@]}"; then
  echo "check_format: run tools/check_format.sh --fix" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
