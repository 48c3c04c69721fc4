#!/bin/bash
# Live capture agrees with file mode.
#
#   live_capture_test.sh PATH_TO_netmicroscope SAMPLES_DIR CORPUS_NDPI_DIR
#
# For each capture: two fresh network namespaces joined by a veth pair carry nothing but
# the frames tcpreplay sends (IPv6 disabled, no addresses, so the kernel itself is silent).
# `netmicroscope probe -i` listens on the far end; then `netmicroscope probe -r` reads the
# same file. Per flow (Proto, Device, LPort, SIP, SPort) the totals over all windows of
# bytes and packets must be identical, and so must the set of flows. Windows themselves
# differ (live windows follow the wall clock), so only totals are compared.
#
# Exit: 0 all passed, 1 any failure, 77 skipped (not root, no netns/veth, no tcpreplay).
# Needs: root, iproute2, tcpreplay, /usr/bin/python3 (stdlib only). Optional: ethtool.
# Env:   LIVE_REPLAY_MBPS (default 100, or "topspeed") replay rate; KEEP_TMP=1 keeps the
#        work dir.
#
# Replay limits, which decide the files chosen below: tcpreplay sends each frame exactly
# as captured, so a frame longer than the link MTU fails to send (the veth MTU is 9000 to
# fit captures taken with offloads on) and a truncated frame (caplen < wirelen) would go
# out short, not as it was seen. Every file is checked for both before it is replayed.
set -uo pipefail

NM=${1:?usage: live_capture_test.sh PATH_TO_netmicroscope SAMPLES_DIR CORPUS_NDPI_DIR}
SAMPLES=${2:?usage: live_capture_test.sh PATH_TO_netmicroscope SAMPLES_DIR CORPUS_NDPI_DIR}
CORPUS=${3:?usage: live_capture_test.sh PATH_TO_netmicroscope SAMPLES_DIR CORPUS_NDPI_DIR}
PY=/usr/bin/python3
MBPS=${LIVE_REPLAY_MBPS:-100}
MTU=9000
# Plain Ethernet, untruncated, all frames under the MTU: TLS video over IPv4, QUIC over
# UDP, and HTTP over IPv6 with 3.6 kB frames (a capture taken with offloads on).
CORPUS_FILES=(netflix.pcap quic.pcap http_ipv6.pcap)

skip() {
  echo "=================================================================="
  echo "SKIPPED: $*"
  echo "=================================================================="
  exit 77
}

# --- prerequisites -------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "live capture needs root (network namespaces, packet sockets)"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
command -v tcpreplay >/dev/null || skip "tcpreplay is not installed (apt-get install tcpreplay)"
[[ -x $PY ]] || skip "$PY is not available"
if [[ ! -x $NM ]]; then
  echo "FAIL: probe binary '$NM' does not exist or is not executable"
  exit 1
fi

TAG=nmlive$$
NS_A=$TAG-a NS_B=$TAG-b
IF_A=nmla$$ IF_B=nmlb$$
WORK=$(mktemp -d /tmp/nm-live.XXXXXX)
PROBE_PID=

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $PROBE_PID ]] && kill -KILL "$PROBE_PID" 2>/dev/null
  # Whatever still runs inside our own namespaces was started by this test.
  for ns in "$NS_A" "$NS_B"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  [[ -n $PROBE_PID ]] && wait "$PROBE_PID" 2>/dev/null
  # Deleting the namespaces deletes the veth pair with them.
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS_A" 2>/dev/null || skip "cannot create network namespaces (ip netns add failed)"
ip netns add "$NS_B" || skip "cannot create a second network namespace"
# IPv6 off before the veth exists (default.*) and on everything (all.*): no link-local
# address, no DAD, no MLD, no router solicitations. With no IPv4 address either, the
# kernel sends nothing, so the link carries exactly the replayed frames.
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 || skip "cannot disable IPv6 inside a namespace"
done
ip link add "$IF_A" netns "$NS_A" mtu $MTU type veth peer "$IF_B" netns "$NS_B" mtu $MTU \
  2>/dev/null || skip "cannot create a veth pair (no veth support?)"
if command -v ethtool >/dev/null; then
  # No receive coalescing: the probe must see frames one by one, as tcpreplay sent them.
  ip netns exec "$NS_B" ethtool -K "$IF_B" gro off lro off >/dev/null 2>&1
fi
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up

# --- helpers -------------------------------------------------------------------------------
# Bounded polling: returns 0 as soon as the command succeeds, 1 after SECONDS.
poll() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# A child that has exited stays a zombie until `wait`, and kill -0 still succeeds on it.
running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

rx_packets() { ip netns exec "$NS_B" cat "/sys/class/net/$IF_B/statistics/rx_packets"; }

