#!/usr/bin/env bash
# Installs a nodehealth .deb on a clean Debian 12 root and runs it from there.
#
#   tests/package/package_test.sh build/nodehealth_0.2.0_amd64.deb [BUILD_DIR]
#
# 1. Checks the package's contents (dpkg-deb -c): the binaries, profiles, example config, units and
#    alert rules the source tree has, and nothing else (no test binaries, fake NVML, fixtures).
#    With BUILD_DIR (the tree the package was made from): `cmake --install BUILD_DIR --prefix DIR`
#    installs the same files.
# 2. debootstrap --variant=minbase bookworm into a temporary root, from the Debian mirror this
#    machine's apt uses, and installs the package there with apt-get --no-install-recommends: only
#    the declared Depends (and what dpkg-shlibdeps computed) get installed, and nothing from the
#    build machine leaks in.
# 3. Without the Recommends (removed with --force-depends where another Depends pulled them in),
#    runs /usr/bin/nodehealth --version, probes and check: they must not need them.
# 4. With the Recommends: check with a shipped profile, check with the example config,
#    nodehealth-allreduce under mpirun, the agent for one round, the agent over TLS with basic
#    auth (200 with the credentials, 401 without); the installed files; then purges the package.
#
# Needs root (debootstrap, chroot, mount), debootstrap, dpkg-deb, jq, openssl, curl, python3 (a
# throwaway certificate and bcrypt hash for the TLS step) and network access to the mirror. /proc is mounted into the root, /sys and /dev are bound read-only (the probes read
# them; nothing in the root can change the host's), /dev/shm is a fresh tmpfs (Open MPI's shared
# memory); all are unmounted on exit, before the root is deleted.
#
# Environment: NODEHEALTH_DEBIAN_MIRROR, NODEHEALTH_DEBIAN_SECURITY_MIRROR override the mirrors;
# NODEHEALTH_DEBOOTSTRAP_CACHE=DIR keeps debootstrap's downloaded packages there between runs;
# NODEHEALTH_PACKAGE_TEST_KEEP=1 keeps the root (unmounted) for inspection.
set -euo pipefail

