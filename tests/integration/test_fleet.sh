#!/usr/bin/env bash
# test_fleet.sh - many sensors, many banks, on a real redis-server with ACL users
# (control/record/fleet_keys.h, control/store/sensor_registry.h, control/query/merge.c):
#   - three sensors replay generated captures with a policy, each as its own ACL user from
#     `tapwatch --print-acl BANK/SENSOR`: branch-1 and branch-2 in bank A, hq-1 in bank B
#     (nothing refused: the sensor user has its registration keys);
#   - `tapwatch-query sensors` lists them with their banks (table, csv, json);
#   - flows, alerts and summary for --sensor a,b, --sensor 'glob' and --all-sensors equal
#     the union of the per-sensor answers, newest first, with the sensor column (json, csv,
#     table), and --limit cuts the merged answer;
#   - reader-A (`tapwatch --print-acl-reader A`) reads bank A's sensors, registry and records,
#     and is refused bank B's keys and registry and tw:banks (NOPERM).
#
#   bash tests/integration/test_fleet.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3 sha256sum
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-fleet.XXXXXX)
cleanup() {
    [ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null
    sleep 0.1
    rm -rf "$tmp"
}
trap cleanup EXIT

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/caps" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py failed:"; cat "$tmp/gen.log"; exit 1; }

# the users: each sensor's from --print-acl BANK/SENSOR, the reader of bank A, an admin
umask 077
sensors="A/branch-1 A/branch-2 B/hq-1"
pwfile() { echo "$tmp/$(echo "$1" | tr / +).pw"; }
hash() { printf %s "$(cat "$(pwfile "$1")")" | sha256sum | cut -d' ' -f1; }
for u in tapwatch-A/branch-1 tapwatch-A/branch-2 tapwatch-B/hq-1 reader-A; do
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$(pwfile "$u")"
done
{
    for s in $sensors; do "$tapwatch" --print-acl "$s" | grep '^user tapwatch-'; done
    "$tapwatch" --print-acl-reader A
    echo "user admin on >adminpw ~* &* +@all"
    echo "user default off"
} >"$tmp/users.raw" || fail "tapwatch --print-acl / --print-acl-reader failed"
grep -q '^user reader-A .*%R~tw:{A/\* %R~tw:{bank:A}:\* ' "$tmp/users.raw" ||
    fail "reader-A's patterns: $(grep reader-A "$tmp/users.raw")"
cp "$tmp/users.raw" "$tmp/users.acl"
for u in tapwatch-A/branch-1 tapwatch-A/branch-2 tapwatch-B/hq-1 reader-A; do
    sed -i "s|#SHA256-OF-THE-PASSWORD-OF-$u |#$(hash "$u") |" "$tmp/users.acl"
done
sock=$tmp/redis.sock
redis-server - >"$tmp/redis.start" 2>&1 <<CONF || { echo "FAIL: redis-server did not start:"; cat "$tmp/redis.start"; exit 1; }
port 0
unixsocket $sock
unixsocketperm 700
dir $tmp
daemonize yes
pidfile $tmp/redis.pid
logfile $tmp/redis.log
save ""
appendonly no
aclfile $tmp/users.acl
CONF
admin() { redis-cli -s "$sock" --user admin --pass adminpw --no-auth-warning "$@"; }
for _ in $(seq 1 100); do [ "$(admin ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(admin ping 2>/dev/null)" = PONG ] || { echo "FAIL: redis-server does not answer:"; tail -5 "$tmp/redis.log"; exit 1; }

# 1. three sensors, each as its own user, each its own capture
declare -A capture=([A/branch-1]=undeclared [A/branch-2]=remote [B/hq-1]=upload)
for s in $sensors; do
    bank=${s%/*} name=${s#*/} f=$tmp/$bank-$name
    cat >"$f.yaml" <<YAML
bank: $bank
sensor: $name
run_dir: $tmp/run
redis:
  user: tapwatch-$s
  password_file: $(pwfile "tapwatch-$s")
  flush_interval: 20ms
