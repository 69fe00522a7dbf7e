#!/usr/bin/env python3
"""gen_flood.py OUT.pcap SAMPLE.pcap FLOWS - normal traffic under a flood.

Writes SAMPLE.pcap's packets (normal traffic) with FLOWS one-packet flows woven in over the
same time span: half a SYN flood (a new source address and port for every packet, all to
one web server), half a UDP scan (one scanner to a new destination port and host each time).
SAMPLE.pcap: little-endian microsecond pcap (what gen_captures.py and make-corpus.sh write).
Deterministic; python3 stdlib only (scapy would take minutes for a million packets); streamed,
so memory stays small on a large sample (bench.sh's flow-heavy capture: bench-big.pcap, 781 MB,
with a million flows woven in, in about 8 s)."""
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


def records(f):
    """(ts_us, header, body) of each record of the pcap open at its first record."""
    while True:
        hdr = f.read(16)
        if len(hdr) < 16:
            return
        sec, usec, incl, _ = struct.unpack("<IIII", hdr)
        body = f.read(incl)
        if len(body) < incl:
            return  # a truncated last record: leave it out
        yield sec * 1000000 + usec, hdr, body


def main():
    out, sample, flows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # Streamed in two passes (the first reads record headers only), so that a capture of
    # hundreds of MB (bench.sh's flow-heavy capture) is not held in memory.
    with open(sample, "rb", buffering=1 << 20) as f:
        ghdr = f.read(24)
        if ghdr[:4] != b"\xd4\xc3\xb2\xa1" or len(ghdr) < 24:
            sys.exit("gen_flood: expected a little-endian microsecond pcap")
        t0 = t1 = None
        while True:
            hdr = f.read(16)
            if len(hdr) < 16:
                break
            sec, usec, incl, _ = struct.unpack("<IIII", hdr)
            t1 = sec * 1000000 + usec
            if t0 is None:
                t0 = t1
            f.seek(incl, 1)
        if t0 is None:
            sys.exit("gen_flood: the sample capture has no packets")
        step = max(1, (t1 - t0) // flows)
        f.seek(24)
        with open(out, "wb", buffering=1 << 20) as w:
            w.write(ghdr)
            i = 0

            def flood_until(limit):
                # flood packets due before limit (all of them if None), in time order
                nonlocal i
                while i < flows:
                    t = t0 + i * step
                    if limit is not None and t >= limit:
                        return
                    body = syn(i // 2) if i % 2 == 0 else probe(i // 2)
                    w.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(body), len(body)))
                    w.write(body)
                    i += 1

            # a flood packet goes after every normal packet of its time or earlier
            for ts, hdr, body in records(f):
                flood_until(ts)
                w.write(hdr)
                w.write(body)
            flood_until(None)


if __name__ == "__main__":
    main()
