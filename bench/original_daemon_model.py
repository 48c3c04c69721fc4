#!/usr/bin/env python3
"""Baseline for daemon_bench.sh: the original Python daemon's per-line work, without its HTTP
client — json.loads, the per-device, per-application sums, zero-fill, line protocol strings built
by concatenation (as it did) — so the C++ daemon's figure has a same-run reference."""

import json
import sys
import time


def main():
    path = sys.argv[1]
    t0 = time.perf_counter()
    entries = 0
    prev = None
    out = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            ts = rec["Info"]["TsEnd"] * 1000000000
            cur = {}
            for e in rec["TrafficData"]["Data"]:
                entries += 1
                key = (e["HwAddr"] or e["Device"], e["Meta"])
                s = cur.setdefault(key, [0.0, 0.0])
                s[0] += e["KbpsDw"]
                s[1] += e["KbpsUp"]
            for (dev, app), (dw, up) in cur.items():
                out.append("network_traffic_application_kbpsdw,deployment=d,device=" + dev +
                           ",application=" + app + " value=" + str(dw) + " " + str(ts))
                out.append("network_traffic_application_kbpsup,deployment=d,device=" + dev +
                           ",application=" + app + " value=" + str(up) + " " + str(ts))
            if prev is not None:
                for key in prev:
                    if key not in cur:
                        out.append("z " + str(ts))
            prev = cur
            if len(out) > 10000:
                out.clear()
    dt = time.perf_counter() - t0
    print(f"{entries} {dt:.3f}")


if __name__ == "__main__":
    main()