YAML
    if ! timeout 60 "$tapwatch" --pcap "$tmp/caps/${capture[$s]}.pcap" --config "$f.yaml" \
        --redis "unix://$sock" --policy "$here/policy.yaml" --flows-jsonl "$f.flows" \
        --alerts-jsonl "$f.alerts" --quiet >"$f.sum" 2>"$f.err"; then
        fail "$s: tapwatch failed: $(head -c 800 "$f.err")"
        continue
    fi
    grep 'NOPERM' "$f.err" | grep -qv 'CONFIG GET' && fail "$s: refused: $(grep NOPERM "$f.err" | head -2)"
    grep -q 'refused [1-9]' "$f.sum" && fail "$s: Redis refused records: $(grep refused "$f.sum")"
    [ -s "$f.flows" ] || fail "$s: no flows"
    [ -s "$f.alerts" ] || fail "$s: no alerts"
    [ "$(admin exists "tw:{$s}:hours")" = 1 ] || fail "$s: no tw:{$s}:hours"
done
[ "$(admin exists 'tw:{branch-1}:hours')" = 0 ] || fail "a banked sensor wrote tw:{branch-1}:..."

# 2. sensors: all of them with their banks; one bank's; a glob
q() { "$query" --redis "unix://$sock" --redis-user admin --redis-password-file "$tmp/admin.pw" "$@"; }
printf adminpw >"$tmp/admin.pw"
q sensors --format json >"$tmp/sensors.json" 2>"$tmp/sensors.err" || fail "sensors: $(cat "$tmp/sensors.err")"
python3 - "$tmp/sensors.json" <<'PY' || fail "sensors --format json: $(cat "$tmp/sensors.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = [(r["bank"], r["sensor"], r["namespace"]) for r in rows]
assert got == [("A", "branch-1", "A/branch-1"), ("A", "branch-2", "A/branch-2"), ("B", "hq-1", "B/hq-1")], got
for r in rows:
    assert r["version"] and r["hostname"] and r["first_seen"] > 0 and r["last_seen"] >= r["first_seen"], r
    assert r["pubkey"] == "" and len(r["run"]) == 16 and len(r["policy_sha256"]) == 64, r
PY
q sensors >"$tmp/sensors.txt" || fail "sensors (table)"
head -1 "$tmp/sensors.txt" | grep -q '^SENSOR  *BANK  *FIRST_SEEN_UTC  *LAST_SEEN_UTC  *VERSION  *HOSTNAME$' ||
    fail "sensors table header: $(head -1 "$tmp/sensors.txt")"
[ "$(awk 'NR>1 {print $1 "/" $2}' "$tmp/sensors.txt" | tr '\n' ' ')" = "branch-1/A branch-2/A hq-1/B " ] ||
    fail "sensors table: $(cat "$tmp/sensors.txt")"
[ "$(q --bank A sensors --format csv | cut -d, -f1,2 | tr '\n' ' ')" = "sensor,bank branch-1,A branch-2,A " ] ||
    fail "sensors --bank A --format csv: $(q --bank A sensors --format csv)"
[ "$(q --sensor 'B/*' sensors --format csv | cut -d, -f1 | tail -n +2)" = hq-1 ] ||
    fail "sensors --sensor 'B/*'"
# every registration key expires (redis.retention), renewed while its sensor runs
for k in 'tw:{bank:A}:sensor:branch-1' 'tw:{bank:A}:first-seen:branch-1' 'tw:{bank:A}:members'; do
    [ "$(admin ttl "$k")" -gt 0 ] || fail "$k: TTL $(admin ttl "$k"), expected to expire"
done
# a registry written by a tapwatch before per-sensor keys (one hash per bank) is still listed
admin hset 'tw:{bank:C}:sensors' old-1 \
    '{"sensor":"old-1","bank":"C","namespace":"C/old-1","version":"0.0.9","hostname":"h","run":"00000000000f4240","started":1.0,"last_seen":2.0,"geoip_sha256":"","policy_sha256":"","pubkey":""}' >/dev/null
