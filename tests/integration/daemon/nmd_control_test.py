#!/usr/bin/env python3
"""`nmd start|status|stop|kill|restart` as the original's users type it (through the `nmd`
symlink), with its pidfile and log file; the daemon's /metrics endpoint; SIGKILL then start
again: the SQLite store holds every record exactly once."""

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmd_reference as ref  # noqa: E402
from e2e_support import check, conclude, wait_for, write_env  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nmd", required=True, help="the nmd symlink next to netmicroscope")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nm-nmd-")
    tadir = os.path.join(work, "ta")
    os.makedirs(tadir)
    pid_file = os.path.join(work, "appmonitor.pid")
    log_file = os.path.join(work, "appmonitor.log")
    db = os.path.join(work, "store.db")
    env = os.path.join(work, ".env")
    write_env(env, NMD_TA_GLOB=os.path.join(tadir, "tmp.ta.*"), NMD_STATE_DIR=work,
              NMD_SQLITE_PATH=db, NMD_PID_FILE=pid_file, NMD_LOG_FILE=log_file,
              NMD_METRICS_LISTEN="127.0.0.1:0", NMD_COMMIT_INTERVAL_MS="200")

    def nmd(*a):
        r = subprocess.run([args.nmd, *a, "--env", env], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stdout + r.stderr

    def stored_records():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                return c.execute("SELECT count(*) FROM records").fetchone()[0]
        except sqlite3.Error:
            return -1

    lines = ref.synthetic_lines(120, seed=66)
    ta = os.path.join(tadir, "tmp.ta.111111111")
    try:
        rc, out = nmd("status")
        check(rc == 3 and "not running" in out, f"status before start: rc 3, not running ({out!r})")
        rc, out = nmd("start")
        check(rc == 0 and "started" in out, f"start: rc 0 ({out.strip()!r})")
        pid = int(open(pid_file).read())
        rc, out = nmd("status")
        check(rc == 0 and f"pid {pid}" in out, f"status: running with the pidfile's pid ({out!r})")
        rc, out = nmd("start")
        check(rc == 0 and "already running" in out, "a second start says it is already running")

        with open(ta, "a") as f:
            f.write("this is not json\n")
            for line in lines[:60]:
                f.write(line + "\n")
        wait_for(lambda: stored_records() == 60, 30, "60 records stored")
        # Info lines reach the file within a second (the daemon flushes its log once a second).
        wait_for(lambda: " [printF] OK\n" in open(log_file).read(), 10, "an OK line in the log")
        log = open(log_file).read()
        check("TAHandler" in log and " INFO {appmonitor} [printF] OK" in log,
              "the log has the original's TAHandler and OK lines")
        check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} INFO \{appmonitor\} \[printF\] "
                        r"\S+-\S+ \{'KbpsDw': ", log, re.M) is not None,
              "pair lines in the original's format")
        port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", log)
        check(port is not None, "the log says where /metrics listens")
        if port:
            body = urllib.request.urlopen(
                f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10).read().decode()
            check("\nnetmicroscope_ingest_records_total 60\n" in body,
                  "/metrics counts 60 records in")
            check('netmicroscope_ingest_errors_total{kind="not_json"} 1\n' in body,
                  "/metrics counts the bad line by kind")

        rc, out = nmd("kill")
        check(rc == 0 and "killed" in out, f"kill: rc 0 ({out.strip()!r})")
        check(not os.path.exists(pid_file), "kill removes the stale pidfile")
        with open(ta, "a") as f:
            for line in lines[60:]:
                f.write(line + "\n")
        rc, out = nmd("restart")
        check(rc == 0 and "started" in out, f"restart after kill: rc 0 ({out.strip()!r})")
        wait_for(lambda: stored_records() == 120, 30, "120 records stored")
        rc, out = nmd("stop")
        check(rc == 0 and "stopped" in out, f"stop: rc 0 ({out.strip()!r})")
        check(not os.path.exists(pid_file), "stop removes the pidfile")
        rc, out = nmd("status")
        check(rc == 3, "status after stop: not running")
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            n_records = c.execute("SELECT count(*) FROM records").fetchone()[0]
            n_samples = c.execute("SELECT count(*) FROM samples WHERE tier=0").fetchone()[0]
        want_samples = sum(len(ref.summarise(r)) for r in ref.parse_lines(lines))
        check(n_records == 120 and n_samples == want_samples,
              f"after kill + restart: {n_records} records (120), {n_samples} samples "
              f"({want_samples}): nothing lost, nothing twice")
        with open(env, "a") as f:
            f.write('INFLUXDB_PORT="70000"\nNMD_MODE="sideways"\n')
        rc, out = nmd("start")
        log_tail = open(log_file).read()[-2000:]
        check(rc == 1 and "INFLUXDB_PORT" in log_tail and "NMD_MODE" in log_tail,
              "a bad .env: start fails and the log names every bad variable")
    finally:
        subprocess.run([args.nmd, "kill", "--env", env], capture_output=True)
        result = conclude(work)
    return result


if __name__ == "__main__":
    sys.exit(main())
