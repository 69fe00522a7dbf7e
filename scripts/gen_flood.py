#!/usr/bin/env python3
"""gen_flood.py OUT.pcap SAMPLE.pcap FLOWS - normal traffic under a flood.

Writes SAMPLE.pcap's packets (normal traffic) with FLOWS one-packet flows woven in over the
same time span: half a SYN flood (a new source address and port for every packet, all to
one web server), half a UDP scan (one scanner to a new destination port and host each time).
Deterministic; python3 stdlib only (scapy would take minutes for a million packets)."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inet_csum import csum  # noqa: E402


def ipv4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


ETH = bytes.fromhex("020000000001" "020000000002" "0800")


def syn(i):
    src = (198, 18 + (i >> 16 & 1), i >> 8 & 0xff, i & 0xff)
    tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i * 2654435761 & 0xffffffff, 0,
                      0x50, 0x02, 64240, 0, 0)
    return ETH + ipv4(src, (10, 40, 1, 80), 6, tcp)


def probe(i):
    dst = (10, 41, i >> 16 & 0xff, i >> 8 & 0xff)
    udp = struct.pack("!HHHH", 40000, 1 + i % 65535, 8 + 4, 0) + b"scan"
    return ETH + ipv4((203, 0, 113, 66), dst, 17, udp)


def main():
    out, sample, flows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(sample, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("gen_flood: expected a little-endian microsecond pcap")
    normal, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        normal.append((sec * 1000000 + usec, data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    t0, t1 = normal[0][0], normal[-1][0]
    step = max(1, (t1 - t0) // flows)
    with open(out, "wb") as w:
        w.write(data[:24])
        k = 0
        for i in range(flows):
            t = t0 + i * step
            while k < len(normal) and normal[k][0] <= t:
                ts, body, orig = normal[k]
                w.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(body), orig) + body)
                k += 1
            body = syn(i // 2) if i % 2 == 0 else probe(i // 2)
            w.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(body), len(body)) + body)
        for ts, body, orig in normal[k:]:
            w.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(body), orig) + body)


if __name__ == "__main__":
    main()
