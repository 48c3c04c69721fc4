#!/bin/bash
# Records samples/home.pcap: real traffic between real programs (curl, dnsmasq, Python's
# http.server/ssl/socket) running in network namespaces that this script creates and
# removes. Nothing leaves the machine: every address lives inside our namespaces.
#
#   laptop  74:d0:2b:12:34:56  192.168.1.23, fd00:1::23 --+
#                                                         +-- br0 [gw] wan0 ---- eth0 [inet]
#   tv      8c:79:f5:65:43:21  192.168.1.42 (IPv4 only) --+   192.168.1.1        servers on
#                                                             fd00:1::1, DNS     documentation
#                                                                                addresses
# The capture is taken on the gateway's LAN bridge (br0), where NetMicroscope sits in a
# home: it sees every device's traffic, already shaped by the WAN link.
#
# Usage: sudo tools/samples/record-home.sh [OUTPUT.pcap]   (default: samples/home.pcap)
# Needs root, iproute2, tc (tbf), ethtool, tcpdump, dnsmasq, openssl, curl, python3;
# installs the Debian packages that are missing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/samples/home.pcap}
PY=/usr/bin/python3
LAB="$PY $HERE/lab.py"

[[ $(id -u) -eq 0 ]] || { echo "record-home.sh: must run as root (namespaces, tcpdump)" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------
need=()
for pair in ip:iproute2 tc:iproute2 ethtool:ethtool tcpdump:tcpdump dnsmasq:dnsmasq-base \
            openssl:openssl curl:curl capinfos:tshark tshark:tshark; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[[ -x $PY ]] || need+=(python3)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- names, cleanup ----------------------------------------------------------------------
# The pid makes the names unique, so a second run (or a stale one) never collides.
TAG=nmrec$$
NS_LAP=$TAG-laptop NS_TV=$TAG-tv NS_GW=$TAG-gw NS_INET=$TAG-inet
ALL_NS=("$NS_LAP" "$NS_TV" "$NS_GW" "$NS_INET")
WORK=$(mktemp -d /tmp/nm-record.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Anything still running inside our namespaces was started by this script: ask it to
  # stop, give it a few seconds, then insist.
  local ns pid left deadline=$((SECONDS + 5))
  while :; do
    left=
    for ns in "${ALL_NS[@]}"; do left+=$(ip netns pids "$ns" 2>/dev/null); done
    [[ -z $left ]] && break
    if ((SECONDS >= deadline)); then
      for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
      break
    fi
    for ns in "${ALL_NS[@]}"; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    done
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Deleting a namespace removes its veths, bridge and qdiscs with it.
  for ns in "${ALL_NS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Background jobs use `ip netns exec` itself, not this function, so that $! is the program
# (ip execs it) and a signal reaches it, not a subshell.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Waits (bounded) until a command succeeds; the lab never sleeps "long enough" to be ready.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "record-home.sh: timed out waiting for $what" >&2; return 1; }
    sleep 0.1
  done
}

# --- lab CA and server certificate ---------------------------------------------------------
# A throwaway CA in the temp dir: clients verify TLS 1.3 properly, nothing is trusted outside.
NAMES=(www.netflix.com occ-0-1.nflxvideo.net www.youtube.com rr1.googlevideo.com
       open.spotify.com zoom.us example.org)
san=$(printf 'DNS:%s,' "${NAMES[@]}")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=NetMicroscope Lab CA" -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=lab.example" -keyout "$WORK/srv.key" -out "$WORK/srv.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}" > "$WORK/srv.ext"
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
  -CAcreateserial -days 2 -extfile "$WORK/srv.ext" -out "$WORK/srv.pem" 2>/dev/null

# --- namespaces and links ------------------------------------------------------------------
for ns in "${ALL_NS[@]}"; do ip netns add "$ns"; in_ns "$ns" ip link set lo up; done

# Fixed MACs on every interface, so each run produces the same hosts in the file.
ip link add eth0 netns "$NS_LAP" address 74:d0:2b:12:34:56 type veth \
  peer lan1 netns "$NS_GW" address 02:00:00:00:01:01
ip link add eth0 netns "$NS_TV" address 8c:79:f5:65:43:21 type veth \
  peer lan2 netns "$NS_GW" address 02:00:00:00:01:02
ip link add wan0 netns "$NS_GW" address 50:c7:bf:01:02:04 type veth \
  peer eth0 netns "$NS_INET" address 02:00:00:00:02:01
in_ns "$NS_GW" ip link add br0 address 50:c7:bf:01:02:03 type bridge stp_state 0

# Quiet IPv6 where it would only add noise whose amount depends on timing: bridge ports
# carry no addresses, the TV is an IPv4-only device, and nobody sends router solicitations
# (no router advertises here; addresses are static). ARP and neighbour discovery between
# the hosts still happen, as in any home.
for ns in "${ALL_NS[@]}"; do
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
                         net.ipv6.conf.default.router_solicitations=0
done
in_ns "$NS_TV" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns "$NS_TV" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
in_ns "$NS_LAP" sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
in_ns "$NS_GW" sysctl -qw net.ipv6.conf.lan1.disable_ipv6=1 net.ipv6.conf.lan2.disable_ipv6=1 \
  net.ipv6.conf.br0.router_solicitations=0 net.ipv6.conf.wan0.router_solicitations=0 \
  net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# Offloads off: otherwise the kernel hands tcpdump 64 kB "frames" (GSO/GRO) and packets
# with unfinished checksums, which no real wire carries.
for spec in "$NS_LAP:eth0" "$NS_TV:eth0" "$NS_GW:lan1" "$NS_GW:lan2" "$NS_GW:wan0" \
            "$NS_GW:br0" "$NS_INET:eth0"; do
  in_ns "${spec%%:*}" ethtool -K "${spec#*:}" tx off rx off tso off gso off gro off \
    >/dev/null 2>&1 || true
done

in_ns "$NS_GW" ip link set lan1 master br0
in_ns "$NS_GW" ip link set lan2 master br0
for spec in "$NS_LAP:eth0" "$NS_TV:eth0" "$NS_GW:lan1" "$NS_GW:lan2" "$NS_GW:br0" \
            "$NS_GW:wan0" "$NS_INET:eth0"; do
  in_ns "${spec%%:*}" ip link set "${spec#*:}" up
done

# Home LAN. nodad: static lab addresses, no need to wait for duplicate detection.
in_ns "$NS_GW" ip addr add 192.168.1.1/24 dev br0
in_ns "$NS_GW" ip addr add fd00:1::1/64 dev br0 nodad
in_ns "$NS_LAP" ip addr add 192.168.1.23/24 dev eth0
in_ns "$NS_LAP" ip addr add fd00:1::23/64 dev eth0 nodad
in_ns "$NS_LAP" ip route add default via 192.168.1.1
in_ns "$NS_LAP" ip -6 route add default via fd00:1::1
in_ns "$NS_TV" ip addr add 192.168.1.42/24 dev eth0
in_ns "$NS_TV" ip route add default via 192.168.1.1

# WAN transfer net between the gateway and "the internet" (no NAT: the servers route
# the home prefixes back, so the capture shows the devices' own addresses).
in_ns "$NS_GW" ip addr add 10.0.0.2/30 dev wan0
in_ns "$NS_GW" ip addr add fd00:ffff::2/64 dev wan0 nodad
in_ns "$NS_GW" ip route add default via 10.0.0.1
in_ns "$NS_GW" ip -6 route add default via fd00:ffff::1
in_ns "$NS_INET" ip addr add 10.0.0.1/30 dev eth0
in_ns "$NS_INET" ip addr add fd00:ffff::1/64 dev eth0 nodad
in_ns "$NS_INET" ip route add 192.168.1.0/24 via 10.0.0.2
in_ns "$NS_INET" ip -6 route add fd00:1::/64 via fd00:ffff::2

# Server addresses, all in documentation ranges, on the internet namespace's loopback.
SERVERS4=(203.0.113.10 198.51.100.11 203.0.113.20 198.51.100.21 203.0.113.30 203.0.113.40
          192.0.2.80)
SERVERS6=(2001:db8:20::20 2001:db8:21::21 2001:db8:80::80)
for a in "${SERVERS4[@]}"; do in_ns "$NS_INET" ip addr add "$a/32" dev lo; done
for a in "${SERVERS6[@]}"; do in_ns "$NS_INET" ip addr add "$a/128" dev lo nodad; done

# The WAN link is the bottleneck, as at home: 6 Mbit/s down, 1.5 Mbit/s up. Transfers
# then last long enough to span several 5 s windows, and bursts queue like on a real line.
in_ns "$NS_INET" tc qdisc add dev eth0 root tbf rate 6mbit burst 16kb latency 200ms
in_ns "$NS_GW" tc qdisc add dev wan0 root tbf rate 1500kbit burst 8kb latency 200ms

# --- DNS: the home gateway's resolver ------------------------------------------------------
# dnsmasq answers from local records only (no upstream). CNAME chains as the real names
# have them; v4-only names get an empty AAAA answer.
ip netns exec "$NS_GW" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --no-poll --pid-file= --bind-interfaces --listen-address=192.168.1.1 \
  --listen-address=fd00:1::1 --local-ttl=300 --log-queries --log-facility="$WORK/dnsmasq.log" \
  --host-record=www.us-west-2.prodaa.netflix.com,203.0.113.10 \
  --cname=www.geo.netflix.com,www.us-west-2.prodaa.netflix.com \
  --cname=www.netflix.com,www.geo.netflix.com \
  --host-record=occ-0-1.nflxvideo.net,198.51.100.11 \
  --host-record=youtube-ui.l.google.com,203.0.113.20,2001:db8:20::20 \
  --cname=www.youtube.com,youtube-ui.l.google.com \
  --host-record=rr1---sn-5hne6nzk.googlevideo.com,198.51.100.21,2001:db8:21::21 \
  --cname=rr1.googlevideo.com,rr1---sn-5hne6nzk.googlevideo.com \
  --host-record=edge-web.dual-gslb.spotify.com,203.0.113.30 \
  --cname=open.spotify.com,edge-web.dual-gslb.spotify.com \
  --host-record=zoom.us,203.0.113.40 \
  --host-record=example.org,192.0.2.80,2001:db8:80::80 &
PIDS+=("$!")

# Each device's resolver: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf for it.
# The laptop asks over IPv6, the TV over IPv4.
mkdir -p "/etc/netns/$NS_LAP" "/etc/netns/$NS_TV"
echo "nameserver fd00:1::1" > "/etc/netns/$NS_LAP/resolv.conf"
echo "nameserver 192.168.1.1" > "/etc/netns/$NS_TV/resolv.conf"

# --- servers -------------------------------------------------------------------------------
tcp_args=()
for a in 203.0.113.10 198.51.100.11 203.0.113.20 198.51.100.21 203.0.113.30 203.0.113.40 \
         2001:db8:20::20 2001:db8:21::21; do
  tcp_args+=(--tcp "$a,443,tls")
done
tcp_args+=(--tcp "192.0.2.80,80,plain" --tcp "2001:db8:80::80,80,plain")
ip netns exec "$NS_INET" $LAB serve --cert "$WORK/srv.pem" --key "$WORK/srv.key" "${tcp_args[@]}" \
  --udp 203.0.113.40,8801 --max-seconds 300 > "$WORK/servers.log" 2>&1 &
PIDS+=("$!")

wait_for "servers" 15 grep -q ready "$WORK/servers.log"
wait_for "dnsmasq" 15 in_ns "$NS_GW" sh -c 'ss -lun | grep -q "192.168.1.1:53"'
# Make sure the laptop's link-local address is usable before the clock starts.
wait_for "IPv6 addresses" 15 in_ns "$NS_LAP" sh -c '! ip -6 addr show tentative | grep -q inet6'

# --- capture -------------------------------------------------------------------------------
# Full frames (-s 0), classic pcap, Ethernet; -U so the file is complete when we stop it.
ip netns exec "$NS_GW" tcpdump -i br0 -s 0 -U -Z root -w "$WORK/home.pcap" 2> "$WORK/tcpdump.log" &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
wait_for "tcpdump" 10 grep -q "listening on" "$WORK/tcpdump.log"

# --- the traffic ---------------------------------------------------------------------------
# One schedule, two devices, run in parallel. Every client has its own time bound.
# curl takes one -o per URL; several URLs on one command share one connection.
CURL=(curl -sS --max-time 30 --cacert "$WORK/ca.pem")
UA_LAPTOP="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
UA_TV="Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 85.0"

laptop() {
  # A call: a TLS sign-in to zoom.us, then 15 s of two-way media over UDP 8801.
  "${CURL[@]}" -4 -A "$UA_LAPTOP" -o /dev/null "https://zoom.us/"
  timeout 30 $LAB udp-stream --host zoom.us --port 8801 --seconds 15 --pps 25 --size 400 &
  local call=$!
  sleep 3
  # Plain HTTP/1.1 (Host: example.org): a page and a 250 kB download, one connection.
  "${CURL[@]}" -4 -A "$UA_LAPTOP" -o /dev/null "http://example.org/" \
    -o /dev/null "http://example.org/files/report.pdf?bytes=250000"
  sleep 2
  # YouTube over IPv6: the watch page, then 6 segments of 100 kB on one TLS connection.
  timeout 60 $LAB player -6 --cafile "$WORK/ca.pem" --user-agent "$UA_LAPTOP" \
    --page "https://www.youtube.com/watch?v=lab" \
    --segment "https://rr1.googlevideo.com/videoplayback?itag=137&range={a}-{b}" \
    --count 6 --size 100000 --gap 4 &
  local yt=$!
  sleep 12
  # Spotify web player: page and a 500 kB asset on one connection.
  "${CURL[@]}" -4 -A "$UA_LAPTOP" -o /dev/null "https://open.spotify.com/" \
    -o /dev/null "https://open.spotify.com/static/web-player.js?bytes=500000"
  wait "$call" "$yt"
  sleep 10
  # A last small plain-HTTP request over IPv6, in the final window.
  "${CURL[@]}" -6 -A "$UA_LAPTOP" -o /dev/null "http://example.org/index.html"
}

tv() {
  sleep 1
  # Netflix: the browse page, then 10 segments of 130 kB on one kept-alive connection,
  # one every 3.5 s: a small request up, a large burst down, idle, repeat.
  timeout 90 $LAB player -4 --cafile "$WORK/ca.pem" --user-agent "$UA_TV" \
    --page "https://www.netflix.com/browse" \
    --segment "https://occ-0-1.nflxvideo.net/range/{a}-{b}?o=1&v=5" \
    --count 10 --size 130000 --gap 3.5
}

export LAB WORK UA_LAPTOP UA_TV
CURL_Q=$(printf '%q ' "${CURL[@]}")
ip netns exec "$NS_LAP" timeout 120 bash -c "CURL=($CURL_Q); $(declare -f laptop); laptop" \
  > "$WORK/laptop.log" 2>&1 &
LAP=$!
ip netns exec "$NS_TV" timeout 120 bash -c "$(declare -f tv); tv" > "$WORK/tv.log" 2>&1 &
TV=$!
PIDS+=("$LAP" "$TV")
status=0
wait "$LAP" || status=$?
wait "$TV" || status=$?
cat "$WORK/laptop.log" "$WORK/tv.log"
((status == 0)) || { echo "record-home.sh: a client failed (status $status)" >&2; exit 1; }

# Let the last FIN/ACKs reach the capture, then stop tcpdump cleanly. SIGTERM, not
# SIGINT: a background job of a script starts with SIGINT ignored.
sleep 1
kill -TERM "$TCPDUMP"
wait "$TCPDUMP" || true
cat "$WORK/tcpdump.log" >&2

mkdir -p "$(dirname "$OUT")"
cp "$WORK/home.pcap" "$OUT"

# --- summary -------------------------------------------------------------------------------
echo
echo "== $OUT"
capinfos -t -E -c -s -d -u -l "$OUT"
tshark -r "$OUT" -q -z conv,tcp -z conv,udp
echo "DNS answers:"
tshark -r "$OUT" -Y "dns.flags.response == 1" -T fields -e dns.qry.name -e dns.qry.type \
  -e dns.a -e dns.aaaa | sort -u
