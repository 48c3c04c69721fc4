"""tcpdump on the client end of the link, and a small pcap reader for the byte totals."""

import os
import re
import struct
import subprocess
import time

from . import cleanup


class Tcpdump:
    def __init__(self, ns, ifname, path, snaplen=0):
        self.ns, self.ifname, self.path, self.snaplen = ns, ifname, path, snaplen
        self.proc = None
        self.err_path = path + ".tcpdump.log"

    def start(self, timeout=10):
        self._err = open(self.err_path, "w")
        # -Z root: Debian's tcpdump would otherwise drop to the tcpdump user and fail to write
        # into root's output dir; -U: a killed run still leaves a readable file.
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "tcpdump", "-i", self.ifname, "-n", "-U", "-Z",
             "root", "-B", "16384", "-s", str(self.snaplen), "-w", self.path],
            stdout=subprocess.DEVNULL, stderr=self._err, start_new_session=True)
        self._token = cleanup.push("tcpdump", self.stop)
        end = time.time() + timeout
        while time.time() < end:
            if "listening on" in open(self.err_path).read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"tcpdump did not start: {open(self.err_path).read().strip()}")

    def stop(self):
        """Stops the capture; returns the packets the kernel dropped (None if unknown)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        cleanup.pop(self._token, run=False)
        m = re.search(r"(\d+) packets dropped by kernel", open(self.err_path).read())
        return int(m.group(1)) if m else None


def payload_totals(path, server_ip):
    """Per direction, the packets and L4 payload bytes (TCP payload, UDP payload) of a pcap.

    Lengths come from the IP header, so a capture cut with a small snaplen still counts right.
    Returns {"down": {...}, "up": {...}} where down is server -> client.
    """
    srv = bytes(int(x) for x in server_ip.split("."))
    tot = {d: {"packets": 0, "tcp_payload": 0, "udp_payload": 0} for d in ("down", "up")}
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return tot
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", hdr[20:24])[0]
        if linktype != 1:
            raise ValueError(f"{path}: link type {linktype}, expected Ethernet")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            pkt = f.read(incl)
            if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            proto = ip[9]
            d = tot["down" if ip[12:16] == srv else "up"]
            d["packets"] += 1
            if proto == 6 and len(ip) >= ihl + 13:
                doff = (ip[ihl + 12] >> 4) * 4
                d["tcp_payload"] += max(0, total - ihl - doff)
            elif proto == 17:
                d["udp_payload"] += max(0, total - ihl - 8)
    return tot
