#!/usr/bin/env bash
# test_redis_cluster.sh - tapwatch on a real Redis Cluster (redis.cluster: true).
#
# Six redis-server on free 127.0.0.1 ports, three masters and three replicas made by
# `redis-cli --cluster create ... --cluster-replicas 1` (cluster-node-timeout 1000 ms; started
# by cluster.sh, which test_evidence_cluster.sh shares), removed afterwards. Then:
#   1. in format 1 (record hashes, redis.format: 1) and again in format 2 (the default:
#      record blocks and index slices per sensor and hour, control/record/compact.h), three
#      sensors replay a capture with a policy at once, while the slot {S} of one sensor is
#      migrated to another master (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT
#      NODE): the writers follow ASK and MOVED. Format 1: every record of --flows-jsonl is in
#      the cluster exactly once and byte for byte (HGETALL). Format 2: `tapwatch-query flows`
#      answers every record of --flows-jsonl exactly once and equal, `flow FLOW_ID` finds one;
#      each sensor's keys lie on two masters ({S}: hours, alerts; {S:H}: its blocks - the
#      capture spans one hour, so the sensor names are picked with {S:H} on another master
#      than {S}). Only the {S} keys move with the migrated slot (the hourly keys {S:H} live in
#      other slots): that still makes MOVED/ASK for the {S} writes, counted. Both formats:
#      every alert once; tapwatch-query against the cluster answers flows, alerts and summary
#      exactly as against one redis-server holding copies of the keys (MIGRATE COPY of
#      tw:{S}:* and, format 2, tw:{S:*, from every master);
#   2. (format 2) redis.wait_replicas: 1: the master of the slot of the sensor's record blocks
#      {S:H} is SIGKILLed mid-run, its replica is promoted; nothing is lost (`flows` answers
#      every record of --flows-jsonl once); the summary says how long writes waited;
#   3. (format 1) the same without WAIT: acknowledged writes lost to the asynchronous replication are
#      counted and printed (not a failure: that is what WAIT is for).
#
#   bash tests/integration/test_redis_cluster.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server/redis-cli, binary or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
query=$build/tapwatch-query
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
for bin in "$tapwatch" "$query"; do
    [ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-cluster.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for f in "$tmp"/n*/redis.pid "$tmp"/single/redis.pid; do
        [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    [ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi

. "$here/cluster.sh"
# six cluster nodes and one single redis-server
tw_cluster_ports 7
single_port=${ports[6]}
ports=("${ports[@]:0:6}")

tw_cluster_create 1 || exit 1

# format 1 (record hashes, read with HGETALL) and format 2 (the default: record blocks per
# sensor and hour, read through tapwatch-query)
cat >"$tmp/tw2.yaml" <<YAML
run_dir: $tmp/run
redis:
  cluster: true
  format: 2
  batch: 64
  flush_interval: 20ms
YAML
cat >"$tmp/tw.yaml" <<YAML
run_dir: $tmp/run
redis:
  cluster: true
  format: 1
  batch: 64
  flush_interval: 20ms
YAML
cat >"$tmp/tw-wait.yaml" <<YAML
run_dir: $tmp/run
redis:
  cluster: true
  format: 2
  batch: 64
  flush_interval: 20ms
  wait_replicas: 1
  wait_timeout: 500ms
YAML

# replay SENSOR CONFIG SPEED [ARGS...]: in the background; its pid in $last_pid
replay() {
    local sn=$1 conf=$2 speed=$3
    shift 3
    "$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$conf" --redis "$seeds" --sensor "$sn" \
        --replay-speed "$speed" --stats-interval 1 --flows-jsonl "$tmp/$sn.jsonl" "$@" \
        >"$tmp/$sn.sum" 2>"$tmp/$sn.err" &
    last_pid=$!
    pids+=("$last_pid")
}
finish() { # finish SENSOR PID
    wait "$2"
    local rc=$?
    [ $rc -eq 0 ] || fail "$1: tapwatch exited $rc: $(tail -c 800 "$tmp/$1.err")"
    grep -v 'redis alerts' "$tmp/$1.sum" | grep -q 'not written 0, dropped (buffer full) 0' ||
        fail "$1: summary says records were lost: $(grep redis "$tmp/$1.sum")"
}

# every key of the cluster matching PATTERN, with its master port
keys_of() {
    local p
    for p in $(tw_masters); do redis-cli -p "$p" --scan --pattern "$1" | sed "s/^/$p /"; done
}

# compare SENSOR: the records in the cluster are those of --flows-jsonl, byte for byte, once
# each (prints how many are missing when LOSS_OK is set, instead of failing)
compare() {
    local sn=$1
    keys_of "tw:{$sn}:f:*" | while read -r p k; do redis-cli -p "$p" --raw hgetall "$k"; done >"$tmp/$sn.hash"
    python3 - "$tmp/$sn.hash" "$tmp/$sn.jsonl" "${LOSS_OK:-}" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
redis = dict(zip(lines[0::2], lines[1::2]))
redis.pop("", None)
want = {}
for l in open(sys.argv[2]):
    l = l.rstrip("\n")
    want[json.loads(l)["flow_id"]] = l
missing, extra = set(want) - set(redis), set(redis) - set(want)
if sys.argv[3]:
    print("    without WAIT: %d of %d acknowledged-or-queued records missing after the failover" % (len(missing), len(want)))
    sys.exit(0)
assert not missing and not extra, "missing %d %s, extra %d %s" % (len(missing), sorted(missing)[:5], len(extra), sorted(extra)[:5])
diff = [f for f in want if want[f] != redis[f]]
assert not diff, "%d records differ, e.g. %s" % (len(diff), diff[0])
print("    %d records equal" % len(want))
PY
}

# compare_query SENSOR: the same for format 2, through the query tool: `flows` answers each
# record of --flows-jsonl exactly once and equal, and `flow FLOW_ID` finds one of them
compare_query() {
    local sn=$1 id
    "$query" --redis "$seeds" --sensor "$sn" flows --limit 1000000 --format json >"$tmp/$sn.flows" 2>&1 ||
        { echo "tapwatch-query flows failed: $(head -c 300 "$tmp/$sn.flows")"; return 1; }
    python3 - "$tmp/$sn.flows" "$tmp/$sn.jsonl" <<'PY' || return 1
import collections, json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    want[r["flow_id"]] = r
seen = collections.Counter(r["flow_id"] for r in got)
dup = [f for f, n in seen.items() if n > 1]
missing, extra = set(want) - set(seen), set(seen) - set(want)
assert not dup and not missing and not extra, "twice %d %s, missing %d %s, extra %d %s" % (
    len(dup), dup[:5], len(missing), sorted(missing)[:5], len(extra), sorted(extra)[:5])
diff = [r["flow_id"] for r in got if r != want[r["flow_id"]]]
assert not diff, "%d records differ, e.g. %s" % (len(diff), diff[0])
print("    %d records answered once each, equal" % len(want))
PY
    id=$(tail -1 "$tmp/$sn.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["flow_id"])')
    "$query" --redis "$seeds" --sensor "$sn" flow "$id" --format json >"$tmp/$sn.flow1" 2>&1 &&
        python3 -c 'import json, sys; a = json.loads(open(sys.argv[1]).read()); b = json.loads(open(sys.argv[2]).readlines()[-1]); sys.exit(0 if a == b else 1)' \
            "$tmp/$sn.flow1" "$tmp/$sn.jsonl" ||
        { echo "tapwatch-query flow $id: $(head -c 300 "$tmp/$sn.flow1")"; return 1; }
    # the first seed down: the query tool goes on to the next (the same answer)
    "$query" --redis "redis://127.0.0.1:$dead_port,127.0.0.1:${ports[0]}" --sensor "$sn" flows \
        --limit 1000000 --format json >"$tmp/$sn.flows2" 2>&1 && cmp -s "$tmp/$sn.flows" "$tmp/$sn.flows2" ||
        { echo "first seed down: $(head -c 300 "$tmp/$sn.flows2")"; return 1; }
}
dead_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# --- 1. three sensors at once, a slot migrated during the run, queries -----------------------
redirects_now() { # MOVED and ASK answered by the nodes so far
    local p n r=0
    for p in "${ports[@]}"; do
        n=$(redis-cli -p "$p" info errorstats | sed -n 's/^errorstat_\(ASK\|MOVED\):count=\([0-9]*\).*/\2/p' | paste -sd+ | bc 2>/dev/null)
        r=$((r + ${n:-0}))
    done
    echo "$r"
}
# copy_keys PATTERN: every key matching it, on every master, copied into the single redis-server
# (MIGRATE COPY, DUMP/RESTORE inside, one key a command: format 2's keys of one sensor lie in
# several slots, and one MIGRATE may name keys of one slot only)
copy_keys() {
    local p
    for p in $(tw_masters); do
        redis-cli -p "$p" --scan --pattern "$1" |
            sed "s/^/MIGRATE 127.0.0.1 $single_port \"\" 0 5000 COPY REPLACE KEYS /" |
            redis-cli -p "$p" >/dev/null
    done
}
# migrate_run FORMAT CONFIG A B C: sensors A B C replay at once while A's slot {A} moves
migrate_run() {
    local fmt=$1 conf=$2
    shift 2
    local sns=("$@") sn
    local a=${sns[0]}
    declare -A slot owner pid
    echo "    -- format $fmt: sensors ${sns[*]}"
    for sn in "${sns[@]}"; do
        slot[$sn]=$(tw_slot_of "{$sn}")
        owner[$sn]=$(tw_owner_of "${slot[$sn]}")
    done
    echo "    slots: $(for sn in "${sns[@]}"; do printf '%s %s on %s, ' "$sn" "${slot[$sn]}" "${owner[$sn]}"; done)"
    local r0 t0
    r0=$(redirects_now)
    t0=$(date +%s.%N)
    for sn in "${sns[@]}"; do
        replay "$sn" "$conf" 80 --policy "$root/config/policy.yaml" --alerts-jsonl "$tmp/$sn.alerts.jsonl"
        pid[$sn]=$last_pid
    done
    # migrate A's slot to another master while the three write
    sleep 2.5
    local src dst src_id dst_id s keys moved_keys=0
    src=${owner[$a]}
    # to a master holding none of A's keys (format 2: not the one of its hourly keys {A:H})
    dst=$(tw_masters | grep -vxF -f <(echo "$src"; keys_of "tw:{$a:*" | cut -d' ' -f1) | head -1)
    src_id=$(redis-cli -p "$src" cluster myid)
    dst_id=$(redis-cli -p "$dst" cluster myid)
    s=${slot[$a]}
    redis-cli -p "$dst" cluster setslot "$s" importing "$src_id" >/dev/null
    redis-cli -p "$src" cluster setslot "$s" migrating "$dst_id" >/dev/null
    for _ in $(seq 1 50); do
        keys=$(redis-cli -p "$src" cluster getkeysinslot "$s" 100)
        [ -z "$keys" ] && break
        # shellcheck disable=SC2086
        redis-cli -p "$src" migrate 127.0.0.1 "$dst" "" 0 5000 replace keys $keys >/dev/null
        moved_keys=$((moved_keys + $(echo "$keys" | wc -l)))
        sleep 0.2 # keys keep coming (ASK sends new ones to dst) while this runs
    done
    for p in $(tw_masters); do redis-cli -p "$p" cluster setslot "$s" node "$dst_id" >/dev/null; done
    echo "    slot $s ($a) migrated from $src to $dst during the run: $moved_keys keys"
    for sn in "${sns[@]}"; do finish "$sn" "${pid[$sn]}"; done
    echo "    ($SECONDS s) replays done in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)") s"
    for sn in "${sns[@]}"; do
        if [ "$fmt" = 1 ]; then
            compare "$sn" || fail "$sn: the cluster differs from --flows-jsonl"
        else
            compare_query "$sn" || fail "$sn: tapwatch-query flows on the cluster differs from --flows-jsonl"
        fi
    done
    local nm hm
    for sn in "${sns[@]}"; do (keys_of "tw:{$sn}:*"; keys_of "tw:{$sn:*") >"$tmp/$sn.keys"; done
    nm=$(for sn in "${sns[@]}"; do cut -d' ' -f1 "$tmp/$sn.keys"; done | sort -u | wc -l)
    [ "$nm" -ge 2 ] || fail "format $fmt: the keys lie on $nm master(s), expected 2 or more"
    echo "    ($SECONDS s) keys on $nm masters"
    if [ "$fmt" = 2 ]; then
        # each sensor's keys lie on two masters: {S} (hours, alerts) and {S:H} (its blocks)
        for sn in "${sns[@]}"; do
            hm=$(cut -d' ' -f1 "$tmp/$sn.keys" | sort -u | wc -l)
            grep -q " tw:{$sn:[0-9]*}:b$" "$tmp/$sn.keys" || fail "$sn: no record block key tw:{$sn:H}:b"
            [ "$hm" -ge 2 ] || fail "$sn: its format 2 keys lie on $hm master(s), expected 2 or more"
            echo "    $sn: keys on $hm masters, record blocks in slot(s)" \
                "$(grep " tw:{$sn:[0-9]*}:b$" "$tmp/$sn.keys" | while read -r _ k; do tw_slot_of "$k"; done | paste -sd' '), {$sn} in ${slot[$sn]}"
        done
    fi
    local redirects
    redirects=$(($(redirects_now) - r0))
    [ "$redirects" -gt 0 ] || fail "format $fmt: the migration caused no MOVED or ASK: it proved nothing"
    echo "    the cluster answered $redirects MOVED/ASK during the migration"

    # alerts: once each, as --alerts-jsonl has them
    for sn in "${sns[@]}"; do
        "$query" --redis "$seeds" --sensor "$sn" alerts --limit 1000000 --format json >"$tmp/$sn.alerts.query" ||
            { fail "$sn: tapwatch-query alerts failed: $(head -c 300 "$tmp/$sn.alerts.query")"; continue; }
        python3 - "$tmp/$sn.alerts.jsonl" "$tmp/$sn.alerts.query" "$sn" <<'PY' || fail "$sn: the alerts in the cluster differ from --alerts-jsonl"
import collections, json, sys
F = ("kind", "equipment", "flow_id", "src_ip", "src_port", "dst_ip", "dst_port", "ip_proto")
def load(path):
    keys = [tuple(json.loads(l).get(f) for f in F) for l in open(path) if l.strip()]
    return set(keys), len(keys), [k for k, n in collections.Counter(keys).items() if n > 1]
want, nw, dupw = load(sys.argv[1])
got, ng, dupg = load(sys.argv[2])
print("    %s: alerts: %d in --alerts-jsonl, %d in the cluster" % (sys.argv[3], nw, ng))
sys.exit(0 if nw > 0 and not dupw and not dupg and want == got else 1)
PY
    done

    echo "    ($SECONDS s) alerts checked"
    # the same keys copied into one redis-server: tapwatch-query answers the same
    for sn in "${sns[@]}"; do
        copy_keys "tw:{$sn}:*"
        [ "$fmt" = 2 ] && copy_keys "tw:{$sn:*"
    done
    local same=0 q
    for sn in "${sns[@]}"; do
        for q in "flows --limit 1000000" "alerts --limit 1000000" "summary" "flows --limit 1000000 --port 53" "flows --limit 1000000 --port 443"; do
            # shellcheck disable=SC2086
            "$query" --redis "$seeds" --sensor "$sn" $q --format json >"$tmp/q.cluster" 2>&1
            # shellcheck disable=SC2086
            "$query" --redis "redis://127.0.0.1:$single_port" --sensor "$sn" $q --format json >"$tmp/q.single" 2>&1
            if cmp -s "$tmp/q.cluster" "$tmp/q.single" && [ -s "$tmp/q.single" ]; then
                same=$((same + 1))
            else
                fail "$sn: tapwatch-query $q differs between the cluster and one Redis: $(diff "$tmp/q.cluster" "$tmp/q.single" | head -4)"
            fi
        done
    done
    echo "    ($SECONDS s) $same query answers equal between the cluster and one redis-server"
}

tw_cluster_node "$tmp/single" "$single_port" no || exit 1
migrate_run 1 "$tmp/tw.yaml" s1 s2 s3
# format 2: the capture spans 10 minutes, one hour H, so a sensor's blocks lie in one slot
# {S:H}; three sensor names whose {S:H} slot is on another master than their {S} slot, so every
# sensor writes to two masters (the slots are fixed: names, H and create's slot ranges are)
hour=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["start"] // 3600)' "$tmp/cap/expected.json")
read -r -a csns < <(python3 - "$hour" <<'PY'
import sys
def slot(k):
    crc = 0
    for x in k.encode():
        crc ^= x << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xffff if crc & 0x8000 else (crc << 1) & 0xffff
    return crc % 16384
# the slot ranges of the three masters as create made them: 0-5460, 5461-10922, 10923-16383
shard = lambda s: 0 if s <= 5460 else 1 if s <= 10922 else 2
out, used = [], set()
for i in range(1, 100):
    n = "c%d" % i
    a, b = shard(slot(n)), shard(slot("%s:%s" % (n, sys.argv[1])))
    if a != b and b not in used:
        out.append(n); used.add(b)
    if len(out) == 3:
        break
print(" ".join(out))
PY
)
migrate_run 2 "$tmp/tw2.yaml" "${csns[@]}"

# --- 2. and 3. a master SIGKILLed mid-run, with and without redis.wait_replicas ---------------
# pick_sensor: a sensor name (from a fixed list) whose slot's master has a replica now (the
# slot of {S:H}, its record blocks, when PICK_HOUR is set: format 2)
pick_sensor() {
    local sn p
    for sn in "$@"; do
        p=$(tw_owner_of "$(tw_slot_of "{$sn${PICK_HOUR:+:$PICK_HOUR}}")") || continue
        redis-cli -p "$p" info replication | grep -q '^connected_slaves:[1-9]' && { echo "$sn $p"; return 0; }
    done
    return 1
}
port_dir() { local i; for i in 0 1 2 3 4 5; do [ "${ports[$i]}" = "$1" ] && echo "$tmp/n$i"; done; }
# failover_run SENSOR CONFIG VICTIM [:HOUR]: replays, SIGKILLs the sensor's master after 2.5 s, waits for its
# replica to take over, then starts the old master again (it comes back as a replica)
failover_run() {
    local sn=$1 conf=$2 victim=$3 dir t
    replay "$sn" "$conf" 80
    local tw=$last_pid
    sleep 2.5
    dir=$(port_dir "$victim")
    local replica
    replica=$(redis-cli -p "$victim" info replication | sed -n 's/^slave0:.*port=\([0-9]*\),.*/\1/p')
    kill -9 "$(cat "$dir/redis.pid")"
    echo "$victim" >"$tmp/down.$victim"
    t=$(date +%s.%N)
    for _ in $(seq 1 200); do
        sleep 0.05
        [ "$(redis-cli -p "$replica" role 2>/dev/null | head -1)" = master ] && break
    done
    echo "    ($SECONDS s) $sn: master $victim killed; $(tw_owner_of "$(tw_slot_of "{$sn${4:-}}")") owns the slot after $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t" "$(date +%s.%N)") s"
    rm -f "$dir/redis.pid"
    tw_cluster_node "$dir" "$victim" || return 1
    rm -f "$tmp/down.$victim"
    finish "$sn" "$tw"
    echo "    ($SECONDS s) $sn: replay done"
}

# with WAIT in format 2: the master of the sensor's record blocks {S:H} is the one killed
read -r f1 victim1 < <(PICK_HOUR=$hour pick_sensor f1 f2 f3 f4 f5 f6) || { fail "no sensor on a master with a replica"; victim1=; }
if [ -n "$victim1" ]; then
    failover_run "$f1" "$tmp/tw-wait.yaml" "$victim1" ":$hour"
    compare_query "$f1" || fail "$f1: with redis.wait_replicas 1, records were lost in the failover"
    grep -q 'redis replicas       flows waited [0-9.]* ms (max [0-9.]* ms), batches resent [0-9]*' "$tmp/$f1.sum" ||
        fail "$f1: the summary does not say how long writes waited for replicas"
    grep 'redis replicas' "$tmp/$f1.sum" | sed 's/^/  /'
fi

for _ in $(seq 1 50); do tw_cluster_ok && break; sleep 0.1; done
read -r f2 victim2 < <(pick_sensor g1 g2 g3 g4 g5 g6 g7 g8) || { fail "no sensor on a master with a replica"; victim2=; }
if [ -n "$victim2" ]; then
    failover_run "$f2" "$tmp/tw.yaml" "$victim2"
    LOSS_OK=1 compare "$f2"
fi

[ $failures -eq 0 ] && echo "test_redis_cluster: pass" && exit 0
echo "test_redis_cluster: $failures failure(s)"
exit 1
