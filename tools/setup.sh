#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for nodehealth and builds it, from a clean clone.
#
#   tools/setup.sh check   install what the build needs, build, run `nodehealth check` here
#   tools/setup.sh test    install what the build and the tests need, build, run the whole suite
#                          (unit, fixture, command-line, golden and hardware tests with GCC, then
#                          the fuzz targets under libFuzzer with clang, the daemon's tests under
#                          ASan+UBSan and TSan with clang, then Release builds of the binaries
#                          with both), warnings as errors throughout
#
# Everything comes from Debian 12's own packages. Runs apt-get through sudo when not root.
# The tests read ../shared/fixtures/peer (real data from public projects) beside the clone;
# set NODEHEALTH_PEER_FIXTURES to use another copy.
set -euo pipefail

mode="${1:-}"
if [[ "$mode" != check && "$mode" != test ]]; then
  echo "usage: $0 check|test" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

# Tests also start a real Slurm on localhost (slurmctld, slurmd, munge) and compare with mbw, and
# a real Prometheus server (its promtool checks the metrics); the benchmarks compare the agent with
# node_exporter (prometheus-node-exporter).
# libopenmpi-dev, openmpi-bin: nodehealth-allreduce (mpi-tests/) and the mpi_allreduce probe.
# libhwloc-dev: the topology probe (hwloc 2.9 with I/O discovery).
# prometheus-cpp-dev: the metric model and text format of the agent's /metrics (core only; the
# endpoint is nodehealth's own HTTP server, agent/http/). libssl-dev: its TLS; zlib1g-dev: gzip;
# libcrypt-dev: libxcrypt's crypt_rn for the bcrypt hashes of basic auth; libyaml-cpp-dev: the
# web configuration file (exporter-toolkit's YAML format). libcurl4-openssl-dev: reports to the
# cloud (Azure Guest Health Reporting, Google's reportHostAsFaulty) over HTTPS.
# libibverbs-dev: the RDMA loopback (rdma-core); ibverbs-providers: the user-space HCA drivers
# (mlx5, ...) without which libibverbs lists no device even on a node that has one.
build_packages=(cmake ninja-build g++ pkg-config
                libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
                libibverbs-dev ibverbs-providers libhwloc-dev libopenmpi-dev openmpi-bin
                prometheus-cpp-dev libssl-dev zlib1g-dev libcrypt-dev libyaml-cpp-dev
                libcurl4-openssl-dev)
test_packages=(libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
               libfuzzer-14-dev clang-format-14 time perftest bzip2 slurmctld slurmd slurm-client
               munge mbw prometheus prometheus-node-exporter)
# The Debian package (cmake/NodehealthPackaging.cmake, tests/package/): dpkg-dev for
# dpkg-shlibdeps, which computes the package's library Depends, and file, with which CPack finds
# the ELF files to hand it; debootstrap for the clean Debian 12 root the package is installed on;
# jq to read nodehealth's JSON report there.
test_packages+=(dpkg-dev file debootstrap jq)
# The package test's TLS step and bench/http_endpoint.sh: a throwaway certificate (openssl), the
# agent asked over HTTPS with basic auth (curl), a bcrypt hash (python3's crypt).
test_packages+=(openssl curl python3)
# The units' tests (systemd/units_test.sh): systemd-analyze and systemctl from systemd, and procps
# for /bin/kill, which `systemd-analyze verify` checks as ExecReload='s program.
test_packages+=(systemd procps)
# socat: the Slurm test's imposter, another local user answering on the agent's port (setpriv
# from util-linux runs it as nobody).
test_packages+=(socat)
# The four-node Slurm cluster (tests/slurm/multinode_test.sh): ip and tc from iproute2 for the
# network namespaces, veth pairs, bridge and the slow link; nsenter and unshare from util-linux.
test_packages+=(iproute2 util-linux)
# The man page's test (tests/ux/man_page_test.sh): groff renders docs/man/nodehealth.1.
test_packages+=(groff-base)
# The docs tests (tests/docs): real JSON reports validated against docs/report-schema.json.
test_packages+=(python3-jsonschema)
# The status page's browser test (tests/browser, label browser): headless Chromium loads `/`.
test_packages+=(chromium)
packages=("${build_packages[@]}")
[[ "$mode" == test ]] && packages+=("${test_packages[@]}")

