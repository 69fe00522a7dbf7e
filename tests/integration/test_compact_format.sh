#!/usr/bin/env bash
# test_compact_format.sh - redis.format 2 (compact blocks) answers every flows query as format 1
# does, on the same captures: each capture is replayed twice into one Redis, once per format
# (two sensors), and tapwatch-query's answers (json, csv, table; every filter; --limit) must be
# byte for byte the same. Also: a store written in format 1 is read by this tapwatch-query (the
# migration path: hour by hour, whichever format holds it); `tapwatch-query flow FLOW_ID`
# gives the same record from both formats (with and without --key); hours written in both
# formats (two runs into one sensor, redis.format switched between them) answer `flows` and
# `flow` as the same runs written all in format 1 do; a block of an unknown
# format version is refused with one line naming it; a resent batch stores nothing twice.
#
#   bash tests/integration/test_compact_format.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp cx

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
printf 'redis:\n  format: 1\n' >"$tmp/f1.yaml"
printf 'redis:\n  format: 2\n' >"$tmp/f2.yaml"
# format 2 with every hour in bucket slices from the first batch (2b), and with hours that
# turn from quiet to busy after 300 postings, in the middle of a capture (2c; compact.h)
printf 'redis:\n  format: 2\n  quiet_hour_postings: 0\n' >"$tmp/f2b.yaml"
printf 'redis:\n  format: 2\n  quiet_hour_postings: 300\n  batch: 8\n  buffer: 16\n' >"$tmp/f2c.yaml"

caps="sample vlan raw6 timeouts"
for cap in $caps; do
    for f in 1 2 2b 2c; do
        timeout 120 "$tapwatch" --config "$tmp/f$f.yaml" --pcap "$tmp/cap/$cap.pcap" --redis "$url" \
            --sensor "cx$f-$cap" --quiet --flows-jsonl "$tmp/$cap.$f.jsonl" >"$tmp/$cap.$f.out" 2>&1 ||
            fail "$cap: tapwatch with redis.format $f exited $?: $(tail -3 "$tmp/$cap.$f.out")"
    done
done
# the formats are what they say: format 1 has record hashes, format 2 compact blocks only
n1=$(redis-cli -s "$sock" --scan --pattern 'tw:{cx1-sample}:f:*' | wc -l)
n2=$(redis-cli -s "$sock" --scan --pattern 'tw:{cx2-sample:*}:b' | wc -l)
n2f=$(redis-cli -s "$sock" --scan --pattern 'tw:{cx2-sample}:f:*' | wc -l)
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ "$n2f" -eq 0 ] ||
    fail "keys: format 1 record hashes $n1, format 2 block hashes $n2, format 2 record hashes $n2f"
# quiet slices (x:a) and bucket slices (x:<k>) where each variant should have them
slices() { # sensor -> "quiet bucket" key counts
    echo "$(redis-cli -s "$sock" --scan --pattern "tw:{$1:*}:x:a" | wc -l)" \
         "$(redis-cli -s "$sock" --scan --pattern "tw:{$1:*}:x:[0-9]*" | wc -l)"
}
read -r q b <<<"$(slices cx2-sample)"; [ "$q" -gt 0 ] && [ "$b" -eq 0 ] || fail "format 2 default: quiet slices $q, bucket slices $b (want quiet only)"
read -r q b <<<"$(slices cx2b-sample)"; [ "$q" -eq 0 ] && [ "$b" -gt 0 ] || fail "quiet_hour_postings 0: quiet slices $q, bucket slices $b (want buckets only)"
read -r q b <<<"$(slices cx2c-sample)"; [ "$q" -gt 0 ] && [ "$b" -gt 0 ] || fail "quiet_hour_postings 300: quiet slices $q, bucket slices $b (want both)"

