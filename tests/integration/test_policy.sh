#!/usr/bin/env bash
# test_policy.sh - the policy end to end: generated captures (scripts/gen_policy_captures.py),
# one per rule kind, through tapwatch with tests/integration/policy.yaml into a real
# redis-server; the alerts tapwatch-query returns must be exactly the expected ones (the
# positive case fires with the right equipment and flow, the compliant traffic next to it
# raises nothing); --alerts-jsonl holds the same alerts; the per-day summaries equal the sums
# of the flow records; replaying a capture into the same sensor changes no alert and no
# summary; --since/--until answer as filtering the whole stream would; a SIGHUP reload under
# traffic (one valid, one invalid policy, and a SCRIPT FLUSH) loses no packet, keeps running
# and reports the invalid one on one line.
#
#   bash tests/integration/test_policy.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, scapy or binaries).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
tw=$build/tapwatch
policy=$here/policy.yaml

tw_need_tools redis-server redis-cli python3
tw_need_scapy
tw_need_bins "$tw" "$query"

tmp=$(mktemp -d /tmp/tw-policy.XXXXXX)
trap 'bash "$redis_local" stop "$tmp" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
sock=$(bash "$redis_local" start "$tmp") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/caps" || { echo "FAIL: generator"; exit 1; }

# --check-config validates the policy
out=$("$tw" --check-config --policy "$policy" 2>&1)
echo "$out" | grep -qx 'tapwatch: policy OK: 2 equipment, 7 rules' || fail "check-config: $out"
"$tw" --check-config --policy "$root/tests/fixtures/policy/bad-window.yaml" >/dev/null 2>"$tmp/bad.err"
rc=$?
[ $rc -eq 2 ] || fail "bad policy: expected exit 2, got $rc"
grep -q 'bad-window.yaml:5: maintenance.windows\[0\]: expected' "$tmp/bad.err" || fail "bad policy message: $(cat "$tmp/bad.err")"

for cap in undeclared remote upload unclassified risky; do
    sensor=tw-pol-$$-$cap
    if ! "$tw" --pcap "$tmp/caps/$cap.pcap" --policy "$policy" --redis "$url" --sensor "$sensor" \
        --flows-jsonl "$tmp/$cap.flows.jsonl" --alerts-jsonl "$tmp/$cap.alerts.jsonl" --quiet \
        >"$tmp/$cap.out" 2>"$tmp/$cap.err"; then
        fail "$cap: tapwatch failed: $(cat "$tmp/$cap.err")"
        continue
    fi
    "$query" --redis "$url" --sensor "$sensor" alerts --limit 1000 --format json >"$tmp/$cap.query.json" ||
        fail "$cap: alerts query"
    n=0
    for kind in undeclared_destination remote_access_unapproved_host remote_access_outside_window \
        remote_access_protocol upload_volume unclassified_channel risky_flow; do
        "$query" --redis "$url" --sensor "$sensor" alerts --kind "$kind" --format json \
            >"$tmp/$cap.$kind.json" || fail "$cap: alerts --kind $kind"
        # --rule selects by the kind's rule id (README's table: TW-R01 ... in this order)
        n=$((n + 1))
        rule=$(printf 'TW-R%02d' "$n")
        "$query" --redis "$url" --sensor "$sensor" alerts --rule "$rule" --format json \
            >"$tmp/$cap.$rule.json" || fail "$cap: alerts --rule $rule"
        cmp -s "$tmp/$cap.$kind.json" "$tmp/$cap.$rule.json" || fail "$cap: --rule $rule is not --kind $kind"
        if [ -s "$tmp/$cap.$kind.json" ] &&
            ! python3 -c 'import json,sys; sys.exit(any(json.loads(l)["rule"] != sys.argv[2] for l in open(sys.argv[1])))' \
                "$tmp/$cap.$kind.json" "$rule"; then
            fail "$cap: $kind alerts do not carry rule $rule"
        fi
    done
    # every alert names the policy in force: sha256sum of its file, in Redis and JSON lines
    sha=$(sha256sum "$policy" | cut -d' ' -f1)
    for f in "$tmp/$cap.query.json" "$tmp/$cap.alerts.jsonl"; do
        [ -s "$f" ] || fail "$cap: no alerts in $f"
        python3 -c 'import json,sys; sys.exit(any(json.loads(l)["policy_sha256"] != sys.argv[2] or json.loads(l)["geoip_sha256"] != "" or not json.loads(l)["rule"].startswith("TW-R") for l in open(sys.argv[1])))' \
            "$f" "$sha" || fail "$cap: alerts in $(basename "$f") do not carry policy_sha256 $sha"
    done
    grep -qx "  policy sha256        $sha" "$tmp/$cap.out" || fail "$cap: summary lacks the policy's sha256"
    "$query" --redis "$url" --sensor "$sensor" alerts --format csv | head -1 |
        grep -q '^kind,rule,severity,' || fail "$cap: csv header lacks rule"
    # equipment filter and table/csv forms answer
    "$query" --redis "$url" --sensor "$sensor" alerts --equipment nosuch --format json >"$tmp/none.json" ||
        fail "$cap: --equipment"
    [ -s "$tmp/none.json" ] && fail "$cap: --equipment nosuch returned alerts"
    "$query" --redis "$url" --sensor "$sensor" alerts --format csv >/dev/null || fail "$cap: csv"
    "$query" --redis "$url" --sensor "$sensor" alerts >/dev/null 2>&1 || fail "$cap: table"

    TQ="$query" TQ_URL="$url" python3 - "$tmp" "$cap" "$sensor" "$sock" <<'PY' || fail "$cap: alerts differ (above)"
