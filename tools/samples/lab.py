#!/usr/bin/python3
"""Servers and clients for the sample-recording lab (tools/samples/record-home.sh).

Standard library only, so it runs with Debian's /usr/bin/python3 and nothing else.
Every program here talks only to the addresses it is given; record-home.sh runs
them inside network namespaces it created itself.

  lab.py serve  --cert C --key K --tcp ADDR,PORT,tls|plain ... --udp ADDR,PORT ...
  lab.py player --cafile CA --page URL --segment URL_TEMPLATE --count N --gap S [-4|-6]
  lab.py udp-stream --host NAME --port P --seconds S --pps N --size B

What a server returns is decided by the path, so the clients choose the shape of
each transfer:
  .../range/A-B or ...range=A-B   B-A+1 bytes of video/mp4 (a media segment)
  ...?bytes=N                     N bytes of application/octet-stream
  anything else                   a 16 kB text/html page
"""

import argparse
import http.client
import http.server
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

PAGE_BYTES = 16 * 1024
MAX_BODY = 8 * 1024 * 1024  # a bound, so a typo in a URL cannot fill the capture


def body_for(path):
    """Returns (content type, size) for a request path; see the module docstring."""
    m = re.search(r"range[/=](\d+)-(\d+)", path)
    if m:
        return "video/mp4", int(m.group(2)) - int(m.group(1)) + 1
    m = re.search(r"[?&]bytes=(\d+)", path)
    if m:
        return "application/octet-stream", int(m.group(1))
    return "text/html; charset=utf-8", PAGE_BYTES


class LabHandler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length keeps connections open, so a client can fetch
    # several objects on one connection like a browser or a video player does.
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def setup(self):
        # The TLS handshake runs here, in the connection's own thread, so a slow
        # client never holds up accept() for the others.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def do_GET(self):
        ctype, size = body_for(self.path)
        size = max(0, min(size, MAX_BODY))
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "max-age=60")
        self.end_headers()
        # Random bytes: like compressed media they do not shrink, and nothing in
        # the sample depends on their value.
        remaining = size
        while remaining > 0:
            chunk = min(remaining, 64 * 1024)
            self.wfile.write(os.urandom(chunk))
            remaining -= chunk

    def log_message(self, fmt, *args):
        pass


class LabHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, port, tls_context):
        self.address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.tls_context = tls_context
        super().__init__((addr, port), LabHandler)

    def get_request(self):
        sock, peer = self.socket.accept()
        if self.tls_context is not None:
            sock = self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, peer

    def handle_error(self, request, client_address):
        # A client that hangs up mid-transfer is normal traffic, not a lab failure.
        pass


def udp_echo(addr, port, stop):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    sock.settimeout(0.5)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        sock.sendto(data, peer)


def serve(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])

    stop = threading.Event()
    servers = []
    threads = []
    for spec in args.tcp:
        addr, port, kind = spec.rsplit(",", 2)
        srv = LabHTTPServer(addr, int(port), ctx if kind == "tls" else None)
        servers.append(srv)
        threads.append(threading.Thread(target=srv.serve_forever, args=(0.2,), daemon=True))
    for spec in args.udp:
        addr, port = spec.rsplit(",", 1)
        threads.append(threading.Thread(target=udp_echo, args=(addr, int(port), stop), daemon=True))
    for t in threads:
        t.start()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # record-home.sh waits for this line instead of sleeping.
    print("ready", flush=True)
    stop.wait(args.max_seconds)
    for srv in servers:
        srv.shutdown()
    return 0


def open_tls(host, port, family, ctx):
    """An HTTPS connection to host over the chosen address family, resolved through
    the system resolver (so the lookup is real DNS traffic on the wire)."""
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    last_error = None
    for fam, stype, proto, _, sockaddr in infos:
        try:
            raw = socket.create_connection(sockaddr[:2], timeout=10)
        except OSError as err:
            last_error = err
            continue
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        conn.sock = ctx.wrap_socket(raw, server_hostname=host)
        return conn
    raise OSError(f"cannot connect to {host}: {last_error}")


