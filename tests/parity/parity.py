#!/usr/bin/env python3
"""Classification parity with ndpiReader 4.2, and packet accounting on real captures.

For every capture in SHARED/pcaps/ndpi, runs tapwatch and compares its flows with the flows
ndpiReader listed (SHARED/pcaps/ndpi-expected/NAME.csv, made with `ndpiReader -i NAME -q -C`).
A listed flow matches when tapwatch has a flow with the same 5-tuple (either direction) and
the same app name and per-direction packet and byte counts. Prints the share and the
mismatches; exits 1 below the bar (default 98%), 77 when SHARED is absent.
The same runs check that every packet is accounted for: received = parsed + dropped +
fragments merged, dropped = the sum of the named drop counters, from the summary each run prints (a capture tapwatch
refuses, such as an unsupported link type, must be refused with one line and exit 1).
ndpiReader does not reassemble IP fragments: it counts a fragmented datagram as its first
fragment. tapwatch counts the datagram with its fragments' bytes (README "IP fragments"):
a capture where tapwatch merged or refused fragments is run again with reassembly off, and a
flow that matches only then is named and counted apart, outside the share.

usage: parity.py BUILD_DIR [SHARED_DIR] [--bar 98] [--jobs 2] [--details N] [--only NAME]
                 [--keep DIR]   (keeps tapwatch's records, DIR/NAME.jsonl, for wrapped.py)
"""
import argparse
import concurrent.futures
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIG = os.path.join(HERE, "parity.yaml")


def tuple_key(proto, a, ap, b, bp):
    ends = sorted([(a, int(ap)), (b, int(bp))])
    return (int(proto), ends[0], ends[1])


def load_expected(path):
    rows = []
    with open(path, newline="", encoding="latin-1") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#"):
                continue
            # ndpiReader does not quote: a comma inside the server name shifts the counts;
            # str_data_ratio (column 19) is the first word after them to anchor on
            s = next((k for k in range(0, len(row) - 19)
                      if row[19 + k] in ("Upload", "Download", "Mixed")), 0)
            rows.append({
                "proto": int(row[1]), "src_ip": row[5], "src_port": int(row[6]),
                "dst_ip": row[7], "dst_port": int(row[8]), "app": row[10],
                "c2s_packets": int(row[12 + s]), "c2s_bytes": int(row[13 + s]),
                "s2c_packets": int(row[15 + s]), "s2c_bytes": int(row[16 + s]),
            })
    return rows


def run_tapwatch(build, pcap, out, config=CONFIG):
    cmd = [os.path.join(build, "tapwatch"), "--pcap", pcap, "--config", config,
           "--flows-jsonl", out, "--quiet"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=300)
    flows = []
    if os.path.exists(out):
        with open(out) as f:
            flows = [json.loads(line) for line in f if line.strip()]
    return p.returncode, p.stdout, p.stderr, flows


def accounting_error(rc, summary, err):
    """None when every packet is accounted for, else what differs."""
    if rc != 0:
        lines = [l for l in err.splitlines() if l.strip() and "no Redis configured" not in l]
        return None if rc == 1 and len(lines) == 1 else f"exit {rc}: {' | '.join(lines[-3:])}"
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from summary_check import parse_summary
    totals, drops = parse_summary(summary)
    if set(totals) != {"received", "parsed", "dropped", "merged"}:
        return "no summary"
    if totals["received"] != totals["parsed"] + totals["dropped"] + totals["merged"] or \
            totals["dropped"] != sum(drops.values()):
        return (f"received {totals['received']} parsed {totals['parsed']} dropped "
                f"{totals['dropped']} fragments merged {totals['merged']} {drops}")
    return None


def same_counts(exp, got):
    """Counts oriented as ndpiReader's client; tapwatch's client may be the other end only
    when both saw the same first packet, so compare both orientations' exact numbers."""
    if got["src_ip"] == exp["src_ip"] and got["src_port"] == exp["src_port"]:
        g = (got["c2s_packets"], got["c2s_bytes"], got["s2c_packets"], got["s2c_bytes"])
    else:
        g = (got["s2c_packets"], got["s2c_bytes"], got["c2s_packets"], got["c2s_bytes"])
    return g == (exp["c2s_packets"], exp["c2s_bytes"], exp["s2c_packets"], exp["s2c_bytes"])


