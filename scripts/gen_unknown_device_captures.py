#!/usr/bin/python3
"""gen_unknown_device_captures.py - captures for the unknown_device rule, and what they must give.

    /usr/bin/python3 scripts/gen_unknown_device_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

For the policy the test writes (tests/integration/test_unknown_device.sh): monitored_networks
10.40.0.0/16 and 2001:db8:40::/48, equipment atm-01 10.40.1.11 and srv-02 10.40.2.0/24.

  unknown_device.pcap (Ethernet; packet times on two days, 24 h apart)
    day 1  10.40.9.7 (on the segment, in no equipment) opens TLS to 203.0.113.5:443: alert, with
           its MAC; later the same day a DNS query and an answer to an outside client: no second
           alert; 2001:db8:40::77 opens TLS: alert; 10.99.0.5 (outside the segments) and atm-01
           do the same: none; 203.0.113.9 sends SYNs to 10.40.9.9, which never answers: none
    day 2  10.40.9.7 opens TLS again: a second alert
  unknown_device_raw.pcap (raw IP: frames without a MAC)
           10.40.9.20 opens TLS: alert, without a MAC; its record's src_mac is ""

Every Ethernet frame's source MAC is gen_captures.mac_of(sender). Writes OUTDIR/expected.json:

    {"captures": {"FILE": {"alerts": [{"src_ip", "src_mac" ("" when none), "day" (epoch day),
                                       "first_flow" ("A:p -> B:p TCP")}],
                           "flows": [{"src_ip", "src_port", "dst_ip", "dst_port", "src_mac"}]}}}

Deterministic: fixed seeds and integer-microsecond timestamps (gen_captures.py's builders).
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_captures import (LINKTYPE_ETHERNET, LINKTYPE_RAW, SEC, Capture, Flow,  # noqa: E402
                          dns_exchange, mac_of, parse_start, tls_session)

DEVICE, DEVICE6, DEVICE_RAW = "10.40.9.7", "2001:db8:40::77", "10.40.9.20"
SILENT, OUTSIDE, ATM = "10.40.9.9", "10.99.0.5", "10.40.1.11"
WEB, WEB6, SCANNER, RESOLVER, PEER = ("203.0.113.5", "2001:db8:99::1", "203.0.113.9",
                                      "198.51.100.53", "198.51.100.20")
DAY = 86400 * SEC


def mac_text(ip):
    return ":".join("%02x" % b for b in mac_of(ip))


def first_flow(client, cport, server, sport):
    end = (lambda a, p: "[%s]:%d" % (a, p)) if ":" in client else (lambda a, p: "%s:%d" % (a, p))
    return "%s -> %s TCP" % (end(client, cport), end(server, sport))


def device_alert(ip, mac, t, flow):
    return {"src_ip": ip, "src_mac": mac, "day": t // DAY, "first_flow": flow}


def flows_of(cap, with_mac):
    return [{"src_ip": f.client, "src_port": f.cport, "dst_ip": f.server, "dst_port": f.sport,
             "src_mac": mac_text(f.client) if with_mac else ""}
            for f in cap.flows if f.first is not None]


def gen_ethernet(start):
    rng = random.Random(1609)
    cap = Capture("unknown_device.pcap", LINKTYPE_ETHERNET)
    alerts = []
    t = start + 60 * SEC
    tls_session(Flow(cap, 6, DEVICE, 51000, WEB, 443), rng, t, "www.example.com", False, 2, "fin")
    alerts.append(device_alert(DEVICE, mac_text(DEVICE), t, first_flow(DEVICE, 51000, WEB, 443)))
    # the same device again that day: as a client and as a server that answers
    dns_exchange(Flow(cap, 17, DEVICE, 51001, RESOLVER, 53), t + 3600 * SEC, 0x4242,
                 "www.example.com", "A", WEB)
    tls_session(Flow(cap, 6, PEER, 52000, DEVICE, 8443), rng, t + 2 * 3600 * SEC,
                "device.example", False, 1, "fin")
    tls_session(Flow(cap, 6, DEVICE6, 51002, WEB6, 443), rng, t + 10 * SEC, "www.example.com",
                False, 2, "fin")
    alerts.append(device_alert(DEVICE6, mac_text(DEVICE6), t + 10 * SEC,
                               first_flow(DEVICE6, 51002, WEB6, 443)))
    # not unknown devices: outside the segments, equipment, a silent address
    tls_session(Flow(cap, 6, OUTSIDE, 51003, WEB, 443), rng, t + 20 * SEC, "www.example.com",
                False, 2, "fin")
    tls_session(Flow(cap, 6, ATM, 51004, WEB, 443), rng, t + 30 * SEC, "www.example.com",
                False, 2, "fin")
    probe = Flow(cap, 6, SCANNER, 40000, SILENT, 22)
    for i in range(3):
        probe.tcp(t + 40 * SEC + i * SEC, True, "S")
    # the next day
    t2 = t + DAY
    tls_session(Flow(cap, 6, DEVICE, 51005, WEB, 443), rng, t2, "www.example.com", False, 2,
                "fin")
    alerts.append(device_alert(DEVICE, mac_text(DEVICE), t2, first_flow(DEVICE, 51005, WEB, 443)))
    return cap, alerts, flows_of(cap, True)


def gen_raw(start):
    rng = random.Random(1610)
    cap = Capture("unknown_device_raw.pcap", LINKTYPE_RAW)
    t = start + 90 * SEC
    tls_session(Flow(cap, 6, DEVICE_RAW, 51010, WEB, 443), rng, t, "www.example.com", False, 2,
                "fin")
    return cap, [device_alert(DEVICE_RAW, "", t, first_flow(DEVICE_RAW, 51010, WEB, 443))], \
        flows_of(cap, False)


def main():
    ap = argparse.ArgumentParser(description="Write the unknown_device captures and expected.json.")
    ap.add_argument("outdir")
    ap.add_argument("--start", default="2026-03-02T09:00:00Z")
    args = ap.parse_args()
    start = parse_start(args.start) * SEC
    os.makedirs(args.outdir, exist_ok=True)
    out = {}
    for gen in (gen_ethernet, gen_raw):
        cap, alerts, flows = gen(start)
        cap.write(args.outdir)
        out[cap.name] = {"alerts": alerts, "flows": flows, "packets": len(cap.records)}
    with open(os.path.join(args.outdir, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/gen_unknown_device_captures.py", "start": start // SEC,
                   "captures": out}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