if (( $# < 1 || $# > 2 )) || [[ ! -f "$1" ]] || [[ $# == 2 && ! -f "$2/CMakeCache.txt" ]]; then
  echo "usage: $0 PATH/nodehealth_VERSION_ARCH.deb [BUILD_DIR]" >&2
  exit 2
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "$0: needs root (debootstrap, chroot, mount)" >&2
  exit 2
fi
for tool in debootstrap dpkg-deb jq chroot mount; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
done

deb="$(realpath "$1")"
source_dir="$(realpath "$(dirname "$0")/../..")"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
started=$(now_ms)
step() { echo "== package test: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
fail_with() { cat "$1" >&2; fail "$2"; }  # fail_with LOG MESSAGE: shows the log of what failed

# The first URI of an enabled apt source that lists SUITE (deb822 .sources, then one-line .list
# files), so the test uses the same mirror (or proxy, or snapshot) as this machine's apt.
apt_mirror_for() {
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk -v suite="$suite" '
      function flush() {
        if (enabled && deb && uri != "" && (" " suites " ") ~ (" " suite " ")) { print uri; exit }
        enabled = 1; deb = 0; uri = ""; suites = ""
      }
      BEGIN { enabled = 1 }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
      END { flush() }' "$f" | head -n 1 | grep . && return 0
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$suite" '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) { print $i; exit } }' | grep . && return 0
  return 1
}
mirror="${NODEHEALTH_DEBIAN_MIRROR:-$(apt_mirror_for bookworm ||
  echo http://deb.debian.org/debian)}"
security_mirror="${NODEHEALTH_DEBIAN_SECURITY_MIRROR:-$(apt_mirror_for bookworm-security ||
  echo http://deb.debian.org/debian-security)}"

# 1. Contents ------------------------------------------------------------------------------------
step "package fields"
dpkg-deb --field "$deb" Package Version Architecture Section Depends Recommends Suggests
version="$(dpkg-deb --field "$deb" Version)"
depends="$(dpkg-deb --field "$deb" Depends)"
[[ "$(dpkg-deb --field "$deb" Package)" == nodehealth ]] || fail "package name is not nodehealth"
[[ ", $depends," == *", openmpi-bin"[\ ,]* ]] || fail "Depends lacks openmpi-bin: $depends"
[[ "$depends" == *libc6* ]] || fail "Depends lacks the shlibdeps entries: $depends"
# The endpoint is nodehealth's own server (TLS through OpenSSL, web config through yaml-cpp).
[[ "$depends" == *libssl3* && "$depends" == *libyaml-cpp0.7* ]] ||
  fail "Depends lacks libssl3 or libyaml-cpp0.7: $depends"
[[ "$depends" != *civetweb* && "$depends" != *prometheus-cpp-pull* ]] ||
  fail "Depends still lists civetweb or prometheus-cpp's pull library: $depends"
# A maintainer with a name and an address that is not a local placeholder.
maintainer="$(dpkg-deb --field "$deb" Maintainer)"
[[ "$maintainer" =~ ^[^\<]+\ \<[^@\>]+@[^@\>]+\.[a-z]+\>$ && "$maintainer" != *@localhost* ]] ||
  fail "Maintainer is not 'Name <address>': $maintainer"

step "package contents"
listing="$(dpkg-deb --contents "$deb")"
echo "$listing"
mapfile -t files < <(awk '$1 !~ /^d/ { print $6 }' <<<"$listing" | sed 's|^\./|/|')
# What the source tree says must be installed. Units and alert rules are optional: the package
# ships whatever systemd/ and exporters/alerts/ hold.
expected=(/usr/bin/nodehealth /usr/bin/nodehealth-allreduce /usr/bin/nodehealth-gpu-worker
          /usr/share/doc/nodehealth/examples/nodehealth.toml
          /usr/share/doc/nodehealth/copyright /usr/share/doc/nodehealth/changelog.gz
          /usr/share/doc/nodehealth/changelog.Debian.gz
          /usr/share/nodehealth/slurm/nodehealth-allreduce.sbatch
          /usr/share/nodehealth/slurm/pairwise.sh
          /usr/share/man/man1/nodehealth.1.gz /usr/share/bash-completion/completions/nodehealth)
for f in "$source_dir"/profiles/*.toml; do
  expected+=("/usr/share/nodehealth/profiles/$(basename "$f")")
done
units=()
for f in "$source_dir"/systemd/*.{service,timer,target,socket,path}{,.in}; do
  if [[ -f "$f" ]]; then units+=("$(basename "${f%.in}")"); fi  # *.in: configured at install
done
for f in "${units[@]}"; do expected+=("/usr/lib/systemd/system/$f"); done
for f in "$source_dir"/exporters/alerts/*.{yml,yaml}; do
  if [[ -f "$f" ]]; then expected+=("/usr/share/nodehealth/prometheus/$(basename "$f")"); fi
done
for f in "$source_dir"/exporters/dashboards/*.json; do
  if [[ -f "$f" ]]; then expected+=("/usr/share/nodehealth/grafana/$(basename "$f")"); fi
done
for f in "$source_dir"/exporters/dashboards/*.json; do
  if [[ -f "$f" ]]; then expected+=("/usr/share/nodehealth/grafana/$(basename "$f")"); fi
done
for f in "${expected[@]}"; do
  printf '%s\n' "${files[@]}" | grep -qxF "$f" || fail "the package lacks $f"
done
for f in "${files[@]}"; do
  case "$f" in
    /usr/bin/nodehealth | /usr/bin/nodehealth-* | /usr/share/nodehealth/* | \
      /usr/share/doc/nodehealth/* | /usr/lib/systemd/system/nodehealth* | \
      /usr/share/man/man1/nodehealth* | /usr/share/bash-completion/completions/nodehealth) ;;
    *) fail "unexpected file in the package: $f" ;;
  esac
  case "$f" in
    *test* | *fake* | *fixture* | *bench* | *.so | *.so.* | *.a)
      fail "test file packaged: $f" ;;
  esac
done
awk '$2 != "root/root" { bad = 1; print "not root/root: " $0 } END { exit bad }' <<<"$listing" ||
  fail "files not owned by root"

if (( $# == 2 )); then
  step "cmake --install $2 --prefix DIR (the same files as the package)"
  prefix="$(mktemp -d "${TMPDIR:-/tmp}/nodehealth-prefix.XXXXXX")"
  cmake --install "$2" --prefix "$prefix" >/dev/null ||
    { rm -rf "$prefix"; fail "cmake --install failed"; }
  installed_files="$(cd "$prefix" && find . -type f -o -type l | sed 's|^\.|/usr|' | sort)"
  rm -rf "$prefix"
  diff <(printf '%s\n' "${files[@]}" | sort) <(echo "$installed_files") ||
    fail "cmake --install and the package differ (< package, > cmake --install)"
  echo "the same ${#files[@]} files"
fi

# 2. A clean Debian 12 root ----------------------------------------------------------------------
root="$(mktemp -d "${TMPDIR:-/tmp}/nodehealth-pkgtest.XXXXXX")"
chmod 0755 "$root"  # mktemp's 0700 would keep apt's _apt user out of the root's /var/lib/apt
mounts=()
agent_pid=""
cleanup() {
  local status=$? i t0
  set +e  # every step of the clean-up runs, whatever failed before
  t0=$(now_ms)
  if [[ -n "$agent_pid" ]]; then
    kill "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
  fi
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount --lazy "${mounts[i]}" || true
  done
  # Never delete through a mount that is still there: that would be the host's /dev or /sys.
  if grep -q " $root/" /proc/self/mounts; then
    echo "package test: $root still has mounts; not deleting it" >&2
  elif [[ "${NODEHEALTH_PACKAGE_TEST_KEEP:-0}" == 1 ]]; then
    echo "package test: root kept in $root"
  else
    rm -rf --one-file-system "$root"
  fi
  rm -f "$root.debootstrap.log"
  echo "package test: cleaned up in $(elapsed "$t0") s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "debootstrap --variant=minbase bookworm from $mirror"
t0=$(now_ms)
debootstrap_args=(--variant=minbase)
# apt in minbase speaks https but has no CA certificates to check the mirror with.
if [[ "$mirror" == https:* ]]; then debootstrap_args+=(--include=ca-certificates); fi
if [[ -n "${NODEHEALTH_DEBOOTSTRAP_CACHE:-}" ]]; then
  mkdir -p "$NODEHEALTH_DEBOOTSTRAP_CACHE"
  debootstrap_args+=(--cache-dir="$(realpath "$NODEHEALTH_DEBOOTSTRAP_CACHE")")
fi
debootstrap "${debootstrap_args[@]}" bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  fail_with "$root.debootstrap.log" "debootstrap failed"
rm -f "$root.debootstrap.log"
debootstrap_s=$(elapsed "$t0")
echo "debootstrap: ${debootstrap_s} s, $(du -sm --one-file-system "$root" | cut -f1) MiB"

# A Debian 12 machine's sources: the release, its point-release updates and security.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
EOF
# As in any chroot: maintainer scripts must not start services (invoke-rc.d asks policy-rc.d).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

mount -t proc proc "$root/proc"
mounts+=("$root/proc")
for dir in sys dev; do
  mount --bind "/$dir" "$root/$dir"
  mounts+=("$root/$dir")
  mount -o remount,bind,ro "$root/$dir" || fail "cannot make $root/$dir read-only"
done
mount -t tmpfs -o mode=1777,size=256m tmpfs "$root/dev/shm"
mounts+=("$root/dev/shm")

# A clean environment: nothing of the caller's (NODEHEALTH_PROFILE_PATH, LD_LIBRARY_PATH, OMPI_*)
# reaches the programs in the root; only a proxy, which apt may need to reach the mirror.
root_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
          LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
for v in http_proxy https_proxy no_proxy; do
  if [[ -n "${!v:-}" ]]; then root_env+=("$v=${!v}"); fi
done
in_root() { chroot "$root" /usr/bin/env -i "${root_env[@]}" "$@"; }
# apt_root WHAT ARGS...: apt-get -y ARGS in the root, its output shown only when it fails.
apt_root() {
  local what="$1"
  shift
  in_root apt-get -y -qq "$@" >"$root/tmp/apt.log" 2>&1 || fail_with "$root/tmp/apt.log" "$what"
}

step "apt-get install --no-install-recommends ./$(basename "$deb")"
t0=$(now_ms)
cp "$deb" "$root/tmp/"
in_root apt-get update -qq
apt_root "apt-get install failed" install --no-install-recommends "/tmp/$(basename "$deb")"
apt_s=$(elapsed "$t0")
echo "apt-get: ${apt_s} s, $(grep -c '^Setting up' "$root/tmp/apt.log") packages set up, root now \
$(du -sm --one-file-system "$root" | cut -f1) MiB"
# installed PACKAGE: whether dpkg in the root has it installed (${Status} is dpkg-query's field).
# shellcheck disable=SC2016
installed() {
  in_root dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qx "install ok installed"
}
installed nodehealth || fail "nodehealth is not installed"

# 3. Without the Recommends ----------------------------------------------------------------------
# A Recommends that a Depends pulls in anyway (ibverbs-providers: libfabric1 and libucx0, under
# libopenmpi3, depend on it) is removed without its dependents, so that the commands below show
# nodehealth itself does not need it. Step 4 installs the Recommends back.
mapfile -t recommends < <(dpkg-deb --field "$deb" Recommends | tr -d ' ' | tr ',' '\n' |
  sed 's/|.*//; s/(.*//' | grep .)
for p in "${recommends[@]}"; do
  if installed "$p"; then
    pulled_by="$(in_root apt-cache rdepends --installed --no-recommends --no-suggests \
      --no-conflicts --no-breaks --no-replaces --no-enhances "$p" | tail -n +3 | tr -d ' ' |
      sort -u | paste -sd ' ')"
    echo "Recommends $p was pulled in by: $pulled_by"
    in_root dpkg --remove --force-depends "$p" >/dev/null 2>&1 || fail "cannot remove $p"
    echo "removed $p (dpkg --force-depends) for the next steps"
  fi
  ! installed "$p" || fail "$p is still installed"
done

# run_root EXPECTED_STATUS OUTFILE COMMAND...: runs in the root, output to OUTFILE (in the root's
# /tmp), fails the test unless the exit status is EXPECTED_STATUS.
run_root() {
  local want="$1" out="$2" status=0
  shift 2
  in_root "$@" >"$root/tmp/$out" 2>"$root/tmp/$out.err" || status=$?
  if [[ "$status" != "$want" ]]; then
    cat "$root/tmp/$out" "$root/tmp/$out.err" >&2
    fail "'$*' exited $status, expected $want"
  fi
}

step "nodehealth --version"
[[ "$(in_root sh -c 'command -v nodehealth')" == /usr/bin/nodehealth ]] || fail "not /usr/bin"
run_root 0 version nodehealth --version
cat "$root/tmp/version"
grep -qF "$version" "$root/tmp/version" || fail "--version does not say $version"

step "nodehealth probes"
run_root 0 probes nodehealth probes
for p in gpu_presence gpu_driver gpu_health gpu_xid ib_ports topology sku_inventory \
  gpu_bandwidth nccl_allreduce rdma_loopback mpi_allreduce; do
  grep -qw "$p" "$root/tmp/probes" || fail "nodehealth probes does not list $p"
done
echo "lists every probe named above"

# No GPU here: every GPU probe skips and `check` exits 0 (observe-only).
gpu_probes_skipped() {
  jq -e '[.probes[] | select(.name | startswith("gpu_")) | .verdict] as $v
         | ($v | length) == 4 and all($v[]; . == "skip")' "$1" >/dev/null
}
step "nodehealth check --format json (observe-only, Recommends not installed)"
run_root 0 check.json nodehealth check --format json
jq -c '{mode, summary, profile, verdicts: [.probes[] | {(.name): .verdict}] | add}' \
  "$root/tmp/check.json"
jq -e '.mode == "check"' "$root/tmp/check.json" >/dev/null || fail 'mode is not "check"'
gpu_probes_skipped "$root/tmp/check.json" || fail "the GPU probes did not all skip"

# 4. With the Recommends -------------------------------------------------------------------------
if (( ${#recommends[@]} )); then
  step "apt-get install the Recommends: ${recommends[*]}"
  apt_root "cannot install the Recommends" install --no-install-recommends "${recommends[@]}"
  in_root apt-get check -qq || fail "apt sees broken dependencies after installing the Recommends"
  run_root 0 check2.json nodehealth check --format json
  gpu_probes_skipped "$root/tmp/check2.json" || fail "the GPU probes did not all skip"
  echo "installed; check exits 0"
fi

step "nodehealth check --config (the shipped example)"
example=/usr/share/doc/nodehealth/examples/nodehealth.toml
run_root 0 example.json nodehealth check --config "$example" --format json
echo "the example config parses; exit 0"

step "nodehealth check --profile azure-nd96isr-h100-v5"
# The profile must come from /usr/share/nodehealth/profiles: no source tree exists in the root.
run_root 1 profile.json nodehealth check --profile azure-nd96isr-h100-v5 --format json
jq -c '{profile, selected: .profile_selection.reason, drain: .drain.action,
        reasons: [.drain.reasons[] | "\(.code) \(.entity) \(.action)"]}' "$root/tmp/profile.json"
jq -e '.profile == "azure-nd96isr-h100-v5"' "$root/tmp/profile.json" >/dev/null ||
  fail "the report does not name the profile"
jq -e '.profile_selection.reason
       | test("/share/nodehealth/profiles/azure-nd96isr-h100-v5\\.toml$")' \
  "$root/tmp/profile.json" >/dev/null || fail "the profile was not read from /usr/share/nodehealth"
jq -e '.drain.recommended and ([.drain.reasons[] | select(.code == "gpu_missing"
        and .entity == "node")] | length) == 1' "$root/tmp/profile.json" >/dev/null ||
  fail "no gpu_missing drain reason with the H100 profile"
echo "exit 1 (drain recommended) with gpu_missing on node"

step "mpirun -np 2 nodehealth-allreduce"
run_root 0 allreduce.json mpirun --allow-run-as-root --oversubscribe -np 2 \
  nodehealth-allreduce --sizes 8,1K,64K --json
jq -c '{ranks, results: [.results[] | {size_bytes, correct, busbw_bytes_per_second}]}' \
  "$root/tmp/allreduce.json"
jq -e '.ranks == 2 and (.results | length) == 3 and all(.results[]; .correct)' \
  "$root/tmp/allreduce.json" >/dev/null || fail "nodehealth-allreduce did not reduce correctly"

step "nodehealth agent (one round, /healthz, SIGTERM)"
port=$((20000 + RANDOM % 20000))
# A simple command in the background, so $! is nodehealth itself (chroot and env exec it).
chroot "$root" /usr/bin/env -i "${root_env[@]}" nodehealth agent --config "$example" \
  --listen "127.0.0.1:$port" --interval 60 --state-dir /var/lib/nodehealth \
  >"$root/tmp/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$root/var/lib/nodehealth/status.json" ]] && break
  kill -0 "$agent_pid" 2>/dev/null || fail_with "$root/tmp/agent.log" "the agent exited"
  sleep 0.2
