#!/usr/bin/python3
"""gen_silence_captures.py - captures for the silence rules (tests/integration/test_silence.sh).

    /usr/bin/python3 scripts/gen_silence_captures.py OUTDIR

Monday 2026-03-02, UTC. Small UDP datagrams (one flow each) between equipment and a peer,
and a filler pair (two hosts that are no equipment) that keeps the mirror busy.

  hours.pcap  07:00-19:00, filler every 30 s (no hole of 60 s). eq-day (10.50.1.10,
              expect_traffic mon-fri 08:00-18:00, silent_after 1h) talks at 07:05, 07:50,
              08:40, then nothing until 11:00 (silent from 09:40:00 on: one silent_equipment,
              one equipment_back at 11:00), then every 45 min until 17:45 (its next silence
              would begin 18:45, outside its hours: nothing). eq-noon (10.50.1.20, expected
              mon-fri 08:00-12:00) talks every 30 min from 07:00 to 11:50, then never again:
              its silence falls outside its hours, nothing. eq-hole (below) is never
              heard of: its silence starts with the capture, silent_equipment at 07:04:00.
  hole.pcap   10:00-10:40, filler every 10 s, and eq-hole (10.50.1.30, expected daily
              00:00-24:00, silent_after 4m) every 10 s, except a hole in the packet times
              from 10:20:00 to 10:25:00: mirror_silent (guard 10:21:00 with
              mirror_silent_after 60s) and mirror_back at 10:25:00, silent_equipment eq-hole
              (guard 10:24:00) and equipment_back at 10:25:00.

Writes OUTDIR/expected.json: {"FILE": [{"kind", "equipment", "guard", "ts"}]} with guard the
silence's first second (epoch seconds) and ts the alert's time (epoch seconds, float).
Deterministic: fixed timestamps, fixed ports.
"""
import json
import os
import sys

from scapy.all import IP, UDP, Ether, PcapWriter, Raw  # noqa: E402

DAY = 1772409600  # 2026-03-02T00:00:00Z, a Monday
PEER, FILL_A, FILL_B = "10.50.9.9", "10.60.0.1", "10.60.0.2"
EQ_DAY, EQ_NOON, EQ_HOLE = "10.50.1.10", "10.50.1.20", "10.50.1.30"


def at(h, m=0, s=0):
    return DAY + h * 3600 + m * 60 + s


class Cap:
    def __init__(self):
        self.pkts = []
        self.port = 20000

    def udp(self, t, src, dst):
        """One datagram of a new flow (a new source port), at time t."""
        self.port += 1
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst) / \
            UDP(sport=self.port, dport=5000) / Raw(b"silence-test")
        p.time = t
        self.pkts.append(p)

    def write(self, path):
        self.pkts.sort(key=lambda p: p.time)
        w = PcapWriter(path, linktype=1, sync=False)
        for p in self.pkts:
            w.write(p)
        w.close()


def hours(out):
    c = Cap()
    for t in range(at(7), at(19) + 1, 30):
        c.udp(t, FILL_A, FILL_B)
    for t in (at(7, 5), at(7, 50), at(8, 40)):
        c.udp(t + 1, EQ_DAY, PEER)
    t = at(11)
    while t <= at(17, 45):
        c.udp(t + 1, EQ_DAY, PEER)
        t += 45 * 60
    for t in range(at(7), at(11, 50) + 1, 30 * 60):
        c.udp(t + 2, EQ_NOON, PEER)
    c.write(os.path.join(out, "hours.pcap"))
    guard = at(8, 40) + 1 + 3600
    return [{"kind": "silent_equipment", "equipment": "eq-day", "guard": guard, "ts": guard},
            {"kind": "equipment_back", "equipment": "eq-day", "guard": guard, "ts": at(11) + 1},
            {"kind": "silent_equipment", "equipment": "eq-hole", "guard": at(7, 4),
             "ts": at(7, 4)}]


def hole(out):
    c = Cap()
    for t in range(at(10), at(10, 40) + 1, 10):
        if at(10, 20) < t < at(10, 25):
            continue
        c.udp(t, FILL_A, FILL_B)
        c.udp(t, EQ_HOLE, PEER)
    c.write(os.path.join(out, "hole.pcap"))
    return [{"kind": "mirror_silent", "equipment": "", "guard": at(10, 21), "ts": at(10, 21)},
            {"kind": "mirror_back", "equipment": "", "guard": at(10, 21), "ts": at(10, 25)},
            {"kind": "silent_equipment", "equipment": "eq-hole", "guard": at(10, 24),
             "ts": at(10, 24)},
            {"kind": "equipment_back", "equipment": "eq-hole", "guard": at(10, 24),
             "ts": at(10, 25)}]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    expected = {"hours.pcap": hours(out), "hole.pcap": hole(out)}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
