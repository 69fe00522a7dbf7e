#!/usr/bin/python3
"""gen_policy_captures.py - captures for the policy tests, and the alerts they must raise.

    /usr/bin/python3 scripts/gen_policy_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

One capture per rule kind, each with a case that must alert and compliant traffic next to it
that must not, for the policy tests/integration/policy.yaml (equipment atm-ctrl-01 10.40.1.11,
srv-02 10.40.2.0/24; maintenance host 10.40.9.5, SSH, window mon 10:00-12:00 UTC). The
default start is a Monday 09:00 UTC. Writes OUTDIR/expected.json:

    {"captures": {"FILE": {"alerts": [{"kind", "equipment", "src_ip", "src_port", "dst_ip",
                                       "dst_port"}],
                            "kinds": [kinds this capture is about]}}}

A kind listed in "kinds" must raise exactly the alerts listed for it, nothing else.
Deterministic: fixed seeds and integer-microsecond timestamps, like scripts/gen_captures.py,
whose packet builders (Flow, Capture, TLS/SSH/HTTP sessions) are reused.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (LINKTYPE_ETHERNET, SEC, Capture, Flow, client_hello,  # noqa: E402
                          dns_exchange, http_session, parse_start, ssh_session, tls_record,
                          tls_session)

ATM, SRV, MAINT, ROGUE = "10.40.1.11", "10.40.2.7", "10.40.9.5", "10.66.0.1"
RESOLVER, VENDOR, ELSEWHERE, OTHER_HOST = "10.40.0.53", "203.0.113.10", "198.51.100.7", "10.99.0.1"
HOUR = 3600 * SEC


def alert(kind, equipment, src, sport, dst, dport):
    return {"kind": kind, "equipment": equipment, "src_ip": src, "src_port": sport, "dst_ip": dst,
            "dst_port": dport}


def upload(flow, rng, t, sni, nbytes):
    """A TLS session whose client sends nbytes of application data."""
    t = flow.handshake(t)
    t = flow.data(t + 200, True, client_hello(rng, sni, False))
    t = flow.data(t + 20_000, False, tls_record(22, b"\x02\x00\x00\x00") + tls_record(20, b"\x01"))
    sent = 0
    while sent < nbytes:
        chunk = min(16000, nbytes - sent)
        t = flow.data(t + 1_000, True, tls_record(23, rng.randbytes(chunk)))
        sent += chunk
    t = flow.data(t + 5_000, False, tls_record(23, rng.randbytes(40)))
    return flow.fin(t + 10_000)


def raw_tcp(flow, rng, t, exchanges, size=300):
    """Bytes nDPI cannot name: random payload both ways."""
    t = flow.handshake(t)
    for _ in range(exchanges):
        t = flow.data(t + 2_000, True, rng.randbytes(size))
        t = flow.data(t + 2_000, False, rng.randbytes(size))
    return flow.fin(t + 5_000)


def vnc_session(flow, rng, t):
    """RFB banner exchange (nDPI: VNC, category RemoteAccess) and some updates."""
    t = flow.handshake(t)
    t = flow.data(t + 2_000, False, b"RFB 003.008\n")
    t = flow.data(t + 2_000, True, b"RFB 003.008\n")
    t = flow.data(t + 2_000, False, b"\x01\x02")
    t = flow.data(t + 2_000, True, b"\x02")
    for _ in range(6):
        t = flow.data(t + 50_000, False, rng.randbytes(600))
    return flow.fin(t + 5_000)


def gen_undeclared(start):
    rng = random.Random(101)
    cap = Capture("undeclared.pcap", LINKTYPE_ETHERNET)
    t = start + 10 * SEC
    dns_exchange(Flow(cap, 17, ATM, 40001, RESOLVER, 53), t, 0x101, "api.vendor-a.example", "A",
                 VENDOR)
    tls_session(Flow(cap, 6, ATM, 40002, VENDOR, 443), rng, t + 5_000, "api.vendor-a.example",
                False, 3, "fin")
    # declared by name only: TLS to *.vendor-a.example anywhere
    tls_session(Flow(cap, 6, ATM, 40003, ELSEWHERE, 443), rng, t + 2 * SEC,
                "cdn.vendor-a.example", True, 2, "fin")
    # the violation: TLS to a name nobody declared
    tls_session(Flow(cap, 6, ATM, 40004, ELSEWHERE, 443), rng, t + 4 * SEC, "files.other.example",
                True, 2, "fin")
    # a host that is not equipment does the same: recorded, never alerted
    tls_session(Flow(cap, 6, OTHER_HOST, 40005, ELSEWHERE, 443), rng, t + 6 * SEC,
                "files.other.example", True, 2, "fin")
    return cap, ["undeclared_destination"], [
        alert("undeclared_destination", "atm-ctrl-01", ATM, 40004, ELSEWHERE, 443)]


def gen_remote(start):
    rng = random.Random(202)
    cap = Capture("remote.pcap", LINKTYPE_ETHERNET)
    # 09:05, outside the window (mon 10:00-12:00): approved host with SSH
    ssh_session(Flow(cap, 6, MAINT, 51001, SRV, 22), rng, start + 5 * 60 * SEC, 6)
    # 10:30, inside: approved host with SSH (compliant), an unapproved host with SSH, and the
    # approved host with VNC (not an approved protocol)
    t = start + HOUR + 30 * 60 * SEC
    ssh_session(Flow(cap, 6, MAINT, 51002, SRV, 22), rng, t, 6)
    ssh_session(Flow(cap, 6, ROGUE, 51003, SRV, 22), rng, t + 10 * SEC, 6)
    vnc_session(Flow(cap, 6, MAINT, 51004, SRV, 5900), rng, t + 20 * SEC)
    kinds = ["remote_access_unapproved_host", "remote_access_outside_window",
             "remote_access_protocol"]
    return cap, kinds, [
        alert("remote_access_outside_window", "srv-02", MAINT, 51001, SRV, 22),
        alert("remote_access_unapproved_host", "srv-02", ROGUE, 51003, SRV, 22),
        alert("remote_access_protocol", "srv-02", MAINT, 51004, SRV, 5900)]


def gen_upload(start):
    """Limits in policy.yaml: 300000 bytes per flow, 500000 a day outside 10.0.0.0/8."""
    rng = random.Random(303)
    cap = Capture("upload.pcap", LINKTYPE_ETHERNET)
    # 20 s apart: each flow has ended (tcp_close_timeout 10 s) before the next starts
    t = start + 10 * SEC
    upload(Flow(cap, 6, ATM, 42001, VENDOR, 443), rng, t, "api.vendor-a.example", 400_000)
    upload(Flow(cap, 6, ATM, 42002, VENDOR, 443), rng, t + 20 * SEC, "api.vendor-a.example",
           60_000)
    # to a domestic peer: does not count towards the day
    upload(Flow(cap, 6, ATM, 42003, "10.40.0.80", 443), rng, t + 40 * SEC,
           "api.vendor-a.example", 250_000)
    # the day's total outside goes over 500000 with this one
    upload(Flow(cap, 6, ATM, 42004, VENDOR, 443), rng, t + 60 * SEC, "api.vendor-a.example",
           120_000)
    upload(Flow(cap, 6, ATM, 42005, VENDOR, 443), rng, t + 80 * SEC, "api.vendor-a.example",
           20_000)
    return cap, ["upload_volume"], [
        alert("upload_volume", "atm-ctrl-01", ATM, 42001, VENDOR, 443),  #: per flow
        alert("upload_volume", "atm-ctrl-01", ATM, 42004, VENDOR, 443)]  #: per day


def gen_unclassified(start):
    rng = random.Random(404)
    cap = Capture("unclassified.pcap", LINKTYPE_ETHERNET)
    t = start + 10 * SEC
    raw_tcp(Flow(cap, 6, ATM, 43001, "192.0.2.50", 40000), rng, t, 8)
    # unknown but declared (the vendor's network on 443 ... nDPI guesses TLS by port anyway),
    # and a handshake without payload
    raw_tcp(Flow(cap, 6, ATM, 43002, VENDOR, 443), rng, t + 2 * SEC, 8)
    f = Flow(cap, 6, ATM, 43003, "192.0.2.50", 40001)
    f.fin(f.handshake(t + 4 * SEC) + 1_000)
    # a host that is not equipment
    raw_tcp(Flow(cap, 6, OTHER_HOST, 43004, "192.0.2.50", 40000), rng, t + 6 * SEC, 8)
    return cap, ["unclassified_channel"], [
        alert("unclassified_channel", "atm-ctrl-01", ATM, 43001, "192.0.2.50", 40000)]


def gen_risky(start):
    rng = random.Random(505)
    cap = Capture("risky.pcap", LINKTYPE_ETHERNET)
    t = start + 10 * SEC
    # HTTP with a numeric Host: nDPI risk "HTTP Numeric IP Address"
    http_session(Flow(cap, 6, ATM, 44001, ELSEWHERE, 80), rng, t, ELSEWHERE, "/fw.bin", size=800)
    http_session(Flow(cap, 6, ATM, 44002, ELSEWHERE, 80), rng, t + 2 * SEC, "update.vendor-a.example",
                 "/fw.bin", size=800)
    http_session(Flow(cap, 6, OTHER_HOST, 44003, ELSEWHERE, 80), rng, t + 4 * SEC, ELSEWHERE,
                 "/fw.bin", size=800)
    return cap, ["risky_flow"], [alert("risky_flow", "atm-ctrl-01", ATM, 44001, ELSEWHERE, 80)]


def gen_reload(start):
    """Six seconds of steady traffic for the SIGHUP test (replayed at --replay-speed 1)."""
    rng = random.Random(606)
    cap = Capture("reload.pcap", LINKTYPE_ETHERNET)
    for i in range(60):
        t = start + i * 100_000
        dns_exchange(Flow(cap, 17, ATM, 45000 + i, RESOLVER, 53), t, 0x2000 + i,
                     "api.vendor-a.example", "A", VENDOR)
        tls_session(Flow(cap, 6, ATM, 46000 + i, ELSEWHERE if i % 3 == 0 else VENDOR, 443), rng,
                    t + 2_000, "files.other.example" if i % 3 == 0 else "api.vendor-a.example",
                    False, 2, "fin")
    return cap, [], []


def main():
    ap = argparse.ArgumentParser(description="Write the policy test captures and expected.json.")
    ap.add_argument("outdir")
    ap.add_argument("--start", default="2026-03-02T09:00:00Z")
    args = ap.parse_args()
    start = parse_start(args.start) * SEC
    os.makedirs(args.outdir, exist_ok=True)
    out = {}
    for gen in (gen_undeclared, gen_remote, gen_upload, gen_unclassified, gen_risky, gen_reload):
        cap, kinds, alerts = gen(start)
        cap.write(args.outdir)
        out[cap.name] = {"kinds": kinds, "alerts": alerts, "packets": len(cap.records)}
    with open(os.path.join(args.outdir, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/gen_policy_captures.py", "start": start // SEC,
                   "captures": out}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
