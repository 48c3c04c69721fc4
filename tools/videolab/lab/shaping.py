"""Bandwidth shaping of the veth link with htb (this kernel has no netem: no delay, no loss).

Each direction gets `htb` with one class; its rate is changed in place for time-varying
profiles, so queued packets are kept across a switch. The leaf is a byte FIFO of 300 ms at
the current rate, at least 150 kB: a saturated link adds queueing delay and drops at overflow
as a real bottleneck does. The floor matters: the veth has no propagation delay, and with a
buffer under ~100 kB at 0.5 Mbit/s TCP collapsed to a sixth of the rate in repeated
timeouts (measured: 32 kB -> 74 kbit/s, 150 kB -> 480 kbit/s).
"""

import threading
import time

from .netns import sh


def _limit_bytes(mbit):
    return max(150000, int(mbit * 1e6 / 8 * 0.3))


def _rate(mbit):
    return f"{int(round(mbit * 1000))}kbit"


class Shaper:
    def __init__(self, ns, ifname):
        self.ns = ns
        self.ifname = ifname

    def start(self, mbit):
        sh("tc", "qdisc", "replace", "dev", self.ifname, "root", "handle", "1:", "htb", "default",
           "10", ns=self.ns)
        sh("tc", "class", "add", "dev", self.ifname, "parent", "1:", "classid", "1:10", "htb",
           "rate", _rate(mbit), "ceil", _rate(mbit), ns=self.ns)
        sh("tc", "qdisc", "add", "dev", self.ifname, "parent", "1:10", "handle", "10:", "bfifo",
           "limit", str(_limit_bytes(mbit)), ns=self.ns)

    def set(self, mbit):
        sh("tc", "class", "change", "dev", self.ifname, "parent", "1:", "classid", "1:10", "htb",
           "rate", _rate(mbit), "ceil", _rate(mbit), ns=self.ns)
        sh("tc", "qdisc", "change", "dev", self.ifname, "parent", "1:10", "handle", "10:",
           *"bfifo limit 200000".split(), ns=self.ns)

    def stats(self):
        return sh("tc", "-s", "qdisc", "show", "dev", self.ifname, ns=self.ns, capture=True)


class Schedule(threading.Thread):
    """Steps the downstream rate through `steps` (Mbit/s) every `period_s`, cycling.

    `changes` logs (epoch seconds, Mbit/s) of every rate in force, the first one included.
    """

    def __init__(self, shaper, steps, period_s):
        super().__init__(daemon=True)
        self.shaper = shaper
        self.steps = steps
        self.period_s = period_s
        self.changes = []
        self._halt = threading.Event()

    def begin(self):
        self.changes.append((time.time(), self.steps[0]))
        if len(self.steps) > 1:
            self.start()

    def run(self):
        i = 0
        next_t = time.time() + self.period_s
        while not self._halt.wait(max(0.0, next_t - time.time())):
            i = (i + 1) % len(self.steps)
            try:
                self.shaper.set(self.steps[i])
            except RuntimeError:
                return  # the link went away: the session is ending
            self.changes.append((time.time(), self.steps[i]))
            next_t += self.period_s

    def stop(self):
        self._halt.set()
        if self.is_alive():
            self.join(timeout=5)
