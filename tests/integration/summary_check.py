#!/usr/bin/env python3
"""summary_check.py - checks that a tapwatch run accounted for every packet.

    summary_check.py SUMMARY [--jsonl FILE] [--nonzero NAME[|NAME...]]... [--received N]
    summary_check.py --many LIST     (LIST: lines "NAME<tab>SUMMARY<tab>JSONL"; one python
                                      start for a whole folder of runs)

SUMMARY is the text tapwatch printed at exit (stdout). Checks:
  - "packets received" = "packets parsed" + "packets dropped" + "fragments merged" (the
    fragments held and merged into a reassembled datagram, which counts once);
  - "packets dropped" = the sum of the drop lines under it (one per non-zero reason);
  - every --nonzero counter is among those lines (NAME|NAME: at least one of them);
  - --received N: exactly N packets received;
  - --jsonl FILE: every record has last_seen >= first_seen.
Prints nothing and exits 0 when all hold; otherwise one line saying what differs, exit 1
(with --many: one line "FAIL NAME: what differs" per run that fails).
Used by test_malformed.sh and tests/parity/parity.py.
"""
import argparse
import json
import re
import sys


def parse_summary(text):
    """Returns ({"received": n, "parsed": n, "dropped": n, "merged": n}, {drop_name: n})."""
    totals, drops = {}, {}
    in_drops = False
    for line in text.splitlines():
        m = re.match(r"^  packets (received|parsed|dropped)\s+(\d+)\s*$", line)
        if m:
            totals[m.group(1)] = int(m.group(2))
            in_drops = m.group(1) == "dropped"
            continue
        m = re.match(r"^  fragments merged\s+(\d+)\s*$", line)
        if m:
            totals["merged"] = int(m.group(1))
            in_drops = False
            continue
        m = re.match(r"^    (drop_[a-z0-9_]+)\s+(\d+)\s*$", line)
        if m and in_drops:
            drops[m.group(1)] = int(m.group(2))
            continue
        in_drops = False
    return totals, drops


def check(args):
    try:
        with open(args.summary, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return "cannot read the summary: %s" % e
    totals, drops = parse_summary(text)
    missing = [k for k in ("received", "parsed", "dropped") if k not in totals]
    if missing:
        return "no 'packets %s' line in the summary" % missing[0]
    if "merged" not in totals:
        return "no 'fragments merged' line in the summary"
    rx, parsed, dropped, merged = (totals["received"], totals["parsed"], totals["dropped"],
                                   totals["merged"])
    if rx != parsed + dropped + merged:
        return "received %d != parsed %d + dropped %d + fragments merged %d" % (
            rx, parsed, dropped, merged)
    if sum(drops.values()) != dropped:
        return "dropped %d != sum of the drop lines %d (%s)" % (
            dropped, sum(drops.values()), ", ".join("%s %d" % kv for kv in sorted(drops.items())))
    for spec in args.nonzero:
        names = spec.split("|")
        if not any(drops.get(n, 0) > 0 for n in names):
            return "expected %s > 0, drops were: %s" % (
                " or ".join(names),
                ", ".join("%s %d" % kv for kv in sorted(drops.items())) or "none")
    if args.received is not None and rx != args.received:
        return "received %d packets, expected %d" % (rx, args.received)
    if args.jsonl:
        try:
            with open(args.jsonl, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    rec = json.loads(line)
                    if rec["last_seen"] < rec["first_seen"]:
                        return "%s:%d: last_seen %s < first_seen %s" % (
                            args.jsonl, n, rec["last_seen"], rec["first_seen"])
        except (OSError, ValueError, KeyError) as e:
            return "flows-jsonl: %s" % e
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("summary", nargs="?")
    ap.add_argument("--jsonl")
    ap.add_argument("--nonzero", action="append", default=[])
    ap.add_argument("--received", type=int)
    ap.add_argument("--many")
    args = ap.parse_args()
    if args.many:
        failed = 0
        with open(args.many, encoding="utf-8") as f:
            for line in f:
                name, summary, jsonl = line.rstrip("\n").split("\t")
                why = check(argparse.Namespace(summary=summary, jsonl=jsonl, nonzero=[],
                                               received=None))
                if why:
                    failed += 1
                    print("FAIL %s: %s" % (name, why))
        return 1 if failed else 0
    if not args.summary:
        ap.error("SUMMARY or --many is needed")
    why = check(args)
    if why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