done
[[ -s "$root/var/lib/nodehealth/status.json" ]] || fail_with "$root/tmp/agent.log" "no status.json"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
healthz="$(head -n 1 <&3 | tr -d '\r')"
exec 3>&-
echo "/healthz: $healthz; status.json: $(jq -c '{drain}' "$root/var/lib/nodehealth/status.json")"
[[ "$healthz" == *" 200 "* ]] || fail "/healthz answered: $healthz"
kill -TERM "$agent_pid"
for _ in $(seq 1 50); do  # it writes its state and exits; 10 s is plenty
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$agent_pid" 2>/dev/null; then
  kill -KILL "$agent_pid"
  fail_with "$root/tmp/agent.log" "the agent did not exit within 10 s of SIGTERM"
fi
agent_status=0
wait "$agent_pid" || agent_status=$?
agent_pid=""
[[ "$agent_status" == 0 ]] ||
  fail_with "$root/tmp/agent.log" "the agent exited $agent_status on SIGTERM"

step "nodehealth agent over TLS with basic auth (a web config; OpenSSL, yaml-cpp, libcrypt)"
# A throwaway CA and server certificate, made here with the host's openssl; the bcrypt hash with
# the host's python3 (crypt). curl on the host speaks to the agent in the root.
tls="$root/etc/nodehealth-test"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=package-test-ca -keyout "$tls/ca.key" -out "$tls/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
  -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 1 -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