def compare(expected, flows):
    by_key = {}
    for g in flows:
        k = tuple_key(g["ip_proto"], g["src_ip"], g["src_port"], g["dst_ip"], g["dst_port"])
        by_key.setdefault(k, []).append(g)
    results = []
    for e in expected:
        k = tuple_key(e["proto"], e["src_ip"], e["src_port"], e["dst_ip"], e["dst_port"])
        cands = by_key.get(k, [])
        ok = next((g for g in cands if g["app"] == e["app"] and same_counts(e, g)), None)
        if ok is not None:
            cands.remove(ok)
            results.append((e, "ok", None))
        elif not cands:
            results.append((e, "missing", None))
        else:
            g = cands[0]
            why = "app" if g["app"] != e["app"] else "counts"
            results.append((e, why, g))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("shared", nargs="?", default=os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--bar", type=float, default=98.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--details", type=int, default=15)
    ap.add_argument("--only")
    ap.add_argument("--keep")
    a = ap.parse_args()

    pdir = os.path.join(a.shared, "pcaps", "ndpi")
    edir = os.path.join(a.shared, "pcaps", "ndpi-expected")
    if not os.path.isdir(pdir) or not os.path.isdir(edir):
        print(f"parity: SKIP: {pdir} not found (the shared nDPI captures are not here)")
        return 77
    names = sorted(n for n in os.listdir(pdir) if os.path.exists(os.path.join(edir, n + ".csv")))
    if a.only:
        names = [n for n in names if a.only in n]

    tmp = a.keep or tempfile.mkdtemp(prefix="tw-parity-")
    total = matched = 0
    kinds = {}
    bad = []
    crashes = []
    unaccounted = []

    no_reasm = os.path.join(tmp, "no-reassembly.yaml")
    with open(CONFIG) as f, open(no_reasm, "w") as g:
        g.write(f.read() + "reassembly:\n  enabled: false\n")
    apart = []

    def one(name):
        out = os.path.join(tmp, name + ".jsonl")
        rc, summary, err, flows = run_tapwatch(a.build, os.path.join(pdir, name), out)
        flows_off = None
        if re.search(r"^  fragments merged +[1-9]|^    drop_frag_", summary, re.M):
            flows_off = run_tapwatch(a.build, os.path.join(pdir, name), out + ".off", no_reasm)[3]
        return name, rc, summary, err, flows, flows_off

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for name, rc, summary, err, flows, flows_off in ex.map(one, names):
            if rc not in (0, 1) or "AddressSanitizer" in err or "runtime error" in err:
                crashes.append((name, rc, err.strip().splitlines()[-3:]))
            why = accounting_error(rc, summary, err)
            if why:
                unaccounted.append((name, why))
            exp = load_expected(os.path.join(edir, name + ".csv"))
            off = compare(exp, flows_off) if flows_off is not None else None
            for i, (e, verdict, g) in enumerate(compare(exp, flows)):
                if verdict != "ok" and off is not None and off[i][1] == "ok":
                    apart.append((name, e, g))  # only reassembly makes the difference
                    continue
                total += 1
                if verdict == "ok":
                    matched += 1
                else:
                    kinds[verdict] = kinds.get(verdict, 0) + 1
                    bad.append((name, verdict, e, g))

    share = 100.0 * matched / total if total else 0.0
    for name, verdict, e, g in bad[:a.details]:
        got = "" if g is None else (f" got app={g['app']} {g['src_ip']}:{g['src_port']}"
                                    f" c2s={g['c2s_packets']}/{g['c2s_bytes']}"
                                    f" s2c={g['s2c_packets']}/{g['s2c_bytes']}")
        print(f"  {verdict:8s} {name}: {e['src_ip']}:{e['src_port']} -> {e['dst_ip']}:{e['dst_port']}"
              f" proto {e['proto']} want app={e['app']} c2s={e['c2s_packets']}/{e['c2s_bytes']}"
              f" s2c={e['s2c_packets']}/{e['s2c_bytes']}{got}")
    if len(bad) > a.details:
        print(f"  ... and {len(bad) - a.details} more")
    for name, e, g in apart[:a.details]:
        got = "none" if g is None else (f"c2s={g['c2s_packets']}/{g['c2s_bytes']}"
                                        f" s2c={g['s2c_packets']}/{g['s2c_bytes']}")
        print(f"  reassembled {name}: {e['src_ip']}:{e['src_port']} -> {e['dst_ip']}:{e['dst_port']}"
              f" proto {e['proto']} ndpiReader c2s={e['c2s_packets']}/{e['c2s_bytes']}"
              f" s2c={e['s2c_packets']}/{e['s2c_bytes']}, tapwatch {got}")
    if len(apart) > a.details:
        print(f"  ... and {len(apart) - a.details} more")
    print(f"parity: {len(apart)} flows counted apart: they match ndpiReader with reassembly off "
          f"(ndpiReader counts a fragmented datagram as its first fragment)")
    for name, rc, tail in crashes[:10]:
        print(f"  CRASH {name}: exit {rc}: {' | '.join(tail)}")
    print(f"parity: {matched}/{total} flows listed by ndpiReader match (app and per-direction "
          f"packets and bytes): {share:.2f}% (bar {a.bar}%) over {len(names)} captures; "
          f"mismatches by kind: {kinds or 'none'}")
    for name, why in unaccounted[:10]:
        print(f"  UNACCOUNTED {name}: {why}")
    print(f"accounting: {len(names) - len(unaccounted)}/{len(names)} captures: received = "
          f"parsed + named drops + fragments merged (or refused with one line)")
    if not a.keep:
        subprocess.run(["rm", "-rf", tmp])
    if unaccounted:
        print("parity: FAIL: packets not accounted for")
        return 1
    if crashes:
        print("parity: FAIL: tapwatch crashed")
        return 1
    if share < a.bar:
        print("parity: FAIL: below the bar")
        return 1
    print("parity: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
