#!/usr/bin/env python3
"""Parity through a mirror: every nDPI capture wrapped in ERSPAN II and in VXLAN gives the records
of the capture itself.

For every capture in SHARED/pcaps/ndpi, tests/parity/wrap_pcap.c (compiled into BUILD/tests/ on
first use) rewrites it as a switch would mirror it, once in ERSPAN type II and once in VXLAN, into
a temporary folder (deleted as it goes; nothing is kept). tapwatch runs on the original and on
both wrapped files; a flow of the original matches when the wrapped run has a flow with the same
5-tuple, app, per-direction packets, and per-direction bytes by the byte rule: ERSPAN and VXLAN
carry the Ethernet frame, so the bytes are the original's frame lengths (for raw-IP, cooked and
loopback captures, which get a 14-byte Ethernet header when wrapped, the original's plus 14
minus their link header, per packet). Prints the share and exits 1 below the bar (99.5%), 77
when SHARED is absent.

Flows that the originals already carry inside a tunnel (vxlan.pcap, GRE and GTP captures...) are
counted apart and named: their bytes follow the same rule in both runs, but they are where
tapwatch's bytes differ from ndpiReader's, which counts the outer frame.

usage: wrapped.py BUILD_DIR [SHARED_DIR] [--bar 99.5] [--jobs 2] [--only NAME] [--details N]
                  [--orig DIR] [--alternate]
--orig DIR reuses the records of the originals that `parity.py --keep DIR` wrote (same
configuration, tests/parity/parity.yaml), so each capture runs twice here instead of three times
(tests/run.sh does that, to keep within the test time budget).
--alternate wraps each capture once, in ERSPAN II and VXLAN by turns (name order): every
capture still goes through a tunnel, in half the time (tests/run.sh again; without it, both).
"""
import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIG = os.path.join(HERE, "parity.yaml")
KINDS = ("erspan2", "vxlan")
# link header bytes replaced by the 14-byte Ethernet header (pcap_datalink's DLT numbers)
LINK_HDR = {1: 14, 12: 0, 101: 0, 14: 0, 228: 0, 229: 0, 113: 16, 276: 20, 0: 4, 108: 4}


def build_wrapper(build):
    exe = os.path.join(build, "tests", "wrap_pcap")
    src = os.path.join(HERE, "wrap_pcap.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, src, "-lpcap"],
                       check=True)
    return exe