sudo=()
[[ "$(id -u)" != 0 ]] && sudo=(sudo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "== installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

jobs="$(nproc)"
peer="${NODEHEALTH_PEER_FIXTURES:-$PWD/../shared/fixtures/peer}"

if [[ "$mode" == check ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNODEHEALTH_BUILD_TESTS=OFF -DNODEHEALTH_BUILD_BENCH=OFF
  cmake --build build -j "$jobs"
  echo "== nodehealth check"
  # Exit status 0: no drain recommended; 1: drain recommended; 2: could not evaluate.
  exec ./build/agent/nodehealth check --format table
fi

# Warnings are errors here (CI and development), not in the `check` build above or a packager's:
# NODEHEALTH_WERROR (CMakeLists.txt).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNODEHEALTH_WERROR=ON \
  -DNODEHEALTH_BUILD_TESTS=ON -DNODEHEALTH_BUILD_BENCH=ON -DNODEHEALTH_PEER_FIXTURES="$peer"
cmake --build build -j "$jobs"
echo "== tests (GCC build)"
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 300

echo "== fuzz targets (clang, libFuzzer + AddressSanitizer + UBSan)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNODEHEALTH_FUZZ=ON -DNODEHEALTH_WERROR=ON
cmake --build build-fuzz -j "$jobs"
ctest --test-dir build-fuzz -j "$jobs" --output-on-failure --timeout 300
# The daemon under AddressSanitizer with UBSan, then under ThreadSanitizer (clang): its unit tests
# and the end-to-end tests of the real agent, built with the same sanitizer (the agent runs rounds,
# a kernel-log watch, an NVML event thread, the HTTP loop and a signal thread side by side). A
# report fails the run: UBSan does not recover, ASan and TSan stop at the first report
# (halt_on_error), and the test binary exits non-zero. About 8 minutes each on 2 cores.
daemon_unit='DrainPolicy*:PolicyState*:Http*:SecureServer*:ProbeRunner*:StatusFile*:AgentCore*:RoundSchedule*'
daemon_unit+=':ReportRedaction*:Kernel*:SdNotify*:Agent*:Slurm*:Config*:WebConfig*:HostileFiles*'
# The cloud reporter's thread and its stand-in servers; the repair records the rounds apply.
daemon_unit+=':Provider*:Repair*'
# The status page's renderer, which every snapshot runs.
daemon_unit+=':StatusPage*'
daemon_unit+=':-HttpClientTest.*'  # the tests' own loopback client, with a timing bound
daemon_e2e='Agent*:HostileFiles*'
for sanitizer in address thread; do
  echo "== the daemon's tests under the ${sanitizer} sanitizer (clang)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "build-$sanitizer" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNODEHEALTH_SANITIZE="$sanitizer" -DNODEHEALTH_WERROR=ON \
    -DNODEHEALTH_BUILD_BENCH=OFF -DNODEHEALTH_PEER_FIXTURES="$peer"
  cmake --build "build-$sanitizer" -j "$jobs" --target nodehealth nodehealth_tests \
    nodehealth_e2e_tests
  ASAN_OPTIONS=halt_on_error=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    "build-$sanitizer/tests/nodehealth_tests" --gtest_filter="$daemon_unit"
  ASAN_OPTIONS=halt_on_error=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    "build-$sanitizer/tests/nodehealth_e2e_tests" --gtest_filter="$daemon_e2e"
done

# Release (-O3) is what users and packagers often build, and each compiler warns where the other
# does not (GCC 12 at -O3: false -Wrestrict; clang: unused private fields, enum arithmetic in
# verbs.h's macros). The shipped binaries in Release with both, warnings as errors: about 2 and
# 3 minutes on a busy 2-core machine (measured), against 10 to 15 for a whole tree with tests.
echo "== Release builds of the shipped binaries (GCC and clang, warnings as errors)"
for compiler in gcc clang; do
  if [[ "$compiler" == clang ]]; then cc=clang-14 cxx=clang++-14; else cc=gcc cxx=g++; fi
  CC="$cc" CXX="$cxx" cmake -S . -B "build-release-$compiler" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DNODEHEALTH_WERROR=ON -DNODEHEALTH_BUILD_TESTS=OFF -DNODEHEALTH_BUILD_BENCH=OFF
  cmake --build "build-release-$compiler" -j "$jobs"
done

echo "== Debian package (CPack)"
rm -f build/nodehealth_*.deb
cmake --build build --target package
debs=(build/nodehealth_*.deb)
(( ${#debs[@]} == 1 )) || { echo "expected one .deb in build/, found: ${debs[*]}" >&2; exit 1; }
dpkg-deb --info "${debs[0]}"
echo "== package test: a clean Debian 12 root (debootstrap), apt-get install, nodehealth check"
# Root for debootstrap, chroot and mount; the build tree to compare `cmake --install` with.
"${sudo[@]}" tests/package/package_test.sh "${debs[0]}" build
echo "== all tests passed"
