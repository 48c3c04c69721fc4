#!/usr/bin/env python3
"""End to end: TA files -> `netmicroscope daemon` -> a real InfluxDB 1.6 (and a recording v2
server), compared value by value with nmd_reference (the original's rules, written again here).

Scenarios: --once ingest; authentication; ouimap names; exinfo points with reverse DNS from
dnsmasq; InfluxDB stopped mid-stream and restarted; the daemon SIGKILLed and restarted (nothing
lost, nothing double-counted, in InfluxDB and in the SQLite store); HTTPS with a lab CA (refused,
spooled, then delivered); the v2 write API against a recording HTTP server (no v2 server exists
in Debian 12).
Exit 77 (ctest skip) when influxd is missing.
"""

import argparse
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmd_reference as ref  # noqa: E402

from e2e_support import (FAILURES, ROOT, Dnsmasq, Influx, check, compare, conclude,  # noqa: E402
                         make_tls_files, wait_for, write_env)

DEPLOYMENT = "lab 1,a=b"


def base_env(workdir, name, influx_port, db, **extra):
    state = os.path.join(workdir, name)
    os.makedirs(state, exist_ok=True)
    env = dict(NMD_MODE="standalone", NMD_DEPLOYMENT=DEPLOYMENT, INFLUXDB_ENABLE="True",
               INFLUXDB_SCHEME="http", INFLUXDB_API="v1", INFLUXDB_HOST="127.0.0.1",
               INFLUXDB_PORT=str(influx_port), INFLUXDB_DB=db, NMD_STATE_DIR=state,
               NMD_SQLITE_ENABLE="false", NMD_COMMIT_INTERVAL_MS="200", NMD_PLUGINS="none",
               NMD_LOG_FILE=os.path.join(state, "appmonitor.log"),
               NMD_PID_FILE=os.path.join(state, "appmonitor.pid"))
    env.update(extra)
    path = os.path.join(state, ".env")
    write_env(path, **env)
    return path, state


def scenario_once(bin_, workdir, influx):
    db = "once"
    influx.query(db, f"CREATE DATABASE {db}")
    lines = ref.synthetic_lines(300, seed=11)
    garbage = ["not json", '{"Info":{}}', "[1,2]", '{"TrafficData":{"Data":"x"}}', ""]
    ta = os.path.join(workdir, "once.ta")
    with open(ta, "w") as f:
        for i, line in enumerate(lines):
            f.write(line + "\n")
            if i % 50 == 7:
                f.write(garbage[(i // 50) % len(garbage)] + "\n")
    env, _ = base_env(workdir, "once", influx.port, db)
    rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                        capture_output=True, text=True)
    check(rc.returncode == 0, f"daemon --once exits 0 (got {rc.returncode})")
    if rc.returncode != 0:
        print(rc.stderr[-3000:])
    expected = ref.points(ref.parse_lines(lines), DEPLOYMENT)
    compare(expected, influx.points(db), "--once: every point, tag and value as the rules say")
    log = rc.stderr
    check("Unknown-192.168.1.11 {'KbpsDw': " in log or "-192.168.1.11 {'KbpsDw': " in log,
          "the original's per-pair log line is printed")


def scenario_auth(bin_, workdir, _influx):
    """The original's INFLUXDB_WRITE_USER/_PASSWORD against an InfluxDB with authentication:
    a user with WRITE on one database only, and a password full of characters to escape."""
    influx = Influx(workdir, "influxd-auth", auth=True)
    try:
        db = "authdb"
        password = "p w,=ä'\\\"x"
        influx.query("", f"CREATE DATABASE {db}")
        escaped = password.replace("\\", "\\\\").replace("'", "\\'")
        influx.query("", f"CREATE USER writer WITH PASSWORD '{escaped}'")
        influx.query("", f"GRANT WRITE ON {db} TO writer")
        lines = ref.synthetic_lines(40, seed=77)
        ta = os.path.join(workdir, "auth.ta")
        with open(ta, "w") as f:
            f.write("\n".join(lines) + "\n")
        env, _ = base_env(workdir, "auth", influx.port, db, INFLUXDB_WRITE_USER="writer",
                          INFLUXDB_WRITE_USER_PASSWORD=password)
        # write_env quotes values with "": escape what python-dotenv unescapes there.
        text = open(env).read().replace(
            f'"{password}"', '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"')
        open(env, "w").write(text)
        rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                            capture_output=True, text=True)
        check(rc.returncode == 0, f"auth: daemon --once exits 0 (got {rc.returncode})")
        if rc.returncode != 0:
            print(rc.stderr[-2000:])
        expected = ref.points(ref.parse_lines(lines), DEPLOYMENT)
        compare(expected, influx.points(db), "auth: write user with WRITE privilege only")
    finally:
        influx.stop()


def scenario_ouimap(bin_, workdir, influx):
    """With the default plugins (ouimap), MAC-keyed devices are tagged with the original's
    vendor names, as existing Grafana series expect; IP-keyed devices keep their address."""
    db = "ouimap"
    influx.query(db, f"CREATE DATABASE {db}")
    lines = ref.synthetic_lines(50, seed=88)
    ta = os.path.join(workdir, "ouimap.ta")
    with open(ta, "w") as f:
        f.write("\n".join(lines) + "\n")
    env, _ = base_env(workdir, "ouimap", influx.port, db)
    text = open(env).read().replace('NMD_PLUGINS="none"\n', "")
    open(env, "w").write(text)
    rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                        capture_output=True, text=True)
    check(rc.returncode == 0, f"ouimap: daemon --once exits 0 (got {rc.returncode})")
    names = {"74:d0:2b:00:00:01": "ASUSTek_COMPUTER_INC_01",
             "b8:27:eb:12:34:56": "Raspberry_Pi_Foundation_56"}
    expected = {(m, dep, names.get(dev, dev), app, ts): v
                for (m, dep, dev, app, ts), v in
                ref.points(ref.parse_lines(lines), DEPLOYMENT).items()}
    compare(expected, influx.points(db), "ouimap: vendor device names, everything else exact")


