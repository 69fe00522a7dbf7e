#!/usr/bin/python3
"""gen_geoip_captures.py - a capture of flows to and from networks in several countries, and
the GeoIP databases that place them (README "Countries and ASNs").

    /usr/bin/python3 scripts/gen_geoip_captures.py OUTDIR

Writes into OUTDIR:
  geoip.pcap     IPv4 and IPv6 flows, TCP and UDP, Ethernet: outbound from private
                 addresses to documentation networks standing for China, the United States,
                 Germany, Singapore (a network with only a registered country, as GeoLite2
                 has), inbound from one of them, between two of them, between two private
                 addresses, to a network whose database entry is not a country code ("cn"),
                 and link-local to multicast
  expected.json  {"country_db": [CIDR=CC ...], "asn_db": [CIDR=NUMBER[:ORG] ...] (the
                 arguments of scripts/make_geoip_db.pl), "flows": [{"src", "dst", "proto",
                 "dport", "src_country", "dst_country", "src_asn", "dst_asn"}]: what each
                 flow's records must carry with both databases}
The databases also place 10.0.0.0/8 and fd00::/8 in a country and an AS: private addresses
must have none whatever a database says. Deterministic: fixed addresses and timestamps.
"""
import json
import os
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6

START_US = 1_772_442_000 * 1_000_000  # 2026-03-02T09:00:00Z
GAP_US = 2000  # between two packets of the capture

COUNTRY_DB = [
    "198.51.100.0/24=CN", "203.0.113.0/24=US", "192.0.2.0/25=DE",
    "192.0.2.128/25=registered:SG", "198.18.0.0/24=cn", "10.0.0.0/8=JP",
    "2001:db8:86::/48=CN", "2001:db8:840::/48=US", "2001:db8:276::/48=DE", "fd00::/8=JP",
]
ASN_DB = [
    "198.51.100.0/24=4134:CHINANET", "203.0.113.0/24=15169:GOOGLE", "192.0.2.0/25=3320:DTAG",
    "198.18.0.0/24=64500", "10.0.0.0/8=64512", "2001:db8:86::/48=4134",
    "2001:db8:840::/48=15169", "2001:db8:276::/48=3320", "fd00::/8=64512",
]

# client, server, protocol, server port, and what the records must say of each end
FLOWS = [
    ("10.1.1.10", "198.51.100.7", "tcp", 443, "", "CN", 0, 4134),
    ("10.1.1.10", "203.0.113.9", "tcp", 80, "", "US", 0, 15169),
    ("10.1.1.11", "192.0.2.53", "udp", 53, "", "DE", 0, 3320),
    ("10.1.1.12", "10.2.2.2", "udp", 514, "", "", 0, 0),
    ("203.0.113.50", "10.1.1.20", "tcp", 22, "US", "", 15169, 0),
    ("198.51.100.20", "203.0.113.20", "udp", 4500, "CN", "US", 4134, 15169),
    ("10.1.1.13", "192.0.2.130", "tcp", 443, "", "SG", 0, 0),
    ("10.1.1.14", "198.18.0.1", "tcp", 80, "", "", 0, 64500),
    ("fd00::10", "2001:db8:86::1", "tcp", 443, "", "CN", 0, 4134),
    ("fd00::11", "2001:db8:840::2", "udp", 53, "", "US", 0, 15169),
    ("2001:db8:276::5", "2001:db8:86::9", "tcp", 80, "DE", "CN", 3320, 4134),
    ("fe80::1", "ff02::fb", "udp", 5353, "", "", 0, 0),
]


def tcp_exchange(mk, cport, sport, request, response):
    """Handshake, one request, one response, close: [(from_client, scapy L3)]."""
    c, s = 1000, 5000
    out = [(True, mk(True) / TCP(sport=cport, dport=sport, flags="S", seq=c)),
           (False, mk(False) / TCP(sport=sport, dport=cport, flags="SA", seq=s, ack=c + 1))]
    c += 1
    s += 1
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="A", seq=c, ack=s)))
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="PA", seq=c, ack=s) / request))
    c += len(request)
    out.append((False, mk(False) / TCP(sport=sport, dport=cport, flags="PA", seq=s, ack=c) / response))
    s += len(response)
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="FA", seq=c, ack=s)))
    out.append((False, mk(False) / TCP(sport=sport, dport=cport, flags="FA", seq=s, ack=c + 1)))
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="A", seq=c + 1, ack=s + 1)))
    return out


def udp_exchange(mk, cport, sport, n):
    out = []
    for i in range(n):
        out.append((True, mk(True) / UDP(sport=cport, dport=sport) / (b"request %d" % i)))
        out.append((False, mk(False) / UDP(sport=sport, dport=cport) / (b"reply %d" % i)))
    return out


def mk_l3(a, b):
    v6 = ":" in a

    def mk(fwd):
        src, dst = (a, b) if fwd else (b, a)
        return IPv6(src=src, dst=dst, hlim=64) if v6 else IP(src=src, dst=dst, ttl=64, id=1)
    return mk, v6


def frame(l3, fwd, v6):
    client, server = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
    src, dst = (client, server) if fwd else (server, client)
    return dst + src + struct.pack(">H", 0x86DD if v6 else 0x0800) + bytes(l3)


def build():
    """Frames in time order; flows interleave round robin."""
    lists = []
    for i, (a, b, proto, port, *_rest) in enumerate(FLOWS):
        mk, v6 = mk_l3(a, b)
        cport = 40000 + i
        pkts = (tcp_exchange(mk, cport, port, b"hello %d\r\n" % i, b"world %d\r\n" % i)
                if proto == "tcp" else udp_exchange(mk, cport, port, 2))
        lists.append([frame(l3, fwd, v6) for fwd, l3 in pkts])
    out = []
    while any(lists):
        for lst in lists:
            if lst:
                out.append(lst.pop(0))
    return out


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            t = START_US + i * GAP_US
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)))
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_geoip_captures.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write_pcap(os.path.join(out, "geoip.pcap"), build())
    flows = [{"src": a, "dst": b, "proto": p, "dport": port, "src_country": sc,
              "dst_country": dc, "src_asn": sa, "dst_asn": da}
             for a, b, p, port, sc, dc, sa, da in FLOWS]
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"country_db": COUNTRY_DB, "asn_db": ASN_DB, "flows": flows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
