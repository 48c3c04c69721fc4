"""Shared by the daemon's end-to-end tests: outcome bookkeeping and a private influxd."""

import json
import os
import shutil
import socket
import ssl
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
    def __init__(self, workdir, name="influxd", auth=False, tls=None):
        """auth: authentication on, with an admin user admin/admin-pw for the test's queries.
        tls: (certificate, key, CA) PEM paths: HTTPS, and the test's queries trust the CA."""
        self.dir = os.path.join(workdir, name)
        self.creds = {}
        self.scheme = "https" if tls else "http"
        self.ssl = ssl.create_default_context(cafile=tls[2]) if tls else None
        os.makedirs(self.dir, exist_ok=True)
        env = dict(os.environ, INFLUXDB_AUTH="true" if auth else "false")
        if tls:
            env.update(INFLUXDB_TLS_CERT=tls[0], INFLUXDB_TLS_KEY=tls[1])
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
        url = f"{self.scheme}://127.0.0.1:{self.port}/query?" + urllib.parse.urlencode(
            {"db": db, "q": q, "epoch": "ns", **self.creds})
        method = "GET" if q.upper().startswith("SELECT") else "POST"
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=30, context=self.ssl) as r:
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


class Dnsmasq:
    """Debian's dnsmasq on 127.0.0.1 at a free port, answering only the given records (reverse
    zones local: any other PTR question gets NXDOMAIN)."""

    BINARY = "/usr/sbin/dnsmasq"

    def __init__(self, records, ttl=300):
        self.proc = None
        for _ in range(5):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            self.proc = subprocess.Popen(
                [self.BINARY, "--keep-in-foreground", f"--port={self.port}",
                 "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                 "--conf-file=/dev/null", "--pid-file=", "--local=/in-addr.arpa/",
                 "--local=/ip6.arpa/", f"--local-ttl={ttl}", "--log-facility=/dev/null",
                 *records], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait_for(self._answers, 10, "dnsmasq"):
                return
            self.stop()
        raise RuntimeError("dnsmasq did not start")

    def _answers(self):
        if self.proc.poll() is not None:
            return False
        query = bytes.fromhex("123401000001000000000000") + b"".join(
            bytes([len(label)]) + label.encode() for label in "1.0.0.127.in-addr.arpa".split(".")
        ) + bytes.fromhex("00000c0001")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            s.sendto(query, ("127.0.0.1", self.port))
            try:
                return len(s.recv(512)) >= 12
            except OSError:
                return False

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def make_tls_files(directory):
    """A lab CA and a server certificate for 127.0.0.1 and localhost signed by it, with openssl;
    returns (certificate, key, CA certificate) paths."""
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "server.ext")

    def run(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=NetMicroscope test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return cert, key, ca
