#!/usr/bin/env bash
# test_redis_safe.sh - tapwatch says at start, in one line, when Redis can lose what it
# acknowledged, and refuses to start then with redis.require_safe: true (exit 2):
#   - maxmemory-policy allkeys-lru (and no persistence): a warning naming the policy; the run
#     goes on; with require_safe, exit 2;
#   - noeviction with appendonly yes: no warning, and require_safe starts;
#   - the run's summary carries redis_evicted_keys (INFO stats evicted_keys).
#
#   bash tests/integration/test_redis_safe.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-safe.XXXXXX)
cleanup() {
    [ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null
    sleep 0.1
    rm -rf "$tmp"
}
trap cleanup EXIT

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
maxmemory-policy allkeys-lru
CONF
rcli() { redis-cli -s "$sock" "$@"; }
for _ in $(seq 1 100); do [ "$(rcli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(rcli ping 2>/dev/null)" = PONG ] || { echo "FAIL: redis-server does not answer"; exit 1; }

mkdir -p "$tmp/cap"
# a small capture: one TCP and one UDP exchange is enough to start and write
/usr/bin/python3 - "$tmp/cap/small.pcap" <<'PY' || { echo "FAIL: cannot write the capture"; exit 1; }
import sys
from scapy.all import Ether, IP, TCP, UDP, Raw, wrpcap
p = []
for i in range(5):
    p.append(Ether()/IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=40000 + i, dport=80, flags="S"))
    p.append(Ether()/IP(src="10.0.0.2", dst="10.0.0.1")/TCP(sport=80, dport=40000 + i, flags="SA"))
    p.append(Ether()/IP(src="10.0.0.1", dst="10.0.0.3")/UDP(sport=5000 + i, dport=53)/Raw(b"x" * 20))
for i, x in enumerate(p):
    x.time = 1700000000 + i * 0.01
wrpcap(sys.argv[1], p)
PY

run() { # NAME REQUIRE_SAFE: sets rc
    printf 'run_dir: %s/run\nredis:\n  require_safe: %s\n' "$tmp" "$2" >"$tmp/$1.yaml"
    timeout 60 "$tapwatch" --pcap "$tmp/cap/small.pcap" --config "$tmp/$1.yaml" --redis "unix://$sock" \
        --sensor "$1" --quiet >"$tmp/$1.sum" 2>"$tmp/$1.err"
    rc=$?
}

# 1. an evicting policy, no persistence: warned, runs; refused with require_safe
run evicts false
[ "$rc" -eq 0 ] || fail "evicts: exit $rc: $(head -c 400 "$tmp/evicts.err")"
[ "$(grep -c 'lose what it acknowledged' "$tmp/evicts.err")" -eq 1 ] ||
    fail "evicts: expected one warning line: $(cat "$tmp/evicts.err")"
grep -q 'maxmemory-policy allkeys-lru' "$tmp/evicts.err" || fail "evicts: the policy is not named: $(cat "$tmp/evicts.err")"
grep -q 'no persistence' "$tmp/evicts.err" || fail "evicts: no persistence not said: $(cat "$tmp/evicts.err")"
grep -q 'redis_evicted_keys [0-9]' "$tmp/evicts.sum" || fail "evicts: no redis_evicted_keys in the summary: $(grep redis "$tmp/evicts.sum")"
run strict true
[ "$rc" -eq 2 ] || fail "strict: exit $rc, expected 2"
[ "$(wc -l <"$tmp/strict.err")" -eq 1 ] && grep -q 'require_safe' "$tmp/strict.err" ||
    fail "strict: expected one line naming require_safe: $(cat "$tmp/strict.err")"
[ -z "$(rcli --scan --pattern 'tw:{strict}:*' | head -1)" ] || fail "strict: it wrote to Redis before refusing"

# 2. noeviction and an AOF: nothing to say, require_safe starts
rcli config set maxmemory-policy noeviction >/dev/null
rcli config set appendonly yes >/dev/null
run safe true
[ "$rc" -eq 0 ] || fail "safe: exit $rc: $(head -c 400 "$tmp/safe.err")"
grep -q 'lose what it acknowledged' "$tmp/safe.err" && fail "safe: warned about a safe Redis: $(cat "$tmp/safe.err")"

if [ $failures -gt 0 ]; then
    echo "test_redis_safe: $failures failure(s)"
    exit 1
fi
echo "test_redis_safe: pass ($(cat "$tmp/evicts.err" | head -1))"