# every query, both formats: same bytes
queries=(
    "flows --format json --limit 100000"
    "flows --format csv --limit 100000"
    "flows --limit 100000"
    "flows --format json --limit 7"
    "flows --format json --ip 10.0.0.0/8 --limit 100000"
    "flows --format json --ip 192.168.1.0/24"
    "flows --format json --ip 192.168.0.0/16 --limit 3"
    "flows --format json --ip 2001:db8::/32"
    "flows --format json --port 443"
    "flows --format json --port 53"
    "flows --format json --port 50000"
    "flows --format json --app TLS"
    "flows --format json --app Google"
    "flows --format json --app unknown"
    "flows --format json --since 2026-03-02T09:03:00Z --until 2026-03-02T09:06:00Z"
    "flows --format json --since 1772442000 --until 1772442100 --port 80"
)
compared=0 nonempty=0
for cap in $caps; do
    for q in "${queries[@]}"; do
        # shellcheck disable=SC2086
        "$query" --redis "$url" --sensor "cx1-$cap" $q >"$tmp/a.out" 2>"$tmp/a.err"; ra=$?
        # shellcheck disable=SC2086
        compared=$((compared + 1))
        [ -s "$tmp/a.out" ] && nonempty=$((nonempty + 1))
        for v in 2 2b 2c; do
            # shellcheck disable=SC2086
            "$query" --redis "$url" --sensor "cx$v-$cap" $q >"$tmp/b.out" 2>"$tmp/b.err"; rb=$?
            if [ $ra -ne $rb ] || ! cmp -s "$tmp/a.out" "$tmp/b.out"; then
                fail "$cap: '$q': format 1 (exit $ra, $(wc -l <"$tmp/a.out") lines) and format $v (exit $rb, $(wc -l <"$tmp/b.out") lines) differ:"
                diff "$tmp/a.out" "$tmp/b.out" | head -6
                head -2 "$tmp/b.err"
            fi
        done
    done
done
[ "$nonempty" -ge $((compared / 2)) ] || fail "only $nonempty of $compared queries found flows: the comparison proves little"

# the migration path, checked against the records themselves: format 1's answer is the jsonl's
python3 - "$tmp/sample.1.jsonl" "$tmp/sample.2.jsonl" <<'PY' || fail "the two replays wrote different records"
import json, sys
a = {json.loads(l)["flow_id"] for l in open(sys.argv[1])}
b = {json.loads(l)["flow_id"] for l in open(sys.argv[2])}
sys.exit(0 if a == b and a else 1)
PY
"$query" --redis "$url" --sensor cx1-sample flows --format json --limit 100000 >"$tmp/q1.json"
python3 - "$tmp/sample.1.jsonl" "$tmp/q1.json" <<'PY' || fail "format 1 store read by this tapwatch-query misses records"
import json, sys
last = {}
for l in open(sys.argv[1]):
    o = json.loads(l); last[o["flow_id"]] = l.strip()
got = {json.loads(l)["flow_id"]: l.strip() for l in open(sys.argv[2])}
sys.exit(0 if set(got) == set(last) else 1)
PY

# an hour written in both formats (redis.format switched mid-hour, or runs of each): read
# whole, as one format would answer. Each capture, shifted to 5 minutes before an hour so
# its flows span two hours, is cut in two by time (part a, part b); every store below gets
# two runs into one sensor, and is compared with the same two runs all in format 1:
#   halves  a in format 1, b in format 2; and a in format 2, b in format 1
#   again   a in format 1, then the whole capture in format 2: the flows of a have versions in
#           both formats, and the newest (format 2's, often of the next hour) must win
/usr/bin/python3 - "$tmp/cap" "$tmp/mix" <<'PY' || fail "mixed hours: cannot cut the captures"
import os, sys
from scapy.all import rdpcap, wrpcap
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for cap, cut in (("sample", 240), ("timeouts", 180)):
    p = rdpcap(os.path.join(src, cap + ".pcap"))
    t0 = float(p[0].time)
    for x in p:
        x.time = x.time - 300  # 09:00 -> 08:55
    a = [x for x in p if float(x.time) < t0 - 300 + cut]
    b = [x for x in p if float(x.time) >= t0 - 300 + cut]
    assert a and b
    wrpcap(os.path.join(dst, cap + ".a.pcap"), a)
    wrpcap(os.path.join(dst, cap + ".b.pcap"), b)
    wrpcap(os.path.join(dst, cap + ".whole.pcap"), p)
