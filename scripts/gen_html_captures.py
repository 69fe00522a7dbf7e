#!/usr/bin/python3
"""gen_html_captures.py - a capture whose names are attacks on a browser showing the records.

    /usr/bin/python3 scripts/gen_html_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

Writes OUTDIR/html.pcap: HTTP sessions whose Host and TLS sessions whose SNI hold markup and
script (`"><script>`, `<img src=x onerror=...>`, `javascript:`...). The console
(tests/integration/test_console.sh) must show each exactly as text, and its DOM must hold no
element or attribute that came from them. Deterministic; the packet builders are
gen_captures.py's.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (DEFAULT_START, LINKTYPE_ETHERNET, SEC, Capture, Flow,  # noqa: E402
                          http_session, parse_start, tls_session)

CLIENT, SERVER = "10.77.0.10", "10.77.1.20"

# Every one a name the page must print as text (tests/integration/test_console.sh reads them
# from here).
HTTP_HOSTS = [
    '"><script>window.twpwned=1</script>',
    "<img src=x onerror=window.twpwned=2>",
    "javascript:window.twpwned=3",
    "x' onmouseover='window.twpwned=4",
]
TLS_SNIS = [
    '"><script>window.twpwned=5</script>.example',
    "<img src=x onerror=window.twpwned=6>.example",
    "javascript:alert(7)",
    "<svg onload=window.twpwned=8>",
]


def gen_html(start):
    rng = random.Random(77)
    cap = Capture("html.pcap", LINKTYPE_ETHERNET)
    t, port = start, 41000
    for host in HTTP_HOSTS:
        port += 1
        f = Flow(cap, 6, CLIENT, port, SERVER, 80, server_name=host)
        t = http_session(f, rng, t + SEC, host, "/", size=400)
    for sni in TLS_SNIS:
        port += 1
        f = Flow(cap, 6, CLIENT, port, SERVER, 443, server_name=sni)
        t = tls_session(f, rng, t + SEC, sni, False, 1, "fin")
    return cap


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--start", default=DEFAULT_START)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    gen_html(parse_start(a.start) * SEC).write(a.outdir)


if __name__ == "__main__":
    main()
