#!/usr/bin/env python3
"""Byte and packet totals of every TCP/UDP conversation: netmicroscope probe vs tshark.

For each capture, tshark dissects every frame (IP reassembly off, so each frame stands alone)
and the test sums frame lengths per conversation; `netmicroscope probe -r` writes TA records
whose BytesUp+BytesDw and PktsUp+PktsDw, summed over all windows, must be exactly equal.

A conversation is keyed by the first TCP or UDP header of a frame, found after the IP header
chain (IP-in-IP tunnels are looked through, as the probe does; what a UDP or GRE tunnel
carries stays inside its outer conversation). Two classes of frame are tested apart:
  * non-first IP fragments carry no transport header, so tshark puts them in no conversation;
    the probe attributes them to the conversation of their first fragment (same source,
    destination, protocol and IP ID) or, with no first fragment seen, to a port-less flow.
    The reference does the same from tshark's fragment fields, and the totals of this class
    are reported separately.
  * frames whose first header after IP is ICMP, GRE, ESP, ... are not TCP/UDP conversations.
Captures libpcap cannot open are listed with libpcap's reason and are not failures.

Exit status: 0 all agree, 1 a disagreement, 77 nothing to test (corpus missing).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

FIELDS = [
    "frame.number", "frame.len", "frame.protocols",
    "ip.src", "ip.dst", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.fraghdr.ident", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
    "ipv6.fraghdr.nxt",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
]
IP_LAYERS = {"ip", "ipv6"}
IPV6_EXT = {"ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "ipv6.shim6", "ah"}
L4 = {"tcp": 6, "udp": 17}


def occurrences(value):
    return value.split(",") if value else []


def nth(values, i):
    return values[i] if i < len(values) else ""


def tshark_reference(path):
    """Per-conversation (frames, bytes) from tshark, plus the fragment class totals."""
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if "Some fields aren't valid" in out.stderr:
        raise SystemExit("tshark rejected the field list: " + out.stderr)
    convs = collections.defaultdict(lambda: [0, 0])
    first_fragments = {}
    fragment_frames = 0
    fragment_bytes = 0
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) != len(FIELDS):
            continue
        row = dict(zip(FIELDS, cols))
        layers = row["frame.protocols"].split(":")
        # Walk to the end of the IP chain (IP-in-IP and IPv6 extension headers).
        pos = next((k for k, name in enumerate(layers) if name in IP_LAYERS), None)
        if pos is None:
            continue
        n4 = n6 = 0
        last_ip = None
        k = pos
        while k < len(layers) and (layers[k] in IP_LAYERS or layers[k] in IPV6_EXT):
            if layers[k] == "ip":
                n4 += 1
                last_ip = ("ip", n4 - 1)
            elif layers[k] == "ipv6":
                n6 += 1
                last_ip = ("ipv6", n6 - 1)
            k += 1
        fam, idx = last_ip
        src = nth(occurrences(row[fam + ".src"]), idx)
        dst = nth(occurrences(row[fam + ".dst"]), idx)
        if fam == "ip":
            proto = nth(occurrences(row["ip.proto"]), idx)
            frag_id = nth(occurrences(row["ip.id"]), idx)
            offset = int(nth(occurrences(row["ip.frag_offset"]), idx) or 0)
            more = nth(occurrences(row["ip.flags.mf"]), idx) in ("1", "True")
        else:
            # The fragment header belongs to the innermost IPv6 header when present.
            frag_id = nth(occurrences(row["ipv6.fraghdr.ident"]), 0)
            offset = int(nth(occurrences(row["ipv6.fraghdr.offset"]), 0) or 0)
            more = nth(occurrences(row["ipv6.fraghdr.more"]), 0) in ("1", "True")
            proto = nth(occurrences(row["ipv6.fraghdr.nxt"]), 0)
        next_layer = layers[k] if k < len(layers) else ""
        length = int(row["frame.len"])
        if offset > 0:
            # Non-first fragment: attributed to its first fragment's ports, else port-less.
            proto_num = int(proto, 0) if proto else -1
            if proto_num not in L4.values():
                continue
            ports = first_fragments.get((src, dst, proto_num, frag_id), ("0", "0"))
            key = conv_key(proto_num, src, ports[0], dst, ports[1])
            convs[key][0] += 1
            convs[key][1] += length
            fragment_frames += 1
            fragment_bytes += length
            continue
        if next_layer not in L4:
            continue
        l4 = next_layer
        sport = nth(occurrences(row[l4 + ".srcport"]), 0)
        dport = nth(occurrences(row[l4 + ".dstport"]), 0)
        if not sport or not dport:
            continue
        if more:
            first_fragments[(src, dst, L4[l4], frag_id)] = (sport, dport)
        key = conv_key(L4[l4], src, sport, dst, dport)
        convs[key][0] += 1
        convs[key][1] += length
    return convs, fragment_frames, fragment_bytes, out.stderr.strip()


def canonical_ip(text):
    import ipaddress
    return str(ipaddress.ip_address(text))


def conv_key(proto, ip1, port1, ip2, port2):
    a = (canonical_ip(ip1), int(port1))
    b = (canonical_ip(ip2), int(port2))
    return (proto, min(a, b), max(a, b))


def probe_totals(probe, path):
    """Per-conversation (frames, bytes) summed over the probe's TA records."""
    with tempfile.TemporaryDirectory() as tmp:
        ta = os.path.join(tmp, "out.ta")
        stats = os.path.join(tmp, "stats.json")
        run = subprocess.run([probe, "probe", "-r", path, "--ta", ta, "--stats", stats],
                             capture_output=True, text=True, errors="replace")
        if run.returncode != 0:
            return None, run.stderr.strip().splitlines()[-1:] or ["exit %d" % run.returncode], {}
        convs = collections.defaultdict(lambda: [0, 0])
        with open(ta) as f:
            for line in f:
                record = json.loads(line)
                for e in record["TrafficData"]["Data"]:
                    if e["Proto"] not in ("tcp", "udp"):
                        continue
                    key = conv_key(6 if e["Proto"] == "tcp" else 17,
                                   e["Device"], e["LPort"], e["SIP"], e["SPort"])
                    convs[key][0] += e["PktsUp"] + e["PktsDw"]
                    convs[key][1] += e["BytesUp"] + e["BytesDw"]
        with open(stats) as f:
            counters = json.load(f)["counters"]
        return convs, None, counters