# Prints "packets max_caplen" of a classic pcap; fails with a reason when the file cannot be
# replayed as captured (not Ethernet, truncated frames). pcapng is not pre-checked.
inspect_pcap() {
  "$PY" - "$1" <<'EOF'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()
magic = data[:4]
endian = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
          b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
if endian is None:
    print("? ?")
    sys.exit(0)
linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
if linktype != 1:
    print(f"link type {linktype} is not Ethernet", file=sys.stderr)
    sys.exit(1)
off, count, maxcap, truncated = 24, 0, 0, 0
while off + 16 <= len(data):
    _, _, caplen, wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
    count += 1
    maxcap = max(maxcap, caplen)
    truncated += caplen < wirelen
    off += 16 + caplen
if truncated:
    print(f"{truncated} truncated frames (caplen < wirelen) cannot be replayed as seen",
          file=sys.stderr)
    sys.exit(1)
print(count, maxcap)
EOF
}

# Compares per-flow totals of two TA files; prints mismatches; exit 0 when identical.
compare_ta() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys

def totals(path):
    flows, lines, drops = {}, 0, 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            lines += 1
            drops += int((rec.get("Info") or {}).get("PktsDrop") or 0)
            for d in ((rec.get("TrafficData") or {}).get("Data") or []):
                key = (d["Proto"], d["Device"], d["LPort"], d["SIP"], d["SPort"])
                b, p = flows.get(key, (0, 0))
                flows[key] = (b + d["BytesUp"] + d["BytesDw"], p + d["PktsUp"] + d["PktsDw"])
    return flows, lines, drops

live, live_lines, live_drops = totals(sys.argv[1])
file, file_lines, _ = totals(sys.argv[2])
bad = []
for key in sorted(set(live) | set(file)):
    lv, fv = live.get(key), file.get(key)
    if lv != fv:
        name = "%s %s:%s <-> %s:%s" % key
        fmt = lambda v: "absent" if v is None else "%d bytes %d pkts" % v
        bad.append(f"    {name}: live {fmt(lv)}, file {fmt(fv)}")
bytes_total = sum(v[0] for v in file.values())
pkts_total = sum(v[1] for v in file.values())
summary = (f"{len(file)} flows, {pkts_total} pkts, {bytes_total} bytes "
           f"({live_lines} live windows, {file_lines} file windows)")
if not file:
    print("  file mode reported no flows at all")
    sys.exit(1)
if bad:
    print(f"  {len(bad)} of {len(set(live) | set(file))} flows differ; file: {summary}")
    if live_drops:
        print(f"  the live probe reported {live_drops} dropped packets")
    for line in bad[:25]:
        print(line)
    if len(bad) > 25:
        print(f"    ... and {len(bad) - 25} more")
    sys.exit(1)
print(f"  {summary}")
EOF
}

# Reads one counter from a --stats JSON file; prints nothing when absent.
stat_counter() {
  "$PY" -c 'import json,sys
try:
    print(json.load(open(sys.argv[1]))["counters"][sys.argv[2]])
except Exception:
    pass' "$1" "$2"
}