import json, os, re, subprocess, sys
tmp, cap, sensor, sock = sys.argv[1:]
exp = json.load(open(f"{tmp}/caps/expected.json"))["captures"][cap + ".pcap"]
key = lambda a: (a["kind"], a["equipment"], a["src_ip"], a["src_port"], a["dst_ip"], a["dst_port"])
ok = True
allq = [json.loads(l) for l in open(f"{tmp}/{cap}.query.json")]
jsonl = [json.loads(l) for l in open(f"{tmp}/{cap}.alerts.jsonl")]
if sorted(map(key, allq)) != sorted(map(key, jsonl)):
    print("  query and --alerts-jsonl disagree"); ok = False
flows = {f["flow_id"]: f for f in map(json.loads, open(f"{tmp}/{cap}.flows.jsonl"))}
five = lambda o: (o["src_ip"], o["src_port"], o["dst_ip"], o["dst_port"], o["ip_proto"])
# every alert (query and --alerts-jsonl) names its flow record as stored: HGET through
# flow_key, field flow_id, must return the record of that flow (same id, same 5-tuple), and
# the key must be the sensor's record hash of the flow's first_seen hour
for a in allq + jsonl:
    f = flows.get(a["flow_id"])
    fkey = a.get("flow_key", "")
    m = re.fullmatch(r"tw:\{(.+)\}:f:(\d+)(:\d+)?", fkey)  # the shard when built with shards
    got = subprocess.run(["redis-cli", "-s", sock, "--raw", "HGET", fkey, a["flow_id"]],
                         capture_output=True, text=True).stdout.strip() if m else ""
    if m and not got:  # redis.format 2: no such hash; the query tool resolves the key
        got = subprocess.run([os.environ["TQ"], "--redis", os.environ["TQ_URL"], "--sensor",
                              sensor, "flow", a["flow_id"], "--key", fkey, "--format", "json"],
                             capture_output=True, text=True).stdout.strip()
    try:
        rec = json.loads(got) if got else None
    except ValueError:
        rec = None
    if f is None or m is None or m.group(1) != sensor or \
            int(m.group(2)) != int(f["first_seen"]) // 3600 or rec is None or \
            rec["flow_id"] != a["flow_id"] or five(rec) != five(a) or five(f) != five(a):
        print("  alert does not name its flow record:", a, "->", got[:200]); ok = False
    for k in ("severity", "vendor", "ts", "app", "server_name", "detail"):
        if k not in a:
            print("  alert lacks", k); ok = False
for kind in exp["kinds"]:
    got = sorted(key(a) for a in map(json.loads, open(f"{tmp}/{cap}.{kind}.json")))
    want = sorted(key(a) for a in exp["alerts"] if a["kind"] == kind)
    if got != want:
        print(f"  {kind}: want {want}\n  {' ' * len(kind)}  got  {got}"); ok = False
sys.exit(0 if ok else 1)
PY

    # per-day summaries = sums of the flow records of each equipment
    for eq in atm-ctrl-01 srv-02; do
        "$query" --redis "$url" --sensor "$sensor" summary --equipment "$eq" --by day --format json \
            >"$tmp/$cap.$eq.sum.json" || fail "$cap: summary $eq"
    done
    python3 - "$tmp" "$cap" <<'PY' || fail "$cap: summary totals differ (above)"
