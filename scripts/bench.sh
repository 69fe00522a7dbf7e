#!/usr/bin/env bash
# bench.sh BUILD_DIR - tapwatch against nDPI's ndpiReader on the same capture, in one go.
#
# The capture: ../shared/bench/make-corpus.sh's bench-big.pcap (real traffic from nDPI's
# test captures, 30 remapped copies) when ../shared is here, else the project's own
# generated capture (scripts/gen_captures.py's sample, repeated with remapped addresses).
# Each program runs RUNS times (default 5), in rounds of one run each; the table gives
# medians of wall-clock packets/s, flows/s, CPU seconds and peak RSS, and each one's ratio to
# ndpiReader, then every run's wall time.
# The flow-heavy capture: the same capture with BENCH_FLOWHEAVY_FLOWS one-packet flows woven
# in over its time span (scripts/gen_flood.py: half a SYN flood, half a UDP scan), built once
# and kept in the bench directory beside it. The main job and the no-store job also run on it
# in the same rounds (flowheavy-redis, flowheavy-nostore), to see the store's cost per flow
# where flows are many and short (issue #15: main job within 5% of no store).
# env: RUNS, BENCH_DIR (default bench-data), BENCH_FILE (use this capture instead),
#      BENCH_BEFORE (another build directory: its main job and no-store job join the same
#      rounds, and the table ends with this build's wall-time ratio to it),
#      BENCH_FLOWHEAVY (0: no flow-heavy capture or runs; default 1),
#      BENCH_FLOWHEAVY_FLOWS (one-packet flows woven in, default 1000000: about six times
#      bench-big's own 159 k flows, so that 86% of its flows are one-packet ones),
#      STORE_N, QUERY_N, QUERY_RUNS (scripts/bench_store.sh's; STORE_N=0 QUERY_N=0 skip it)
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
OUT=${BENCH_DIR:-bench-data}
SHARED=$(cd .. && pwd)/shared
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# 1. the capture
if [ -n "${BENCH_FILE:-}" ]; then
    CAP=$BENCH_FILE
elif [ -x "$SHARED/bench/make-corpus.sh" ] || [ -f "$SHARED/bench/make-corpus.sh" ]; then
    CAP=$OUT/bench-big.pcap
    if [ ! -s "$CAP" ]; then
        echo "bench: building the corpus with ../shared/bench/make-corpus.sh (about a minute)"
        bash "$SHARED/bench/make-corpus.sh" "$SHARED/pcaps/ndpi" "$OUT" >"$OUT/make-corpus.log" 2>&1
    fi
else
    echo "bench: ../shared is absent: using the project's generated capture"
    CAP=$OUT/bench-gen.pcap
    [ -s "$CAP" ] || /usr/bin/python3 scripts/gen_bench_capture.py "$CAP"
