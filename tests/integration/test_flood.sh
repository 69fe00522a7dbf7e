#!/usr/bin/env bash
# test_flood.sh BUILD_DIR - floods stay bounded. The sample capture (normal branch traffic)
# with 10x the flow-table capacity of one-packet flows woven in (a SYN flood and a UDP scan):
#  - peak RSS stays within the configured memory budget (+10%);
#  - flows created = flows ended by reason (+ refused), every evicted flow is exported with
#    end_reason "evicted", and nothing ends before it starts;
#  - the normal flows are still classified as without the flood;
#  - with evict_when_full false, new flows are refused and counted instead.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d /tmp/tw-flood.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CAPACITY=16384
/usr/bin/python3 scripts/gen_captures.py "$TMP/cap" >/dev/null || { echo "gen_captures failed"; exit 1; }
python3 scripts/gen_flood.py "$TMP/flood.pcap" "$TMP/cap/sample.pcap" $((CAPACITY * 10)) ||
    { echo "gen_flood failed"; exit 1; }

fail=0
for evict in true false; do
    printf 'flow_table:\n  capacity: %d\n  evict_when_full: %s\nstats_interval: 0\n' \
        "$CAPACITY" "$evict" >"$TMP/$evict.yaml"
    if ! "$BUILD/tapwatch" --pcap "$TMP/flood.pcap" --config "$TMP/$evict.yaml" --quiet \
        --flows-jsonl "$TMP/$evict.jsonl" >"$TMP/$evict.sum" 2>"$TMP/$evict.err"; then
        echo "FAIL evict_when_full=$evict: exit non-zero: $(tail -n 2 "$TMP/$evict.err")"
        fail=1
        continue
    fi
    python3 - "$TMP/$evict.sum" "$TMP/$evict.jsonl" "$TMP/cap/expected.json" "$evict" "$CAPACITY" <<'PY' || fail=1
import json, re, sys
summ, jsonl, expected, evict, capacity = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "true", int(sys.argv[5])
s = open(summ).read()
recs = [json.loads(l) for l in open(jsonl)]
num = lambda pat: int(re.search(pat, s, re.M).group(1))
ok = True
def bad(msg):
    global ok
    ok = False
    print(f"FAIL evict_when_full={evict}: {msg}")

peak = float(re.search(r"peak memory +([\d.]+) MiB \(budget ([\d.]+) MiB\)", s).group(1))
budget = float(re.search(r"peak memory +([\d.]+) MiB \(budget ([\d.]+) MiB\)", s).group(2))
if peak > budget * 1.10:
    bad(f"peak memory {peak} MiB is over the budget {budget} MiB + 10%")
created = num(r"^  flows +(\d+)")
ended = dict(zip(("idle", "tcp_close", "evicted", "eof", "shutdown"),
                 map(int, re.search(r"flows ended +idle (\d+), tcp_close (\d+), evicted (\d+), eof (\d+), shutdown (\d+)", s).groups())))
refused = int(m.group(1)) if (m := re.search(r"drop_flow_table_full +(\d+)", s)) else 0
rx, parsed, dropped = num(r"packets received +(\d+)"), num(r"packets parsed +(\d+)"), num(r"packets dropped +(\d+)")
merged = num(r"fragments merged +(\d+)")
if rx != parsed + dropped + merged:
    bad(f"received {rx} != parsed {parsed} + dropped {dropped} + fragments merged {merged}")
if created != sum(ended.values()):
    bad(f"flows created {created} != ended {sum(ended.values())} {ended}")
if len(recs) != created:
    bad(f"{len(recs)} records for {created} flows")
by_reason = {}
for r in recs:
    by_reason[r["end_reason"]] = by_reason.get(r["end_reason"], 0) + 1
    if r["last_seen"] < r["first_seen"]:
        bad(f"record ends before it starts: {r}")
        break
if by_reason.get("evicted", 0) != ended["evicted"]:
    bad(f"{by_reason.get('evicted', 0)} records say evicted, the counter says {ended['evicted']}")
if evict:
    if ended["evicted"] < capacity * 8:
        bad(f"only {ended['evicted']} evictions for a flood of {capacity * 10} flows")
    if refused:
        bad(f"{refused} packets refused although eviction is on")
else:
    # the table only frees entries by timeouts now, so much of the flood is refused
    if ended["evicted"] or refused < capacity:
        bad(f"eviction off: evicted {ended['evicted']}, refused {refused}")
# normal traffic still classified: every sample flow whose app is asserted appears with it
want = json.load(open(expected))["captures"]["sample.pcap"]["flows"]
key = lambda a, ap, b, bp, p: (p,) + tuple(sorted([(a, ap), (b, bp)]))
got = {}
for r in recs:
    got.setdefault(key(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ip_proto"]), set()).add(r["app"])
checked = wrong = 0
for f in want:
    if not f.get("app"):
        continue
    checked += 1
    apps = got.get(key(f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"], f["ip_proto"]), set())
    if f["app"] not in apps:
        wrong += 1
        if wrong <= 5:
            print(f"  normal flow {f['src_ip']}:{f['src_port']} -> {f['dst_ip']}:{f['dst_port']} want {f['app']}, got {sorted(apps) or 'nothing'}")
# with eviction on, the flood pushes out only flows idle longer than the table turns over;
# with it off, normal flows that arrive while the table is full are refused like the flood
if evict and (wrong or checked < 100):
    bad(f"{wrong} of {checked} normal flows lost their classification")
if ok:
    print(f"evict_when_full={evict}: {created} flows, ended {ended}, refused packets {refused}, "
          f"peak {peak} MiB of budget {budget} MiB, {checked - wrong}/{checked} normal flows classified")
sys.exit(0 if ok else 1)
PY
done
[ $fail -eq 0 ] && echo "test_flood: PASS"
exit $fail
