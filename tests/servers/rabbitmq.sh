#!/usr/bin/env bash
# A private RabbitMQ broker for tests: loopback only, free ports, everything under one folder.
#
#   rabbitmq.sh start DIR    start (first time: certificates, config, user); prints "AMQP_PORT TLS_PORT"
#   rabbitmq.sh stop DIR     stop the broker and its epmd
#   rabbitmq.sh restart DIR  stop, then start again with the same node, ports and data
#
# After start, DIR/env holds the RABBITMQ_SSL_* values (the original daemon's .env names) for
# the TLS listener plus RABBITMQ_AMQP_PORT and the test-only extras below; `source DIR/env`.
#   DIR/ca.pem                 CA that signed the server and client certificates
#   DIR/client.pem/.key        client certificate, key encrypted with RABBITMQ_SSL_CERTPASS
#   DIR/rogue-ca.pem           an unrelated CA (the broker does not trust it)
#   DIR/rogue-client.pem/.key  client certificate signed by the rogue CA (key not encrypted)
#
# The node never clashes with a system instance: its own node name (nmtest<random>@localhost),
# its own epmd on a free port bound to 127.0.0.1, distribution on a free port, HOME=DIR for the
# Erlang cookie, and no file outside DIR is read or written (RABBITMQ_CONF_ENV_FILE is ours).
set -euo pipefail

readonly kStartTimeoutS=90
readonly kStopTimeoutS=60
readonly kUser=nmtest
readonly kKeyPass=nmtest-key-pass
# The real scripts: /usr/sbin/rabbitmq* switch to the rabbitmq user (and its cookie) when run as root.
readonly kSbin=/usr/lib/rabbitmq/bin

