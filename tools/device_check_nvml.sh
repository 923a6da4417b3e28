#!/bin/bash
# Compare what nvidia-smi says with what nodehealth's gpu_health reads through NVML (issue 19:
# PCIe replays, NVLink error counters, power limits). Run as root on a GPU node with the NVIDIA
# driver: tools/device_check_nvml.sh /path/to/nodehealth [extra check args, e.g. --profile none]
# Read-only: it changes no clock, limit or counter. Every command has a time limit.
set -u
NH=${1:?usage: $0 /path/to/nodehealth [check args...]}
shift
T=60
section() { printf '\n===== %s =====\n' "$*"; }
section "host"; uname -r; timeout 10 cat /proc/driver/nvidia/version 2>&1
section "nvidia-smi --query-gpu (power limits, PCIe link)"
timeout $T nvidia-smi --query-gpu=index,pci.bus_id,name,power.limit,power.default_limit,power.min_limit,power.max_limit,enforced.power.limit,pcie.link.gen.current,pcie.link.width.current --format=csv 2>&1 ||
  timeout $T nvidia-smi --query-gpu=index,pci.bus_id,power.limit,power.default_limit,power.min_limit,power.max_limit,pcie.link.gen.current,pcie.link.width.current --format=csv 2>&1
section "nvidia-smi -q -d POWER,PCIE (replays since reset, power readings)"
timeout $T nvidia-smi -q -d POWER,PCIE 2>&1 | grep -E '^GPU |Replay|Power Limit|Power Readings'
section "nvidia-smi nvlink -e (error counters per link)"
timeout $T nvidia-smi nvlink -e 2>&1 | grep -vE ': 0$' | grep -v '^\s*$' | head -200
echo "(lines with value 0 left out; GPUs without NVLink print nothing or an error)"
section "nvidia-smi -q (full, first GPU)"
timeout $T nvidia-smi -q -i 0 2>&1 | head -250
section "nodehealth check --only gpu_health --format json"
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT
timeout $T "$NH" check --only gpu_health --format json "$@" >"$OUT" 2>&1; echo "exit status: $?"
cat "$OUT"
section "nodehealth counters and power findings, one per line"
timeout 20 python3 - "$OUT" <<'PY' 2>&1
import json, sys
report = json.load(open(sys.argv[1]))
for probe in report.get("probes", []):
    for m in probe.get("measurements", []):
        if m["name"] in ("gpu_pcie_replays_total", "gpu_nvlink_errors_total", "gpu_power_limit_watts"):
            print(m["name"], json.dumps(m["labels"], sort_keys=True), m["value"])
    for f in probe.get("findings", []):
        print("finding", f.get("code"), f.get("entity"), f.get("message"))
PY
