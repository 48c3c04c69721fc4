#!/usr/bin/env python3
"""`netmicroscope run` (probe + daemon in one process) against its own TA output: for every
capture, the SQLite store's raw samples equal the per-record, per-device, per-application sums of
the TA records written in the same run (whose byte counts tshark_agreement checks against
tshark), and the rollups hold the same bytes. Captures: samples/ and, when present, a few corpus
files."""

import argparse
import glob
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def expected_from_ta(path):
    want = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            ts = rec["Info"]["TsEnd"]
            for e in rec["TrafficData"]["Data"]:
                key = (ts, e["HwAddr"] or e["Device"], e["Meta"])
                w = want.setdefault(key, [0.0, 0.0, 0, 0, 0, 0, 0])
                w[0] += e["KbpsDw"]
                w[1] += e["KbpsUp"]
                w[2] += e["BytesDw"]
                w[3] += e["BytesUp"]
                w[4] += e["PktsDw"]
                w[5] += e["PktsUp"]
                w[6] += 1
    return want


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--corpus", default="")
    args = ap.parse_args()
    captures = sorted(glob.glob(os.path.join(args.samples, "*.pcap")))
    corpus = [os.path.join(args.corpus, n) for n in
              ("netflix.pcap", "youtube_quic.pcap", "zoom.pcap", "skype.pcap", "dns_doh.pcap")]
    present = [c for c in corpus if os.path.exists(c)]
    if args.corpus and not present:
        print(f"NOTE: corpus captures not found under {args.corpus}; only samples/ checked")
    captures += present
    with tempfile.TemporaryDirectory() as work:
        for cap in captures:
            name = os.path.basename(cap)
            ta = os.path.join(work, name + ".ta")
            db = os.path.join(work, name + ".db")
            r = subprocess.run([args.bin, "run", "-r", cap, "--ta", ta, "--db", db],
                               capture_output=True, text=True,
                               env=dict(os.environ, NMD_STATE_DIR=work))
            check(r.returncode == 0, f"{name}: run exits 0")
            if r.returncode != 0:
                print(r.stderr[-2000:])
                continue
            want = expected_from_ta(ta)
            with sqlite3.connect(db) as c:
                rows = c.execute(
                    "SELECT s.ts, d.key, a.name, s.kbps_dw, s.kbps_up, s.bytes_dw, s.bytes_up, "
                    "s.pkts_dw, s.pkts_up, s.flows FROM samples s "
                    "JOIN devices d ON d.id = s.device_id "
                    "JOIN applications a ON a.id = s.application_id WHERE s.tier = 0").fetchall()
                got = {(r[0], r[1], r[2]): list(r[3:]) for r in rows}
                tiers = c.execute("SELECT tier, sum(bytes_dw), sum(bytes_up) FROM samples "
                                  "GROUP BY tier").fetchall()
                n_records = c.execute("SELECT count(*) FROM records").fetchone()[0]
            n_ta = sum(1 for _ in open(ta))
            check(got == want and len(got) == len(rows),
                  f"{name}: {len(want)} samples from {n_ta} records; store holds {len(got)}, "
                  f"{sum(1 for k in want if got.get(k) != want[k])} differ")
            check(n_records == n_ta, f"{name}: {n_records} records stored of {n_ta}")
            totals = {(t[1], t[2]) for t in tiers}
            check(len(totals) == 1 and len(tiers) == 3,
                  f"{name}: every tier holds the same bytes {sorted(tiers)}")
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
