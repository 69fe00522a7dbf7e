#!/usr/bin/env bash
# test_dedup.sh - duplicate suppression (dedup_window) on a SPAN session that copies every
# packet twice (scripts/gen_dup_captures.py: copies differ in MACs, VLAN tag, TTL or hop limit
# and IPv4 checksum; IPv4 and IPv6, TCP and UDP):
#   - dedup_window 100us: the records of dup.pcap equal those of base.pcap (5-tuple, vlan,
#     times, packets and bytes each way, app), drop_duplicate = the copies, and received =
#     parsed + dropped; the same with 2 workers (the reader dispatches after the check);
#   - dedup_window 0 (the default): every copy is parsed;
#   - copies 150 us late (late.pcap) are kept with a 100 us window, and so is base.pcap's
#     retransmission 50 ms after its segment.
#
#   bash tests/integration/test_dedup.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no binary or no scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "skip: /usr/bin/python3 not installed"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-dedup.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! /usr/bin/python3 "$root/scripts/gen_dup_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_dup_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
originals=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["originals"])' "$tmp/cap/expected.json")
copies=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["copies"])' "$tmp/cap/expected.json")
printf 'dedup_window: 100us\n' >"$tmp/on.yaml"
printf 'dedup_window: 100us\nworkers: 2\n' >"$tmp/on2.yaml"
printf 'dedup_window: 0\n' >"$tmp/off.yaml"

# run NAME CAPTURE CONFIG: NAME.sum, NAME.jsonl
run() {
    if ! timeout 60 "$tapwatch" --pcap "$tmp/cap/$2" --config "$tmp/$3" --quiet \
            --flows-jsonl "$tmp/$1.jsonl" >"$tmp/$1.sum" 2>"$tmp/$1.err"; then
        fail "$1: tapwatch --pcap $2 --config $3: $(head -c 600 "$tmp/$1.err")"
    fi
    if ! res=$(python3 "$here/summary_check.py" "$tmp/$1.sum"); then
        fail "$1: accounting: $res"
    fi
}
# counter NAME LABEL: a "packets LABEL" line or a drop line of NAME's summary (0 if absent)
counter() {
    awk -v k="$2" '($1 == "packets" && $2 == k) || $1 == k {print $NF; f=1} END {if (!f) print 0}' "$tmp/$1.sum" | head -1
}
# records A B: the flows of A.jsonl and B.jsonl are equal (fields a copy could change)
records() {
    python3 - "$tmp/$1.jsonl" "$tmp/$2.jsonl" <<'PY'
import json, sys
KEYS = ("src_ip", "src_port", "dst_ip", "dst_port", "ip_proto", "vlan", "first_seen",
        "last_seen", "c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes", "app",
        "server_name", "end_reason")
def load(p):
    return sorted(tuple(r.get(k) for k in KEYS) for r in map(json.loads, open(p))
                  if r.get("event") == "end")
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print("records differ:")
    for x in sorted(set(a) ^ set(b)):
        print("  %s %s" % ("only in " + ("A" if x in a else "B"), x))
    sys.exit(1)
if not a:
    print("no records")
    sys.exit(1)
PY
}

run base-off base.pcap off.yaml
run base-on base.pcap on.yaml
run dup-on dup.pcap on.yaml
run dup-on2 dup.pcap on2.yaml
run dup-off dup.pcap off.yaml
run late-on late.pcap on.yaml

[ "$(counter base-off received)" = "$originals" ] || fail "base.pcap: received $(counter base-off received), expected $originals"
# with the window on, base.pcap loses nothing (its retransmission is 50 ms after the segment)
[ "$(counter base-on parsed)" = "$originals" ] ||
    fail "base.pcap with dedup_window 100us: parsed $(counter base-on parsed), expected $originals"
for n in dup-on dup-on2; do
    [ "$(counter $n received)" = $((originals + copies)) ] || fail "$n: received $(counter $n received)"
    [ "$(counter $n parsed)" = "$originals" ] || fail "$n: parsed $(counter $n parsed), expected $originals"
    [ "$(counter $n drop_duplicate)" = "$copies" ] ||
        fail "$n: drop_duplicate $(counter $n drop_duplicate), expected $copies"
    res=$(records base-off $n) || fail "$n: $res"
done
[ "$(counter dup-off parsed)" = $((originals + copies)) ] ||
    fail "dedup_window 0: parsed $(counter dup-off parsed), expected $((originals + copies)) (copies kept)"
[ "$(counter dup-off drop_duplicate)" = 0 ] || fail "dedup_window 0: drop_duplicate $(counter dup-off drop_duplicate)"
[ "$(counter late-on parsed)" = $((originals + copies)) ] ||
    fail "copies 150 us late, window 100us: parsed $(counter late-on parsed), expected $((originals + copies))"
[ "$(counter late-on drop_duplicate)" = 0 ] || fail "copies 150 us late: drop_duplicate $(counter late-on drop_duplicate)"

# the key is checked at load: a bad value names it
if "$tapwatch" --check-config --config <(printf 'dedup_window: 2s\n') >"$tmp/bad.out" 2>&1; then
    fail "dedup_window: 2s was accepted"
elif ! grep -q "dedup_window: expected a duration from 0 to 1s" "$tmp/bad.out"; then
    fail "dedup_window: 2s: $(cat "$tmp/bad.out")"
fi

if [ $failures -ne 0 ]; then
    echo "test_dedup: $failures failure(s)"
    exit 1
fi
echo "test_dedup: ok ($originals packets, $copies copies dropped within 100us, kept at 150us and with the window off)"
