#!/usr/bin/env bash
# test_shutdown.sh BUILD_DIR - SIGTERM and SIGINT in the middle of a run keep everything:
# every active flow is exported with end_reason "shutdown", records reach Redis, the summary
# is printed, exit code 0, within a few seconds of the signal. Also with 2 workers.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
ROOT=$PWD
TMP=$(mktemp -d /tmp/tw-shutdown.XXXXXX)
trap 'bash "$ROOT/scripts/redis-local.sh" stop "$TMP/redis" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
/usr/bin/python3 scripts/gen_captures.py "$TMP/cap" >/dev/null || { echo "gen_captures failed"; exit 1; }
SOCK=$(bash scripts/redis-local.sh start "$TMP/redis") || { echo "cannot start redis"; exit 1; }

fail=0
case_run() { # signal workers
    local sig=$1 w=$2 name="$1-w$2" sensor="sd-$$-$1-$2"
    # sample.pcap lasts ~10 minutes; at 60x it would take ~10 s: stop it after 2 s
    "$BUILD/tapwatch" --pcap "$TMP/cap/sample.pcap" --replay-speed 60 --workers "$w" --quiet \
        --redis "unix://$SOCK" --sensor "$sensor" --flows-jsonl "$TMP/$name.jsonl" \
        >"$TMP/$name.sum" 2>"$TMP/$name.err" &
    local pid=$!
    sleep 2
    local t0=$(date +%s.%N)
    kill -s "$sig" "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        echo "FAIL $name: still running 10 s after SIG$sig"; kill -9 "$pid"; fail=1; return
    fi
    wait "$pid"; local rc=$?
    local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    [ $rc -eq 0 ] || { echo "FAIL $name: exit $rc: $(tail -n 2 "$TMP/$name.err")"; fail=1; }
    python3 - "$TMP/$name.jsonl" "$TMP/$name.sum" "$name" "$dt" <<'PY' || fail=1
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
summ = open(sys.argv[2]).read()
name, dt = sys.argv[3], sys.argv[4]
reasons = {}
for r in recs:
    reasons[r["end_reason"]] = reasons.get(r["end_reason"], 0) + 1
    assert r["last_seen"] >= r["first_seen"], r
m = re.search(r"flows ended +idle (\d+), tcp_close (\d+), evicted (\d+), eof (\d+), shutdown (\d+)", summ)
created = int(re.search(r"^  flows +(\d+)", summ, re.M).group(1))
ended = sum(int(x) for x in m.groups())
rx = int(re.search(r"packets received +(\d+)", summ).group(1))
ok = True
def bad(msg):
    global ok
    ok = False
    print(f"FAIL {name}: {msg}")
if not reasons.get("shutdown"): bad(f"no flow ended with shutdown: {reasons}")
if reasons.get("eof"): bad(f"{reasons['eof']} flows ended with eof after a signal")
if created != ended or created != len(recs): bad(f"flows created {created}, ended {ended}, records {len(recs)}")
if not 0 < rx < 4288: bad(f"received {rx}: the signal did not stop the replay midway")
if "written %d, not written 0" % len(recs) not in summ: bad("not every record reached Redis: " + re.search(r"redis .*", summ).group(0))
if ok: print(f"{name}: stopped {dt} s after the signal, {len(recs)} flows ({reasons}), {rx} packets")
sys.exit(0 if ok else 1)
PY
}
case_run TERM 1
case_run INT 1
case_run TERM 2

# SIGTERM while Redis is down: the records are persisted in the spool file (exit 0), and the
# next start, with Redis back, writes them first.
down_case() {
    local run="$TMP/down" sensor="sd-$$-down"
    mkdir -p "$run"
    printf 'run_dir: %s\nstats_interval: 0\n' "$run" >"$TMP/down.yaml"
    "$BUILD/tapwatch" --pcap "$TMP/cap/sample.pcap" --replay-speed 60 --quiet --config "$TMP/down.yaml" \
        --redis "unix://$TMP/down/redis.sock" --sensor "$sensor" --flows-jsonl "$TMP/down.jsonl" \
        >"$TMP/down.sum" 2>"$TMP/down.err" &
    local pid=$!
    sleep 2
    kill -TERM "$pid"
    wait "$pid"; local rc=$?
    [ $rc -eq 0 ] || { echo "FAIL down: exit $rc: $(tail -n 2 "$TMP/down.err")"; fail=1; return; }
    grep -q "flow records wait in $run/redis-spool-$sensor.dat" "$TMP/down.err" ||
        { echo "FAIL down: no line about the spool file: $(cat "$TMP/down.err")"; fail=1; return; }
    local sock
    sock=$(bash scripts/redis-local.sh start "$TMP/down/r") || { echo "FAIL down: redis"; fail=1; return; }
    ln -sf "$sock" "$TMP/down/redis.sock"
    "$BUILD/tapwatch" --pcap "$TMP/cap/eth.pcap" --quiet --config "$TMP/down.yaml" \
        --redis "unix://$TMP/down/redis.sock" --sensor "$sensor" >"$TMP/down2.sum" 2>"$TMP/down2.err" ||
        { echo "FAIL down: second start: $(tail -n 2 "$TMP/down2.err")"; fail=1; }
    "$BUILD/tapwatch-query" --redis "unix://$sock" --sensor "$sensor" flows --limit 1000000 \
        --format json >"$TMP/down.q" || { echo "FAIL down: query"; fail=1; }
    bash scripts/redis-local.sh stop "$TMP/down/r" >/dev/null
    python3 - "$TMP/down.jsonl" "$TMP/down.q" <<'PY' || fail=1
import json, sys
want = {json.loads(l)["flow_id"]: json.loads(l) for l in open(sys.argv[1])}
got = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    got[r["flow_id"]] = r
missing = [k for k in want if got.get(k) != want[k]]
if not want or missing:
    print(f"FAIL down: {len(missing)} of {len(want)} records of the interrupted run are not in Redis as written")
    sys.exit(1)
print(f"down: SIGTERM with Redis down kept {len(want)} records in the spool; the next start wrote them all")
PY
}
down_case
[ $fail -eq 0 ] && echo "test_shutdown: PASS"
exit $fail
