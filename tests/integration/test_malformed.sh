#!/usr/bin/env bash
# test_malformed.sh - deliberately broken captures: nothing lost, nothing crashes.
#
#   bash tests/integration/test_malformed.sh BUILD_DIR     (from anywhere)
#
# Generates the corpus of scripts/gen_malformed.py (bad headers, cut records, absurd lengths,
# broken pcapng blocks, 20 VLAN tags, IPv6 extension-header loops, ...) into a temporary
# folder and replays each capture with `tapwatch --pcap F --flows-jsonl OUT --quiet`, under
# `timeout 60`. For every capture: no crash (exit >= 128), no timeout, no sanitizer report on
# stderr. Then what index.json expects:
#   error  a non-zero exit and exactly one line on stderr containing the expected text;
#   exit0  exit 0; received = parsed + dropped = parsed + the sum of the drop lines; the named
#          drop counters non-zero; no record with last_seen < first_seen; where the capture is
#          cut, one line on stderr says so.
# Prints one line per capture that fails, then a total. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -x "$build/tapwatch" ] || { echo "skip: $build/tapwatch not built"; exit 77; }
tapwatch=$(cd "$build" && pwd)/tapwatch
py=/usr/bin/python3
[ -x "$py" ] || py=python3

tmp=$(mktemp -d /tmp/tw-malformed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! "$py" "$root/scripts/gen_malformed.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_malformed.py failed:"; cat "$tmp/gen.log"; exit 1
fi

# one line per capture: name, expect, error text, nonzero specs (space-separated, a|b), received, cut
"$py" - "$tmp/cap/index.json" >"$tmp/cases" <<'EOF' || { echo "FAIL: cannot read index.json"; exit 1; }
import json, sys
for name, e in sorted(json.load(open(sys.argv[1]))["captures"].items()):
    nz = " ".join("|".join(x) if isinstance(x, list) else x for x in e.get("nonzero", []))
    rx = e.get("received")
    print("\t".join([name, e["expect"], e.get("error") or "-", nz or "-",
                     "-" if rx is None else str(rx), "1" if e.get("cut") else "0"]))
EOF

total=0 failed=0
bad() { # capture, reason
    failed=$((failed + 1))
    echo "FAIL $1: $2"
}

while IFS=$'\t' read -r name expect errtext nonzero received cut; do
    total=$((total + 1))
    f=$tmp/cap/$name out=$tmp/out err=$tmp/err jsonl=$tmp/flows.jsonl
    rm -f "$out" "$err" "$jsonl"
    timeout 60 "$tapwatch" --pcap "$f" --flows-jsonl "$jsonl" --quiet >"$out" 2>"$err" </dev/null
    rc=$?
    if [ $rc -eq 124 ]; then
        bad "$name" "did not finish within 60 s"; continue
    elif [ $rc -ge 128 ]; then
        bad "$name" "crashed (exit $rc): $(tr '\n' ' ' <"$err" | head -c 300)"; continue
    elif grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$err"; then
        bad "$name" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$err")"; continue
    fi
    lines=$(wc -l <"$err")
    if [ "$expect" = error ]; then
        if [ $rc -eq 0 ]; then
            bad "$name" "exit 0, expected a one-line error containing '$errtext'"
        elif [ "$lines" -ne 1 ]; then
            bad "$name" "exit $rc with $lines lines on stderr, expected one: $(tr '\n' '|' <"$err" | head -c 300)"
        elif ! grep -qF -- "$errtext" "$err"; then
            bad "$name" "the error does not contain '$errtext': $(cat "$err")"
        fi
        continue
    fi
    if [ $rc -ne 0 ]; then
        bad "$name" "exit $rc, expected 0: $(tr '\n' '|' <"$err" | head -c 300)"; continue
    fi
    args=(--jsonl "$jsonl")
    [ "$received" != - ] && args+=(--received "$received")
    if [ "$nonzero" != - ]; then
        for spec in $nonzero; do args+=(--nonzero "$spec"); done
    fi
    if ! why=$("$py" "$here/summary_check.py" "$out" "${args[@]}"); then
        bad "$name" "$why"; continue
    fi
    ncut=$(grep -ciE 'cut|unreadable' "$err")
    if [ "$cut" = 1 ] && [ "$ncut" -ne 1 ]; then
        bad "$name" "the capture ends early: expected one line on stderr saying where (cut or unreadable), got $ncut"
    elif [ "$cut" = 0 ] && [ "$ncut" -ne 0 ]; then
        bad "$name" "not a cut capture, but stderr says: $(grep -iE -m1 'cut|unreadable' "$err")"
    fi
done <"$tmp/cases"

if [ $total -lt 50 ]; then
    echo "FAIL: only $total malformed captures, expected at least 50"; exit 1
fi
echo "test_malformed: $((total - failed)) of $total captures handled as expected"
[ $failed -eq 0 ]
