#!/usr/bin/python3
"""gen_hostile_captures.py - a capture whose names are attacks on whoever reads the records.

    /usr/bin/python3 scripts/gen_hostile_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

Writes OUTDIR/hostile.pcap: HTTP sessions whose Host, TLS sessions whose SNI and DNS queries
whose name hold terminal escapes (ESC [ 41 m paints a terminal red), spreadsheet formulas
(=HYPERLINK("http://x"), +cmd, -1, @SUM(1)), a comma, a double quote, a TAB, a newline,
DEL, a backslash, a C1 control (U+009B) and a right-to-left override (U+202E). The
records tapwatch makes of it are what tapwatch-query must print safely
(tests/integration/test_hostile_output.sh). Deterministic, like gen_captures.py, whose
packet builders it uses.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (DEFAULT_START, LINKTYPE_ETHERNET, SEC, Capture, Flow,  # noqa: E402
                          dns_exchange, http_session, parse_start, tls_session)

CLIENT, SERVER, RESOLVER = "10.66.0.10", "10.66.1.20", "10.66.0.53"

# Each a name as the wire carries it (bytes): the HTTP Host line ends at CR LF, so it
# cannot hold a newline; the SNI and the DNS labels are length-prefixed and can.
HTTP_HOSTS = [
    b"\x1b[41mred.example",
    b'=HYPERLINK("http://x")',
    b"+cmd",
    b"-1",
    b"@SUM(1)",
    b'a,b"c.example',
    b"tab\there\x7fdel\\back",
    b"c1\xc2\x9bcsi\xe2\x80\xaegnp.exe",
]
TLS_SNIS = [
    b"\x1b]0;owned\x07title.example",
    b'=HYPERLINK("http://x")',
    b"line\nbreak.example",
    b"\rcr.example",
]
DNS_NAMES = [
    b"\x1b[41mdns.example",
    b"@SUM(1).example",
    b"comma,quote\".example",
]


def gen_hostile(start):
    rng = random.Random(66)
    cap = Capture("hostile.pcap", LINKTYPE_ETHERNET)
    t, port = start, 40000
    for host in HTTP_HOSTS:
        port += 1
        f = Flow(cap, 6, CLIENT, port, SERVER, 80, server_name=host.decode("latin-1"))
        t = http_session(f, rng, t + SEC, host.decode("latin-1"), "/", size=400)
    for sni in TLS_SNIS:
        port += 1
        f = Flow(cap, 6, CLIENT, port, SERVER, 443, server_name=sni.decode("latin-1"))
        t = tls_session(f, rng, t + SEC, sni.decode("latin-1"), False, 1, "fin")
    for i, name in enumerate(DNS_NAMES):
        port += 1
        f = Flow(cap, 17, CLIENT, port, RESOLVER, 53, server_name=name.decode("latin-1"))
        t = dns_exchange(f, t + SEC, 0x6600 + i, name, "A", SERVER)
    return cap


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--start", default=DEFAULT_START)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    gen_hostile(parse_start(a.start)).write(a.outdir)


if __name__ == "__main__":
    main()