def check(probe, path):
    ours, open_error, counters = probe_totals(probe, path)
    if ours is None:
        return {"file": path, "status": "unopenable", "reason": " ".join(open_error)}
    ref, frag_frames, frag_bytes, tshark_err = tshark_reference(path)
    problems = []
    for key in sorted(set(ref) | set(ours)):
        r = ref.get(key)
        o = ours.get(key)
        if r != o:
            problems.append("%s %s <-> %s: tshark %s, probe %s" % (
                {6: "tcp", 17: "udp"}[key[0]], "%s:%d" % key[1], "%s:%d" % key[2],
                "%d pkts/%d bytes" % tuple(r) if r else "absent",
                "%d pkts/%d bytes" % tuple(o) if o else "absent"))
    return {
        "file": path, "status": "ok" if not problems else "mismatch", "convs": len(ref),
        "frames": sum(v[0] for v in ref.values()), "bytes": sum(v[1] for v in ref.values()),
        "fragment_frames": frag_frames, "fragment_bytes": frag_bytes,
        "probe_fragments": counters.get("flow.fragments_attributed", 0)
        + counters.get("flow.fragments_unattributed", 0),
        "problems": problems, "tshark_stderr": tshark_err,
    }


def captures(folder):
    names = sorted(n for n in os.listdir(folder)
                   if n.endswith((".pcap", ".pcapng", ".cap")) and not n.startswith("."))
    return [os.path.join(folder, n) for n in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe", required=True)
    ap.add_argument("--dir", action="append", default=[], help="folder of captures (repeatable)")
    ap.add_argument("--require", action="store_true",
                    help="fail instead of skipping when a folder is missing")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    files = []
    for d in args.dir:
        if not os.path.isdir(d):
            print("!!! SKIPPED: capture folder %s is missing; set NM_CORPUS_DIR to the corpus" % d)
            continue
        files += captures(d)
    if not files:
        print("!!! SKIPPED: no captures to compare")
        return 1 if args.require else 77

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: check(args.probe, p), files))

    failed = 0
    unopenable = []
    total = collections.Counter()
    for res in results:
        name = os.path.basename(res["file"])
        if res["status"] == "unopenable":
            unopenable.append((name, res["reason"]))
            continue
        total["files"] += 1
        total["convs"] += res["convs"]
        total["frames"] += res["frames"]
        total["bytes"] += res["bytes"]
        total["fragment_frames"] += res["fragment_frames"]
        frag_note = ""
        if res["fragment_frames"]:
            frag_note = "  [non-first IP fragments: %d frames, %d bytes; probe saw %d]" % (
                res["fragment_frames"], res["fragment_bytes"], res["probe_fragments"])
        if res["status"] == "ok":
            print("ok        %-58s %5d convs %7d frames%s" % (
                name, res["convs"], res["frames"], frag_note))
        else:
            failed += 1
            print("MISMATCH  %-58s %d of %d conversations differ%s" % (
                name, len(res["problems"]), res["convs"], frag_note))
            for p in res["problems"][:20]:
                print("            " + p)
    for name, reason in unopenable:
        print("unopenable %-57s libpcap: %s" % (name, reason))
    print("\n%d files agree exactly, %d differ, %d not openable by libpcap; %d conversations, "
          "%d frames, %d bytes compared; %d non-first fragment frames in the fragment class" % (
              total["files"] - failed, failed, len(unopenable), total["convs"], total["frames"],
              total["bytes"], total["fragment_frames"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
