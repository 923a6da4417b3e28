#!/usr/bin/env bash
# Fails when an #include points up the dependency order of the source folders (CONTRIBUTING.md
# "Where code lives"). Each folder may include its own headers and those of the folders listed
# before it, never those listed after it. Usage: tools/check_layers.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"

# Bottom to top. probes/ holds the probes and what they stand on (platform, util, the result
# model); exporters/ renders reports; agent/ is split by job.
layers=(probes exporters agent/policy agent/config agent/engine agent/http agent/slurm
        agent/daemon agent/cli)

rank_of() {  # the index of the layer holding path $1, or -1 (tests, bench, tools, ...)
  local i
  for i in "${!layers[@]}"; do
    [[ "$1" == "${layers[$i]}/"* ]] && { echo "$i"; return; }
  done
  echo -1
}

status=0
checked=0
while IFS= read -r -d '' file; do
  rel="${file#"$root"/}"
  own=$(rank_of "$rel")
  (( own >= 0 )) || continue
  checked=$((checked + 1))
  while IFS=: read -r line target; do
    target_rank=$(rank_of "$target")
    if (( target_rank < 0 )); then
      echo "$rel:$line: includes \"$target\", which is in no layer" >&2
      status=1
    elif (( target_rank > own )); then
      echo "$rel:$line: ${layers[$own]} includes \"$target\" from ${layers[$target_rank]}," \
           "which is above it" >&2
      status=1
    fi
  done < <(grep -n '^#include "' "$file" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/' || true)
done < <(find "$root/probes" "$root/exporters" "$root/agent" \( -name '*.h' -o -name '*.cc' \) -print0)

(( checked > 0 )) || { echo "check_layers: no source files under $root" >&2; exit 1; }
(( status == 0 )) && echo "check_layers: $checked files, no include points up"
exit "$status"