import ipaddress, json, sys
tmp, cap = sys.argv[1:]
eqs = {"atm-ctrl-01": ipaddress.ip_network("10.40.1.11/32"), "srv-02": ipaddress.ip_network("10.40.2.0/24")}
alerts = [json.loads(l) for l in open(f"{tmp}/{cap}.alerts.jsonl")]
ok = True
for eq, net in eqs.items():
    want = dict(flows=0, bytes_out=0, bytes_in=0, packets_out=0, packets_in=0)
    for f in map(json.loads, open(f"{tmp}/{cap}.flows.jsonl")):
        for client in (True, False):
            if ipaddress.ip_address(f["src_ip" if client else "dst_ip"]) in net:
                o, i = ("c2s", "s2c") if client else ("s2c", "c2s")
                want["flows"] += 1
                want["bytes_out"] += f[o + "_bytes"]; want["bytes_in"] += f[i + "_bytes"]
                want["packets_out"] += f[o + "_packets"]; want["packets_in"] += f[i + "_packets"]
    rows = [json.loads(l) for l in open(f"{tmp}/{cap}.{eq}.sum.json")]
    got = {k: sum(r[k] for r in rows) for k in want}
    if got != want:
        print(f"  {eq}: want {want}\n  {' ' * len(eq)}  got  {got}"); ok = False
    na = sum(sum(r["alerts"].values()) for r in rows)
    if na != sum(1 for a in alerts if a["equipment"] == eq):
        print(f"  {eq}: alert counts {na}"); ok = False
    if want["flows"] and not all(r["top_peers"] and r["top_apps"] for r in rows):
        print(f"  {eq}: no top peers/apps"); ok = False
sys.exit(0 if ok else 1)
PY

    # idempotent writes: the same capture again into the same sensor leaves the alerts (count
    # and content, stream included) and the summaries exactly as one run left them
    "$tw" --pcap "$tmp/caps/$cap.pcap" --policy "$policy" --redis "$url" --sensor "$sensor" \
        --quiet >/dev/null 2>"$tmp/$cap.again.err" || fail "$cap: replay: $(cat "$tmp/$cap.again.err")"
    "$query" --redis "$url" --sensor "$sensor" alerts --limit 1000 --format json >"$tmp/$cap.again.json" ||
        fail "$cap: alerts query after replay"
    cmp -s "$tmp/$cap.query.json" "$tmp/$cap.again.json" || fail "$cap: replay changed the alerts"
    n=$(redis-cli -s "$sock" xlen "tw:{$sensor}:alerts")
    [ "$n" = "$(wc -l <"$tmp/$cap.alerts.jsonl")" ] || fail "$cap: replay: stream holds $n entries"
    for eq in atm-ctrl-01 srv-02; do
        "$query" --redis "$url" --sensor "$sensor" summary --equipment "$eq" --by day --format json \
            >"$tmp/$cap.$eq.again.json" || fail "$cap: summary $eq after replay"
        cmp -s "$tmp/$cap.$eq.sum.json" "$tmp/$cap.$eq.again.json" || fail "$cap: replay changed the $eq summary"
    done
done

# time-bounded alerts (--since/--until read the time index): the same alerts, in the same
# order, as filtering the whole stream on ts; the same again without the index (scan)
sensor=tw-pol-$$-remote
for range in "--since 1772442300.026" "--until 1772447410.026" "--since 1772442301 --until 1772447410.026" \
    "--since 1772447420.0241 --until 1772447420.0241" "--since 1772447420.0242" "--since 1772442000 --limit 1"; do
    # shellcheck disable=SC2086
    "$query" --redis "$url" --sensor "$sensor" alerts $range --format json >"$tmp/range.json" ||
        fail "alerts $range"
    python3 - "$tmp/remote.query.json" "$tmp/range.json" $range <<'PY' || fail "alerts $range differ (above)"
import json, sys
allq = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
opt = dict(zip(sys.argv[3::2], sys.argv[4::2]))
us = lambda t: round(float(t) * 1e6)
want = [a for a in allq if us(opt.get("--since", 0)) <= us(a["ts"]) <= us(opt.get("--until", 1e10))]
want = want[:int(opt.get("--limit", 100))]
if got != want or not allq:
    print("  want", [a["ts"] for a in want], "got", [a["ts"] for a in got]); sys.exit(1)
