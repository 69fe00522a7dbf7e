#!/usr/bin/python3
"""gen_cross_border_captures.py - captures for the cross_border test, the GeoIP networks they
need, and the alerts they must raise.

    /usr/bin/python3 scripts/gen_cross_border_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

For tests/integration/test_cross_border.sh, whose policy has atm-01 (10.40.1.11: allowed
CN and HK, first_contact, first_contact_days 10) and swift-gw (10.40.2.5: allowed CN and BE,
no first contact). Two captures, replayed one after the other into the same Redis with a
restart in between, their packet times spread over days (D = the start's day):

  run1.pcap  D     atm-01 -> CN        first contact (allowed)           alert
             D     atm-01 -> DE        not allowed and a first contact   one alert, both said
             D     swift-gw -> BE      allowed, no first contact         nothing
             D     swift-gw -> DE      not allowed                       alert
             D     atm-01 -> 10.40.9.9 no country (private)              nothing
             D     atm-01 -> HK        handshake only, no payload        nothing
             D+3   atm-01 -> CN        inside the 10 days                nothing
  run2.pcap  D+5   atm-01 -> CN        inside (known from run 1: Redis)  nothing
             D+5   atm-01 -> HK        first contact                     alert
             D+16  atm-01 -> CN        11 days after D+5: first contact  alert

Writes OUTDIR/run1.pcap, run2.pcap and OUTDIR/expected.json:

    {"networks": {"country": ["CIDR=CC", ...], "asn": ["CIDR=NUMBER:ORG", ...]},
     "captures": {"FILE": {"alerts": [{"equipment", "src_ip", "dst_ip", "dst_port",
                                       "country", "not_allowed": bool,
                                       "first_contact": [what...]}]}}}

Deterministic (fixed seeds, integer-microsecond times), like scripts/gen_policy_captures.py,
whose packet builders it reuses.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (LINKTYPE_ETHERNET, SEC, Capture, Flow, client_hello,  # noqa: E402
                          parse_start, tls_record)

ATM, SWIFT, LAN = "10.40.1.11", "10.40.2.5", "10.40.9.9"
DAY = 86400 * SEC
# (network, country, asn, org): addresses from public ranges (a GeoIP writer may drop the
# documentation ranges as reserved); nothing is ever sent to them
NETWORKS = [
    ("36.110.0.0/16", "CN", 4134, "Chinanet"),
    ("43.252.0.0/16", "HK", 4760, "HKT"),
    ("80.150.0.0/16", "DE", 3320, "Deutsche Telekom"),
    ("81.240.0.0/16", "BE", 5432, "Proximus"),
]
CN1, CN2, CN3, CN4 = "36.110.1.1", "36.110.2.2", "36.110.3.3", "36.110.4.4"
HK1, DE1, DE2, BE1 = "43.252.1.1", "80.150.1.1", "80.150.2.2", "81.240.1.1"


def upload(flow, rng, t, nbytes):
    """A TLS session whose client sends nbytes of application data (PSH: payload)."""
    t = flow.handshake(t)
    t = flow.data(t + 200, True, client_hello(rng, "files.example.net", False))
    t = flow.data(t + 20_000, False, tls_record(22, b"\x02\x00\x00\x00") + tls_record(20, b"\x01"))
    t = flow.data(t + 1_000, True, tls_record(23, rng.randbytes(nbytes)))
    t = flow.data(t + 5_000, False, tls_record(23, rng.randbytes(40)))
    return flow.fin(t + 10_000)


def handshake_only(flow, t):
    t = flow.handshake(t)
    return flow.fin(t + 10_000)


def expect(src, equipment, dst, country, not_allowed, first):
    return {"equipment": equipment, "src_ip": src, "dst_ip": dst, "dst_port": 443,
            "country": country, "not_allowed": not_allowed, "first_contact": first}


def gen_run1(start):
    rng = random.Random(801)
    cap = Capture("run1.pcap", LINKTYPE_ETHERNET)
    t = start + 10 * SEC
    upload(Flow(cap, 6, ATM, 41001, CN1, 443), rng, t, 3000)
    upload(Flow(cap, 6, ATM, 41002, DE1, 443), rng, t + 10 * SEC, 5000)
    upload(Flow(cap, 6, SWIFT, 41003, BE1, 443), rng, t + 20 * SEC, 7000)
    upload(Flow(cap, 6, SWIFT, 41004, DE2, 443), rng, t + 30 * SEC, 2000)
    upload(Flow(cap, 6, ATM, 41005, LAN, 443), rng, t + 40 * SEC, 1000)
    handshake_only(Flow(cap, 6, ATM, 41006, HK1, 443), t + 50 * SEC)
    upload(Flow(cap, 6, ATM, 41007, CN2, 443), rng, t + 3 * DAY, 4000)
    alerts = [expect(ATM, "atm-01", CN1, "CN", False, ["CN", "AS4134"]),
              expect(ATM, "atm-01", DE1, "DE", True, ["DE", "AS3320"]),
              expect(SWIFT, "swift-gw", DE2, "DE", True, [])]
    return cap, alerts


def gen_run2(start):
    rng = random.Random(802)
    cap = Capture("run2.pcap", LINKTYPE_ETHERNET)
    t = start + 5 * DAY
    upload(Flow(cap, 6, ATM, 42001, CN3, 443), rng, t, 3500)
    upload(Flow(cap, 6, ATM, 42002, HK1, 443), rng, t + 10 * SEC, 2500)
    upload(Flow(cap, 6, ATM, 42003, CN4, 443), rng, t + 11 * DAY, 1500)
    alerts = [expect(ATM, "atm-01", HK1, "HK", False, ["HK", "AS4760"]),
              expect(ATM, "atm-01", CN4, "CN", False, ["CN", "AS4134"])]
    return cap, alerts


def main():
    ap = argparse.ArgumentParser(description="Write the cross_border captures and expected.json.")
    ap.add_argument("outdir")
    ap.add_argument("--start", default="2026-03-02T09:00:00Z")
    args = ap.parse_args()
    start = parse_start(args.start) * SEC
    os.makedirs(args.outdir, exist_ok=True)
    out = {}
    for gen in (gen_run1, gen_run2):
        cap, alerts = gen(start)
        cap.write(args.outdir)
        out[cap.name] = {"alerts": alerts, "packets": len(cap.records)}
    nets = {"country": [f"{n}={cc}" for n, cc, _, _ in NETWORKS],
            "asn": [f"{n}={asn}:{org}" for n, _, asn, org in NETWORKS]}
    with open(os.path.join(args.outdir, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/gen_cross_border_captures.py", "start": start // SEC,
                   "networks": nets, "captures": out}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
