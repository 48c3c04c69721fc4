"""A private two-namespace network: server ns <-veth-> client ns, nothing else.

Neither namespace has a default route or any link to the host, so traffic cannot leave the
pair. Names carry the orchestrator's pid (`nmvl-<pid>-<n>-srv`) so `videolab clean` can tell
leftovers of dead runs from live ones.
"""

import os
import re
import signal
import subprocess
import time

from . import cleanup

PREFIX = "nmvl-"
SRV_IF = "vl-srv"
CLI_IF = "vl-cli"


def sh(*args, check=True, ns=None, capture=False):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r.stdout if capture else r


class Link:
    """A server/client namespace pair for one session, with addresses and no offloads."""

    def __init__(self, tag):
        pid = os.getpid()
        self.srv_ns = f"{PREFIX}{pid}-{tag}-srv"
        self.cli_ns = f"{PREFIX}{pid}-{tag}-cli"
        # A /30 from the pid and tag: the namespaces are isolated anyway, distinct addresses
        # only keep captures of concurrent runs apart.
        block = (pid * 7 + int(tag)) % 16384
        base = f"10.77.{block // 64}."
        self.server_ip = base + str((block % 64) * 4 + 1)
        self.client_ip = base + str((block % 64) * 4 + 2)

    def up(self):
        for ns in (self.srv_ns, self.cli_ns):
            sh("ip", "netns", "add", ns)
            cleanup.push(f"netns {ns}", lambda ns=ns: delete_ns(ns))
            # No IPv6: the kernel would add router solicitations and MLD to the capture.
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
            sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
            # Each session starts cold: no cached ssthresh/RTT from an earlier connection.
            sh("sysctl", "-qw", "net.ipv4.tcp_no_metrics_save=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", SRV_IF, "netns", self.srv_ns, "type", "veth", "peer", "name",
           CLI_IF, "netns", self.cli_ns)
        for ns, ifname, ip in ((self.srv_ns, SRV_IF, self.server_ip),
                               (self.cli_ns, CLI_IF, self.client_ip)):
            # Offloads off: the shaper then meters, and the capture shows, wire-sized packets.
            sh("ethtool", "-K", ifname, "tso", "off", "gso", "off", "gro", "off", ns=ns,
               check=False)
            sh("ip", "addr", "add", f"{ip}/30", "dev", ifname, ns=ns)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        return self


def kill_ns_pids(ns, grace=3.0):
    """Ends every process still inside `ns` (TERM, then KILL after `grace` seconds)."""
    def pids():
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        return [int(p) for p in r.stdout.split() if p.isdigit()]

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
        live = pids()
        if not live:
            return
        for p in live:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        end = time.time() + wait
        while time.time() < end and pids():
            time.sleep(0.1)


def delete_ns(ns):
    kill_ns_pids(ns)
    # Deleting the namespace removes its veth end (and so the peer) and all qdiscs on them.
    subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def list_ns():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(PREFIX)]


def clean_dead(include_live=False):
    """Removes namespaces of runs whose orchestrator is gone; returns the names removed."""
    removed = []
    for ns in list_ns():
        m = re.match(PREFIX + r"(\d+)-", ns)
        alive = bool(m) and _is_videolab(int(m.group(1)))
        if alive and not include_live:
            continue
        delete_ns(ns)
        removed.append(ns)
    return removed


def _is_videolab(pid):
    """True while `pid` is a live (not zombie) videolab process; a reused pid is not."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return state != "Z" and b"videolab" in cmdline
