#!/usr/bin/env bash
# Daemon ingest speed: TA parse -> summary -> sinks, flow entries per second on one ingest thread,
# with CPU and memory beside it, against the original daemon's per-line work in Python (same file,
# same run): entries/s is end to end (wall clock), entries/cpu_s is the daemon's own CPU (all its
# threads). InfluxDB is a private influxd on loopback (tests/servers/influxdb.sh); every run
# ends only when the sink has delivered everything (--once waits), so the figure is end to end.
#
#   bench/daemon_bench.sh [BUILD_DIR] [RECORDS] [ENTRIES_PER_RECORD] [DEVICES] [APPS] [CHURN]
#   defaults: build 10000 100 30 40 1.0 (every record drawn afresh: the worst case for zero-fill);
#   a home-like shape: 10000 100 10 15 0.05
#   NM_BENCH_REPEAT=N: each row N times, the run with the median wall time shown (noisy machines)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
records=${2:-10000}
entries=${3:-100}
devices=${4:-30}
apps=${5:-40}
churn=${6:-1.0}
bin=$build/netmicroscope
work=$(mktemp -d /tmp/nm-daemon-bench.XXXXXX)
trap 'bash tests/servers/influxdb.sh stop "$work/influxd" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

python3 bench/make_ta.py "$work/in.ta" "$records" "$entries" "$devices" "$apps" "$churn"
total=$((records * entries))
echo "input: $records records x $entries entries ($devices devices, $apps applications," \
  "churn $churn) =" \
  "$total flow entries, $(du -m "$work/in.ta" | cut -f1) MB"

mkdir -p "$work/influxd"
port=$(bash tests/servers/influxdb.sh start "$work/influxd" | tail -1)
curl -s -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null

read -r py_entries py_secs < <(python3 bench/original_daemon_model.py "$work/in.ta")
py_rate=$(python3 -c "print(round($py_entries / $py_secs))")
printf '%-40s %10s %12s %7s %7s %7s %9s %6s\n' run "entries/s" "entries/cpu_s" wall_s \
  user_s sys_s maxrss_MB ratio
printf '%-40s %10s %12s %7s %7s %7s %9s %6s\n' "original's work in Python (no HTTP)" "$py_rate" \
  "$py_rate" "$py_secs" - - - 1.00

run() {  # name, then .env lines; NM_BENCH_REPEAT runs of each, the one with the median wall time
  local name=$1
  shift
  local dir="$work/$name" times=()
  for _ in $(seq 1 "${NM_BENCH_REPEAT:-1}"); do
    # A fresh database each run: influxd's work grows with what it holds, which would slow
    # whichever row comes later.
    for q in "DROP DATABASE bench" "CREATE DATABASE bench"; do
      curl -s -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=$q" >/dev/null
    done
    rm -rf "$dir"
    mkdir -p "$dir"
    printf '%s\n' "NMD_STATE_DIR=$dir" "NMD_SQLITE_PATH=$dir/store.db" "$@" >"$dir/.env"
    /usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$bin" daemon --env "$dir/.env" \
      --ta-file "$work/in.ta" --once --log-file "$dir/log" >/dev/null 2>&1
    times+=("$(cat "$dir/time")")
  done
  read -r wall user sys rss < <(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((${#times[@]} + 1) / 2))p")
  printf '%-40s %10s %12s %7s %7s %7s %9s %6s\n' "$name" \
    "$(python3 -c "print(round($total / $wall))")" \
    "$(python3 -c "print(round($total / ($user + $sys)))")" "$wall" "$user" "$sys" \
    "$((rss / 1024))" "$(python3 -c "print(f'{($total / $wall) / $py_rate:.2f}')")"
}

influx=(INFLUXDB_ENABLE=true INFLUXDB_SCHEME=http INFLUXDB_API=v1 INFLUXDB_HOST=127.0.0.1
  "INFLUXDB_PORT=$port" INFLUXDB_DB=bench)
run "daemon -> InfluxDB" NMD_SQLITE_ENABLE=false NMD_PLUGINS=none "${influx[@]}"
points=$(curl -s "http://127.0.0.1:$port/query?db=bench" \
  --data-urlencode 'q=SELECT count(value) FROM network_traffic_application_kbpsdw' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')
echo "  (check: $points kbpsdw points in InfluxDB)"
run "daemon -> InfluxDB, ouimap plugin" NMD_SQLITE_ENABLE=false NMD_PLUGINS=ouimap "${influx[@]}"
# exinfo needs GeoIP databases: the test suite's (few blocks, so most lookups miss the tree, which
# still costs the full lookup); skipped without the Perl writer.
if perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; then
  mkdir -p "$work/mmdb"
  perl tests/unit/plugins/exinfo/write_test_mmdb.pl "$work/mmdb" >/dev/null
  geo=("MMGEOIP_CITY_DB=$work/mmdb/city.mmdb" "MMGEOIP_ASN_DB=$work/mmdb/asn.mmdb")
  run "daemon -> InfluxDB, ouimap + exinfo" NMD_SQLITE_ENABLE=false NMD_PLUGINS=ouimap,exinfo \
    "${geo[@]}" EXINFO_RDNS=off "${influx[@]}"
  # Reverse DNS of every remote address, answered (NXDOMAIN) by a dnsmasq on loopback.
  if [ -x /usr/sbin/dnsmasq ]; then
    dns_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    /usr/sbin/dnsmasq --keep-in-foreground --port="$dns_port" --listen-address=127.0.0.1 \
      --bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
      --local=/in-addr.arpa/ --local=/ip6.arpa/ --log-facility=/dev/null &
    dns_pid=$!
    run "daemon -> InfluxDB, ouimap + exinfo + rDNS" NMD_SQLITE_ENABLE=false \
      NMD_PLUGINS=ouimap,exinfo "${geo[@]}" "EXINFO_RDNS_SERVERS=127.0.0.1:$dns_port" "${influx[@]}"
    kill "$dns_pid"
  fi
fi
run "daemon -> SQLite store" NMD_SQLITE_ENABLE=true NMD_PLUGINS=none
run "daemon -> SQLite store + InfluxDB" NMD_SQLITE_ENABLE=true NMD_PLUGINS=none "${influx[@]}"
