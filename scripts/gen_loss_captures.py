#!/usr/bin/python3
"""gen_loss_captures.py - TCP captures with known loss upstream of the sensor.

    /usr/bin/python3 scripts/gen_loss_captures.py OUTDIR

Writes into OUTDIR:
  clean.pcap  flows without upstream loss:
              - a download: handshake, a 100-byte request, 40 segments of 1000 bytes from a
                server whose sequence numbers wrap past 2^32, an ACK every 2 segments, close;
              - a download whose segment 4 was lost before the mirror: the client repeats its
                ACK, the server retransmits, the capture has every byte (no upstream loss);
              - a flow joined mid-stream (no handshake), data both ways, every byte seen;
              - a SYN nobody answered (not a one-way flow: the other side never spoke)
  loss.pcap   clean.pcap with 5 of the download's segments cut out while the client's ACKs
              of them remain (segments 5, 12, 22, 23, 39: 5000 bytes), plus 3 flows seen in
              one direction only (the client's ACKs of a download whose data never arrived)
  expected.json  per capture: tcp_gap_bytes, tcp_acked_bytes, tcp_flows_one_way,
                 tcp_flows_ended
Deterministic: fixed addresses, payloads and timestamps (integer microseconds).
"""
import json
import os
import struct
import sys

from scapy.layers.inet import IP, TCP

START_US = 1_772_442_000 * 1_000_000  # 2026-03-02T09:00:00Z
SEG = 1000
CUT = (5, 12, 22, 23, 39)  # 12: a hole with segment 13 seen before the ACK
M32 = 1 << 32


class Flow:
    def __init__(self, c, s, cport, sport, isn_c, isn_s):
        self.c, self.s, self.cport, self.sport = c, s, cport, sport
        self.cseq, self.sseq = isn_c, isn_s
        self.pkts = []  # (tag, from_client, scapy packet)

    def send(self, from_client, flags, data=b"", tag=None, advance=True):
        if from_client:
            p = IP(src=self.c, dst=self.s) / TCP(sport=self.cport, dport=self.sport, flags=flags,
                                                 seq=self.cseq, ack=self.sseq if "A" in flags else 0)
        else:
            p = IP(src=self.s, dst=self.c) / TCP(sport=self.sport, dport=self.cport, flags=flags,
                                                 seq=self.sseq, ack=self.cseq if "A" in flags else 0)
        if data:
            p = p / data
        n = len(data) + ("S" in flags) + ("F" in flags)
        if advance:
            if from_client:
                self.cseq = (self.cseq + n) % M32
            else:
                self.sseq = (self.sseq + n) % M32
        self.pkts.append((tag, from_client, p))
        return p

    def handshake(self):
        self.send(True, "S")
        self.send(False, "SA")
        self.send(True, "A")

    def close(self):
        self.send(True, "FA")
        self.send(False, "FA")
        self.send(True, "A")


def payload(i, n=SEG):
    return bytes((i * 7 + k) & 0xFF for k in range(n))


def download(cport, isn_s, nseg, lost_before_mirror=None):
    f = Flow("10.0.0.1", "10.0.0.2", cport, 80, 100000, isn_s)
    f.handshake()
    f.send(True, "PA", b"G" * 100)
    i = 0
    while i < nseg:
        if i == lost_before_mirror:
            # the segment dies before the mirror: the next ones arrive, the client repeats
            # its ACK, the server sends it again and the client acknowledges everything
            start = f.sseq
            f.sseq = (f.sseq + SEG) % M32
            f.send(False, "A", payload(i + 1), "seg")
            f.send(False, "A", payload(i + 2), "seg")
            saved = f.sseq
            f.sseq = start
            f.send(True, "A", advance=False)
            f.send(True, "A", advance=False)
            f.send(False, "A", payload(i), "seg")
            f.sseq = saved
            f.send(True, "A")
            i += 3
            continue
        f.send(False, "A", payload(i), ("seg", i))
        if i % 2 == 1:
            f.send(True, "A")
        i += 1
    f.send(True, "A")
    f.close()
    return f


def mid_stream():
    f = Flow("10.0.0.5", "10.0.0.6", 41000, 8080, 3_000_000_000, 17)
    for i in range(6):
        f.send(True, "PA", payload(i, 300))
        f.send(False, "PA", payload(i, 500))
    f.send(True, "A")
    return f


def unanswered_syn():
    f = Flow("10.0.0.7", "10.0.0.8", 42000, 443, 5, 0)
    f.send(True, "S")
    return f


def one_way(k):
    """What the sensor sees of a download whose server side never reached it: the client's
    handshake ACK and its ACKs of 4 data segments."""
    f = Flow("10.0.1.%d" % (10 + k), "10.0.2.%d" % (10 + k), 43000 + k, 80, 777, 2_000_000 + k)
    f.sseq += 1
    f.send(True, "A")
    f.send(True, "PA", b"GET / HTTP/1.1\r\n\r\n")
    for i in range(4):
        f.sseq += SEG
        f.send(True, "A")
    return f


def write_pcap(path, flows):
    """Interleaves the flows packet by packet, 200 us apart."""
    lists = [list(f.pkts) for f in flows]
    t = START_US
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while any(lists):
            for lst in lists:
                if not lst:
                    continue
                _, fwd, p = lst.pop(0)
                a, b = (b"\x02\0\0\0\0\x01", b"\x02\0\0\0\0\x02")
                data = (b + a if fwd else a + b) + b"\x08\x00" + bytes(p)
                out.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)))
                out.write(data)
                t += 200


def main():
    if len(sys.argv) != 2:
        print("usage: gen_loss_captures.py OUTDIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    nseg = 40
    # the server's sequence numbers wrap past 2^32 in the middle of the download
    clean = [download(40000, M32 - 20 * SEG - 1, nseg), download(40001, 123456, 10, 4),
             mid_stream(), unanswered_syn()]
    write_pcap(os.path.join(out, "clean.pcap"), clean)
    cut = download(40000, M32 - 20 * SEG - 1, nseg)
    cut.pkts = [p for p in cut.pkts if not (isinstance(p[0], tuple) and p[0][1] in CUT)]
    loss = [cut] + clean[1:] + [one_way(k) for k in range(3)]
    write_pcap(os.path.join(out, "loss.pcap"), loss)

    # acknowledged: each direction's sequence space from its first segment to the last ACK
    #   download: client SYN + 100 + FIN = 102, server SYN + 40000 + FIN = 40002
    #   retransmission download: 102 and 1 + 10000 + 1
    #   mid-stream, from each side's first segment on: 6 x 300 and 6 x 500
    #   one-way flows: nothing (the other side never started)
    acked = 102 + (nseg * SEG + 2) + 102 + (10 * SEG + 2) + 6 * 300 + 6 * 500
    exp = {
        "clean.pcap": {"tcp_gap_bytes": 0, "tcp_acked_bytes": acked, "tcp_flows_one_way": 0,
                       "tcp_flows_ended": 4},
        "loss.pcap": {"tcp_gap_bytes": len(CUT) * SEG, "tcp_acked_bytes": acked,
                      "tcp_flows_one_way": 3, "tcp_flows_ended": 7},
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
