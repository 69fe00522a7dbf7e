#!/usr/bin/env python3
"""gen_frag_captures.py - captures for IP reassembly (tests/integration/test_fragments.sh).

    gen_frag_captures.py OUTDIR

Writes, in OUTDIR:
  whole.pcap  flows whose packets are all whole (Ethernet);
  frag.pcap   the same packets, some of them as IP fragments (scapy fragment()/fragment6()):
              a DNS response in two IPv4 fragments (in order), an HTTP GET in four IPv4
              fragments sent last first (Host frag.example.com), a UDP upload of 6000-byte
              datagrams in five fragments each interleaved with a ping, an IPv6 DNS response
              in two fragments (reversed), an IPv6 HTTP GET in four fragments (in order).
              A datagram's fragments end at the time the whole packet has in whole.pcap, so
              the flows see their packets in the same order. Every flow has its own address
              pair, so a flow's bytes can be summed from the frames by address;
  hostile_*.pcap and hostile.json: hostile fragment cases, each with the counters its run
              must end with (and the configuration it runs with).
"""
import json
import os
import struct
import sys

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether

SEC = 1_000_000
START = 1_772_442_000 * SEC  # 2026-03-02T09:00:00Z


def mac_of(ip):
    h = sum(ip.encode()) * 2654435761 & 0xFFFFFFFF
    return "02:00:%02x:%02x:%02x:%02x" % tuple(struct.pack(">I", h))


def eth(pkt):
    src, dst = pkt.src, pkt.dst
    return bytes(Ether(src=mac_of(src), dst=mac_of(dst)) / pkt)


