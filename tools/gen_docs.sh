#!/usr/bin/env bash
# Regenerates the generated part of docs/ (findings.md, probe-reference.md, metrics.md,
# commands.md) from the code: the finding catalogue, the probes' declarations, real agents on the
# test suite's fixture nodes and `nodehealth <command> --help`.
#
#   bash tools/gen_docs.sh                      # build nodehealth-docgen in build/, write docs/
#   bash tools/gen_docs.sh --build-dir DIR      # another build directory (tests enabled)
#   bash tools/gen_docs.sh --check [--build-dir DIR]
#                                               # compare docs/ with a fresh generation; exit 1 and
#                                               # print the diff when they differ (ctest docs_generated)
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$source_dir/build"
check=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check=1 ;;
    --build-dir) build_dir="$2"; shift ;;
    *) echo "usage: tools/gen_docs.sh [--check] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
generated=(findings.md probe-reference.md metrics.md commands.md)

docgen="$build_dir/tests/docs/nodehealth-docgen"
if [[ $check -eq 0 ]]; then
  # Writing: build what the generator runs first (the check runs after ctest's build instead).
  cmake --build "$build_dir" --target nodehealth-docgen nodehealth nvml_fake
fi
if [[ ! -x "$docgen" ]]; then
  echo "gen_docs: $docgen is missing; build the target nodehealth-docgen" >&2
  exit 2
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/nodehealth-docgen-XXXXXX")"
trap 'rm -rf "$out"' EXIT
timeout 240 "$docgen" "$out"

if [[ $check -eq 0 ]]; then
  for f in "${generated[@]}"; do cp "$out/$f" "$source_dir/docs/$f"; done
  echo "gen_docs: wrote ${generated[*]/#/docs/}"
  exit 0
fi

status=0
for f in "${generated[@]}"; do
  if ! diff -u "$source_dir/docs/$f" "$out/$f"; then status=1; fi
done
if [[ $status -ne 0 ]]; then
  echo
  echo "docs/ differs from what the code generates (diff above). Regenerate and commit with:"
  echo "    bash tools/gen_docs.sh --build-dir $build_dir"
fi
exit $status
