#!/usr/bin/env python3
"""Smoke test of tools/videolab: `videolab run --sessions 2` (lowest and highest profile).

Checks, independently of the lab's own summaries where it can (tshark reads the capture):
  - the capture holds a TLS 1.3 handshake (TCP) or QUIC long-header packets between the
    session's client_ip and server_ip, over the protocol the session asked for;
  - the labels (one per second) have the documented fields, reach `playing` and then `ended`
    (the short video is played to its end), and the session has a plausible startup delay;
  - the low profile (0.5 Mbit/s) plays at most 360p, the high one (50 Mbit/s) reaches 720p or
    more, so at least two distinct heights appear;
  - downstream payload bytes in the capture match the bytes the player received within 5 %
    (from below: at least 99 %, TLS/QUIC/HTTP framing only adds);
  - the run left no namespace behind;
  - with --probe: the captures feed netmicroscope's probe, which finds the session's flow with
    the server name video.lab (TLS SNI, or QUIC Initial SNI) and exactly tshark's downstream
    frame bytes.

Exit: 0 passed, 1 failed, 77 skipped (not root, no netns, a tool or the npm modules missing).
Env: VIDEOLAB_KEEP=1 keeps the output dir; VIDEOLAB_CACHE=DIR content cache (default: the
lab's default, so encoded videos are reused between runs).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

RESULTS = {"passed": 0, "failed": 0}
LABEL_KEYS = {"t": (int, float), "state": str, "height": int, "bitrate_kbps": int,
              "buffer_s": (int, float)}
STATES = {"startup", "playing", "stalled", "ended"}


def skip(why):
    print("=" * 66 + f"\nSKIPPED: {why}\n" + "=" * 66, flush=True)
    sys.exit(77)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    RESULTS["passed" if cond else "failed"] += 1
    return cond


def preflight(videolab):
    if os.geteuid() != 0:
        skip("needs root (network namespaces, tc, tcpdump)")
    for tool in ("ip", "tc", "tcpdump", "tshark", "caddy", "chromium", "ffmpeg", "node", "npm",
                 "openssl", "ethtool"):
        if not shutil.which(tool):
            skip(f"{tool} not installed (see docs/videolab.md for the Debian packages)")
    probe = f"nmvl-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot create a network namespace: {r.stderr.strip()}")
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    r = subprocess.run([videolab, "setup"], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"npm modules cannot be installed (npm ci): {(r.stderr or r.stdout)[-500:]}")


def tshark(pcap, display_filter, *fields, keylog=None):
    cmd = ["tshark", "-n", "-r", pcap, "-Y", display_filter, "-T", "fields"]
    if keylog:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def check_handshake(d, sess):
    pcap = os.path.join(d, "capture.pcap")
    cli, srv = sess["client_ip"], sess["server_ip"]
    name = sess["session"]
    if sess["protocol_requested"] == "h3":
        c = tshark(pcap, f"ip.src=={cli} && ip.dst=={srv} && quic.long.packet_type==0",
                   "frame.number")
        s = tshark(pcap, f"ip.src=={srv} && ip.dst=={cli} && quic.header_form==1",
                   "frame.number")
        check(len(c) > 0 and len(s) > 0,
              f"{name}: QUIC Initial {cli}->{srv} ({len(c)}) and long headers back ({len(s)})")
        tcp = tshark(pcap, "tcp.len > 0", "frame.number")
        check(not tcp, f"{name}: no TCP payload in an h3 session ({len(tcp)} packets)")
    else:
        ch = tshark(pcap, f"ip.src=={cli} && ip.dst=={srv} && tls.handshake.type==1",
                    "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str")
        sh = tshark(pcap, f"ip.src=={srv} && ip.dst=={cli} && tls.handshake.type==2",
                    "tls.handshake.extensions.supported_version")
        check(len(ch) > 0 and all(r[0] == "video.lab" for r in ch),
              f"{name}: TLS ClientHello {cli}->{srv} with SNI video.lab ({len(ch)})")
        check(len(sh) > 0 and all(r[0] == "0x0304" for r in sh),
              f"{name}: TLS 1.3 ServerHello {srv}->{cli} ({[r[0] for r in sh]})")
        # With the session's keys tshark sees the HTTP version actually spoken.
        keylog = os.path.join(d, "tls-keys.log")
        want = "http2" if sess["protocol_requested"] == "h2" else "http"
        frames = tshark(pcap, f"ip.src=={srv} && {want}", "frame.number", keylog=keylog)
        check(len(frames) > 0, f"{name}: decrypted capture holds {want} responses "
              f"({len(frames)} frames)")
    check(sess["protocol"] == sess["protocol_requested"],
          f"{name}: negotiated {sess['protocol']} == requested {sess['protocol_requested']}")


def check_bytes(d, sess):
    rows = tshark(os.path.join(d, "capture.pcap"), f"ip.src=={sess['server_ip']}", "tcp.len",
                  "udp.length")
    down = sum(int(t or 0) + (int(u) - 8 if u else 0) for t, u in rows)
    b = sess["bytes"]
    player = b["player_body_total"]
    check(player > 100000, f"{sess['session']}: player received {player} bytes")
    # A request dash.js abandoned has no Resource Timing entry; between what it had loaded and
    # its full size crossed the wire. Without abandonment both bounds are the same number.
    lo, hi = player + b["player_abandoned_loaded"], player + b["player_abandoned_total"]
    # Passes when some amount in [lo, hi] agrees with the capture within [0.99, 1.05].
    check(lo > 0 and down / hi <= 1.05 and down / lo >= 0.99,
          f"{sess['session']}: capture downstream payload {down} vs player {lo}..{hi}: "
          f"ratio {down / hi:.4f}..{down / lo:.4f} meets [0.99, 1.05]")


def check_probe(probe, d, sess):
    """The probe on the lab's capture: client local, server remote."""
    pcap = os.path.join(d, "capture.pcap")
    cli, srv, name = sess["client_ip"], sess["server_ip"], sess["session"]
    r = subprocess.run([probe, "probe", "-r", pcap, "--local", f"{cli}/32", "--ta", "-"],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f"{name}: probe reads the capture (rc {r.returncode})"):
        return
    down, domains = 0, set()
    for line in r.stdout.splitlines():
        for e in json.loads(line)["TrafficData"]["Data"]:
            if e["Device"] == cli and e["SIP"] == srv:
                down += e["BytesDw"]
                domains.add(e["Domain"])
    want = sum(int(row[0]) for row in tshark(pcap, f"ip.src=={srv} && ip.dst=={cli}",
                                             "frame.len"))
    check(down == want and want > 0,
          f"{name}: probe's downstream bytes {down} == tshark's frame bytes {want}")
    check(domains == {"video.lab"}, f"{name}: probe names the server video.lab ({domains})")


