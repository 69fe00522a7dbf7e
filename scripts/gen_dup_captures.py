#!/usr/bin/python3
"""gen_dup_captures.py - captures of a SPAN session that copies every packet twice.

    /usr/bin/python3 scripts/gen_dup_captures.py OUTDIR

Writes into OUTDIR:
  base.pcap   the traffic as one observation point saw it: IPv4 and IPv6, TCP and UDP flows,
              untagged and VLAN-tagged, and one TCP segment retransmitted 50 ms later (a
              real retransmission: never a duplicate)
  dup.pcap    base.pcap with a copy of every packet 20 us after it, as a second mirrored
              port delivers it: other MAC addresses, another VLAN tag (a tag where the
              original had none), TTL or hop limit one less, so another IPv4 checksum
  late.pcap   the same copies 150 us after their packet: outside a 100 us window
  expected.json  {"originals": packets of base.pcap, "copies": copies in dup.pcap,
                  "copy_delay_us": 20, "late_delay_us": 150}
Deterministic: fixed addresses, payloads and timestamps (integer microseconds).
"""
import json
import os
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6

START_US = 1_772_442_000 * 1_000_000  # 2026-03-02T09:00:00Z
GAP_US = 1000         # between the packets of base.pcap
COPY_US = 20          # a copy's delay in dup.pcap
LATE_US = 150         # in late.pcap


def frame(l3, src_mac, dst_mac, vlan, v6):
    tag = struct.pack(">HH", 0x8100, vlan) if vlan else b""
    return dst_mac + src_mac + tag + struct.pack(">H", 0x86DD if v6 else 0x0800) + l3


def tcp_exchange(mk, cport, sport, isn_c, isn_s, request, response):
    """Handshake, one request, a response in 3 segments, close: [(from_client, scapy L3)]."""
    c, s = isn_c, isn_s
    out = [(True, mk(True) / TCP(sport=cport, dport=sport, flags="S", seq=c)),
           (False, mk(False) / TCP(sport=sport, dport=cport, flags="SA", seq=s, ack=c + 1))]
    c += 1
    s += 1
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="A", seq=c, ack=s)))
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="PA", seq=c, ack=s) / request))
    c += len(request)
    for i in range(3):
        part = response[i * len(response) // 3:(i + 1) * len(response) // 3]
        out.append((False, mk(False) / TCP(sport=sport, dport=cport, flags="A", seq=s, ack=c) / part))
        s += len(part)
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="A", seq=c, ack=s)))
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="FA", seq=c, ack=s)))
    out.append((False, mk(False) / TCP(sport=sport, dport=cport, flags="FA", seq=s, ack=c + 1)))
    out.append((True, mk(True) / TCP(sport=cport, dport=sport, flags="A", seq=c + 1, ack=s + 1)))
    return out


def udp_exchange(mk, cport, sport, n):
    out = []
    for i in range(n):
        out.append((True, mk(True) / UDP(sport=cport, dport=sport) / (b"query %d " % i + b"q" * i)))
        out.append((False, mk(False) / UDP(sport=sport, dport=cport) / (b"answer %d " % i + b"a" * i)))
    return out


def ip4(a, b, ident):
    state = {"id": ident}

    def mk(fwd):
        state["id"] += 1
        return IP(src=a if fwd else b, dst=b if fwd else a, ttl=64, id=state["id"])
    return mk


def ip6(a, b, label):
    def mk(fwd):
        return IPv6(src=a if fwd else b, dst=b if fwd else a, hlim=64, fl=label)
    return mk


def flows():
    """[(packets, vlan, v6)]: each flow's packets in order."""
    http_req = b"GET /index.html HTTP/1.1\r\nHost: dup.example.com\r\n\r\n"
    http_resp = b"HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n" + bytes(range(200)) * 3
    return [
        (tcp_exchange(ip4("10.1.1.10", "10.2.2.20", 100), 40001, 80, 1000, 5000, http_req,
                      http_resp), 0, False),
        (udp_exchange(ip4("10.1.1.11", "10.2.2.53", 900), 50001, 53, 4), 10, False),
        (tcp_exchange(ip6("2001:db8::10", "2001:db8:1::20", 0x12345), 40002, 80, 7000, 9000,
                      http_req, http_resp), 10, True),
        (udp_exchange(ip6("2001:db8::11", "2001:db8:1::53", 0xabcde), 50002, 5353, 4), 0, True),
    ]


def mac(n):
    return bytes([0x02, 0, 0, 0, n >> 8, n & 0xFF])


def build():
    """[(t_us, original frame, copy frame)] in time order; flows interleave round robin."""
    lists = [[(p, vlan, v6) for p in pkts] for pkts, vlan, v6 in flows()]
    seq = []
    while any(lists):
        for lst in lists:
            if lst:
                seq.append(lst.pop(0))
    # a retransmission of the first flow's request, identical, 50 ms after the rest
    seq.append((flows()[0][0][3], 0, False))
    out = []
    t = START_US
    for i, ((fwd, pkt), vlan, v6) in enumerate(seq):
        if i == len(seq) - 1:
            t += 50_000
        a, b = (mac(1), mac(2)) if fwd else (mac(2), mac(1))
        orig = frame(bytes(pkt), a, b, vlan, v6)
        cp = pkt.copy()
        if v6:
            cp[IPv6].hlim -= 1
        else:
            cp[IP].ttl -= 1
            del cp[IP].chksum
        copy_bytes = bytes(cp)
        assert copy_bytes != bytes(pkt)
        # the second port: other MACs (a router's), another VLAN
        copy = frame(copy_bytes, mac(0x100 + (1 if fwd else 2)), mac(0x200 + (2 if fwd else 1)),
                     30 if vlan != 30 else 31, v6)
        out.append((t, orig, copy))
        t += GAP_US
    return out


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, data in packets:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)))
            f.write(data)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pkts = build()
    write_pcap(os.path.join(out, "base.pcap"), [(t, o) for t, o, _ in pkts])
    for name, delay in (("dup.pcap", COPY_US), ("late.pcap", LATE_US)):
        both = []
        for t, o, c in pkts:
            both += [(t, o), (t + delay, c)]
        write_pcap(os.path.join(out, name), both)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"originals": len(pkts), "copies": len(pkts), "copy_delay_us": COPY_US,
                   "late_delay_us": LATE_US}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