admin sadd tw:banks C >/dev/null
[ "$(q --bank C sensors --format csv | cut -d, -f1,2 | tail -n +2)" = "old-1,C" ] ||
    fail "sensors --bank C (the older registry hash): $(q --bank C sensors --format csv 2>&1)"
admin del 'tw:{bank:C}:sensors' >/dev/null
admin srem tw:banks C >/dev/null

# 3. merged answers = the union of the per-sensor answers, newest first, with the sensor
# each merged answer is checked at the end, all in one python (python starts slowly here)
check_merge() { # WHAT SUB FORMAT MERGED_FILE SENSOR=FILE...
    local IFS=$'\t'
    echo "$*" >>"$tmp/checks"
}
eq=atm-ctrl-01
for sub in flows alerts summary; do
    extra=(--limit 1000)
    [ $sub = summary ] && extra=(--equipment $eq --by hour)
    for fmt in json csv; do
        for s in $sensors; do
            q --sensor "$s" $sub "${extra[@]}" --format $fmt >"$tmp/one.$sub.$fmt.$(echo "$s" | tr / +)" ||
                fail "$sub --sensor $s --format $fmt"
            q --bank "${s%/*}" --sensor "${s#*/}" $sub "${extra[@]}" --format $fmt | cmp -s - "$tmp/one.$sub.$fmt.$(echo "$s" | tr / +)" ||
                fail "$sub --bank ${s%/*} --sensor ${s#*/} differs from --sensor $s"
        done
        one() { echo "$1=$tmp/one.$sub.$fmt.$(echo "${2:-$1}" | tr / +)"; }
        q --bank A --sensor branch-1,branch-2 $sub "${extra[@]}" --format $fmt >"$tmp/m.list" ||
            fail "$sub --bank A --sensor branch-1,branch-2"
        cp "$tmp/m.list" "$tmp/m.list.$sub.$fmt"
        check_merge "$sub --bank A --sensor a,b ($fmt)" $sub $fmt "$tmp/m.list.$sub.$fmt" \
            "$(one A/branch-1)" "$(one A/branch-2)"
        q --bank A --sensor 'branch-*' $sub "${extra[@]}" --format $fmt | cmp -s - "$tmp/m.list" ||
            fail "$sub --bank A --sensor 'branch-*' differs from the list ($fmt)"
        q --all-sensors $sub "${extra[@]}" --format $fmt >"$tmp/m.all.$sub.$fmt" || fail "$sub --all-sensors"
        check_merge "$sub --all-sensors ($fmt)" $sub $fmt "$tmp/m.all.$sub.$fmt" \
            "$(one A/branch-1)" "$(one A/branch-2)" "$(one B/hq-1)"
        q --sensor 'A/branch-1,B/hq-1' $sub "${extra[@]}" --format $fmt >"$tmp/m.ab.$sub.$fmt" ||
            fail "$sub --sensor A/branch-1,B/hq-1"
        check_merge "$sub --sensor A/branch-1,B/hq-1 ($fmt)" $sub $fmt "$tmp/m.ab.$sub.$fmt" \
            "$(one A/branch-1)" "$(one B/hq-1)"
    done
    # table: a SENSOR column first, one row per merged row
    q --all-sensors $sub "${extra[@]}" >"$tmp/m.table" || fail "$sub --all-sensors (table)"
    head -1 "$tmp/m.table" | grep -q '^SENSOR ' || fail "$sub table: no SENSOR column: $(head -1 "$tmp/m.table")"
    [ "$(($(wc -l <"$tmp/m.table") - 1))" -eq "$(wc -l <"$tmp/m.all.$sub.json")" ] ||
        fail "$sub table: $(($(wc -l <"$tmp/m.table") - 1)) rows, json $(wc -l <"$tmp/m.all.$sub.json")"
    # the table's sensors, row by row, are the JSON answer's
    [ "$(awk 'NR>1 {print $1}' "$tmp/m.table" | tr '\n' ' ')" = \
      "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["sensor"] for l in open(sys.argv[1])), end=" ")' "$tmp/m.all.$sub.json")" ] ||
        fail "$sub table: sensors $(awk 'NR>1 {print $1}' "$tmp/m.table" | tr '\n' ' ')"