def write_pcap(path, records):
    """records: (t_us, frame); written in time order (stable for equal times)."""
    records = sorted(records, key=lambda r: r[0])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t, frame in records:
            f.write(struct.pack("<IIII", t // SEC, t % SEC, len(frame), len(frame)) + frame)


class Pair:
    """The same traffic twice: whole, and with some datagrams sent as fragments."""

    def __init__(self):
        self.whole, self.frag = [], []

    def put(self, t, pkt, frags=None, order="in", gap=20):
        """pkt at time t in whole.pcap; in frag.pcap either pkt, or its fragments ending at
        t ("in" order, or "reversed"), gap microseconds apart."""
        self.whole.append((t, eth(pkt)))
        if frags is None:
            self.frag.append((t, eth(pkt)))
            return
        frags = list(frags)
        if order == "reversed":
            frags.reverse()
        for i, fr in enumerate(frags):
            self.frag.append((t - (len(frags) - 1 - i) * gap, eth(fr)))


def dns_answer(qid, name, n):
    an = None
    for i in range(n):
        rr = DNSRR(rrname=name, type="A", ttl=300, rdata="192.0.2.%d" % (i + 1))
        an = rr if an is None else an / rr
    return DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=an)


class Tcp:
    def __init__(self, pair, ip, cport, sport):
        self.pair, self.ip, self.cport, self.sport = pair, ip, cport, sport
        self.cseq, self.sseq = 1000, 5000

    def seg(self, from_client, flags, data=b""):
        if from_client:
            s = TCP(sport=self.cport, dport=self.sport, flags=flags, seq=self.cseq,
                    ack=self.sseq if "A" in flags else 0, window=64240)
        else:
            s = TCP(sport=self.sport, dport=self.cport, flags=flags, seq=self.sseq,
                    ack=self.cseq if "A" in flags else 0, window=65160)
        n = len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        if from_client:
            self.cseq += n
        else:
            self.sseq += n
        return self.ip(from_client) / (s / data if data else s)


def v4(client, server, ident):
    ids = [ident]

    def ip(from_client):
        ids[0] += 1
        src, dst = (client, server) if from_client else (server, client)
        return IP(src=src, dst=dst, ttl=64, id=ids[0])
    return ip


def v6(client, server):
    def ip(from_client):
        src, dst = (client, server) if from_client else (server, client)
        return IPv6(src=src, dst=dst, hlim=64)
    return ip


def frag6_of(pkt, pieces, ident):
    """pkt (IPv6 / L4 / payload) as `pieces` fragments of about equal size."""
    l4 = bytes(pkt.payload)
    size = ((len(l4) + pieces - 1) // pieces + 7) // 8 * 8
    whole = IPv6(src=pkt.src, dst=pkt.dst, hlim=64) / IPv6ExtHdrFragment(id=ident) / pkt.payload
    frags = fragment6(whole, 40 + 8 + size)
    assert len(frags) == pieces, (len(frags), pieces)
    return frags


def frag4_of(pkt, pieces):
    l4 = len(bytes(pkt.payload))
    size = ((l4 + pieces - 1) // pieces + 7) // 8 * 8
    frags = fragment(pkt, fragsize=size)
    assert len(frags) == pieces, (len(frags), pieces)
    return frags


GET = ("GET /download/report.pdf HTTP/1.1\r\nHost: frag.example.com\r\n"
       "User-Agent: Mozilla/5.0\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n").encode()
RESP = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
        "Server: nginx\r\n\r\nhello").encode()


def http(pair, ip, cport, t, pieces, order, frags_of):
    c = Tcp(pair, ip, cport, 80)
    pair.put(t, c.seg(True, "S"))
    pair.put(t + 20_000, c.seg(False, "SA"))
    pair.put(t + 20_100, c.seg(True, "A"))
    get = c.seg(True, "PA", GET)
    pair.put(t + 20_400, get, frags_of(get, pieces), order)
    pair.put(t + 50_000, c.seg(False, "PA", RESP))
    pair.put(t + 50_300, c.seg(True, "A"))
    pair.put(t + 90_000, c.seg(True, "FA"))
    pair.put(t + 110_000, c.seg(False, "FA"))
    pair.put(t + 110_100, c.seg(True, "A"))


def gen_pair(outdir):
    p = Pair()
    t = START
    # A: DNS over IPv4, the response in two fragments, in order
    ip = v4("10.9.1.10", "10.9.1.53", 100)
    p.put(t, ip(True) / UDP(sport=53000, dport=53) / DNS(id=0x1111, rd=1, qd=DNSQR(qname="files.frag.example.com")))
    resp = ip(False) / UDP(sport=53, dport=53000) / dns_answer(0x1111, "files.frag.example.com", 24)
    p.put(t + 1_800, resp, frag4_of(resp, 2), "in")
    # B: HTTP over IPv4, the GET in four fragments, last first
    http(p, v4("10.9.2.10", "10.9.2.80", 200), 41000, t + SEC, 4, "reversed",
         lambda pkt, n: frag4_of(pkt, n))
    # C: a UDP upload, 6000-byte datagrams in five fragments each, interleaved with D's ping
    ip = v4("10.9.3.10", "10.9.3.20", 300)
    pip = v4("10.9.4.10", "10.9.4.1", 400)
    for i in range(5):
        tt = t + 2 * SEC + i * 10_000
        up = ip(True) / UDP(sport=45000, dport=9000) / bytes([(i * 7 + k) & 0xFF for k in range(6000)])
        p.put(tt, up, frag4_of(up, 5), "in", gap=1_000)
        p.put(tt - 2_500, pip(True) / ICMP(type=8, id=9, seq=i) / bytes(range(56)))
        p.put(tt - 1_500, pip(False) / ICMP(type=0, id=9, seq=i) / bytes(range(56)))
    p.put(t + 2 * SEC + 60_000, ip(False) / UDP(sport=9000, dport=45000) / b"ok")
    # E: DNS over IPv6, the response in two fragments, reversed
    ip = v6("2001:db8:9:5::10", "2001:db8:9:5::53")
    p.put(t + 3 * SEC, ip(True) / UDP(sport=53001, dport=53) / DNS(id=0x2222, rd=1, qd=DNSQR(qname="v6.frag.example.com")))
    resp = ip(False) / UDP(sport=53, dport=53001) / dns_answer(0x2222, "v6.frag.example.com", 24)
    p.put(t + 3 * SEC + 1_800, resp, frag6_of(resp, 2, 0x5001), "reversed")
    # F: HTTP over IPv6, the GET in four fragments, in order
    ids = [0x6000]

    def f6(pkt, n):
        ids[0] += 1
        return frag6_of(pkt, n, ids[0])
    http(p, v6("2001:db8:9:6::10", "2001:db8:9:6::80"), 42000, t + 4 * SEC, 4, "in", f6)
    write_pcap(os.path.join(outdir, "whole.pcap"), p.whole)
    write_pcap(os.path.join(outdir, "frag.pcap"), p.frag)


def gen_hostile(outdir):
    cases = {}
    t0 = START

    def case(name, frames, counters, config=None, why=""):
        write_pcap(os.path.join(outdir, name), frames)
        cases[name] = {"counters": counters, "config": config or {}, "why": why,
                       "packets": len(frames)}

    def ip4(ident, off, data, more, src="10.8.0.1", dst="10.8.0.2", proto=17):
        return eth(IP(src=src, dst=dst, id=ident, proto=proto, frag=off // 8,
                      flags="MF" if more else 0) / data)

    def ip6(ident, off, data, more, nh=17):
        return eth(IPv6(src="2001:db8:8::1", dst="2001:db8:8::2") /
                   IPv6ExtHdrFragment(nh=nh, id=ident, offset=off // 8, m=1 if more else 0) / data)

    udp = bytes(UDP(sport=5000, dport=5001, len=8 + 64)) + b"x" * 64
    # teardrop: a last fragment inside the first (and the classic 36 + 4 at offset 24)
    case("hostile_teardrop.pcap",
         [(t0, ip4(1, 0, udp[:40], True)), (t0 + 1, ip4(1, 8, b"y" * 4, False)),
          (t0 + 2, ip4(2, 0, udp[:36], True)), (t0 + 3, ip4(2, 24, b"z" * 4, False))],
         {"drop_frag_inconsistent": 4}, why="overlapping offsets ending inside held bytes")
    # tiny first fragment: 8 bytes of TCP header, the rest in the second: reassembled
    tcp = bytes(TCP(sport=40000, dport=80, flags="S", seq=1))
    case("hostile_tiny_first.pcap",
         [(t0, ip4(3, 0, tcp[:8], True, proto=6)), (t0 + 1, ip4(3, 8, tcp[8:], False, proto=6))],
         {"reassembled": 1, "fragments_merged": 1}, why="first fragment shorter than TCP")
    # overlaps with different bytes: first wins, counted
    case("hostile_overlap.pcap",
         [(t0, ip4(4, 0, udp[:48], True)), (t0 + 1, ip4(4, 32, b"Q" * 16, True)),
          (t0 + 2, ip4(4, 48, udp[48:], False))],
         {"reassembled": 1, "fragments_merged": 2, "overlaps": 1, "overlaps_differ": 1},
         why="a fragment rewriting held bytes")
    # 40 fragments of one datagram: reassembled (a 64 KiB datagram is 45 over Ethernet)
    big = bytes(UDP(sport=5000, dport=5001, len=8 + 312)) + b"b" * 312
    case("hostile_forty.pcap",
         [(t0 + i, ip4(5, i * 8, big[i * 8:i * 8 + 8], i < 39)) for i in range(40)],
         {"reassembled": 1, "fragments_merged": 39}, why="40 fragments of one datagram")
    # more fragments than reassembly.fragments (64): all of them dropped by name
    case("hostile_too_many.pcap",
         [(t0 + i, ip4(6, i * 8, b"m" * 8, i < 99)) for i in range(100)],
         {"drop_frag_too_many": 100}, why="100 fragments of one datagram")
    # beyond 65535: a fragment at offset 65512 with 64 bytes, IPv4 and IPv6
    case("hostile_beyond_65535.pcap",
         [(t0, ip4(7, 0, udp[:16], True)), (t0 + 1, ip4(7, 65512, b"L" * 64, False)),
          (t0 + 2, ip6(8, 0, udp[:16], True)), (t0 + 3, ip6(8, 65520, b"L" * 64, False))],
         {"drop_frag_too_large": 4}, why="datagrams that would pass 65535 bytes")
    # ten times the table (reassembly.datagrams 16) in first fragments that never end: the
    # table fills, the rest is refused, the held ones time out; a DNS exchange later is fine
    frames = [(t0 + i * 1000, ip4(1000 + i, 0, udp[:16], True, src="10.8.%d.1" % (i % 200)))
              for i in range(160)]
    q = IP(src="10.8.250.1", dst="10.8.250.53") / UDP(sport=5353, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname="after.frag.example.com"))
    frames.append((t0 + 5 * SEC, eth(q)))
    case("hostile_flood.pcap", frames,
         {"drop_frag_table_full": 144, "drop_frag_timeout": 16},
         {"reassembly": {"datagrams": 16, "timeout": "1s"}},
         why="10x the table in never-completed fragments")
    # duplicates: each fragment three times; the copies after completion begin a datagram
    # that never ends
    case("hostile_duplicates.pcap",
         [(t0 + i, ip4(9, 0, udp[:40], True)) for i in range(3)] +
         [(t0 + 3 + i, ip4(9, 40, udp[40:], False)) for i in range(3)],
         {"reassembled": 1, "fragments_merged": 3, "overlaps": 3, "overlaps_differ": 0,
          "drop_frag_unfinished": 2}, why="three copies of each fragment")
    with open(os.path.join(outdir, "hostile.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_frag_captures.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    gen_pair(sys.argv[1])
    gen_hostile(sys.argv[1])


if __name__ == "__main__":
    main()