hash="$(python3 -W ignore -c 'import crypt; print(crypt.crypt("pkg-pass", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))')"
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: %s\n' \
  "$hash" > "$tls/web.yml"
port=$((20000 + RANDOM % 20000))
chroot "$root" /usr/bin/env -i "${root_env[@]}" nodehealth agent --config "$example" \
  --listen "127.0.0.1:$port" --interval 60 --state-dir /var/lib/nodehealth \
  --web-config /etc/nodehealth-test/web.yml >"$root/tmp/agent-tls.log" 2>&1 &
agent_pid=$!
code=""
for _ in $(seq 1 100); do
  code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" -u prometheus:pkg-pass \
    "https://127.0.0.1:$port/healthz" || true)"
  [[ "$code" == 200 ]] && break
  kill -0 "$agent_pid" 2>/dev/null || fail_with "$root/tmp/agent-tls.log" "the agent exited"
  sleep 0.2
done
[[ "$code" == 200 ]] || fail_with "$root/tmp/agent-tls.log" "https /healthz with credentials: $code"
code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" "https://127.0.0.1:$port/healthz")"
[[ "$code" == 401 ]] || fail "https /healthz without credentials answered $code, not 401"
echo "https /healthz: 200 with credentials, 401 without"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail_with "$root/tmp/agent-tls.log" "the TLS agent did not exit 0 on SIGTERM"
agent_pid=""
rm -rf "$tls"