die() {
  echo "rabbitmq.sh: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Loads (or on first start creates) DIR/ports and exports the environment every rabbitmq tool
# of this node needs.
setup_env() {
  local dir=$1
  if [[ ! -f "$dir/ports" ]]; then
    local amqp tls epmd dist
    # Four distinct ports; the kernel does not hand out a port still bound, and we hold none.
    amqp=$(free_port)
    tls=$(free_port)
    epmd=$(free_port)
    dist=$(free_port)
    while [[ $tls == "$amqp" ]]; do tls=$(free_port); done
    while [[ $epmd == "$amqp" || $epmd == "$tls" ]]; do epmd=$(free_port); done
    while [[ $dist == "$amqp" || $dist == "$tls" || $dist == "$epmd" ]]; do dist=$(free_port); done
    local node
    node="nmtest$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')@localhost"
    printf 'AMQP_PORT=%s\nTLS_PORT=%s\nEPMD_PORT=%s\nDIST_PORT=%s\nNODE=%s\nPASSWORD=%s\n' \
      "$amqp" "$tls" "$epmd" "$dist" "$node" \
      "pw$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" >"$dir/ports"
  fi
  # Sets AMQP_PORT TLS_PORT EPMD_PORT DIST_PORT NODE PASSWORD.
  # shellcheck disable=SC1091
  source "$dir/ports"
  : "${NODE:?}" "${AMQP_PORT:?}" "${TLS_PORT:?}" "${EPMD_PORT:?}" "${DIST_PORT:?}" "${PASSWORD:?}"
  export HOME="$dir"
  export RABBITMQ_NODENAME="$NODE"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_PORT="$EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  # CLI tools pick their own distribution port; keep them off the broker's.
  export RABBITMQ_CTL_DIST_PORT_MIN=$((DIST_PORT + 1))
  export RABBITMQ_CTL_DIST_PORT_MAX=$((DIST_PORT + 20))
}

make_certs() {
  local dir=$1
  [[ -f "$dir/client.pem" ]] && return 0
  (
    cd "$dir"
    local days=3650
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days $days \
      -subj "/CN=nmtest CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days $days -extfile server.ext 2>/dev/null
    # Client key encrypted with a password, as deployed probes have it (RABBITMQ_SSL_CERTPASS).
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc \
      -pass "pass:$kKeyPass" -out client.key 2>/dev/null
    openssl req -new -key client.key -passin "pass:$kKeyPass" -out client.csr \
      -subj "/CN=nmtest-client" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
      -days $days -extfile client.ext 2>/dev/null
    # A CA the broker does not know, and a client certificate it signed.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue-ca.key -out rogue-ca.pem -days $days \
      -subj "/CN=nmtest rogue CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout rogue-client.key -out rogue-client.csr \
      -subj "/CN=nmtest-rogue-client" 2>/dev/null
    openssl x509 -req -in rogue-client.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial \
      -out rogue-client.pem -days $days -extfile client.ext 2>/dev/null
    chmod 600 ./*.key
  ) || die "certificate generation failed in $dir"
}

write_config() {
  local dir=$1
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
listeners.ssl.1 = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $dir/ca.pem
ssl_options.certfile = $dir/server.pem
ssl_options.keyfile = $dir/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
loopback_users.guest = true
log.file.level = info
log.console = false
disk_free_limit.absolute = 10MB
EOF
  echo '[].' >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
  mkdir -p "$dir/mnesia" "$dir/log"
}

ctl() {
  "$kSbin/rabbitmqctl" -q -n "$NODE" "$@"
}

server_alive() {
  [[ -f "$1/server.pid" ]] && kill -0 "$(cat "$1/server.pid")" 2>/dev/null
}

start_broker() {
  local dir=$1
  [[ -x "$kSbin/rabbitmq-server" ]] || die "rabbitmq-server not installed"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  setup_env "$dir"
  if server_alive "$dir"; then
    die "a broker already runs in $dir (pid $(cat "$dir/server.pid"))"
  fi
  make_certs "$dir"
  write_config "$dir"
  local first_start=0
  [[ -d "$dir/mnesia/$NODE" ]] || first_start=1

  epmd -daemon
  # setsid: the broker must not die with the caller's terminal or process group.
  setsid "$kSbin/rabbitmq-server" >>"$dir/log/startup.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"

  local deadline=$((SECONDS + kStartTimeoutS))
  until ctl await_startup --timeout 10 >/dev/null 2>&1; do
    server_alive "$dir" || die "broker exited during start-up; see $dir/log/startup.log"
    ((SECONDS < deadline)) || die "broker not ready after ${kStartTimeoutS}s; see $dir/log"
    sleep 0.2
  done

  if ((first_start)); then
    ctl add_user "$kUser" "$PASSWORD" >/dev/null
    ctl set_permissions -p / "$kUser" '.*' '.*' '.*' >/dev/null
    ctl delete_user guest >/dev/null
  fi

  cat >"$dir/env" <<EOF
RABBITMQ_SSL_HOST=localhost
RABBITMQ_SSL_PORT=$TLS_PORT
RABBITMQ_SSL_USER=$kUser
RABBITMQ_SSL_PASS=$PASSWORD
RABBITMQ_SSL_TOPIC=nmtest
RABBITMQ_SSL_CERTFILE=$dir/client.pem
RABBITMQ_SSL_PKEYFILE=$dir/client.key
RABBITMQ_SSL_CERTPASS=$kKeyPass
RABBITMQ_SSL_CACERTFILE=$dir/ca.pem
RABBITMQ_AMQP_PORT=$AMQP_PORT
RABBITMQ_TEST_ROGUE_CA=$dir/rogue-ca.pem
RABBITMQ_TEST_ROGUE_CERTFILE=$dir/rogue-client.pem
RABBITMQ_TEST_ROGUE_PKEYFILE=$dir/rogue-client.key
EOF
  echo "$AMQP_PORT $TLS_PORT"
}

stop_broker() {
  local dir=$1
  [[ -f "$dir/ports" ]] || die "no broker set up in $dir"
  dir=$(cd "$dir" && pwd)
  setup_env "$dir"
  if server_alive "$dir"; then
    local pid
    pid=$(cat "$dir/server.pid")
    ctl stop >/dev/null 2>&1 || true
    local deadline=$((SECONDS + kStopTimeoutS))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        echo "rabbitmq.sh: broker $pid did not stop in ${kStopTimeoutS}s; killing it" >&2
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  fi
  rm -f "$dir/server.pid"
  # Our epmd only (its own port); it refuses if a node is still registered.
  epmd -kill >/dev/null 2>&1 || true
}

main() {
  (($# == 2)) || die "usage: $0 start|stop|restart DIR"
  case $1 in
    start) start_broker "$2" ;;
    stop) stop_broker "$2" ;;
    restart)
      stop_broker "$2"
      start_broker "$2"
      ;;
    *) die "unknown command $1" ;;
  esac
}

main "$@"
