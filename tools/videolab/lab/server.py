"""The lab's HTTPS origin: a lab CA, a certificate for video.lab, and Caddy in the server ns.

Caddy serves the run's www directory (player page, dash.js, content) with TLS 1.3 only and
exactly the HTTP versions asked for, so the protocol is fixed at the server, not merely
preferred by the browser: h1 -> ALPN offers only http/1.1; h2 -> h1+h2, no UDP listener;
h3 -> h1+h2+h3 (the browser is told to go straight to QUIC, see player/drive.mjs).
"""

import base64
import hashlib
import os
import subprocess
import time

from . import cleanup
from .netns import sh

HOST = "video.lab"
PROTOCOLS = {"h1": "h1", "h2": "h1 h2", "h3": "h1 h2 h3"}


def make_certs(d):
    """Writes ca.pem/ca.key and a leaf cert.pem/key.pem for HOST into `d`; returns the leaf's
    SPKI pin (base64 SHA-256), which the browser is given to trust it over TCP and QUIC."""
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    ossl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa
    ossl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "30",
         "-subj", "/CN=NetMicroscope videolab CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", p("key.pem"), "-out", p("leaf.csr"), "-subj", f"/CN={HOST}")
    with open(p("ext.cnf"), "w") as f:
        f.write(f"subjectAltName=DNS:{HOST}\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n")
    ossl("x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-out", p("leaf.pem"), "-days", "30", "-extfile", p("ext.cnf"))
    # Serve the chain (leaf + lab CA), as a real origin would.
    with open(p("cert.pem"), "w") as out:
        out.write(open(p("leaf.pem")).read() + open(p("ca.pem")).read())
    der = subprocess.run(
        "openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform der",
        shell=True, cwd=d, check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Caddy:
    def __init__(self, ns, ip, www, certs, workdir, protocol):
        self.ns, self.ip, self.www, self.certs = ns, ip, www, certs
        self.workdir, self.protocol = workdir, protocol
        self.proc = None

    def start(self, timeout=15):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "Caddyfile")
        with open(conf, "w") as f:
            f.write(f"""{{
	admin off
	auto_https off
	servers {{
		protocols {PROTOCOLS[self.protocol]}
	}}
}}
https://{HOST}:443 {{
	bind {self.ip}
	tls {self.certs}/cert.pem {self.certs}/key.pem {{
		protocols tls1.3
	}}
	header Cache-Control "no-store"
	root * {self.www}
	file_server
}}
""")
        env = dict(os.environ, HOME=self.workdir, XDG_DATA_HOME=self.workdir,
                   XDG_CONFIG_HOME=self.workdir)
        log = open(os.path.join(self.workdir, "caddy.log"), "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "caddy", "run", "--config", conf, "--adapter",
             "caddyfile"], stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        self._token = cleanup.push("caddy", self.stop)
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"caddy exited early; see {log.name}")
            tcp = sh("ss", "-Hltn", "sport = :443", ns=self.ns, capture=True)
            udp = sh("ss", "-Hlun", "sport = :443", ns=self.ns, capture=True)
            if tcp.strip() and (self.protocol != "h3" or udp.strip()):
                return
            time.sleep(0.1)
        raise RuntimeError("caddy did not start listening")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def version():
    r = subprocess.run(["caddy", "version"], capture_output=True, text=True)
    return r.stdout.strip()
