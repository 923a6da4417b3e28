#!/usr/bin/env bash
# Fails when an #include points up the dependency order of the source folders (CONTRIBUTING.md
# "Where code lives"): each folder may include its own headers and those of the folders listed
# before it, never those listed after it. Also fails when the daemon, the run engine or the drain
# policy names a probe (a string literal equal to a probe's name) or includes a header from a
# probe's own folder: they work through the probe interface (probes/probe.h), so adding a probe
# never touches them. Usage: tools/check_layers.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"

# Bottom to top. probes/ holds the probes and what they stand on (platform, util, the result
# model); exporters/ renders reports; agent/ is split by job.
layers=(probes exporters agent/policy agent/config agent/engine agent/http agent/slurm
        agent/provider agent/daemon agent/bundle agent/cli)

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

# Probes are the folders probes/<name>/ that hold <name>_probe.cc.
probe_names=()
for dir in "$root"/probes/*/; do
  name=$(basename "$dir")
  [[ -f "$dir/${name}_probe.cc" ]] && probe_names+=("$name")
done
(( ${#probe_names[@]} > 0 )) || { echo "check_layers: no probes under $root/probes" >&2; exit 1; }
for layer in agent/daemon agent/engine agent/policy; do
  for name in "${probe_names[@]}"; do
    if grep -rn --include='*.h' --include='*.cc' -e "\"$name\"" -e "#include \"probes/$name/" \
         "$root/$layer" >&2; then
      echo "check_layers: $layer names the probe $name (above); use a probe capability" >&2
      status=1
    fi
  done
done

(( checked > 0 )) || { echo "check_layers: no source files under $root" >&2; exit 1; }
(( status == 0 )) && echo "check_layers: $checked files, no include points up;" \
  "no probe of ${#probe_names[@]} named in the daemon, the engine or the policy"
exit "$status"