fi
packets=$(capinfos -c -M "$CAP" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
size=$(stat -c %s "$CAP")
echo "bench: $CAP: $packets packets, $((size / 1000000)) MB; $RUNS runs each; $(nproc) cores"

# 1b. the flow-heavy capture (kept; rebuilt when the capture it comes from is newer)
FHCAP=""
if [ "${BENCH_FLOWHEAVY:-1}" != 0 ]; then
    fh_flows=${BENCH_FLOWHEAVY_FLOWS:-1000000}
    FHCAP=$OUT/$(basename "$CAP" .pcap)-flowheavy-$fh_flows.pcap
    if [ ! -s "$FHCAP" ] || [ "$CAP" -nt "$FHCAP" ]; then
        echo "bench: weaving $fh_flows one-packet flows into $(basename "$CAP") (scripts/gen_flood.py)"
        if /usr/bin/python3 scripts/gen_flood.py "$FHCAP.tmp" "$CAP" "$fh_flows"; then
            mv "$FHCAP.tmp" "$FHCAP"
        else
            echo "bench: gen_flood.py failed: no flow-heavy runs"
            rm -f "$FHCAP.tmp"
            FHCAP=""
        fi
    fi
fi
if [ -n "$FHCAP" ]; then
    fh_packets=$(capinfos -c -M "$FHCAP" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
    echo "bench: $FHCAP: $fh_packets packets, $(( $(stat -c %s "$FHCAP") / 1000000 )) MB"
fi

# 2. a private Redis for the main job
RDIR=$(mktemp -d /tmp/tw-bench.XXXXXX)
trap 'bash "$ROOT/scripts/redis-local.sh" stop "$RDIR" >/dev/null 2>&1 || true; rm -rf "$RDIR"' EXIT
SOCK=$(bash scripts/redis-local.sh start "$RDIR")

# one run: prints "wall user sys maxrss_kb flows written" (flows and records written to
# Redis from the program's own output)
measure() { # label cmd...
    local log=$RDIR/run.log tm=$RDIR/time.txt
    /usr/bin/time -f "%e %U %S %M" -o "$tm" "$@" >"$log" 2>&1 || { echo "bench: $1 failed:"; tail -5 "$log"; exit 1; }
    local flows written
    flows=$(awk '/^  flows  / {print $2} /Unique flows:/ {gsub(/[^0-9]/,"",$0); print $0}' "$log" | head -1)
    written=$(awk '/^  redis  / && /written/ {gsub(/,/,""); print $3}' "$log" | head -1)
    echo "$(cat "$tm") ${flows:-0} ${written:-0}"
}

declare -A RESULT
# tapwatch-redis writes the compact format (redis.format 2, the default), tapwatch-redis-f1
# the format before it: each run also notes Redis's used_memory and CPU deltas per record
# tapwatch-redis-signed: the main job with signing.key (README "Evidence": every record chained,
# a seal per batch), which must stay within 5% of tapwatch-redis's packets/s
CASES=(ndpiReader tapwatch-redis tapwatch-redis-signed tapwatch-redis-f1 tapwatch-nostore
       tapwatch-2workers)
printf 'redis:\n  format: 1\n' >"$RDIR/format1.yaml"
"$BUILD/tapwatch" keygen --out "$RDIR/bench.key" >/dev/null
printf 'signing:\n  key: %s\n' "$RDIR/bench.key" >"$RDIR/signed.yaml"
rinfo() { redis-cli -s "$SOCK" info "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }
rcpu() { awk -v u="$(rinfo cpu used_cpu_user)" -v s="$(rinfo cpu used_cpu_sys)" 'BEGIN{printf "%.6f", u + s}'; }
# store_cost NAME cmd...: measure with Redis's memory and CPU deltas noted in NAME.cost
store_cost() {
    local name=$1 m0 c0 out; shift
    redis-cli -s "$SOCK" flushall >/dev/null
    m0=$(rinfo memory used_memory); c0=$(rcpu)
    out=$(measure "$@")
    echo "$out"
    awk -v m="$(( $(rinfo memory used_memory) - m0 ))" -v c0="$c0" -v c1="$(rcpu)" \
        -v n="$(echo "$out" | awk '{print $6}')" \
        'BEGIN{if (n > 0) printf "%.1f %.3f %d\n", m / n, (c1 - c0) * 1e6 / n, n}' >>"$RDIR/$name.cost"
}
BEFORE=${BENCH_BEFORE:-}
[ -n "$BEFORE" ] && CASES+=(before-redis before-nostore)
[ -n "$FHCAP" ] && CASES+=(flowheavy-redis flowheavy-nostore)
run_once() { # name
    case $1 in
    before-redis)
        redis-cli -s "$SOCK" flushall >/dev/null
        measure "$BEFORE/tapwatch" --pcap "$CAP" --quiet --redis "unix://$SOCK" --sensor bench ;;
    before-nostore) measure "$BEFORE/tapwatch" --pcap "$CAP" --quiet ;;
    ndpiReader) measure ndpiReader -i "$CAP" -q ;;
    tapwatch-redis)
        store_cost "$1" "$BUILD/tapwatch" --pcap "$CAP" --quiet --redis "unix://$SOCK" --sensor bench ;;
    tapwatch-redis-signed)
        store_cost "$1" "$BUILD/tapwatch" --config "$RDIR/signed.yaml" --pcap "$CAP" --quiet \
            --redis "unix://$SOCK" --sensor bench ;;
    tapwatch-redis-f1)
        store_cost "$1" "$BUILD/tapwatch" --config "$RDIR/format1.yaml" --pcap "$CAP" --quiet \
            --redis "unix://$SOCK" --sensor bench ;;
    tapwatch-nostore) measure "$BUILD/tapwatch" --pcap "$CAP" --quiet ;;
    tapwatch-2workers) measure "$BUILD/tapwatch" --pcap "$CAP" --quiet --workers 2 ;;
    flowheavy-redis)
        store_cost "$1" "$BUILD/tapwatch" --pcap "$FHCAP" --quiet --redis "unix://$SOCK" --sensor bench ;;
    flowheavy-nostore) measure "$BUILD/tapwatch" --pcap "$FHCAP" --quiet ;;
    esac
}
# Round robin (one run of each program per round), so that a slow spell of the machine
# falls on every program alike rather than on whichever ran then.
for name in "${CASES[@]}"; do : >"$RDIR/$name.runs"; done
for i in $(seq "$RUNS"); do
    for name in "${CASES[@]}"; do
        run_once "$name" >>"$RDIR/$name.runs"
    done
    echo "bench: round $i of $RUNS done"