def scenario_exinfo(bin_, workdir, influx):
    """NMD_PLUGINS=ouimap,exinfo with GeoIP databases written by the test: the original's
    `geometric` points for every flow to a located public address, tagged as its world-map panel
    expects, and nothing for private or unknown addresses."""
    writer = os.path.join(ROOT, "tests", "unit", "plugins", "exinfo", "write_test_mmdb.pl")
    if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                      capture_output=True).returncode != 0:
        print("SKIP exinfo scenario: apt-get install libmaxmind-db-writer-perl")
        return
    mmdb = os.path.join(workdir, "mmdb")
    os.makedirs(mmdb)
    subprocess.run(["perl", writer, mmdb], check=True, capture_output=True)
    db = "exinfo"
    influx.query(db, f"CREATE DATABASE {db}")
    london = ref.flow_entry("Netflix", "192.168.1.10", "74:d0:2b:00:00:01", 10.0, 1.0, 41000,
                            sip="81.2.69.160")
    private = ref.flow_entry("Other", "192.168.1.11", "", 1.0, 1.0, 41001, sip="10.9.9.9")
    unknown = ref.flow_entry("Other", "192.168.1.11", "", 1.0, 1.0, 41002, sip="93.184.216.34")
    lines = [ref.record_line(1_700_000_005, [london, private, unknown]),
             ref.record_line(1_700_000_010, [london])]
    ta = os.path.join(workdir, "exinfo.ta")
    with open(ta, "w") as f:
        f.write("\n".join(lines) + "\n")
    env, _ = base_env(workdir, "exinfo", influx.port, db, NMD_PLUGINS="ouimap,exinfo",
                      MMGEOIP_CITY_DB=os.path.join(mmdb, "city.mmdb"),
                      MMGEOIP_ASN_DB=os.path.join(mmdb, "asn.mmdb"), EXINFO_RDNS="off")
    text = open(env).read().replace('NMD_PLUGINS="none"\n', "")
    open(env, "w").write(text)
    rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                        capture_output=True, text=True)
    check(rc.returncode == 0, f"exinfo: daemon --once exits 0 (got {rc.returncode})")
    res = influx.query(db, 'SELECT * FROM "geometric"')["results"][0]
    rows = []
    for series in res.get("series", []):
        for row in series["values"]:
            rows.append(dict(zip(series["columns"], row)))
    got = sorted((r["time"], r["deployment"], r["lat"], r["lng"], r["country"], r["connid"],
                  r["device"], r["hits"], r["metric"], r["asn"], r.get("host")) for r in rows)
    want = [(ts * 10**9, DEPLOYMENT, "51.5142", "-0.0931", "GB", f"{41000:032x}",
             "ASUSTek_COMPUTER_INC_01", hits, 1, 20712, None) for ts, hits in
            ((1_700_000_005, "1"), (1_700_000_010, "2"))]
    check(got == want, f"exinfo: geometric points {got} == {want}")
    scenario_exinfo_rdns(bin_, workdir, influx, mmdb, london)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric_value(port, line_prefix):
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return 0
    for line in body.decode().splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.split()[-1])
    return 0


