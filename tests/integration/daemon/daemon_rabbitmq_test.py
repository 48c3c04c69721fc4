#!/usr/bin/env python3
"""End to end over RabbitMQ: TA file -> daemon (NMD_MODE=producer) -> a real RabbitMQ over TLS
with a client certificate -> daemon (NMD_MODE=consumer) -> a real InfluxDB 1.6, compared value
by value with nmd_reference. The broker is restarted mid-stream: nothing may be lost, and the
consumer's sums must still follow the original's rules exactly (duplicates from republishing
are recognised and skipped). Exit 77 (ctest skip) when rabbitmq-server or influxd is missing.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmd_reference as ref  # noqa: E402
from e2e_support import (Influx, check, compare, conclude, wait_for,  # noqa: E402
                         write_env)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RABBIT_SH = os.path.join(ROOT, "tests", "servers", "rabbitmq.sh")
DEPLOYMENT = "probe 7,east"


def rabbit_env(rdir):
    env = {}
    with open(os.path.join(rdir, "env")) as f:
        for line in f:
            if "=" in line and line.startswith("RABBITMQ_SSL_"):
                k, v = line.strip().split("=", 1)
                env[k] = v
    # The test broker's CA; ours is called RABBITMQ_SSL_CAFILE.
    env["RABBITMQ_SSL_CAFILE"] = env.pop("RABBITMQ_SSL_CACERTFILE")
    env["RABBITMQ_SSL_TOPIC"] = "nm-e2e"
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    if not shutil.which("influxd") or not os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server"):
        print("SKIP: needs influxd and rabbitmq-server (apt-get install influxdb rabbitmq-server)")
        return 77
    workdir = tempfile.mkdtemp(prefix="nm-daemon-rabbit-")
    rdir = os.path.join(workdir, "rabbit")
    os.makedirs(rdir)
    subprocess.run(["bash", RABBIT_SH, "start", rdir], check=True, capture_output=True)
    influx = Influx(workdir)
    procs = []
    try:
        db = "relay"
        influx.query(db, f"CREATE DATABASE {db}")
        renv = rabbit_env(rdir)
        tadir = os.path.join(workdir, "ta")
        os.makedirs(tadir)
        pstate = os.path.join(workdir, "producer")
        cstate = os.path.join(workdir, "consumer")
        os.makedirs(pstate)
        os.makedirs(cstate)
        common = dict(NMD_COMMIT_INTERVAL_MS="200", NMD_SQLITE_ENABLE="false",
                      NMD_PLUGINS="none", **renv)
        write_env(os.path.join(pstate, ".env"), NMD_MODE="producer", NMD_DEPLOYMENT=DEPLOYMENT,
                  NMD_TA_GLOB=os.path.join(tadir, "tmp.ta.*"), NMD_STATE_DIR=pstate,
                  NMD_LOG_FILE=os.path.join(pstate, "log"),
                  NMD_PID_FILE=os.path.join(pstate, "pid"), **common)
        write_env(os.path.join(cstate, ".env"), NMD_MODE="consumer", NMD_DEPLOYMENT="central",
                  INFLUXDB_ENABLE="true", INFLUXDB_SCHEME="http", INFLUXDB_API="v1",
                  INFLUXDB_HOST="127.0.0.1", INFLUXDB_PORT=str(influx.port), INFLUXDB_DB=db,
                  NMD_STATE_DIR=cstate, NMD_LOG_FILE=os.path.join(cstate, "log"),
                  NMD_PID_FILE=os.path.join(cstate, "pid"), **common)

        lines = ref.synthetic_lines(240, seed=55)
        records = ref.parse_lines(lines)
        expected = ref.points(records, DEPLOYMENT)
        ta = os.path.join(tadir, "tmp.ta.555555555")

        def start(state):
            p = subprocess.Popen([args.bin, "daemon", "--env", os.path.join(state, ".env")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            return p

        consumer = start(cstate)
        producer = start(pstate)

        def append(chunk):
            with open(ta, "a") as f:
                for line in chunk:
                    f.write(line + "\n")

        for i in range(0, 100, 20):
            append(lines[i:i + 20])
            time.sleep(0.2)
        first = ref.points(ref.parse_lines(lines[:100]), DEPLOYMENT)
        wait_for(lambda: influx.count(db) >= len(first), 60, "first part relayed")
        # Broker restart while the producer keeps reading: publishes wait for confirms.
        restart = subprocess.Popen(["bash", RABBIT_SH, "restart", rdir],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(100, 240, 20):
            append(lines[i:i + 20])
            time.sleep(0.3)
        check(restart.wait(timeout=180) == 0, "broker restarted")
        wait_for(lambda: influx.count(db) >= len(expected), 120, "every point after the restart")
        for p in (producer, consumer):
            p.send_signal(signal.SIGTERM)
        rcs = [p.wait(timeout=60) for p in (producer, consumer)]
        check(rcs == [0, 0], f"producer and consumer stop cleanly on SIGTERM (rc {rcs})")
        compare(expected, influx.points(db),
                "producer -> RabbitMQ (restarted) -> consumer -> InfluxDB: every point exact")
        with open(os.path.join(cstate, "log")) as f:
            log = f.read()
        check(f"-192.168.1.11 {{'KbpsDw': " in log, "consumer logs the original's pair lines")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        influx.stop()
        subprocess.run(["bash", RABBIT_SH, "stop", rdir], capture_output=True)
        result = conclude(workdir)
    return result


if __name__ == "__main__":
    sys.exit(main())