PY
mixcaps="sample timeouts"
# sensor, then format and part of each run
mixes=("ref 1 a 1 b" "half 1 a 2 b" "rev 2 a 1 b" "aref 1 a 1 whole" "again 1 a 2 whole")
for cap in $mixcaps; do
    for m in "${mixes[@]}"; do
        read -r name fa pa fb pb <<<"$m"
        for run in "$fa $pa" "$fb $pb"; do
            read -r fmt part <<<"$run"
            timeout 120 "$tapwatch" --config "$tmp/f$fmt.yaml" --pcap "$tmp/mix/$cap.$part.pcap" \
                --redis "$url" --sensor "mx-$name-$cap" --quiet >"$tmp/mx.out" 2>&1 ||
                fail "mixed $name $cap: tapwatch (format $fmt, part $part) exited $?: $(tail -3 "$tmp/mx.out")"
        done
    done
    # the stores are what they say: both formats in one hour
    for name in half rev again; do
        h1=$(redis-cli -s "$sock" --scan --pattern "tw:{mx-$name-$cap}:x:*:t" | sort)
        h2=$(redis-cli -s "$sock" --scan --pattern "tw:{mx-$name-$cap:*}:b" | sed 's/.*:\([0-9]*\)}:b$/\1/' | sort)
        both=$(comm -12 <(sed 's/.*:x:\([0-9]*\):t$/\1/' <<<"$h1") <(echo "$h2") | wc -l)
        [ "$both" -ge 1 ] || fail "mixed $name $cap: no hour holds both formats (format 1 $h1, format 2 $h2)"
    done
done
mixq=(
    "flows --format json --limit 100000"
    "flows --format csv --limit 100000"
    "flows --limit 100000"
    "flows --format json --limit 7"
    "flows --format json --limit 40"
    "flows --format json --ip 10.0.0.0/8 --limit 100000"
    "flows --format json --ip 10.20.0.0/16 --limit 3"
    "flows --format json --ip 10.50.0.20"
    "flows --format json --ip 2001:db8::/32"
    "flows --format json --port 443 --limit 100000"
    "flows --format json --port 53 --limit 5"
    "flows --format json --port 9000"
    "flows --format json --app TLS --limit 100000"
    "flows --format json --app Microsoft365"
    "flows --format json --app unknown"
    "flows --format json --since 2026-03-02T08:57:00Z --until 2026-03-02T09:01:00Z"
    "flows --format json --until 2026-03-02T08:59:30Z --limit 100000"
    "flows --format json --since 2026-03-02T09:00:00Z --limit 100000"
)
mixcompared=0 mixnonempty=0
for cap in $mixcaps; do
    for pair in "ref half" "ref rev" "aref again"; do
        read -r want got <<<"$pair"
        for q in "${mixq[@]}"; do
            # shellcheck disable=SC2086
            "$query" --redis "$url" --sensor "mx-$want-$cap" $q >"$tmp/a.out" 2>"$tmp/a.err"; ra=$?
            # shellcheck disable=SC2086
            "$query" --redis "$url" --sensor "mx-$got-$cap" $q >"$tmp/b.out" 2>"$tmp/b.err"; rb=$?
            mixcompared=$((mixcompared + 1))
            [ -s "$tmp/a.out" ] && mixnonempty=$((mixnonempty + 1))
            if [ $ra -ne $rb ] || ! cmp -s "$tmp/a.out" "$tmp/b.out"; then
                fail "mixed $got $cap: '$q': all format 1 (exit $ra, $(wc -l <"$tmp/a.out") lines) and mixed (exit $rb, $(wc -l <"$tmp/b.out") lines) differ:"
                diff "$tmp/a.out" "$tmp/b.out" | head -6
                head -2 "$tmp/b.err"
            fi
        done
    done
    # flow FLOW_ID: the newest record, whichever format holds it
    for pair in "ref half" "ref rev" "aref again"; do
        read -r want got <<<"$pair"
        "$query" --redis "$url" --sensor "mx-$want-$cap" flows --format json --limit 100000 >"$tmp/ids.json"
        for id in $(python3 -c 'import json,sys; ids=sorted({json.loads(l)["flow_id"] for l in open(sys.argv[1])}); print(" ".join(ids[:4] + ids[-4:]))' "$tmp/ids.json"); do
            "$query" --redis "$url" --sensor "mx-$want-$cap" flow "$id" --format json >"$tmp/f1.out" 2>&1
            "$query" --redis "$url" --sensor "mx-$got-$cap" flow "$id" --format json >"$tmp/f2.out" 2>&1
            [ -s "$tmp/f1.out" ] && cmp -s "$tmp/f1.out" "$tmp/f2.out" ||
                fail "mixed $got $cap: flow $id differs from all format 1: $(head -c 200 "$tmp/f2.out")"
        done
    done