done
# --limit cuts the merged answer: its first N rows
q --all-sensors flows --limit 1000 --format json 2>/dev/null | head -5 >"$tmp/first5"
q --all-sensors flows --limit 5 --format json | cmp -s - "$tmp/first5" || fail "--limit 5 is not the first 5 merged"
q --all-sensors alerts --limit 3 --format csv | tail -n +2 >"$tmp/l3"
[ "$(wc -l <"$tmp/l3")" -eq 3 ] || fail "alerts --limit 3 gave $(wc -l <"$tmp/l3") rows"
# a single sensor answers as before: no sensor column
q --sensor A/branch-1 flows --format csv | head -1 | grep -q '^flow_id,' || fail "one sensor got a sensor column"
out=$(q --all-sensors --sensor x flows 2>&1); [ $? -eq 2 ] || fail "--all-sensors with --sensor: $out"
out=$(q --bank 'A*' flows 2>&1); [ $? -eq 2 ] || fail "--bank 'A*' accepted: $out"

# 4. the reader of bank A: A's sensors, registry and records; nothing of B's
export TAPWATCH_REDIS_PASSWORD_FILE=$(pwfile reader-A)
r() { "$query" --redis "unix://reader-A@$sock" "$@"; }
r --bank A sensors --format csv >"$tmp/ra.sensors" 2>"$tmp/ra.err" || fail "reader-A: sensors: $(cat "$tmp/ra.err")"
[ "$(tail -n +2 "$tmp/ra.sensors" | cut -d, -f1 | tr '\n' ' ')" = "branch-1 branch-2 " ] ||
    fail "reader-A: sensors: $(cat "$tmp/ra.sensors")"
r --bank A --all-sensors flows --limit 1000 --format json >"$tmp/ra.flows" 2>"$tmp/ra.err" ||
    fail "reader-A: flows: $(cat "$tmp/ra.err")"
cmp -s "$tmp/ra.flows" <(q --bank A --all-sensors flows --limit 1000 --format json) ||
    fail "reader-A reads bank A's flows differently from admin"
r --bank A --all-sensors alerts --limit 1000 --format json >/dev/null 2>"$tmp/ra.err" ||
    fail "reader-A: alerts: $(cat "$tmp/ra.err")"
for args in "--bank B --sensor hq-1 flows" "--bank B --sensor hq-1 alerts" "--bank B sensors" \
    "--bank B --all-sensors flows" "--all-sensors flows" "sensors"; do
    # shellcheck disable=SC2086
    out=$(r $args 2>&1)
    rc=$?
    # 4: refused at its audit entry (tw:{audit:B}:trail, tw:{audit:}:trail are not A's)
    { [ $rc -eq 2 ] || [ $rc -eq 4 ]; } && echo "$out" | grep -q NOPERM ||
        fail "reader-A: $args: exit $rc, not NOPERM: $out"
done
as_reader() { redis-cli -s "$sock" --user reader-A --pass "$(cat "$(pwfile reader-A)")" --no-auth-warning "$@"; }
for cmd in "GET tw:{bank:B}:sensor:hq-1" "GET tw:{bank:B}:first-seen:hq-1" "SMEMBERS tw:{bank:B}:members" "SMEMBERS tw:banks" \
    "ZRANGE tw:{B/hq-1}:hours 0 -1" "XRANGE tw:{B/hq-1}:alerts - +" "HGETALL tw:{hq-1}:stats" \
    "HSET tw:{A/branch-1}:stats x 1"; do
    # shellcheck disable=SC2086
    out=$(as_reader $cmd 2>&1)
    case $out in NOPERM*) ;; *) fail "reader-A: $cmd was not refused: $out" ;; esac
