"""Shared by the daemon's end-to-end tests: outcome bookkeeping and a private influxd."""

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import nmd_reference as ref

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INFLUX_SH = os.path.join(ROOT, "tests", "servers", "influxdb.sh")
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    print(f"timed out waiting for {what}", flush=True)
    return False


class Influx:
    def __init__(self, workdir, name="influxd", auth=False):
        """auth: authentication on, with an admin user admin/admin-pw for the test's queries."""
        self.dir = os.path.join(workdir, name)
        self.creds = {}
        os.makedirs(self.dir, exist_ok=True)
        env = dict(os.environ, INFLUXDB_AUTH="true" if auth else "false")
        out = subprocess.run(["bash", INFLUX_SH, "start", self.dir], check=True, env=env,
                             capture_output=True, text=True).stdout.split()
        self.port = int(out[-1])
        if auth:
            self.query("", "CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES")
            self.creds = {"u": "admin", "p": "admin-pw"}

    def stop(self):
        subprocess.run(["bash", INFLUX_SH, "stop", self.dir], check=True)

    def restart(self):
        subprocess.run(["bash", INFLUX_SH, "restart", self.dir], check=True, capture_output=True)

    def query(self, db, q):
        url = f"http://127.0.0.1:{self.port}/query?" + urllib.parse.urlencode(
            {"db": db, "q": q, "epoch": "ns", **self.creds})
        method = "GET" if q.upper().startswith("SELECT") else "POST"
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def points(self, db):
        out = {}
        for m in (ref.DW, ref.UP):
            res = self.query(db, f'SELECT * FROM "{m}"')["results"][0]
            for series in res.get("series", []):
                cols = series["columns"]
                for row in series["values"]:
                    r = dict(zip(cols, row))
                    key = (m, r.get("deployment") or "", r.get("device") or "",
                           r.get("application") or "", r["time"])
                    if key in out:
                        FAILURES.append(f"duplicate point {key}")
                    out[key] = float(r["value"])
        return out

    def count(self, db):
        total = 0
        for m in (ref.DW, ref.UP):
            res = self.query(db, f'SELECT count(value) FROM "{m}"')["results"][0]
            for series in res.get("series", []):
                total += series["values"][0][1]
        return total


def write_env(path, **kv):
    with open(path, "w") as f:
        for k, v in kv.items():
            f.write(f'{k}="{v}"\n')


def compare(expected, got, what):
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and got[k] != expected[k]]
    check(not missing and not extra and not wrong,
          f"{what}: {len(expected)} points expected, {len(got)} in InfluxDB "
          f"(missing {len(missing)}, unexpected {len(extra)}, wrong value {len(wrong)})")
    for k in (missing[:3] + extra[:3] + wrong[:3]):
        print("     e.g.", k, expected.get(k), got.get(k))




def conclude(workdir):
    """Removes the work directory when everything passed (else keeps it for a look) and returns
    the exit code."""
    if not FAILURES:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("work directory kept:", workdir)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0