def scenario_exinfo_rdns(bin_, workdir, influx, mmdb, london):
    """Reverse DNS from a real DNS server (dnsmasq on loopback): the name joins the geometric
    points of the records after its answer, as the field `host`; restarted without the server,
    the daemon names the flow from its SQLite store at once and continues its `hits`."""
    if not os.access(Dnsmasq.BINARY, os.X_OK):
        print("SKIP exinfo reverse DNS scenario: apt-get install dnsmasq-base")
        return
    db = "exinfo_rdns"
    influx.query(db, f"CREATE DATABASE {db}")
    tadir = os.path.join(workdir, "rdns_ta")
    os.makedirs(tadir)
    ta = os.path.join(tadir, "tmp.ta.1")
    dns = Dnsmasq(["--ptr-record=160.69.2.81.in-addr.arpa,lon.example.net"])

    def run_daemon(tag):
        env, state = base_env(workdir, tag, influx.port, db, NMD_PLUGINS="ouimap,exinfo",
                              MMGEOIP_CITY_DB=os.path.join(mmdb, "city.mmdb"),
                              MMGEOIP_ASN_DB=os.path.join(mmdb, "asn.mmdb"),
                              EXINFO_RDNS_SERVERS=dns.server, NMD_TA_GLOB=ta,
                              NMD_SQLITE_ENABLE="true",
                              NMD_SQLITE_PATH=os.path.join(workdir, "rdns.db"),
                              NMD_STATE_DIR=os.path.join(workdir, "rdns_state"),
                              NMD_METRICS_LISTEN=f"127.0.0.1:{free_port()}")
        text = open(env).read().replace('NMD_PLUGINS="none"\n', "")
        open(env, "w").write(text)
        port = int(re.search(r'NMD_METRICS_LISTEN="127\.0\.0\.1:(\d+)"', text).group(1))
        return start_daemon(bin_, env), port

    def geometric():
        res = influx.query(db, 'SELECT time, hits, host, asn, as_org FROM "geometric"')
        series = res["results"][0].get("series", [])
        return [tuple(row[1:]) for s in series for row in s["values"]]

    d, port = run_daemon("rdns1")
    try:
        append_lines(ta, [ref.record_line(1_700_000_005, [london])])
        wait_for(lambda: metric_value(port, 'netmicroscope_rdns_answers_total{status="name"}') >= 1,
                 30, "the PTR answer")
        append_lines(ta, [ref.record_line(1_700_000_010, [london])])
        wait_for(lambda: len(geometric()) >= 2, 30, "two geometric points")
    finally:
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=60)
    check(rc == 0, f"exinfo rdns: daemon stops cleanly on SIGTERM (rc {rc})")
    org = "Andrews & Arnold Ltd"
    want = [("1", None, 20712, org), ("2", "lon.example.net", 20712, org)]
    check(geometric() == want, f"exinfo rdns: name joins the later point {geometric()} == {want}")

    dns.stop()  # only the store can name it now
    d, port = run_daemon("rdns2")
    try:
        append_lines(ta, [ref.record_line(1_700_000_015, [london])])
        wait_for(lambda: len(geometric()) >= 3, 30, "the third geometric point")
    finally:
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=60)
    want.append(("3", "lon.example.net", 20712, org))
    check(geometric() == want,
          f"exinfo rdns: after a restart, name and hits from the store {geometric()} == {want}")
    # The same points in the SQLite store (for our own dashboard), and the saved answer.
    with sqlite3.connect(os.path.join(workdir, "rdns.db")) as c:
        stored = [(json.loads(t)["hits"], json.loads(f).get("host"), json.loads(f)["asn"],
                   json.loads(f)["as_org"])
                  for t, f in c.execute("SELECT tags, fields FROM points WHERE "
                                        "measurement = 'geometric' ORDER BY ts")]
        saved = c.execute("SELECT value FROM kv WHERE namespace = 'plugin.exinfo' AND "
                          "key = 'rdns/81.2.69.160'").fetchall()
    check(stored == want, f"exinfo rdns: the store holds the same points {stored} == {want}")
    check(len(saved) == 1 and saved[0][0].endswith(" lon.example.net"),
          f"exinfo rdns: the answer is saved in the store's kv table {saved}")
    # `lookup` shows the saved answer (what a restarted daemon would use).
    r = subprocess.run([bin_, "lookup", "81.2.69.160", "--json", "--no-rdns", "--db",
                        os.path.join(workdir, "rdns.db")], capture_output=True, text=True)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    expires = int(saved[0][0].split()[0]) if saved else None
    check(out.get("rdns_saved") == {"name": "lon.example.net", "expires": expires},
          f"exinfo rdns: lookup --db shows the saved answer {out.get('rdns_saved')}")


