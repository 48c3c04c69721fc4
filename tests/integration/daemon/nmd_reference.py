"""The original daemon's rules, written again independently in Python (the language the original
was written in), so end-to-end tests compare the C++ daemon against them value by value.

Rules (issue 4): per record, per device (HwAddr, else Device) and application (Meta), the sums of
KbpsDw and KbpsUp in Data order, as points of network_traffic_application_kbpsdw/kbpsup at
TsEnd * 1e9 with tags deployment, device, application and field value; then zero-fill: every pair
of record N-1 missing from N gets 0 at T_N, every pair of N missing from N-1 gets 0 at T_(N-1).
"""

import json

DW = "network_traffic_application_kbpsdw"
UP = "network_traffic_application_kbpsup"


def parse_lines(lines):
    """Records the daemon accepts: JSON objects with TrafficData.Data. Tests feed only
    well-formed records plus lines that are clearly bad (not JSON, no TrafficData)."""
    records = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict) or "TrafficData" not in obj:
            continue
        records.append(obj)
    return records


def summarise(record):
    sums = {}
    for e in record["TrafficData"]["Data"]:
        device = e["HwAddr"] if e["HwAddr"] else e["Device"]
        key = (device, e["Meta"])
        if key not in sums:
            sums[key] = [0.0, 0.0]
        sums[key][0] += e["KbpsDw"]
        sums[key][1] += e["KbpsUp"]
    return sums  # insertion-ordered


def points(records, deployment):
    """{(measurement, deployment, device, application, ts_ns): value}; later writes of the same
    key overwrite earlier ones, as InfluxDB does."""
    out = {}
    prev = None
    prev_ts = None
    for r in records:
        ts = r["Info"]["TsEnd"] * 10**9
        cur = summarise(r)
        for (dev, app), (dw, up) in cur.items():
            out[(DW, deployment, dev, app, ts)] = dw
            out[(UP, deployment, dev, app, ts)] = up
        if prev is not None:
            for key in prev:
                if key not in cur:
                    out[(DW, deployment, key[0], key[1], ts)] = 0.0
                    out[(UP, deployment, key[0], key[1], ts)] = 0.0
            for key in cur:
                if key not in prev:
                    out[(DW, deployment, key[0], key[1], prev_ts)] = 0.0
                    out[(UP, deployment, key[0], key[1], prev_ts)] = 0.0
        prev, prev_ts = cur, ts
    return out


def escape_tag(s):
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def format_float(v):
    """Shortest round-trip digits, as InfluxDB's Go client writes them: Python's repr without
    the ".0" it adds to integral values (both read back as the same float64)."""
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def line_protocol(points_map):
    """The expected lines (tags sorted by key, as InfluxDB wants them)."""
    lines = set()
    for (m, dep, dev, app, ts), v in points_map.items():
        tags = sorted([("application", app), ("deployment", dep), ("device", dev)])
        tag_text = ",".join(f"{k}={escape_tag(val)}" for k, val in tags if val != "")
        lines.add(f"{m},{tag_text} value={format_float(v)} {ts}")
    return lines


def flow_entry(meta, device, hwaddr, kbps_dw, kbps_up, port, sip="93.184.216.34"):
    return {"Meta": meta, "Device": device, "HwAddr": hwaddr, "Flow": f"{port:032x}",
            "Domain": "", "Proto": "tcp", "LPort": str(port), "SIP": sip, "SPort": "443",
            "KbpsUp": kbps_up, "KbpsDw": kbps_dw, "PpsUp": 1.0, "PpsDw": 2.0,
            "BytesUp": int(kbps_up * 625), "BytesDw": int(kbps_dw * 625), "PktsUp": 3,
            "PktsDw": 4}


def record_line(ts_end, entries, window=5):
    rec = {"Info": {"Version": "2.0", "Conf": "--", "Type": "Traffic",
                    "TsStart": ts_end - window, "TsEnd": ts_end, "PktsRcvd": 10, "PktsDrop": 0},
           "TrafficData": {"Data": entries}}
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def synthetic_lines(count, start_ts=1_700_000_000, seed=1):
    """A stream with appearing and disappearing pairs, MACs and bare IPs, and application names
    that need escaping (spaces, commas, equals signs, backslashes, non-ASCII)."""
    import random
    rng = random.Random(seed)
    apps = ["Netflix", "YouTube", "Unknown", "Other", "Zoom Meetings", "a,b=c d", "back\\slash",
            "Télé 電視", "Amazon Prime Video"]
    devices = [("192.168.1.10", "74:d0:2b:00:00:01"), ("192.168.1.11", ""),
               ("fd00::23", ""), ("10.0.0.7", "b8:27:eb:12:34:56")]
    lines = []
    port = 40000
    for i in range(count):
        entries = []
        for _ in range(rng.randint(0, 12)):
            dev, mac = rng.choice(devices)
            port += 1
            entries.append(flow_entry(rng.choice(apps), dev, mac,
                                      rng.choice([0, 0.1, 0.2, 1.5, 3.14159, 1e-7, 12345.678]),
                                      rng.choice([0, 0.3, 0.7, 2.25]), port))
        lines.append(record_line(start_ts + 5 * i, entries))
    return lines
