#!/usr/bin/env bash
# test_redis_outage.sh - a Redis outage loses no flow record: while tapwatch replays a capture
# (about 15 s at --replay-speed 40), redis-server is killed with SIGKILL three times (once
# while it is starting again) and refuses writes (OOM) for a while; afterwards the records in
# Redis are exactly the ones --flows-jsonl wrote, byte for byte, once each. With a spool too
# small for the outage, the records lost are counted and gap records in Redis say which. A
# spool left by a SIGKILLed tapwatch is found and replayed by the next start. Alerts and
# summary updates still queued when a run ends with Redis down wait in a file for the next
# start, which writes them first.
#
#   bash tests/integration/test_redis_outage.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-outage.XXXXXX)
tw_pid=
cleanup() {
    [ -n "$tw_pid" ] && kill -9 "$tw_pid" 2>/dev/null
    REDIS_LOCAL_AOF=1 bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
export REDIS_LOCAL_AOF=1 # acknowledged writes must survive SIGKILL of redis-server
start_redis() { bash "$redis_local" start "$tmp/r" >/dev/null || fail "cannot start redis-server"; }
kill_redis() { kill -9 "$(cat "$tmp/r/redis.pid")" 2>/dev/null; sleep 0.05; }
start_redis
sock=$tmp/r/redis.sock
url=unix://$sock
rcli() { redis-cli -s "$sock" "$@"; }

# config FILE BUFFER BATCH SPOOL: a small memory buffer so that an outage reaches the spool
config() {
    cat >"$1" <<YAML
run_dir: $tmp/run
redis:
  # format 1: this test reads the record hashes directly (the writer's buffer, spool and
  # resend are the same code for both formats; format 2's answers: test_compact_format)
  format: 1
  buffer: $2
  batch: $3
  flush_interval: 20ms
  spool_file_records: $4
YAML
}

# compare SENSOR JSONL: the records in Redis are those of JSONL, byte for byte, once each
compare() {
    local sensor=$1 jsonl=$2
    for k in $(rcli --scan --pattern "tw:{$sensor}:f:*"); do rcli --raw hgetall "$k"; done >"$tmp/$sensor.hash"
    "$query" --redis "$url" --sensor "$sensor" flows --limit 1000000 --format json >"$tmp/$sensor.query" ||
        fail "$sensor: tapwatch-query failed"
    python3 - "$tmp/$sensor.hash" "$jsonl" "$tmp/$sensor.query" <<'PY' || fail "$sensor: Redis differs from --flows-jsonl"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
redis = dict(zip(lines[0::2], lines[1::2]))
redis.pop("", None)
want = {}
for l in open(sys.argv[2]):
    l = l.rstrip("\n")
    fid = json.loads(l)["flow_id"]
    assert fid not in want, "jsonl has %s twice" % fid
    want[fid] = l
missing, extra = set(want) - set(redis), set(redis) - set(want)
assert not missing and not extra, "missing %d %s, extra %d %s" % (len(missing), sorted(missing)[:5], len(extra), sorted(extra)[:5])
diff = [f for f in want if want[f] != redis[f]]
assert not diff, "%d records differ, e.g. %s:\n redis %s\n jsonl %s" % (len(diff), diff[0], redis[diff[0]], want[diff[0]])
got = [json.loads(l)["flow_id"] for l in open(sys.argv[3])]
assert len(got) == len(set(got)) == len(want), "query: %d lines, %d distinct, %d wanted" % (len(got), len(set(got)), len(want))
print("%d records equal" % len(want))
PY
}

# --- 1. three SIGKILLs (one during the restart) and a spell of OOM refusals -----------------
# outage_run RUN SENSOR [TAPWATCH ARGS...]: replays sample.pcap while redis-server is SIGKILLed
# three times (once while it is starting again) and refuses writes (OOM) for a while; then
# checks that no flow record was lost and Redis holds exactly those of --flows-jsonl.
outage_run() {
    local run=$1 sn=$2 rc spooled reconnects
    shift 2
    "$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/c1.yaml" --redis "$url" --sensor "$sn" \
        --replay-speed 40 --stats-interval 1 --flows-jsonl "$tmp/$sn.jsonl" "$@" >"$tmp/$sn.sum" 2>"$tmp/$sn.err" &
    tw_pid=$!
    sleep 2
    kill_redis;  sleep 2;   start_redis                 # down 2 s
    sleep 1.5
    kill_redis;  sleep 1
    bash "$redis_local" start "$tmp/r" >/dev/null 2>&1 &  # killed again while starting:
    starter=$!
    for _ in $(seq 1 40); do [ -s "$tmp/r/redis.pid" ] && break; sleep 0.025; done
    kill_redis; kill "$starter" 2>/dev/null; wait "$starter" 2>/dev/null
    sleep 0.5;   start_redis
    sleep 1.5
    rcli config set maxmemory-policy noeviction >/dev/null
    rcli config set maxmemory 1 >/dev/null              # every write refused with OOM
    sleep 2
    rcli info errorstats | grep -q "^errorstat_OOM:count=[1-9]" || { fail "$run: Redis refused nothing with OOM"; tail -n 5 "$tmp/$sn.err"; }
    rcli config set maxmemory 0 >/dev/null
    wait "$tw_pid"
    rc=$?
    tw_pid=
    [ $rc -eq 0 ] || fail "$run: tapwatch exited $rc: $(head -c 800 "$tmp/$sn.err")"
    grep -v 'redis alerts' "$tmp/$sn.sum" | grep -q 'not written 0, dropped (buffer full) 0' ||
        fail "$run: summary says records were lost: $(grep redis "$tmp/$sn.sum")"
    spooled=$(sed -n 's/.*spooled \([0-9]*\),.*/\1/p' "$tmp/$sn.sum")
    [ "${spooled:-0}" -gt 0 ] || fail "$run: the spool file was never used: $(grep redis "$tmp/$sn.sum")"
    reconnects=$(sed -n 's/.*reconnects \([0-9]*\)$/\1/p' "$tmp/$sn.sum")
    # the kill during the restart may come before the store reconnected: 2 reconnects at least
    [ "${reconnects:-0}" -ge 2 ] || fail "$run: expected 2 reconnects or more, got ${reconnects:-none}"
    [ "$(wc -l <"$tmp/$sn.jsonl")" -gt 200 ] || fail "$run: only $(wc -l <"$tmp/$sn.jsonl") records"
    compare "$sn" "$tmp/$sn.jsonl"
    [ "$(rcli exists "tw:{$sn}:gaps")" = 0 ] || fail "$run: gap records without a loss"
    grep redis "$tmp/$sn.sum" | sed 's/^/    /'
}

config "$tmp/c1.yaml" 8 4 100000
t0=$(date +%s.%N)
outage_run "run 1" out1

# --- 1p. the same outage with a policy: alerts reach Redis exactly once each ------------------
# (It once failed: a SIGKILLed redis-server killed tapwatch with SIGPIPE, and refused batches
# were dropped. SIGPIPE is ignored now, refusals that pass by themselves only delay a batch, and
# the alert writer's queue, redis.alert_buffer items, waits through the outage.)
scenario_policy_outage() {
    local sn=out1p
    outage_run "run 1p (policy)" "$sn" --policy "$root/config/policy.yaml" --alerts-jsonl "$tmp/$sn.alerts.jsonl"
    [ -s "$tmp/$sn.alerts.jsonl" ] ||
        fail "run 1p: --alerts-jsonl is empty (sample.pcap with config/policy.yaml raises alerts)"
    "$query" --redis "$url" --sensor "$sn" alerts --limit 1000000 --format json >"$tmp/$sn.alerts.query" ||
        { fail "run 1p: tapwatch-query alerts failed"; return; }
    # compared on kind, equipment, flow_id, src_ip, src_port, dst_ip, dst_port, ip_proto
    python3 - "$tmp/$sn.alerts.jsonl" "$tmp/$sn.alerts.query" <<'PY' ||
import collections, json, sys
F = ("kind", "equipment", "flow_id", "src_ip", "src_port", "dst_ip", "dst_port", "ip_proto")
def load(path):
    keys = [tuple(json.loads(l).get(f) for f in F) for l in open(path) if l.strip()]
    return set(keys), len(keys), [k for k, n in collections.Counter(keys).items() if n > 1]
want, nw, dupw = load(sys.argv[1])
got, ng, dupg = load(sys.argv[2])
print("    run 1p: alerts: %d in --alerts-jsonl, %d in Redis" % (nw, ng))
ok = not dupw and not dupg and want == got
for name, dup in (("--alerts-jsonl", dupw), ("Redis", dupg)):
    if dup: print("  %s has %d duplicate alerts, e.g. %s" % (name, len(dup), dict(zip(F, dup[0]))))
missing, extra = sorted(want - got), sorted(got - want)
if missing:
    print("  %d alerts missing from Redis, by kind: %s" % (len(missing), dict(collections.Counter(k[0] for k in missing))))
    for k in missing[:5]: print("    missing", dict(zip(F, k)))
if extra:
    print("  %d alerts in Redis that --alerts-jsonl does not have" % len(extra))
    for k in extra[:5]: print("    extra", dict(zip(F, k)))
sys.exit(0 if ok else 1)
PY
        fail "run 1p: the alerts in Redis differ from --alerts-jsonl"
}
scenario_policy_outage

# --- 2. a spool too small for a 4 s outage: losses counted, gap records written -------------
config "$tmp/c2.yaml" 4 2 4
"$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/c2.yaml" --redis "$url" --sensor out2 \
    --replay-speed 40 --stats-interval 0 --flows-jsonl "$tmp/out2.jsonl" >"$tmp/out2.sum" 2>"$tmp/out2.err" &
tw_pid=$!
sleep 3
kill_redis; sleep 4; start_redis
wait "$tw_pid"
tw_pid=
dropped=$(sed -n 's/.*dropped (buffer full) \([0-9]*\),.*/\1/p' "$tmp/out2.sum")
[ "${dropped:-0}" -gt 0 ] || fail "run 2: nothing dropped: $(grep redis "$tmp/out2.sum")"
grep -q "flow records did not reach Redis" "$tmp/out2.err" || fail "run 2: the loss is not reported on stderr"
for k in $(rcli --scan --pattern 'tw:{out2}:f:*'); do rcli hkeys "$k"; done >"$tmp/out2.ids"
rcli --raw hvals 'tw:{out2}:gaps' >"$tmp/out2.gaps"
python3 - "$tmp/out2.gaps" "$tmp/out2.ids" "$tmp/out2.jsonl" "${dropped:-0}" <<'PY' || fail "run 2: gap records do not account for the loss"
import json, sys
gaps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert gaps, "no gap record"
for g in gaps:
    assert g["first_seq"] <= g["last_seq"] and g["records"] == g["last_seq"] - g["first_seq"] + 1, g
    assert g["reason"] == "buffer full", g
assert sum(g["records"] for g in gaps) == int(sys.argv[4]), (sum(g["records"] for g in gaps), sys.argv[4])
redis = set(l.strip() for l in open(sys.argv[2]) if l.strip())
want = set(json.loads(l)["flow_id"] for l in open(sys.argv[3]))
assert redis <= want, "records in Redis that --flows-jsonl does not have"
lost = want - redis
assert 0 < len(lost) <= int(sys.argv[4]), (len(lost), sys.argv[4])
print("%d gap records, %s records lost, %d flows missing" % (len(gaps), sys.argv[4], len(lost)))
PY

# --- 3. tapwatch SIGKILLed with records in its spool: the next start replays them ------------
config "$tmp/c3.yaml" 4 2 100000
bash "$redis_local" stop "$tmp/r" >/dev/null
"$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/c3.yaml" --redis "$url" --sensor out3 \
    --replay-speed 40 --stats-interval 0 --flows-jsonl /dev/null >/dev/null 2>"$tmp/out3.err" &
tw_pid=$!
sleep 4
kill -9 "$tw_pid"; wait "$tw_pid" 2>/dev/null
tw_pid=
start_redis
"$tapwatch" --pcap "$tmp/cap/eth.pcap" --config "$tmp/c3.yaml" --redis "$url" --sensor out3 \
    --stats-interval 0 --flows-jsonl "$tmp/out3b.jsonl" >"$tmp/out3b.sum" 2>"$tmp/out3b.err" ||
    fail "run 3: the second start failed: $(head -c 400 "$tmp/out3b.err")"
own=$(wc -l <"$tmp/out3b.jsonl")
n=$(sed -n 's/.*: \([0-9]*\) flow records of an earlier run waited for Redis.*/\1/p' "$tmp/out3b.err")
[ "${n:-0}" -gt 20 ] || fail "run 3: the spool was not found or nearly empty: $(head -c 400 "$tmp/out3b.err")"
[ "$(grep -c 'earlier run' "$tmp/out3b.err")" = 1 ] || fail "run 3: expected one line about the spool"
got=0
for k in $(rcli --scan --pattern 'tw:{out3}:f:*'); do got=$((got + $(rcli hlen "$k"))); done
[ "$got" -gt "$own" ] && [ "$got" -le $((${n:-0} + own)) ] ||
    fail "run 3: ${n:-0} spooled records replayed and $own new ones, $got in Redis"
[ "$(stat -c %s "$tmp/run/redis-spool-out3.dat")" = 64 ] || fail "run 3: the spool was not truncated once replayed"
echo "    run 3: $n records replayed from the spool, $got flows in Redis"

# --- 4. Redis down for a whole run with a policy: alerts wait in a file for the next start ----
config "$tmp/c4.yaml" 64 16 100000
bash "$redis_local" stop "$tmp/r" >/dev/null
"$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/c4.yaml" --redis "$url" --sensor out4 \
    --policy "$root/config/policy.yaml" --alerts-jsonl "$tmp/out4.alerts.jsonl" \
    --stats-interval 0 --flows-jsonl /dev/null >"$tmp/out4.sum" 2>"$tmp/out4.err"
rc=$?
[ $rc -eq 0 ] || fail "run 4: exit $rc with Redis down and room in the files: $(head -c 600 "$tmp/out4.err")"
held=$(sed -n 's/.*did not come back: \([0-9]*\) alerts and summary updates wait in .*/\1/p' "$tmp/out4.err")
alerts=$(wc -l <"$tmp/out4.alerts.jsonl")
[ "$alerts" -gt 0 ] || fail "run 4: no alert raised (sample.pcap with config/policy.yaml raises some)"
[ "${held:-0}" -gt "$alerts" ] || fail "run 4: ${held:-0} items held for $alerts alerts: $(head -c 600 "$tmp/out4.err")"
[ -s "$tmp/run/redis-alerts-out4.dat" ] || fail "run 4: no hold file $tmp/run/redis-alerts-out4.dat"
start_redis
"$tapwatch" --pcap "$tmp/cap/eth.pcap" --config "$tmp/c4.yaml" --redis "$url" --sensor out4 \
    --policy "$root/config/policy.yaml" --stats-interval 0 --flows-jsonl /dev/null \
    >"$tmp/out4b.sum" 2>"$tmp/out4b.err" || fail "run 4: the second start failed: $(head -c 400 "$tmp/out4b.err")"
n=$(sed -n 's/.*: \([0-9]*\) alerts and summary updates of an earlier run waited for Redis.*/\1/p' "$tmp/out4b.err")
[ "${n:-0}" = "${held:-0}" ] || fail "run 4: held ${held:-0} items, the next start found ${n:-0}: $(head -c 400 "$tmp/out4b.err")"
[ ! -e "$tmp/run/redis-alerts-out4.dat" ] || fail "run 4: the hold file is still there once written"
"$query" --redis "$url" --sensor out4 alerts --limit 1000000 --format json >"$tmp/out4.query" ||
    fail "run 4: tapwatch-query alerts failed"
python3 - "$tmp/out4.alerts.jsonl" "$tmp/out4.query" <<'PY' || fail "run 4: alerts of the first run are missing from Redis"
import json, sys
F = ("kind", "equipment", "flow_id", "src_ip", "src_port", "dst_ip", "dst_port")
keys = lambda path: set(tuple(json.loads(l).get(f) for f in F) for l in open(path) if l.strip())
want, got = keys(sys.argv[1]), keys(sys.argv[2])
print("    run 4: %d alerts held while Redis was down, %d of them in Redis after the next start" % (len(want), len(want & got)))
sys.exit(0 if want <= got else 1)
PY

dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
if [ $failures -ne 0 ]; then
    echo "test_redis_outage: $failures failure(s) (${dt} s)"
    exit 1
fi
echo "test_redis_outage: pass (${dt} s)"
exit 0