def check_labels(d, sess):
    name = sess["session"]
    labels = [json.loads(line) for line in open(os.path.join(d, "labels.jsonl"))]
    check(len(labels) >= 5, f"{name}: {len(labels)} label lines")
    bad = [l for l in labels if any(not isinstance(l.get(k), t) for k, t in LABEL_KEYS.items())
           or l["state"] not in STATES]
    check(not bad, f"{name}: every label has t/state/height/bitrate_kbps/buffer_s ({bad[:1]})")
    ts = [l["t"] for l in labels]
    check(all(b > a for a, b in zip(ts, ts[1:])) and
          all(0.5 <= b - a <= 1.6 for a, b in zip(ts[:-2], ts[1:-1])),
          f"{name}: labels about one per second, increasing")
    check(abs(ts[0] - sess["play_request_t"]) < 2,
          f"{name}: labels start at the play request (epoch {sess['play_request_t']})")
    states = [l["state"] for l in labels]
    check("playing" in states, f"{name}: playback reached `playing` ({sorted(set(states))})")
    sd = sess["startup_delay_s"]
    check(sd is not None and 0.05 < sd < 20, f"{name}: startup delay {sd} s plausible")
    check(sess["end_reason"] == "ended" and states[-1] == "ended",
          f"{name}: played to the end ({sess['end_reason']}, last state {states[-1]})")
    played = [l for l in labels if l["state"] == "playing"]
    check(all(l["height"] > 0 and l["bitrate_kbps"] > 0 for l in played),
          f"{name}: while playing, height and bitrate are known")
    check(max(l["buffer_s"] for l in labels) > 1, f"{name}: the buffer filled")
    return {l["height"] for l in played}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--videolab", required=True)
    ap.add_argument("--probe", help="netmicroscope binary: also check what the probe sees")
    ap.add_argument("--duration", type=int, default=30)
    # Longer than the video: both sessions must play to the end.
    ap.add_argument("--play", type=int, default=90)
    a = ap.parse_args()
    preflight(a.videolab)
    out = tempfile.mkdtemp(prefix="videolab-smoke-")
    cmd = [a.videolab, "run", "--sessions", "2", "--duration", str(a.duration), "--play",
           str(a.play), "--out", out]
    if os.environ.get("VIDEOLAB_CACHE"):
        cmd += ["--cache", os.environ["VIDEOLAB_CACHE"]]
    print("running:", " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd)
    rc = p.wait()
    check(rc == 0, f"videolab run exited {rc}")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(f"nmvl-{p.pid}-" not in left, "no namespace of the run left behind")
    try:
        index = json.load(open(os.path.join(out, "runs.json")))
        check(len(index["sessions"]) == 2 and all(s["ok"] for s in index["sessions"]),
              "runs.json lists 2 sessions, both ok")
        heights = {}
        for entry in index["sessions"]:
            d = os.path.join(out, entry["session"])
            sess = json.load(open(os.path.join(d, "session.json")))
            check_handshake(d, sess)
            check_bytes(d, sess)
            if a.probe:
                check_probe(a.probe, d, sess)
            heights[sess["profile"]["mean_mbit"]] = check_labels(d, sess)
        low, high = min(heights), max(heights)
        check(low < high, f"a low ({low}) and a high ({high} Mbit/s) profile ran")
        check(heights[low] and max(heights[low]) <= 360,
              f"low profile plays at most 360p ({sorted(heights[low])})")
        check(heights[high] and max(heights[high]) >= 720,
              f"high profile reaches 720p or more ({sorted(heights[high])})")
        check(len(heights[low] | heights[high]) >= 2,
              f"at least two distinct heights ({sorted(heights[low] | heights[high])})")
    except (OSError, KeyError, ValueError, subprocess.CalledProcessError) as e:
        check(False, f"reading the run's output: {e!r}")
    if os.environ.get("VIDEOLAB_KEEP") == "1":
        print(f"output kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
