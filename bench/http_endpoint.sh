#!/usr/bin/env bash
# The agent's endpoint (issue 13, items 14-16), on this machine, over loopback:
#
#   bench/http_endpoint.sh [SCRAPES [SECONDS [CLIENTS]]]      (defaults: 1000, 30, 64)
#   Environment: BUILD (default build). About 2 minutes with the defaults.
#
# The agent runs on the Azure ND96isr H100 v5 fixture node (8 GPUs, 9 HCAs, fake NVML), twice:
# plain HTTP, then with a web config (TLS with a throwaway CA and P-256 server certificate made
# here with openssl, basic auth with a bcrypt cost-10 hash). For each:
#   1. SCRAPES scrapes of /metrics on one kept-alive connection, as Prometheus scrapes, with and
#      without `Accept-Encoding: gzip` (bench/scrape_latency.py): median, p99, max;
#   2. a real Prometheus scraping every second for SECONDS while CLIENTS hostile clients (idle,
#      trickling, reconnecting, 404 and 405 keep-alive loops, oversized heads; with TLS, stalled
#      handshakes too) hammer the port, and a client of the benchmark asks for /metrics on a new
#      connection four times a second (bench/http_endpoint_bench.cc): scrapes up, scrape durations.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
scrapes="${1:-1000}"
seconds="${2:-30}"
clients="${3:-64}"
scenario=tests/fixtures/nodes/azure-nd96isr-h100-v5.toml
for f in "$build/agent/nodehealth" "$build/tests/libnvml_fake.so" "$build/tests/nodehealth-fixture" \
         "$build/bench/http_endpoint_bench"; do
  [ -e "$f" ] || { echo "$f missing: ninja -C $build nodehealth nvml_fake nodehealth-fixture http_endpoint_bench"; exit 1; }
done
command -v openssl >/dev/null || { echo "openssl not found"; exit 1; }

tmp="$(mktemp -d)"
agent_pid=""
stop_agent() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  agent_pid=""
}
trap 'stop_agent; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

"$build/tests/nodehealth-fixture" "$scenario" "$tmp/node" > /dev/null

# A throwaway CA, a server certificate for 127.0.0.1, a bcrypt hash.
(
  cd "$tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=bench-ca -keyout ca.key -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2> /dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout server.key -out server.csr 2> /dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
    -extfile ext -out server.crt 2> /dev/null
)
hash="$(python3 -W ignore -c 'import crypt; print(crypt.crypt("bench-pass", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')"
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: %s\n' \
  "$hash" > "$tmp/web.yml"

start_agent() {  # extra agent arguments
  mkdir -p "$tmp/state"
  : > "$tmp/agent.log"
  NODEHEALTH_FAKE_NVML="$scenario" "$build/agent/nodehealth" agent --sysroot "$tmp/node" \
    --nvml-library "$build/tests/libnvml_fake.so" --listen 127.0.0.1:0 --interval 30 \
    --state-dir "$tmp/state" --config /dev/null --profile azure-nd96isr-h100-v5 "$@" \
    2> "$tmp/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$tmp/agent.log")"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$tmp/agent.log"; exit 1; }
  sleep 2  # the first round
}

echo "== plain HTTP"
start_agent
python3 bench/scrape_latency.py "http://127.0.0.1:$port/metrics" --count "$scrapes" --gzip
python3 bench/scrape_latency.py "http://127.0.0.1:$port/metrics" --count "$scrapes"
"$build/bench/http_endpoint_bench" "127.0.0.1:$port" --seconds "$seconds" --clients "$clients" || true
stop_agent

echo "== TLS with basic auth"
start_agent --web-config "$tmp/web.yml"
auth=(--user prometheus --password bench-pass --cafile "$tmp/ca.crt")
python3 bench/scrape_latency.py "https://127.0.0.1:$port/metrics" --count "$scrapes" --gzip "${auth[@]}"
python3 bench/scrape_latency.py "https://127.0.0.1:$port/metrics" --count "$scrapes" "${auth[@]}"
"$build/bench/http_endpoint_bench" "127.0.0.1:$port" --seconds "$seconds" --clients "$clients" \
  --https --ca "$tmp/ca.crt" --user prometheus --password bench-pass || true
stop_agent