done
out=$(as_reader GET 'tw:{bank:A}:sensor:branch-1' 2>&1)
case $out in *branch-1*) ;; *) fail "reader-A cannot read bank A's registry: $out" ;; esac
unset TAPWATCH_REDIS_PASSWORD_FILE
# a sensor writes its own keys and registration, not another bank's
as_sensor() { local u=$1; shift; redis-cli -s "$sock" --user "$u" --pass "$(cat "$(pwfile "$u")")" --no-auth-warning "$@"; }
# ... nor another sensor's registration of its own bank (one key each: fleet_keys.h)
for cmd in "SET tw:{bank:B}:sensor:hq-1 x" "HSET tw:{B/hq-1}:stats x 1" "GET tw:{bank:A}:sensor:branch-1" \
    "SET tw:{bank:A}:sensor:branch-2 forged" "SET tw:{bank:A}:first-seen:branch-2 1" "DEL tw:{bank:A}:sensor:branch-2"; do
    # shellcheck disable=SC2086
    out=$(as_sensor tapwatch-A/branch-1 $cmd 2>&1)
    case $out in NOPERM*) ;; *) fail "tapwatch-A/branch-1: $cmd was not refused: $out" ;; esac
done

cat >"$tmp/check.py" <<'PY'
import csv, io, json, sys
failed = 0
class Bad(Exception):
    pass
def check(what, sub, fmt, merged, *rest):
    parts = [a.split("=", 1) for a in rest]
    key = {"flows": "last_seen", "alerts": "ts", "summary": "start"}[sub]
    def err(msg):
        raise Bad(f"{what}: {msg}")
    if fmt == "json":
        got = [json.loads(l) for l in open(merged)]
        want = []
        for name, f in parts:
            for l in open(f): # an alert names its sensor itself: the same name
                o = json.loads(l)
                if "sensor" in o and o["sensor"] != name:
                    err(f"an alert of {name} says sensor {o['sensor']}")
                want.append(dict(sensor=name, **{k: v for k, v in o.items() if k != "sensor"}))
        canon = lambda rows: sorted(json.dumps(r, sort_keys=True) for r in rows)
        if canon(got) != canon(want):
            err(f"{len(got)} rows merged, {len(want)} in the union, or they differ")
        if any("sensor" not in r or (sub != "alerts" and list(r)[0] != "sensor") for r in got):
            err("no sensor key first")
        keys = [float(r[key]) for r in got]
        if keys != sorted(keys, reverse=True):
            err(f"not newest first by {key}")
        if len(got) < 1 or ("all" in what and len({r["sensor"] for r in got}) < 2):
            err("fewer than two sensors' rows: the test proves nothing")
    else:
        rows = list(csv.reader(open(merged)))
        head, body = rows[0], rows[1:]
        want = []
        whead = None
        for name, f in parts:
            r = list(csv.reader(open(f)))
            whead = r[0]
            want += [[name] + x for x in r[1:]]
        if head != ["sensor"] + whead:
            err(f"header {head[:3]}...")
        if sorted(body) != sorted(want):
            err(f"{len(body)} rows merged, {len(want)} in the union, or they differ")
        col = {"flows": "last_seen", "alerts": "ts", "summary": "bucket"}[sub]
        i = head.index(col)
        vals = [r[i] for r in body]
        num = (lambda v: float(v)) if sub != "summary" else (lambda v: v)
        if [num(v) for v in vals] != sorted((num(v) for v in vals), reverse=True):
            err(f"not newest first by {col}")

for line in open(sys.argv[1]):
    try:
        check(*line.rstrip("\n").split("\t"))
    except Bad as e:
        print(f"FAIL: {e}")
        failed += 1
    except Exception as e:
        print(f"FAIL: {line.split(chr(9))[0]}: {e!r}")
        failed += 1
sys.exit(min(failed, 100))
PY
python3 "$tmp/check.py" "$tmp/checks"
failures=$((failures + $?))
[ "$(wc -l <"$tmp/checks")" -eq 18 ] || fail "$(wc -l <"$tmp/checks") merged answers checked, expected 18"

if [ $failures -gt 0 ]; then
    echo "test_fleet: $failures failure(s)"
    exit 1
fi
echo "test_fleet: pass"