def start_daemon(bin_, env):
    return subprocess.Popen([bin_, "daemon", "--env", env], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def append_lines(path, lines):
    with open(path, "a") as f:
        for line in lines:
            f.write(line + "\n")


def scenario_outage(bin_, workdir, influx):
    db = "outage"
    influx.query(db, f"CREATE DATABASE {db}")
    tadir = os.path.join(workdir, "outage_ta")
    os.makedirs(tadir)
    env, state = base_env(workdir, "outage", influx.port, db,
                          NMD_TA_GLOB=os.path.join(tadir, "tmp.ta.*"))
    lines = ref.synthetic_lines(240, seed=22)
    expected = ref.points(ref.parse_lines(lines), DEPLOYMENT)
    ta = os.path.join(tadir, "tmp.ta.123456789")
    d = start_daemon(bin_, env)
    try:
        append_lines(ta, lines[:80])
        first = ref.points(ref.parse_lines(lines[:80]), DEPLOYMENT)
        wait_for(lambda: influx.count(db) >= len(first), 30, "first third delivered")
        influx.stop()
        for i in range(80, 160, 10):
            append_lines(ta, lines[i:i + 10])
            time.sleep(0.3)
        time.sleep(3)  # the daemon keeps spooling while the server is down
        influx.restart()
        append_lines(ta, lines[160:])
        wait_for(lambda: influx.count(db) >= len(expected), 90, "all points after the outage")
    finally:
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=60)
    check(rc == 0, f"daemon stops cleanly on SIGTERM (rc {rc})")
    compare(expected, influx.points(db), "InfluxDB down mid-stream: every point exactly once")


