#!/usr/bin/env python3
"""Service labels of `netmicroscope classify` against nDPI's expected results.

Every capture in the corpus has nDPI's expected per-flow output beside it (X.out, written by
the nDPI test suite; format in the corpus README). A flow whose nDPI label names an application
that one of our services claims (the `ndpi` lists of the service map) must get that service
from us. We require it for >= 95% of those flows' bytes and >= 90% of the flows, and print a
table of every disagreement so it can be studied.

Exit status: 0 thresholds met, 1 not met, 77 corpus missing.
"""

import argparse
import collections
import concurrent.futures
import ipaddress
import json
import os
import re
import subprocess
import sys
import tomllib

FLOW_LINE = re.compile(
    r"^\t\d+\t(\S+) (\S+) (?:<->|->) (\S+) (?:\[VLAN: \d+\])?"
    r"\[proto: (?:([A-Za-z0-9_]+):)?[0-9.]+/([^\]]+)\]")
COUNTS = re.compile(r"\[(\d+) pkts/(\d+) bytes (?:<->|->) (\d+) pkts/(\d+) bytes\]")
HOST = re.compile(r"\[Hostname/SNI: ([^\]]*)\]")


def endpoint(text):
    host, _, port = text.rpartition(":")
    return str(ipaddress.ip_address(host.strip("[]"))), int(port)


def key(l4, a, b):
    return (l4.lower(), min(a, b), max(a, b))


def expected_flows(out_path, ndpi_to_service):
    flows = []
    with open(out_path, errors="replace") as f:
        for line in f:
            m = FLOW_LINE.match(line)
            if not m:
                continue
            l4, a, b, tunnel, label = m.groups()
            app = label.split(".", 1)[1] if "." in label else label
            service = ndpi_to_service.get(app)
            if service is None:
                continue
            counts = COUNTS.search(line)
            nbytes = int(counts.group(2)) + int(counts.group(4)) if counts else 0
            host = HOST.search(line)
            try:
                k = key(l4, endpoint(a), endpoint(b))
            except ValueError:
                continue
            flows.append({"key": k, "label": label, "service": service, "bytes": nbytes,
                          "tunnel": tunnel, "host": host.group(1) if host else ""})
    return flows


def our_flows(probe, capture, services):
    run = subprocess.run([probe, "classify", "-r", capture, "--json", "--no-ndpi",
                          "--services", services],
                         capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        return None
    ours = collections.defaultdict(list)
    for line in run.stdout.splitlines():
        f = json.loads(line)
        k = key(f["proto"], (f["local"], f["local_port"]), (f["remote"], f["remote_port"]))
        ours[k].append(f)
    return ours


def check(probe, services, capture, ndpi_to_service):
    expected = expected_flows(capture + ".out", ndpi_to_service)
    if not expected:
        return []
    ours = our_flows(probe, capture, services)
    results = []
    for e in expected:
        mine = (ours or {}).get(e["key"], [])
        got = mine[0]["service"] if mine else "(no such flow)"
        evidence = mine[0]["evidence"] if mine else ""
        domain = mine[0]["domain"] if mine else ""
        results.append(dict(e, file=os.path.basename(capture), got=got, evidence=evidence,
                            domain=domain, ok=got == e["service"]))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe", required=True)
    ap.add_argument("--services", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--min-bytes", type=float, default=0.95)
    ap.add_argument("--min-flows", type=float, default=0.90)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print("!!! SKIPPED: corpus %s is missing; set NM_CORPUS_DIR" % args.corpus)
        return 77
    with open(args.services, "rb") as f:
        config = tomllib.load(f)
    ndpi_to_service = {}
    for s in config.get("service", []):
        for n in s.get("ndpi", []):
            ndpi_to_service[n] = s["name"]

    captures = sorted(os.path.join(args.corpus, n) for n in os.listdir(args.corpus)
                      if os.path.exists(os.path.join(args.corpus, n + ".out"))
                      and not n.endswith(".out"))
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = [r for rs in pool.map(
            lambda c: check(args.probe, args.services, c, ndpi_to_service), captures) for r in rs]

    total_bytes = sum(r["bytes"] for r in results)
    ok_bytes = sum(r["bytes"] for r in results if r["ok"])
    ok_flows = sum(1 for r in results if r["ok"])
    per_service = collections.defaultdict(lambda: [0, 0, 0, 0])
    for r in results:
        s = per_service[r["service"]]
        s[0] += 1
        s[1] += r["ok"]
        s[2] += r["bytes"]
        s[3] += r["bytes"] if r["ok"] else 0
    print("%-22s %6s %6s %12s %8s" % ("service", "flows", "agree", "bytes", "agree%"))
    for name, (n, good, b, gb) in sorted(per_service.items(), key=lambda kv: -kv[1][2]):
        print("%-22s %6d %6d %12d %7.1f%%" % (name, n, good, b, 100.0 * gb / b if b else 100))
    print("\nDisagreements (bytes, file, nDPI label, expected, ours, our evidence and domain, "
          "nDPI host):")
    for r in sorted((r for r in results if not r["ok"]), key=lambda r: -r["bytes"]):
        print("  %9d %-36s %-24s %-16s %-18s %-10s %-30s %s%s" % (
            r["bytes"], r["file"][:36], r["label"][:24], r["service"], r["got"], r["evidence"],
            r["domain"][:30], r["host"], "  (inside %s tunnel)" % r["tunnel"] if r["tunnel"] else ""))
    byte_share = ok_bytes / total_bytes if total_bytes else 1.0
    flow_share = ok_flows / len(results) if results else 1.0
    print("\n%d flows of services we ship: %d agree (%.1f%%, need %.0f%%); bytes %.1f%% agree "
          "(need %.0f%%)" % (len(results), ok_flows, 100 * flow_share, 100 * args.min_flows,
                             100 * byte_share, 100 * args.min_bytes))
    met = byte_share >= args.min_bytes and flow_share >= args.min_flows
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