# Prefix that runs a command with SIGINT restored to its default: a background job of a
# script starts with SIGINT ignored, and the test must deliver SIGINT as Ctrl-C would. It
# execs (no shell function, no fork), so $! is the probe itself.
WITH_SIGINT=("$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

# --- one capture ---------------------------------------------------------------------------
# Prints PASS/FAIL lines; returns 0 on PASS.
check_file() {
  local file=$1 name
  name=$(basename "$file")
  local dir="$WORK/$name"
  mkdir -p "$dir"
  fail() { echo "FAIL $name: $*"; return 1; }

  local info count maxcap
  info=$(inspect_pcap "$file" 2> "$dir/inspect.err") || fail "$(cat "$dir/inspect.err")" || return 1
  read -r count maxcap <<< "$info"
  if [[ $maxcap != "?" ]] && ((maxcap > MTU + 18)); then
    fail "a $maxcap-byte frame does not fit the veth MTU $MTU"
    return 1
  fi

  # Live: start the probe and wait for it to say the capture is open.
  "${WITH_SIGINT[@]}" ip netns exec "$NS_B" "$NM" probe -i "$IF_B" --ta "$dir/live.ta" \
    --stats "$dir/live.stats.json" > "$dir/probe.out" 2> "$dir/probe.err" &
  PROBE_PID=$!
  if ! poll 10 grep -qs "listening on" "$dir/probe.err"; then
    if running "$PROBE_PID"; then
      fail "the probe did not print 'listening on' within 10 s"
    else
      wait "$PROBE_PID"
      fail "the probe exited with status $? before listening"
    fi
    sed 's/^/    probe: /' "$dir/probe.err" | tail -20
    kill -KILL "$PROBE_PID" 2>/dev/null; wait "$PROBE_PID" 2>/dev/null; PROBE_PID=
    return 1
  fi

  local rx_before sent failed
  rx_before=$(rx_packets)
  local rate=--mbps="$MBPS"
  [[ $MBPS == topspeed ]] && rate=--topspeed
  timeout 120 ip netns exec "$NS_A" tcpreplay -q "$rate" -i "$IF_A" "$file" \
    > "$dir/tcpreplay.out" 2>&1
  local replay_rc=$?
  sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$dir/tcpreplay.out" | head -1)
  failed=$(sed -n 's/.*Failed packets: *\([0-9]*\).*/\1/p' "$dir/tcpreplay.out" | head -1)
  if ((replay_rc != 0)) || [[ -z $sent ]] || ((${failed:-1} != 0)) ||
     [[ $count != "?" && $sent != "$count" ]]; then
    kill -KILL "$PROBE_PID" 2>/dev/null; wait "$PROBE_PID" 2>/dev/null; PROBE_PID=
    fail "tcpreplay (status $replay_rc) sent ${sent:-?} of $count frames, failed ${failed:-?}"
    sed 's/^/    tcpreplay: /' "$dir/tcpreplay.out" | tail -10
    return 1
  fi

  # The last frames: first the kernel must have received all of them on the probe's side,
  # then the probe gets a moment to read what its capture buffer holds (a TPACKET block is
  # handed to user space on a timeout) before SIGINT.
  local expect=$((rx_before + sent))
  poll 15 test "$(rx_packets)" -ge "$expect" ||
    echo "  note: $IF_B received $(($(rx_packets) - rx_before)) of $sent frames"
  sleep 2

  kill -INT "$PROBE_PID"
  if ! poll 15 eval '! running "$PROBE_PID"'; then
    kill -KILL "$PROBE_PID" 2>/dev/null; wait "$PROBE_PID" 2>/dev/null; PROBE_PID=
    fail "the probe did not exit within 15 s of SIGINT"
    return 1
  fi
  wait "$PROBE_PID"
  local probe_rc=$?
  PROBE_PID=
  if ((probe_rc != 0)); then
    fail "the live probe exited with status $probe_rc after SIGINT (expected 0)"
    sed 's/^/    probe: /' "$dir/probe.err" | tail -20
    return 1
  fi

  # File mode on the same bytes.
  if ! timeout 120 "$NM" probe -r "$file" --ta "$dir/file.ta" > "$dir/file.out" \
      2> "$dir/file.err"; then
    fail "file mode failed"
    sed 's/^/    probe: /' "$dir/file.err" | tail -20
    return 1
  fi
  [[ -s $dir/live.ta ]] || { fail "the live probe wrote no TA records"; return 1; }

  local ok=0
  echo "--- $name: $sent frames replayed ($rate)"
  compare_ta "$dir/live.ta" "$dir/file.ta" || ok=1

  # Nothing but the replayed frames crossed the link, so the capture saw exactly those.
  local received dropped
  received=$(stat_counter "$dir/live.stats.json" capture.received)
  dropped=$(stat_counter "$dir/live.stats.json" capture.dropped)
  if [[ -n $received ]] && ((received != sent)); then
    echo "  capture.received is $received, tcpreplay sent $sent (capture.dropped ${dropped:-?})"
    ok=1
  fi

  if ((ok == 0)); then
    echo "PASS $name"
  else
    echo "FAIL $name"
    sed 's/^/    probe: /' "$dir/probe.err" | tail -5
  fi
  return $ok
}

# --- the files -----------------------------------------------------------------------------
FILES=()
if [[ -f $SAMPLES/home.pcap ]]; then
  FILES+=("$SAMPLES/home.pcap")
else
  echo "FAIL: $SAMPLES/home.pcap is missing (regenerate with tools/samples/record-home.sh)"
  exit 1
fi
if [[ -d $CORPUS ]]; then
  for f in "${CORPUS_FILES[@]}"; do
    if [[ -f $CORPUS/$f ]]; then
      FILES+=("$CORPUS/$f")
    else
      echo "WARNING: corpus file $CORPUS/$f is missing; not tested"
    fi
  done
else
  echo "=================================================================="
  echo "WARNING: corpus dir '$CORPUS' is missing: testing samples/home.pcap only"
  echo "=================================================================="
fi

passed=0 failed=0
for f in "${FILES[@]}"; do
  if check_file "$f"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "live_capture: $passed passed, $failed failed"
((failed == 0))