def linktype(path):
    """pcap_datalink of a capture, via the python standard library: classic pcap's header, or
    pcapng's first interface block."""
    import struct
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if len(head) >= 24 and head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        lt = struct.unpack("<I", head[20:24])[0]
    elif len(head) >= 24 and head[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        lt = struct.unpack(">I", head[20:24])[0]
    elif head[:4] == b"\x0a\x0d\x0d\x0a" and len(head) >= 12:
        e = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off = struct.unpack(e + "I", head[4:8])[0]
        while off + 12 <= len(head):
            btype, blen = struct.unpack(e + "II", head[off:off + 8])
            if btype == 1:
                lt = struct.unpack(e + "H", head[off + 8:off + 10])[0]
                break
            if blen < 12:
                return None
            off += blen
        else:
            return None
    else:
        return None
    return {101: 12}.get(lt, lt) & 0xffff


def run_tapwatch(build, pcap, out):
    cmd = [os.path.join(build, "tapwatch"), "--pcap", pcap, "--config", CONFIG,
           "--flows-jsonl", out, "--quiet"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=300)
    flows = []
    if os.path.exists(out):
        with open(out) as f:
            flows = [json.loads(line) for line in f if line.strip()]
        os.unlink(out)
    return p.returncode, p.stderr, [r for r in flows if r["event"] == "end"]


def flow_key(r, delta=0):
    ends = sorted([(r["src_ip"], r["src_port"]), (r["dst_ip"], r["dst_port"])])
    return (r["ip_proto"], ends[0], ends[1], r["src_ip"], r["app"], r["c2s_packets"],
            r["s2c_packets"], r["c2s_bytes"] + delta * r["c2s_packets"],
            r["s2c_bytes"] + delta * r["s2c_packets"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("shared", nargs="?", default=os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--bar", type=float, default=99.5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--details", type=int, default=15)
    ap.add_argument("--only")
    ap.add_argument("--orig")
    ap.add_argument("--alternate", action="store_true")
    a = ap.parse_args()

    pdir = os.path.join(a.shared, "pcaps", "ndpi")
    if not os.path.isdir(pdir):
        print(f"wrapped parity: SKIP: {pdir} not found (the shared nDPI captures are not here)")
        return 77
    t0 = time.monotonic()
    wrap = build_wrapper(a.build)
    names = sorted(os.listdir(pdir))
    if a.only:
        names = [n for n in names if a.only in n]
    tmp = tempfile.mkdtemp(prefix="tw-wrapped-")
    kinds_of = {n: (KINDS[i % len(KINDS)],) if a.alternate else KINDS for i, n in enumerate(names)}

    def one(name):
        src = os.path.join(pdir, name)
        lt = linktype(src)
        base = os.path.join(tmp, name.replace("/", "_"))
        kept = os.path.join(a.orig, name + ".jsonl") if a.orig else None
        if kept and os.path.exists(kept):
            with open(kept) as f:
                orig = [r for r in map(json.loads, filter(str.strip, f)) if r["event"] == "end"]
        else:
            rc, err, orig = run_tapwatch(a.build, src, base + ".orig.jsonl")
        res = {"name": name, "orig": orig, "lt": lt, "wrapped": {}, "skipped": None}
        if lt not in LINK_HDR:
            res["skipped"] = f"link type {lt} not wrapped"
            return res
        for kind in kinds_of[name]:
            out = f"{base}.{kind}.pcap"
            w = subprocess.run([wrap, kind, src, out], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if w.returncode == 3:
                res["skipped"] = w.stderr.strip()
                return res
            if w.returncode != 0:
                res["wrapped"][kind] = (None, w.stderr.strip())
                continue
            rc, err, flows = run_tapwatch(a.build, out, out + ".jsonl")
            os.unlink(out)
            res["wrapped"][kind] = (flows, err if rc not in (0, 1) else "")
        return res

    total = matched = 0
    per_kind = collections.Counter()
    bad, skipped, tunnelled = [], [], collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for res in ex.map(one, names):
            if res["skipped"]:
                skipped.append((res["name"], res["skipped"]))
                continue
            delta = 14 - LINK_HDR[res["lt"]]
            want = collections.Counter(flow_key(r, delta) for r in res["orig"])
            for r in res["orig"]:
                if r.get("tunnel"):
                    tunnelled[(res["name"], r["tunnel"])] += 1
            for kind in kinds_of[res["name"]]:
                flows, err = res["wrapped"][kind]
                n = sum(want.values())
                total += n
                if flows is None:
                    bad.append((res["name"], kind, f"not wrapped: {err}", n))
                    continue
                got = collections.Counter(flow_key(r) for r in flows)
                m = sum(min(c, got[k]) for k, c in want.items())
                matched += m
                per_kind[kind] += m
                if m < n:
                    missing = [k for k, c in want.items() if got[k] < c][:2]
                    extra = [k for k, c in got.items() if want[k] < c][:2]
                    bad.append((res["name"], kind, f"want {missing} got {extra}", n - m))
    shutil.rmtree(tmp, ignore_errors=True)

    share = 100.0 * matched / total if total else 0.0
    for name, kind, what, n in sorted(bad, key=lambda b: -b[3])[:a.details]:
        print(f"  {n:5d} flows differ  {name} in {kind}: {what}")
    if tunnelled:
        print(f"  already inside a tunnel in the original: {sum(tunnelled.values())} flows (where "
              f"the tunnel carries Ethernet, their bytes are the inner frame's and ndpiReader "
              f"counts the outer frame): " +
              ", ".join(f"{n} {k} {c}" for (n, k), c in sorted(tunnelled.items())))
    for name, why in skipped:
        print(f"  not wrapped: {name}: {why}")
    how = "ERSPAN II or VXLAN copy (by turns)" if a.alternate else "ERSPAN II and VXLAN copies"
    print(f"wrapped parity: {matched}/{total} flows of the originals found in their {how} "
          f"(5-tuple, app, packets, bytes by the byte rule): {share:.2f}% "
          f"(bar {a.bar}%) over {len(names) - len(skipped)} captures, {len(skipped)} not wrapped; "
          f"{time.monotonic() - t0:.0f} s")
    if share < a.bar:
        print("wrapped parity: FAIL: below the bar")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