step "installed files"
for f in "${expected[@]}"; do
  [[ -f "$root$f" ]] || fail "$f is not installed"
done
for f in "${files[@]}"; do  # every program the package ships (links too) runs from /usr/bin
  if [[ "$f" == /usr/bin/* ]]; then [[ -x "$root$f" ]] || fail "$f is not executable"; fi
done
# The units were configured for the package's prefix: the nodehealth programs they start are
# the installed ones. (Others, like /bin/systemctl, come with systemd, which runs the units; the
# package does not need it and minbase lacks it.)
for f in "${units[@]}"; do
  unit="$root/usr/lib/systemd/system/$f"
  while read -r program; do
    [[ "$program" != *@* ]] || fail "$f has an unconfigured @VARIABLE@: $program"
    if [[ "$(basename "$program")" == nodehealth* ]]; then
      [[ "$program" == /usr/bin/* && -x "$root$program" ]] || fail "$f runs $program, not installed"
    fi
  done < <(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$unit")
done
echo "${#expected[@]} files at their paths (${#units[@]} units," \
  "$(printf '%s\n' "${expected[@]}" | grep -c /prometheus/) alert rule files)"

step "apt-get purge nodehealth"
apt_root "apt-get purge failed" purge nodehealth
for f in "${expected[@]}"; do
  [[ ! -e "$root$f" ]] || fail "$f is still there after purge"
done
echo "purged; no packaged file left"

echo "== package test passed in $(elapsed "$started") s" \
  "(debootstrap ${debootstrap_s} s, apt-get ${apt_s} s)"
