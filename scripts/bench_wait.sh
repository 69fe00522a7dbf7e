#!/usr/bin/env bash
# bench_wait.sh - what redis.wait_replicas costs: the flow-record writer alone (store_driver
# bench) against a local master with one replica (127.0.0.1, free ports), with WAIT 0 and 1,
# alternating, RUNS times each; prints records/s and the time batches waited for the replica.
#
#   bash scripts/bench_wait.sh BUILD_DIR [RECORDS]      (RUNS=3 by default)
set -uo pipefail
build=${1:-build}
n=${2:-200000}
runs=${RUNS:-3}
driver=$build/tests/store_driver
for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "bench_wait: $tool not installed: skipped"; exit 0; }
done
[ -x "$driver" ] || { echo "bench_wait: $driver not built"; exit 1; }
tmp=$(mktemp -d /tmp/tw-benchwait.XXXXXX)
cleanup() {
    for f in "$tmp"/*/redis.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
read -r mport rport < <(python3 -c '
import socket
ps = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ps.append(s)
print(*[s.getsockname()[1] for s in ps])')
start() { # DIR PORT [replicaof PORT]
    mkdir -p "$1"
    redis-server - >/dev/null 2>&1 <<CONF
port $2
bind 127.0.0.1
dir $1
daemonize yes
pidfile $1/redis.pid
logfile $1/redis.log
save ""
appendonly no
repl-diskless-sync-delay 0
${3:+replicaof 127.0.0.1 $3}
CONF
    for _ in $(seq 1 100); do [ "$(redis-cli -p "$2" ping 2>/dev/null)" = PONG ] && return; sleep 0.05; done
    echo "bench_wait: redis-server on $2 did not start"; exit 1
}
start "$tmp/m" "$mport"
start "$tmp/r" "$rport" "$mport"
for _ in $(seq 1 100); do
    redis-cli -p "$mport" info replication | grep -q '^connected_slaves:1' && break; sleep 0.05
done
echo "bench_wait: $n records per run, master :$mport, replica :$rport, $runs runs each"
for i in $(seq 1 "$runs"); do
    for w in 0 1; do
        redis-cli -p "$mport" flushall >/dev/null
        out=$(STORE_DRIVER_WAIT_REPLICAS=$w "$driver" bench "redis://127.0.0.1:$mport" benchwait "$n" 2>&1)
        rate=$(printf '%s\n' "$out" | grep -o '[0-9]* records/s' | head -1)
        waited=$(printf '%s\n' "$out" | sed -n 's/.*waited for replicas \(.*\)/\1/p')
        printf '  wait_replicas %d: %-22s %s\n' "$w" "$rate" "${waited:+waited $waited}"
    done
done
