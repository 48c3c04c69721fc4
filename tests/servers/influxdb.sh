#!/usr/bin/env bash
# A private InfluxDB 1.x for tests, on loopback only, all state under DIR.
#   influxdb.sh start DIR     config + start; prints the HTTP port on stdout once /ping answers
#   influxdb.sh stop DIR      SIGTERM, wait for exit (SIGKILL after 20 s)
#   influxdb.sh restart DIR   stop, then start on the same ports with the same data
# INFLUXDB_AUTH=true in the environment turns authentication on (then create the first admin
# user through /query, which InfluxDB allows without credentials while no user exists).
# INFLUXDB_TLS_CERT and INFLUXDB_TLS_KEY (PEM files) serve HTTPS instead of HTTP.
# Files in DIR: influxd.conf, influxd.log, influxd.pid, http.port, bind.port, meta/ data/ wal/.
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2

port_in_use() {
  if command -v ss >/dev/null; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

scheme=http
if [[ -n "${INFLUXDB_TLS_CERT:-}" ]]; then scheme=https; fi

# true when /ping answers 204 (curl if present, else bash's /dev/tcp; HTTPS needs curl).
ping_ok() {
  if command -v curl >/dev/null; then
    # -k: this only asks whether it is up; the tests check certificates.
    curl -k -s -o /dev/null -w '%{http_code}' --max-time 1 "$scheme://127.0.0.1:$1/ping" \
      2>/dev/null | grep -q '^204$'
  else
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET /ping HTTP/1.0\\r\\n\\r\\n' >&3 &&
      head -n 1 <&3 | grep -q ' 204 '" 2>/dev/null
  fi
}

# A port nobody listens on now (a race with another process remains possible; start retries).
free_port() {
  local p avoid=${1:-0}
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if [[ $p -ne $avoid ]] && ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

is_running() {
  [[ -f "$dir/influxd.pid" ]] && kill -0 "$(cat "$dir/influxd.pid")" 2>/dev/null
}

write_config() {
  cat >"$dir/influxd.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(cat "$dir/bind.port")"

[meta]
  dir = "$dir/meta"
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[coordinator]
  log-queries-after = "0s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$(cat "$dir/http.port")"
  auth-enabled = ${INFLUXDB_AUTH:-false}
  https-enabled = $([[ $scheme == https ]] && echo true || echo false)
  https-certificate = "${INFLUXDB_TLS_CERT:-}"
  https-private-key = "${INFLUXDB_TLS_KEY:-}"
  log-enabled = false
  flux-enabled = false

[logging]
  format = "logfmt"
  level = "warn"

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
CONF
}

launch() {
  command -v influxd >/dev/null || { echo "influxd not found in PATH" >&2; return 1; }
  mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
  write_config
  # setsid + redirections: influxd outlives this script and holds none of its pipes.
  setsid influxd -config "$dir/influxd.conf" </dev/null >>"$dir/influxd.log" 2>&1 &
  echo $! >"$dir/influxd.pid"
  local port deadline
  port=$(cat "$dir/http.port")
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if ! is_running; then
      echo "influxd exited during start-up; see $dir/influxd.log:" >&2
      tail -n 20 "$dir/influxd.log" >&2
      return 1
    fi
    if ping_ok "$port"; then
      echo "$port"
      return 0
    fi
    sleep 0.1
  done
  echo "influxd did not answer /ping within 30 s; see $dir/influxd.log" >&2
  do_stop
  return 1
}

do_stop() {
  if ! is_running; then
    rm -f "$dir/influxd.pid"
    return 0
  fi
  local pid deadline
  pid=$(cat "$dir/influxd.pid")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "influxd $pid ignored SIGTERM for 20 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  rm -f "$dir/influxd.pid"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if is_running; then
      echo "influxd already running in $dir (pid $(cat "$dir/influxd.pid"))" >&2
      exit 1
    fi
    for _ in 1 2 3; do
      free_port >"$dir/http.port"
      free_port "$(cat "$dir/http.port")" >"$dir/bind.port"
      if launch; then
        exit 0
      fi
      # Only a lost race for a port is worth another try.
      grep -q "address already in use" "$dir/influxd.log" 2>/dev/null || exit 1
      echo "port taken meanwhile; trying others" >&2
    done
    exit 1
    ;;
  stop)
    [[ -d "$dir" ]] || exit 0
    dir=$(cd "$dir" && pwd)
    do_stop
    ;;
  restart)
    dir=$(cd "$dir" && pwd)
    [[ -f "$dir/http.port" && -f "$dir/bind.port" ]] || { echo "not started: $dir" >&2; exit 1; }
    do_stop
    launch
    ;;
  *)
    usage
    ;;
esac
