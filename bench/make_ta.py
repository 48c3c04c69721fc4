#!/usr/bin/env python3
"""Writes a large TA file for daemon_bench.sh: RECORDS records of ENTRIES flow entries each, spread
over DEVICES devices and APPS applications (default 30 and 40); flows are drawn at random from a
pool twice the record size, so pairs come and go and zero-fill has work to do."""

import json
import random
import sys


def main():
    path, records, entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n_devices = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    n_apps = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    # "churn": fraction of flows replaced each record; 1.0 draws every record afresh (the worst
    # case: pairs come and go every 5 s), 0.05 is closer to a home network (flows last minutes).
    churn = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    rng = random.Random(7)
    apps = [f"App{i}" for i in range(n_apps - 2)] + ["Unknown", "Other"]
    devices = [(f"192.168.1.{10 + i}", f"74:d0:2b:00:{i // 256:02x}:{i % 256:02x}")
               for i in range(n_devices)]
    flows = []
    for k in range(entries * 2):
        dev, mac = rng.choice(devices)
        flows.append((rng.choice(apps), dev, mac, 30000 + k,
                      f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.7"))
    active = rng.sample(flows, entries)
    with open(path, "w") as f:
        for r in range(records):
            ts = 1_700_000_000 + 5 * r
            data = []
            if churn >= 1.0:
                active = rng.sample(flows, entries)
            else:
                active = [fl if rng.random() >= churn else rng.choice(flows) for fl in active]
            for app, dev, mac, port, sip in active:
                dw = round(rng.uniform(0, 5000), 4)
                up = round(rng.uniform(0, 300), 4)
                data.append({"Meta": app, "Device": dev, "HwAddr": mac, "Flow": f"{port:032x}",
                             "Domain": "cdn.example.net", "Proto": "tcp", "LPort": str(port),
                             "SIP": sip, "SPort": "443", "KbpsUp": up, "KbpsDw": dw,
                             "PpsUp": 12.2, "PpsDw": 40.4, "BytesUp": int(up * 625),
                             "BytesDw": int(dw * 625), "PktsUp": 61, "PktsDw": 202,
                             "VideoInfo": None, "VoIPInfo": None})
            rec = {"Info": {"Version": "2.0", "Conf": "--", "Type": "Traffic", "TsStart": ts - 5,
                            "TsEnd": ts, "PktsRcvd": 5000, "PktsDrop": 0},
                   "CacheStats": {"GenFlows": entries, "VideoFlows": 0, "TCPVideoFlows": 0,
                                  "TCPFlows": entries, "GeneralCounters": entries,
                                  "VideoSegments": 0, "EvictedFlows": 0, "ExpiredFlows": 0},
                   "TrafficData": {"Avg": 0, "Var": 0, "Q50": 0, "Q75": 0, "Q90": 0, "Q95": 0,
                                   "Data": data}}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