def scenario_sigkill(bin_, workdir, influx):
    db = "sigkill"
    influx.query(db, f"CREATE DATABASE {db}")
    tadir = os.path.join(workdir, "kill_ta")
    os.makedirs(tadir)
    state = os.path.join(workdir, "kill")
    sqlite_path = os.path.join(state, "store.db")
    env, state = base_env(workdir, "kill", influx.port, db,
                          NMD_TA_GLOB=os.path.join(tadir, "tmp.ta.*"),
                          NMD_SQLITE_ENABLE="true", NMD_SQLITE_PATH=sqlite_path)
    lines = ref.synthetic_lines(300, seed=33)
    records = ref.parse_lines(lines)
    expected = ref.points(records, DEPLOYMENT)
    ta = os.path.join(tadir, "tmp.ta.987654321")
    d = start_daemon(bin_, env)
    for i in range(0, 150, 15):
        append_lines(ta, lines[i:i + 15])
        time.sleep(0.15)
    wait_for(lambda: os.path.exists(os.path.join(state, "checkpoint.json")), 20, "a checkpoint")
    d.send_signal(signal.SIGKILL)
    d.wait()
    append_lines(ta, lines[150:])
    d = start_daemon(bin_, env)
    try:
        wait_for(lambda: influx.count(db) >= len(expected), 90, "all points after SIGKILL")
        # The store is written on commit; wait for the last record there too.
        last_ts = records[-1]["Info"]["TsEnd"]

        def store_done():
            try:
                with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as c:
                    return c.execute("SELECT count(*) FROM records WHERE ts_end = ?",
                                     (last_ts,)).fetchone()[0] == 1
            except sqlite3.Error:
                return False
        wait_for(store_done, 30, "the store's last record")
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
    compare(expected, influx.points(db), "daemon SIGKILLed and restarted: InfluxDB exact")

    # The store: one raw row per (record, device, application), sums equal to the reference.
    want = {}
    for r in records:
        for (dev, app), (dw, up) in ref.summarise(r).items():
            want[(r["Info"]["TsEnd"], dev, app)] = (dw, up)
    with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as c:
        rows = c.execute(
            "SELECT s.ts, d.key, a.name, s.kbps_dw, s.kbps_up FROM samples s "
            "JOIN devices d ON d.id = s.device_id JOIN applications a ON a.id = s.application_id "
            "WHERE s.tier = 0").fetchall()
    got = {(ts, dev, app): (dw, up) for ts, dev, app, dw, up in rows}
    check(len(rows) == len(want) and got == want,
          f"SQLite after SIGKILL: {len(want)} raw samples expected, {len(rows)} stored, "
          f"{sum(1 for k in want if got.get(k) != want[k])} differ (none double-counted)")


def scenario_tls(bin_, workdir, _influx):
    """HTTPS to an InfluxDB with a certificate from a lab CA: with INFLUXDB_CA_FILE every point
    arrives; without it the certificate is refused, nothing is written and nothing is lost (the
    points wait in the spool and arrive once the daemon is restarted with the CA);
    INFLUXDB_VERIFY_TLS=false delivers without checking."""
    tls_dir = os.path.join(workdir, "tls")
    os.makedirs(tls_dir)
    cert, key, ca = make_tls_files(tls_dir)
    influx = Influx(workdir, "influxd-tls", tls=(cert, key, ca))
    try:
        db = "tlsdb"
        influx.query("", f"CREATE DATABASE {db}")
        lines = ref.synthetic_lines(40, seed=91)
        expected = ref.points(ref.parse_lines(lines), DEPLOYMENT)
        ta = os.path.join(workdir, "tls.ta")
        with open(ta, "w") as f:
            f.write("\n".join(lines) + "\n")
        https = dict(INFLUXDB_SCHEME="https", INFLUXDB_HOST="127.0.0.1")

        # Not trusted: the system's CAs do not know the lab CA.
        port = free_port()
        env, _ = base_env(workdir, "tls_untrusted", influx.port, db, **https,
                          NMD_TA_GLOB=ta, NMD_METRICS_LISTEN=f"127.0.0.1:{port}",
                          NMD_STATE_DIR=os.path.join(workdir, "tls_state"))
        d = start_daemon(bin_, env)
        try:
            refused = wait_for(lambda: metric_value(
                port, 'netmicroscope_influx_requests_total{class="none"}') >= 1, 30,
                "a refused HTTPS write")
        finally:
            d.send_signal(signal.SIGTERM)
            rc = d.wait(timeout=60)
        check(refused and rc == 0 and influx.count(db) == 0,
              f"tls: an untrusted certificate is refused, nothing written (rc {rc}, "
              f"{influx.count(db)} points)")

        # Restarted with the CA: the spooled points arrive, each once.
        env, _ = base_env(workdir, "tls_trusted", influx.port, db, **https, INFLUXDB_CA_FILE=ca,
                          NMD_TA_GLOB=ta, NMD_STATE_DIR=os.path.join(workdir, "tls_state"))
        d = start_daemon(bin_, env)
        try:
            wait_for(lambda: influx.count(db) >= len(expected), 60, "the spooled points")
        finally:
            d.send_signal(signal.SIGTERM)
            rc = d.wait(timeout=60)
        check(rc == 0, f"tls: daemon with INFLUXDB_CA_FILE stops cleanly (rc {rc})")
        compare(expected, influx.points(db), "tls: spooled while refused, delivered with the CA")

        # No verification at all: delivered too (a second database, a fresh state).
        db2 = "tlsdb_noverify"
        influx.query("", f"CREATE DATABASE {db2}")
        env, _ = base_env(workdir, "tls_noverify", influx.port, db2, **https,
                          INFLUXDB_VERIFY_TLS="false")
        rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                            capture_output=True, text=True)
        check(rc.returncode == 0, f"tls: INFLUXDB_VERIFY_TLS=false exits 0 ({rc.returncode})")
        compare(expected, influx.points(db2), "tls: INFLUXDB_VERIFY_TLS=false delivers")
    finally:
        influx.stop()


