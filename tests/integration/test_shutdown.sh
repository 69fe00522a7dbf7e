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
[ $fail -eq 0 ] && echo "test_shutdown: PASS"
exit $fail
