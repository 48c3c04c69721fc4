#!/usr/bin/env python3
"""`netmicroscope lookup`: MAC → vendor and the original's device name from this machine's IEEE
registries; IP → scope, reverse DNS from a real DNS server (dnsmasq on loopback), GeoIP and ASN
from MaxMind-format databases the test writes with known answers (Debian's
libmaxmind-db-writer-perl). Exit 77 when the Perl writer is missing (the rest runs first)."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import ROOT, Dnsmasq, check, conclude  # noqa: E402

# No query leaves the machine: reverse DNS off unless a test names its server.
BASE_ENV = {"EXINFO_RDNS": "off"}


def lookup(bin_, what, env=None, *flags, json_out=True):
    r = subprocess.run([bin_, "lookup", what, *(["--json"] if json_out else []), *flags],
                       capture_output=True, text=True,
                       env={**os.environ, **BASE_ENV, **(env or {})})
    if not json_out:
        return r.returncode, r.stdout
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 and r.stdout else r.stderr)


def check_rdns(bin_):
    if not os.access(Dnsmasq.BINARY, os.X_OK):
        print("SKIP (reverse DNS part): apt-get install dnsmasq-base")
        return
    dns = Dnsmasq(["--ptr-record=160.69.2.81.in-addr.arpa,lon.example.net",
                   "--host-record=v6.example.net,2001:db8::7"], ttl=300)
    try:
        env = {"EXINFO_RDNS": "on", "EXINFO_RDNS_SERVERS": dns.server}
        rc, out = lookup(bin_, "81.2.69.160", env)
        check(rc == 0 and out.get("rdns") == {"status": "name", "name": "lon.example.net",
                                              "ttl_s": 300}, f"81.2.69.160 PTR: {out}")
        rc, out = lookup(bin_, "2001:db8::7", env)
        check(rc == 0 and out.get("rdns", {}).get("name") == "v6.example.net",
              f"2001:db8::7 PTR: {out}")
        rc, out = lookup(bin_, "192.0.2.55", env)
        check(rc == 0 and out.get("rdns", {}).get("status") == "no_name",
              f"192.0.2.55 has no name (NXDOMAIN): {out}")
        rc, out = lookup(bin_, "81.2.69.160", env, "--no-rdns")
        check(rc == 0 and "rdns" not in out and "rdns_saved" not in out,
              f"--no-rdns asks nothing (and no store given): {out}")
        rc, out = lookup(bin_, "81.2.69.160", env, "--no-rdns", "--db", "/nonexistent/nm.db")
        check(rc == 0 and "error" in out.get("rdns_saved", {}),
              f"an unreadable store is reported, the rest answered: {out}")
        rc, text = lookup(bin_, "81.2.69.160", env, json_out=False)
        check(rc == 0 and "rdns         lon.example.net (TTL 300 s)\n" in text,
              f"text output shows the name: {text!r}")
    finally:
        dns.stop()
    # The server gone: a failure says so, and the command still answers the rest.
    rc, out = lookup(bin_, "81.2.69.160", env)
    check(rc == 0 and out.get("rdns", {}).get("status") == "failed" and out.get("scope") == "public",
          f"no DNS server: failed, the rest answered: {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nm-lookup-")
    # Names written by hand from the original's rule (spaces, dots, commas -> "_", one trailing
    # "_", then the last octet) and the vendors in Debian's ieee-data.
    for mac, name in (("74:d0:2b:00:00:01", "ASUSTek_COMPUTER_INC_01"),
                      ("b8:27:eb:12:34:56", "Raspberry_Pi_Foundation_56"),
                      ("00:00:5e:00:53:aa", "ICANN_IANA_Department_aa")):
        rc, out = lookup(args.bin, mac)
        check(rc == 0 and out["device_name"] == name, f"lookup {mac}: {out}")
    rc, out = lookup(args.bin, "da:a1:19:4f:20:3c")
    check(rc == 0 and out["locally_administered"] and out["vendor"] == "",
          f"a randomised MAC gets no vendor: {out}")
    rc, out = lookup(args.bin, "172.31.255.255")
    check(rc == 0 and out["scope"] == "private", f"172.31.255.255 is private: {out}")
    rc, out = lookup(args.bin, "fd00::1")
    check(rc == 0 and out["scope"] == "unique_local", f"fd00::1 is unique-local: {out}")
    rc, out = lookup(args.bin, "not-an-address")
    check(rc == 2, "a bad address is refused")
    check_rdns(args.bin)

    writer = os.path.join(ROOT, "tests", "unit", "plugins", "exinfo", "write_test_mmdb.pl")
    if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                      capture_output=True).returncode != 0:
        print("SKIP (GeoIP part): apt-get install libmaxmind-db-writer-perl")
        conclude(work)
        return 77
    subprocess.run(["perl", writer, work], check=True, capture_output=True)
    env = {"MMGEOIP_CITY_DB": os.path.join(work, "city.mmdb"),
           "MMGEOIP_ASN_DB": os.path.join(work, "asn.mmdb")}
    rc, out = lookup(args.bin, "81.2.69.160", env)
    check(rc == 0 and out.get("city") == "London" and out.get("country") == "GB"
          and out.get("latitude") == 51.5142, f"81.2.69.160 in London: {out}")
    rc, out = lookup(args.bin, "89.160.20.113", env)
    check(rc == 0 and out.get("city") == "Linköping", f"89.160.20.113 in Linköping: {out}")
    rc, out = lookup(args.bin, "1.128.0.1", env)
    check(rc == 0 and out.get("asn") == 1221 and "Telstra" in out.get("as_org", ""),
          f"1.128.0.1 is AS1221 Telstra: {out}")
    return conclude(work)


if __name__ == "__main__":
    sys.exit(main())
