#!/usr/bin/env bash
# test_reload.sh - SIGHUP reloads the configuration keys that can change while running, and
# the policy (README "Reloading"), on a running tapwatch (a capture looped at its own pace):
#   1. stats_interval 0 -> 1s, a new policy file (the policy key), redis.flush_interval,
#      redis.batch and log_level: one "reloaded:" line lists each change and the policy's new counts, and
#      live lines start after it (there was none before);
#   2. workers changed (and stats_interval back to 0): one line refuses workers, the
#      reloaded line lists stats_interval, and no live line follows it;
#   3. a broken file: one line, nothing changes, the run goes on; a broken policy file: one
#      line, nothing changes;
#   4. the command-line option wins over the file at a reload as at start (--sensor);
#   SIGTERM then ends the run with exit 0 and its summary (policy reloads counted).
#
#   bash tests/integration/test_reload.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no binary or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-rl.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py:"; cat "$tmp/gen.log"; exit 1; }
cp "$here/policy.yaml" "$tmp/policy-a.yaml"
printf 'equipment:\n  - name: eq-one\n    addresses: [10.1.1.1]\n' >"$tmp/policy-b.yaml"

conf() { # stats_interval policy workers [extra line]
    printf 'sensor: from-file\nstats_interval: %s\npolicy: %s\nworkers: %s\n%s' \
        "$1" "$2" "$3" "${4:-}" >"$tmp/live.yaml"
}
# wait_for PATTERN [AFTER_LINE]: until a stderr line after line AFTER_LINE matches (10 s max)
wait_for() {
    local pattern=$1 after=${2:-0}
    for _ in $(seq 100); do
        tail -n +"$((after + 1))" "$tmp/err" | grep -q -- "$pattern" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
lines() { wc -l <"$tmp/err"; }
live_lines_after() { tail -n +"$(($1 + 1))" "$tmp/err" | grep -c 'tapwatch: [0-9]*s packets'; }

conf 0 "$tmp/policy-a.yaml" 1
# the sample capture looped at 20x its pace: it runs until SIGTERM
"$tapwatch" --pcap "$tmp/cap/undeclared.pcap" --config "$tmp/live.yaml" --sensor from-option \
    --replay-speed 20 --loop 100000 >"$tmp/out" 2>"$tmp/err" &
pid=$!
# running once it says it has no store (then a SIGHUP is a reload, whenever it comes)
wait_for 'no Redis configured' || { echo "FAIL: tapwatch did not start: $(cat "$tmp/err")"; exit 1; }
sleep 1
[ "$(live_lines_after 0)" -eq 0 ] || fail "live lines with stats_interval 0: $(cat "$tmp/err")"

# 1. keys that can change
n=$(lines)
conf 1s "$tmp/policy-b.yaml" 1 $'log_level: debug\nredis:\n  flush_interval: 50ms\n  batch: 64\n'
kill -HUP "$pid"
if wait_for 'reloaded: ' "$n"; then
    line=$(tail -n +"$((n + 1))" "$tmp/err" | grep 'reloaded: ')
    for want in "stats_interval 0 -> 1s" "policy $tmp/policy-a.yaml -> $tmp/policy-b.yaml" \
        "redis.batch 512 -> 64" "redis.flush_interval 100ms -> 50ms" \
        "log_level info -> debug" "policy reloaded: 1 equipment"; do
        case $line in *"$want"*) ;; *) fail "reload 1: '$want' not in: $line" ;; esac
    done
    [ "$(tail -n +"$((n + 1))" "$tmp/err" | grep -c 'reload:')" -eq 0 ] ||
        fail "reload 1: a key was refused: $(tail -n +"$((n + 1))" "$tmp/err")"
    wait_for 'tapwatch: [0-9]*s packets' "$n" || fail "reload 1: no live line after stats_interval 1s"
else
    fail "reload 1: no reloaded line: $(tail -n +"$((n + 1))" "$tmp/err")"
fi

# 2. a key that cannot change: refused in one line; the rest applies
n=$(lines)
conf 0 "$tmp/policy-b.yaml" 2 $'redis:\n  flush_interval: 50ms\n  batch: 64\n'
kill -HUP "$pid"
if wait_for 'reloaded: ' "$n"; then
    after=$(tail -n +"$((n + 1))" "$tmp/err" | grep -v 'tapwatch: [0-9]*s packets')
    [ "$(echo "$after" | grep -c 'reload: workers cannot change while running; restart to apply')" -eq 1 ] ||
        fail "reload 2: want one line refusing workers, got: $after"
    [ "$(echo "$after" | grep -c 'reload:')" -eq 1 ] || fail "reload 2: other keys refused: $after"
    echo "$after" | grep 'reloaded: ' | grep -q 'stats_interval 1s -> 0' ||
        fail "reload 2: stats_interval not applied: $after"
    at=$(grep -n 'reloaded: ' "$tmp/err" | tail -n 1 | cut -d: -f1)
    sleep 1.5
    [ "$(live_lines_after "$at")" -eq 0 ] || fail "reload 2: live lines after stats_interval 0"
else
    fail "reload 2: no reloaded line: $(tail -n +"$((n + 1))" "$tmp/err")"
fi

# 3. a broken file, then a broken policy: one line each, nothing changes
n=$(lines)
printf 'stats_interval: 1s\nworkers: [\n' >"$tmp/live.yaml"
kill -HUP "$pid"
wait_for 'reload failed' "$n" || fail "broken file: no line: $(tail -n +"$((n + 1))" "$tmp/err")"
got=$(tail -n +"$((n + 1))" "$tmp/err")
[ "$(echo "$got" | wc -l)" -eq 1 ] && echo "$got" | grep -q \
    "reload failed, keeping the current configuration and policy: $tmp/live.yaml:[0-9]*: " ||
    fail "broken file: want one line naming the file, got: $got"
sleep 1.5
[ "$(live_lines_after "$n")" -eq 0 ] || fail "broken file: stats_interval 1s was applied"

n=$(lines)
conf 1s "$tmp/policy-b.yaml" 1
printf 'equipment:\n  - name: bad name\n    addresses: [10.1.1.1]\n' >"$tmp/policy-b.yaml"
kill -HUP "$pid"
wait_for 'policy reload failed' "$n" || fail "broken policy: no line: $(tail -n +"$((n + 1))" "$tmp/err")"
got=$(tail -n +"$((n + 1))" "$tmp/err")
[ "$(echo "$got" | wc -l)" -eq 1 ] && echo "$got" | grep -q "policy-b.yaml:2: equipment\[0\].name" ||
    fail "broken policy: want one line naming the policy file, got: $got"
sleep 1.5
[ "$(live_lines_after "$n")" -eq 0 ] || fail "broken policy: the configuration was applied"

kill -0 "$pid" 2>/dev/null || fail "tapwatch is no longer running: $(tail -n 5 "$tmp/err")"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM: $(tail -n 5 "$tmp/err")"
grep -Eq 'policy reloads +2 \(failed 1\)' "$tmp/out" ||
    fail "summary: $(grep 'policy reloads' "$tmp/out")"
# the sensor is the option's, not the file's, at every reload (it is never listed as changed)
grep -q 'sensor' <(grep 'reload' "$tmp/err") && fail "sensor listed by a reload: $(grep reload "$tmp/err")"

if [ $failures -ne 0 ]; then
    echo "--- stderr of the run:"; grep -v 'tapwatch: [0-9]*s packets' "$tmp/err" | head -20
    echo "test_reload: $failures failure(s)"
    exit 1
fi
echo "test_reload: ok (stats_interval, policy, redis keys applied; workers refused; broken files kept out)"