class Recorder(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Recorder.requests.append((self.path, dict(self.headers), body.decode()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def scenario_v2(bin_, workdir):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines = ref.synthetic_lines(60, seed=44)
    ta = os.path.join(workdir, "v2.ta")
    append_lines(ta, lines)
    env, _ = base_env(workdir, "v2", server.server_address[1], "ignored", INFLUXDB_API="v2",
                      INFLUXDB_ORG="my org", INFLUXDB_BUCKET="nm/bucket",
                      INFLUXDB_TOKEN="s3cr3t==")
    rc = subprocess.run([bin_, "daemon", "--env", env, "--ta-file", ta, "--once"],
                        capture_output=True, text=True)
    server.shutdown()
    check(rc.returncode == 0, f"v2: daemon --once exits 0 (got {rc.returncode})")
    reqs = Recorder.requests
    check(len(reqs) > 0, f"v2: {len(reqs)} write requests recorded")
    if not reqs:
        print(rc.stderr[-2000:])
        return
    path, headers, _ = reqs[0]
    parsed = urllib.parse.urlparse(path)
    q = urllib.parse.parse_qs(parsed.query)
    check(parsed.path == "/api/v2/write", f"v2: path {parsed.path}")
    check(q == {"org": ["my org"], "bucket": ["nm/bucket"], "precision": ["ns"]},
          f"v2: query {q}")
    check(headers.get("Authorization") == "Token s3cr3t==", "v2: Authorization: Token header")
    got = set()
    for _, _, body in reqs:
        got.update(line for line in body.split("\n") if line)
    want = ref.line_protocol(ref.points(ref.parse_lines(lines), DEPLOYMENT))
    check(got == want, f"v2: {len(want)} lines expected byte for byte, {len(got)} received, "
          f"{len(want - got)} missing, {len(got - want)} unexpected")
    for line in sorted(want - got)[:3] + sorted(got - want)[:3]:
        print("     e.g.", line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="nm-daemon-influx-")
    try:
        scenario_v2(args.bin, workdir)
        if not shutil.which("influxd"):
            print("SKIP: influxd not installed (apt-get install influxdb); v2 scenario ran alone")
            return 77 if not FAILURES else 1
        influx = Influx(workdir)
        try:
            for name, fn in (("once", scenario_once), ("auth", scenario_auth),
                             ("ouimap", scenario_ouimap), ("exinfo", scenario_exinfo),
                             ("outage", scenario_outage), ("sigkill", scenario_sigkill),
                             ("tls", scenario_tls)):
                if not args.only or args.only == name:
                    fn(args.bin, workdir, influx)
        finally:
            influx.stop()
    finally:
        result = conclude(workdir)
    return result


if __name__ == "__main__":
    sys.exit(main())