PY
    redis-cli -s "$sock" rename "tw:{$sensor}:alerts:hours" "tw:{$sensor}:alerts:hours-away" >/dev/null
    # shellcheck disable=SC2086
    "$query" --redis "$url" --sensor "$sensor" alerts $range --format json >"$tmp/range.scan.json" ||
        fail "alerts $range (scan)"
    redis-cli -s "$sock" rename "tw:{$sensor}:alerts:hours-away" "tw:{$sensor}:alerts:hours" >/dev/null
    cmp -s "$tmp/range.json" "$tmp/range.scan.json" || fail "alerts $range: index and scan differ"
done

# retention: the alert stream and summary keys expire (redis.retention, default 180d)
ttl=$(redis-cli -s "$sock" ttl "tw:{tw-pol-$$-risky}:alerts")
[ "$ttl" -gt 15000000 ] 2>/dev/null || fail "alert stream TTL: $ttl"
ttl=$(redis-cli -s "$sock" ttl "tw:{tw-pol-$$-risky}:sum:atm-ctrl-01:days")
[ "$ttl" -gt 15000000 ] 2>/dev/null || fail "summary TTL: $ttl"

# bad command lines
"$query" --redis "$url" summary >/dev/null 2>&1; [ $? -eq 2 ] || fail "summary without --equipment"
"$query" --redis "$url" alerts --kind nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "alerts --kind nosuch"
"$query" --redis "$url" summary --equipment a --by week >/dev/null 2>&1; [ $? -eq 2 ] || fail "--by week"

# reload under traffic: about 6 s of capture replayed at its own pace, SIGHUP with a changed
# valid policy, then with an invalid one
cp "$policy" "$tmp/live.yaml"
sensor=tw-pol-$$-reload
"$tw" --pcap "$tmp/caps/reload.pcap" --policy "$tmp/live.yaml" --redis "$url" --sensor "$sensor" \
    --replay-speed 1 --quiet >"$tmp/reload.out" 2>"$tmp/reload.err" &
pid=$!
sleep 2
sed 's/upload_bytes_per_flow: 300000/upload_bytes_per_flow: 200000/' "$policy" >"$tmp/live.yaml"
kill -HUP $pid
redis-cli -s "$sock" script flush >/dev/null # NOSCRIPT: the writer loads its scripts again
sleep 1.5
printf 'equipment:\n  - name: bad name\n    addresses: [10.1.1.1]\n' >"$tmp/live.yaml"
kill -HUP $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "reload run: exit $rc: $(cat "$tmp/reload.err")"
n=$(grep -c 'policy reload failed' "$tmp/reload.err")
[ "$n" = 1 ] || fail "invalid reload: expected one line on stderr, got $n: $(cat "$tmp/reload.err")"
grep -q 'live.yaml:2: equipment\[0\].name: expected' "$tmp/reload.err" || fail "invalid reload message"
grep -q 'policy reloaded: 2 equipment' "$tmp/reload.err" || fail "valid reload not reported"
python3 - "$tmp/reload.out" "$tmp/caps/expected.json" <<'PY' || fail "reload run lost packets (above)"
import json, re, sys
text = open(sys.argv[1]).read()
num = lambda name: int(re.search(r"^\s*%s\s+(\d+)" % name, text, re.M).group(1))
rx, parsed, dropped = num("packets received"), num("packets parsed"), num("packets dropped")
merged = num("fragments merged")
want = json.load(open(sys.argv[2]))["captures"]["reload.pcap"]["packets"]
ok = rx == parsed + dropped + merged and rx == want and dropped == 0
print("received", rx, "parsed", parsed, "dropped", dropped, "in file", want)
assert re.search(r"policy reloads\s+1 \(failed 1\)", text), text
sys.exit(0 if ok else 1)
PY
n=$("$query" --redis "$url" --sensor "$sensor" alerts --kind undeclared_destination --format json | wc -l)
[ "$n" = 20 ] || fail "reload run: expected 20 undeclared alerts (one per flow, across reloads), got $n"
grep -Eq 'redis alerts +written 20, summaries [1-9][0-9]*, not written 0,' "$tmp/reload.out" ||
    fail "reload run: $(grep 'redis alerts' "$tmp/reload.out")"

if [ $failures -ne 0 ]; then
    echo "test_policy: $failures failure(s)"
    exit 1
fi
echo "test_policy: pass"
exit 0