def get(conn, url, user_agent):
    parts = urllib.parse.urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    conn.request("GET", target or "/", headers={"User-Agent": user_agent, "Accept": "*/*"})
    resp = conn.getresponse()
    return len(resp.read())


def player(args):
    """A video-like session: a page, then N segments on ONE kept-alive connection,
    each a small request up followed by a large burst down, with idle gaps between
    them as a player refilling its buffer does."""
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(args.family, socket.AF_UNSPEC)
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    deadline = time.monotonic() + args.max_seconds

    page = urllib.parse.urlsplit(args.page)
    conn = open_tls(page.hostname, page.port or 443, family, ctx)
    got = get(conn, args.page, args.user_agent)
    conn.close()
    print(f"player: page {args.page} {got} bytes", flush=True)

    seg = urllib.parse.urlsplit(args.segment.format(i=0, a=0, b=0))
    conn = open_tls(seg.hostname, seg.port or 443, family, ctx)
    for i in range(args.count):
        if time.monotonic() > deadline:
            break
        a = i * args.size
        url = args.segment.format(i=i, a=a, b=a + args.size - 1)
        got = get(conn, url, args.user_agent)
        print(f"player: segment {i} {got} bytes", flush=True)
        if i + 1 < args.count:
            time.sleep(args.gap)
    conn.close()
    return 0


def udp_stream(args):
    """A constant-rate two-way UDP stream (a call's media): the server echoes each
    datagram, so both directions carry the same rate."""
    infos = socket.getaddrinfo(args.host, args.port, socket.AF_UNSPEC, socket.SOCK_DGRAM)
    fam, _, _, _, sockaddr = infos[0]
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.connect(sockaddr)
    sock.setblocking(False)
    interval = 1.0 / args.pps
    start = time.monotonic()
    sent = received = 0
    seq = 0
    next_send = start
    while True:
        now = time.monotonic()
        if now - start >= args.seconds:
            break
        if now >= next_send:
            # A 12-byte RTP-like header (version 2, payload type 96) then noise.
            header = bytes([0x80, 0x60]) + seq.to_bytes(2, "big") + \
                int((now - start) * 90000).to_bytes(4, "big") + b"\x12\x34\x56\x78"
            sock.send(header + os.urandom(args.size - len(header)))
            seq = (seq + 1) & 0xFFFF
            sent += 1
            next_send += interval
        try:
            while True:
                sock.recv(65535)
                received += 1
        except BlockingIOError:
            pass
        time.sleep(min(0.005, max(0.0, next_send - time.monotonic())))
    time.sleep(0.2)
    try:
        while True:
            sock.recv(65535)
            received += 1
    except BlockingIOError:
        pass
    print(f"udp-stream: sent {sent} received {received}", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--tcp", action="append", default=[], help="ADDR,PORT,tls|plain")
    s.add_argument("--udp", action="append", default=[], help="ADDR,PORT (echo)")
    s.add_argument("--max-seconds", type=float, default=300)

    p = sub.add_parser("player")
    p.add_argument("--cafile", required=True)
    p.add_argument("--page", required=True)
    p.add_argument("--segment", required=True, help="URL with {i}, {a}, {b} placeholders")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", type=int, default=150000)
    p.add_argument("--gap", type=float, default=3.0)
    p.add_argument("--user-agent", default="Mozilla/5.0")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("-4", dest="family", action="store_const", const=4)
    p.add_argument("-6", dest="family", action="store_const", const=6)

    u = sub.add_parser("udp-stream")
    u.add_argument("--host", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--seconds", type=float, default=15)
    u.add_argument("--pps", type=float, default=25)
    u.add_argument("--size", type=int, default=400)

    args = ap.parse_args()
    return {"serve": serve, "player": player, "udp-stream": udp_stream}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
