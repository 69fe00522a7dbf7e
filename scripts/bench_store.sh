#!/usr/bin/env bash
# bench_store.sh BUILD_DIR SOCK - the store's cost to Redis, format 1 and 2 side by side, and
# the latency of a /24-over-24h query on a 10 M-record store (make bench calls it; it can run
# alone against any private redis-server socket: it FLUSHALLs it).
#
# For each format: store_driver bench writes N synthetic records (STORE_N, default 500000)
# and prints Redis's used_memory delta / records (indexes included) and Redis's CPU
# (used_cpu_user + used_cpu_sys of redis-server over the run) / records.
# Then the query store: QUERY_N records (default 10000000) over 24 hours in format 2, and
# tapwatch-query flows --ip <a /24> over those 24 hours, QUERY_RUNS times (default 50) per /24:
# median and p99 wall time (the whole process, connect included).
set -euo pipefail
BUILD=${1:-build}
SOCK=${2:?usage: bench_store.sh BUILD_DIR REDIS_SOCKET}
N=${STORE_N:-500000}
QN=${QUERY_N:-10000000}
QRUNS=${QUERY_RUNS:-50}
rc() { redis-cli -s "$SOCK" "$@"; }
info() { rc info "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }
cpu() { awk -v u="$(info cpu used_cpu_user)" -v s="$(info cpu used_cpu_sys)" 'BEGIN{printf "%.6f", u + s}'; }

echo "store cost to Redis (store_driver bench, $N synthetic records; redis.batch 512, which format 2 raises to blocks of 2048):"
printf '  %-8s %14s %16s %12s\n' format bytes/record "redis cpu us/rec" records/s
for fmt in $([ "$N" -gt 0 ] && echo 1 2); do
    rc flushall >/dev/null
    m0=$(info memory used_memory); c0=$(cpu)
    rate=$(STORE_FORMAT=$fmt "$BUILD/tests/store_driver" bench "unix://$SOCK" benchstore "$N" 2>&1 |
           sed -n 's/.* \([0-9][0-9]*\) records\/s.*/\1/p' | tail -1)
    m1=$(info memory used_memory); c1=$(cpu)
    awk -v f="$fmt" -v m="$((m1 - m0))" -v c0="$c0" -v c1="$c1" -v n="$N" -v r="$rate" \
        'BEGIN{printf "  %-8s %14.1f %16.3f %12s\n", f, m / n, (c1 - c0) * 1e6 / n, r}'
done

if [ "$QN" -gt 0 ]; then
  if [ -z "${QUERY_REUSE:-}" ]; then # QUERY_REUSE=1: the query store of an earlier run is there
    rc flushall >/dev/null
    t0=$(date +%s.%N)
    m0=$(info memory used_memory)
    STORE_FORMAT=2 STORE_SPAN_S=86400 "$BUILD/tests/store_driver" bench "unix://$SOCK" qstore "$QN" \
        >/dev/null 2>&1 || { echo "bench_store: filling $QN records failed"; exit 1; }
    m1=$(info memory used_memory)
    t1=$(date +%s.%N)
    awk -v n="$QN" -v t="$(echo "$t1 - $t0" | bc)" -v m="$((m1 - m0))" \
        'BEGIN{printf "query store: %d records over 24 h (format 2) filled in %.1f s; %.1f bytes/record\n", n, t, m / n}'
  fi
    # the synthetic day starts 2026-03-02T09:30:00Z (store_driver.c)
    for net in 10.0.1.0/24 10.0.50.0/24 172.16.3.0/24; do
        for lim in 100 1000; do
            : >"/tmp/tw-bq.$$"
            for _ in $(seq "$QRUNS"); do
                a=$(date +%s%N)
                "$BUILD/tapwatch-query" --redis "unix://$SOCK" --sensor qstore flows --ip "$net" \
                    --since 2026-03-02T09:30:00Z --until 2026-03-03T09:30:00Z --limit "$lim" \
                    --format json >"/tmp/tw-bq.$$.out"
                b=$(date +%s%N)
                echo $(((b - a) / 1000)) >>"/tmp/tw-bq.$$"
            done
            rows=$(wc -l <"/tmp/tw-bq.$$.out")
            sort -n "/tmp/tw-bq.$$" | awk -v net="$net" -v lim="$lim" -v rows="$rows" '{a[NR] = $1}
                END {p99 = int(NR * 0.99 + 0.999); if (p99 < 1) p99 = 1
                     printf "  /24 over 24 h: --ip %-14s --limit %-7s %7d rows: median %7.1f ms  p99 %7.1f ms (%d runs)\n",
                            net, lim, rows, a[int((NR + 1) / 2)] / 1000, a[p99] / 1000, NR}'
        done
    done
    rm -f "/tmp/tw-bq.$$" "/tmp/tw-bq.$$.out"
    [ -n "${KEEP_STORE:-}" ] || rc flushall >/dev/null
fi
