#!/usr/bin/env bash
# One entry point for newcomers and CI: install what is missing, build, then run or test.
#   tools/dev.sh run    -> sample capture -> probe + daemon -> SQLite store, with its summary
#   tools/dev.sh test   -> the whole test suite (ctest)
#   tools/dev.sh deps   -> only install packages
#   tools/dev.sh build  -> only build
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 12 packages the build and the main job need (the build includes the unit tests).
PACKAGES=(
  build-essential cmake pkg-config git python3
  libpcap-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev libndpi-dev
  libtomlplusplus-dev libsqlite3-dev libcurl4-openssl-dev zlib1g-dev libcpp-httplib-dev
  librabbitmq-dev libsimdjson-dev libmaxminddb-dev libc-ares-dev ieee-data
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
)
# What the test suite and the benchmarks add: reference tools (tshark, ndpiReader), real servers
# (InfluxDB, RabbitMQ, dnsmasq, Caddy), the fuzzers' clang, the video lab's browser and encoder.
TEST_PACKAGES=(
  time openssl libmaxmind-db-writer-perl dnsmasq-base
  tshark tcpreplay tcpdump iproute2 ethtool clang libclang-rt-14-dev libndpi-bin
  influxdb rabbitmq-server caddy chromium ffmpeg
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {  # package names
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    as_root apt-get update -qq
    # Servers (influxdb, rabbitmq-server) must not start system-wide on install: the tests run
    # private instances on loopback (tests/servers/). policy-rc.d is Debian's switch for that.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod +x "$policy"
      added_policy=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ "$added_policy" = 1 ]; then as_root rm -f "$policy"; fi
  fi
}

build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${NM_CORPUS_DIR:+-DNM_CORPUS_DIR="$NM_CORPUS_DIR"}
  cmake --build build -j"$(nproc)"
}

case "${1:-run}" in
  deps) install_deps "${PACKAGES[@]}" "${TEST_PACKAGES[@]}" ;;
  build) install_deps "${PACKAGES[@]}"; build ;;
  run)
    install_deps "${PACKAGES[@]}"
    build
    mkdir -p out
    rm -f out/home.db out/home.db-wal out/home.db-shm
    ./build/netmicroscope run -r samples/home.pcap --ta out/home.ta --db out/home.db --summary
    echo "SQLite store: out/home.db; TA records (one JSON line per 5 s window): out/home.ta"
    ;;
  test)
    install_deps "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build
    # Live-capture tests need root for network namespaces; they skip loudly without it.
    ctest --test-dir build --output-on-failure -j"$(nproc)"
    ;;
  *) echo "usage: $0 run|test|deps|build" >&2; exit 2 ;;
esac