done
for name in "${CASES[@]}"; do # median by wall time
    RESULT[$name]=$(sort -n "$RDIR/$name.runs" | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
done

# 3. Redis's own pace for a flow-record-sized XADD, pipelined, in the same run
xadd=$(redis-benchmark -s "$SOCK" -P 64 -n 500000 -q XADD tw-bench-stream '*' rec \
       "$(head -c 400 /dev/zero | tr '\0' x)" 2>/dev/null | tr '\r' '\n' |
       sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
redis-cli -s "$SOCK" del tw-bench-stream >/dev/null

# 4. the flow-record writer alone, against Redis's own XADD pace, as same-run pairs
store_pairs=""
for i in $(seq "$RUNS"); do
    redis-cli -s "$SOCK" flushall >/dev/null
    st=$("$BUILD/tests/store_driver" bench "unix://$SOCK" benchstore 500000 2>&1 |
         sed -n 's/.* \([0-9][0-9]*\) records\/s.*/\1/p' | tail -1)
    redis-cli -s "$SOCK" flushall >/dev/null
    xa=$(redis-benchmark -s "$SOCK" -P 64 -n 500000 -q XADD tw-bench-stream '*' rec \
         "$(head -c 448 /dev/zero | tr '\0' x)" 2>/dev/null | tr '\r' '\n' |
         sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    store_pairs+="$st ${xa%.*}"$'\n'
done
redis-cli -s "$SOCK" flushall >/dev/null

read -r nd_wall _ <<<"${RESULT[ndpiReader]}"
nd_pps=$(awk -v p="$packets" -v w="$nd_wall" 'BEGIN{printf "%.0f", p / w}')
nd_rss=$(echo "${RESULT[ndpiReader]}" | awk '{print $4}')
printf '\n%-20s %12s %10s %9s %9s %10s %9s %9s %12s\n' program packets/s flows/s wall_s cpu_s rss_MB "x ndpiR" "rss/ndpiR" "redis_rec/s"
for name in "${CASES[@]}"; do
    read -r wall user sys rss flows written <<<"${RESULT[$name]}"
    if [ "$name" = ndpiReader ] && [ "${flows:-0}" = 0 ] && [ -f "$OUT/corpus-stats.txt" ]; then
        # -q prints no totals; make-corpus.sh counted ndpiReader's flows for this file
        flows=$(awk -v f="$(basename "$CAP")" '$1 == f {print $6}' "$OUT/corpus-stats.txt")
    fi
    # the flow-heavy rows: their own capture, which ndpiReader does not run on
    pk=$packets; [[ $name == flowheavy-* ]] && pk=$fh_packets
    awk -v n="$name" -v p="$pk" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v f="$flows" \
        -v np="$nd_pps" -v nr="$nd_rss" -v wr="$written" 'BEGIN{
        pps = p / w; fh = n ~ /^flowheavy-/
        printf "%-20s %12.0f %10.0f %9.2f %9.2f %10.1f %9s %9s %12s\n",
        n, pps, f / w, w, u + s, r / 1024, (fh ? "-" : sprintf("%.2f", pps / np)),
        (fh ? "-" : sprintf("%.2f", r / nr)), (wr > 0 ? sprintf("%.0f", wr / w) : "-") }'
done
[ -n "$FHCAP" ] && echo "flowheavy-*: $(basename "$FHCAP") ($fh_packets packets)"
if [ -n "$BEFORE" ]; then
    for job in redis nostore; do
        awk -v j="$job" -v a="${RESULT[tapwatch-$job]%% *}" -v b="${RESULT[before-$job]%% *}" \
            'BEGIN{printf "this build / %s (%s): median wall %.3f s / %.3f s = %.3f\n", "'"$BEFORE"'", j, a, b, a / b}'
    done
fi
echo
echo "wall seconds of every run, in order:"
for name in "${CASES[@]}"; do
    printf '  %-20s %s\n' "$name" "$(awk '{printf "%s ", $1}' "$RDIR/$name.runs")"
done
echo "redis-benchmark -P 64 XADD (400-byte field), same Redis, same run: ${xadd:-?} requests/s"
echo "flow-record writer alone (store_driver bench, 500k records) vs XADD -P 64 (448-byte field), same-run pairs:"
printf '%s' "$store_pairs" | awk 'NF == 2 && $2 > 0 {printf "  writer %8d records/s   XADD %8d/s   ratio %.2f\n", $1, $2, $1 / $2}'
printf '%s' "$store_pairs" | awk 'NF == 2 && $2 > 0 {print $1 / $2}' | sort -n |
    awk '{a[NR] = $1} END {if (NR) printf "  median ratio %.2f\n", a[int((NR + 1) / 2)]}'
echo "Redis cost of the main job's records (used_memory delta and used_cpu_user+sys of"
echo "redis-server over the run, per record written, indexes included; median run):"
for name in tapwatch-redis tapwatch-redis-signed tapwatch-redis-f1 flowheavy-redis; do
    [ -s "$RDIR/$name.cost" ] || continue
    sort -n "$RDIR/$name.cost" | awk -v n="$name" '{a[NR] = $0} END {split(a[int((NR + 1) / 2)], v, " ");
        printf "  %-20s redis.format %s: %7.1f bytes/record  %6.3f us Redis CPU/record  (%d records)\n",
               n, (n ~ /f1$/ ? 1 : 2), v[1], v[2], v[3]}'
done
awk -v a="${RESULT[tapwatch-redis]%% *}" -v b="${RESULT[tapwatch-nostore]%% *}" -v c="${RESULT[tapwatch-redis-f1]%% *}" \
    'BEGIN{printf "  main job wall / no store: format 2 %.3f, format 1 %.3f (target: within 1.05)\n", a / b, c / b}'
awk -v a="${RESULT[tapwatch-redis-signed]%% *}" -v b="${RESULT[tapwatch-redis]%% *}" \
    'BEGIN{printf "  main job packets/s, signing.key on / off: %.3f (target: at least 0.95)\n", b / a}'
if [ -n "$FHCAP" ]; then
    awk -v a="${RESULT[flowheavy-redis]%% *}" -v b="${RESULT[flowheavy-nostore]%% *}" \
        'BEGIN{printf "  main job wall / no store, flow-heavy capture: format 2 %.3f (target: within 1.05)\n", a / b}'
fi
# the same ratio round by round (each round runs both back to back, so a slow spell of a
# shared machine falls on both): every round's, and their median
round_ratios() { # label with-store-case no-store-case
    local ratios
    ratios=$(paste -d' ' <(awk '{print $1}' "$RDIR/$2.runs") <(awk '{print $1}' "$RDIR/$3.runs") |
             awk 'NF == 2 && $2 > 0 {printf "%.3f\n", $1 / $2}')
    [ -n "$ratios" ] || return 0
    printf '  %s, round by round: %s; median %s\n' "$1" "$(echo $ratios)" \
        "$(echo "$ratios" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
}
round_ratios "main job wall / no store (format 2)" tapwatch-redis tapwatch-nostore
[ -n "$FHCAP" ] && round_ratios "flow-heavy main job wall / no store" flowheavy-redis flowheavy-nostore
echo
# the store alone, both formats, and the /24-over-24h query on a 10 M-record store
bash scripts/bench_store.sh "$BUILD" "$SOCK"
echo "bench: wall = whole process (DPDK start-up, reading, DPI, Redis drain); medians of $RUNS runs"
