#!/usr/bin/env python3
"""gen_bench_capture.py OUT.pcap [COPIES] - a benchmark capture made by the project alone,
for machines without ../shared: scripts/gen_captures.py's sample capture (a bank branch),
repeated COPIES times (default 250, about 1 M packets) with IPv4 addresses remapped per copy
(the second octet moves, so every copy forms its own flows) and time shifted so it never
goes back. Checksums are not recomputed: tapwatch and nDPI do not verify them."""
import os
import struct
import subprocess
import sys
import tempfile

def main():
    out = sys.argv[1]
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["/usr/bin/python3", os.path.join(here, "gen_captures.py"), tmp],
                       check=True, stdout=subprocess.DEVNULL)
        data = open(os.path.join(tmp, "sample.pcap"), "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("gen_bench_capture: expected a little-endian microsecond pcap")
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append((sec * 1000000 + usec, incl, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    span = recs[-1][0] - recs[0][0] + 1000000
    with open(out + ".tmp", "wb") as w:
        w.write(data[:24])
        for k in range(copies):
            for ts, incl, orig, body in recs:
                b = bytearray(body)
                et = (b[12] << 8) | b[13] if len(b) >= 14 else 0
                ip = 14
                while et == 0x8100 and len(b) >= ip + 4:
                    et, ip = (b[ip + 2] << 8) | b[ip + 3], ip + 4
                if et == 0x0800 and len(b) >= ip + 20:
                    for a in (ip + 12, ip + 16):
                        b[a + 1] = (b[a + 1] + k) & 0xff
                t = ts + k * span
                w.write(struct.pack("<IIII", t // 1000000, t % 1000000, incl, orig))
                w.write(bytes(b))
    os.replace(out + ".tmp", out)

if __name__ == "__main__":
    main()