done
[ "$mixnonempty" -ge $((mixcompared / 2)) ] ||
    fail "mixed hours: only $mixnonempty of $mixcompared queries found flows: the comparison proves little"
compared=$((compared + mixcompared)) nonempty=$((nonempty + mixnonempty))

# flow FLOW_ID: same record from both formats, with the alert's flow_key or by searching
for cap in sample timeouts; do
    for id in $(python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l)["flow_id"] for l in open(sys.argv[1])})[:5]))' "$tmp/$cap.1.jsonl"); do
        fs=$(python3 -c 'import json,sys; print([int(float(o["first_seen"]))//3600 for o in map(json.loads, open(sys.argv[1])) if o["flow_id"]==sys.argv[2]][0])' "$tmp/$cap.1.jsonl" "$id")
        "$query" --redis "$url" --sensor "cx1-$cap" flow "$id" --format json >"$tmp/f1.out" 2>&1
        "$query" --redis "$url" --sensor "cx2-$cap" flow "$id" --format json >"$tmp/f2.out" 2>&1
        "$query" --redis "$url" --sensor "cx2-$cap" flow "$id" --key "tw:{cx2-$cap}:f:$fs" --format json >"$tmp/f3.out" 2>&1
        want=$(grep -F "\"flow_id\":\"$id\"" "$tmp/$cap.1.jsonl" | tail -1)
        cmp -s "$tmp/f1.out" "$tmp/f2.out" && cmp -s "$tmp/f2.out" "$tmp/f3.out" &&
            [ "$(cat "$tmp/f1.out")" = "$want" ] || fail "$cap: flow $id: format 1, 2, 2 --key differ or are not the last record of the jsonl"
    done
done
"$query" --redis "$url" --sensor cx2-sample flow 00000000deadbeef >/dev/null 2>&1
[ $? -eq 3 ] || fail "flow of an absent id: expected exit 3"

# a resent batch stores nothing twice: same block id, same bytes, HSET changes no count
h=$(redis-cli -s "$sock" --scan --pattern 'tw:{cx2-sample:*}:b' | head -1)
field=$(redis-cli -s "$sock" hkeys "$h" | head -1)
before=$(redis-cli -s "$sock" hlen "$h")
redis-cli -s "$sock" --raw hget "$h" "$field" | head -c -1 >"$tmp/block"
redis-cli -s "$sock" -x hset "$h" "$field" <"$tmp/block" >/dev/null
[ "$(redis-cli -s "$sock" hlen "$h")" = "$before" ] || fail "a block written again added a field"
"$query" --redis "$url" --sensor cx2-sample flows --format json --limit 100000 >"$tmp/again.json"
"$query" --redis "$url" --sensor cx1-sample flows --format json --limit 100000 >"$tmp/q1b.json"
cmp -s "$tmp/again.json" "$tmp/q1b.json" || fail "after a block was written again, answers differ"

# a block of a version this tool does not know: refused in one line naming the version
printf 'TWR\x09garbage' | redis-cli -s "$sock" -x hset "$h" "$field" >/dev/null
"$query" --redis "$url" --sensor cx2-sample flows --format json --limit 100000 >"$tmp/v9.json" 2>"$tmp/v9.err"
grep -q 'unknown compact format version 9' "$tmp/v9.err" ||
    fail "a version-9 block: expected 'unknown compact format version 9' on stderr, got: $(head -2 "$tmp/v9.err")"
[ "$(grep -c 'unknown compact format version 9' "$tmp/v9.err")" -ge 1 ] && [ "$(wc -l <"$tmp/v9.err")" -le 3 ] ||
    fail "a version-9 block: more than one line per refusal: $(head -5 "$tmp/v9.err")"
# a truncated zstd frame: refused, no crash
printf 'TWR\x02\x28\xb5\x2f\xfd\x20\x10' | redis-cli -s "$sock" -x hset "$h" "$field" >/dev/null
"$query" --redis "$url" --sensor cx2-sample flows --format json --limit 100000 >/dev/null 2>"$tmp/bad.err"
rc=$?
[ $rc -le 1 ] && grep -q 'corrupt compact block' "$tmp/bad.err" || fail "a corrupt block: exit $rc, $(head -2 "$tmp/bad.err")"

if [ $failures -ne 0 ]; then
    echo "test_compact_format: $failures failure(s)"
    exit 1
fi
echo "test_compact_format: pass ($compared queries compared, $nonempty with flows)"
