#!/usr/bin/env bash
# test_redis_query.sh - what tapwatch writes to Redis is what tapwatch-query returns:
# the same records --flows-jsonl wrote, per sensor, filtered (--ip host and CIDR, --port,
# --app, --since/--until overlap in ISO 8601 and epoch, --limit newest first) exactly as
# filtering the jsonl gives; a second replay of a capture does not duplicate records; an
# unreachable Redis gives one clear line and a non-zero exit, not a crash or a hang.
#
#   bash tests/integration/test_redis_query.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
check=$here/check_flows.py

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp rq
indent() { sed 's/^/    /'; }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
s1=itq-$$-sample
s2=itq-$$-vlan

# replay CAPTURE SENSOR JSONL: tapwatch into Redis and a jsonl file; fails the test on errors
replay() {
    local cap=$1 sensor=$2 jsonl=$3
    timeout 120 "$tapwatch" --pcap "$tmp/cap/$cap" --redis "$url" --sensor "$sensor" --quiet \
        --flows-jsonl "$jsonl" >"$jsonl.summary" 2>"$jsonl.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "tapwatch --pcap $cap --redis $url --sensor $sensor exited $rc: $(head -c 600 "$jsonl.err")"
        return 1
    fi
    if [ ! -s "$jsonl" ]; then
        fail "tapwatch --pcap $cap wrote no flow records"
        return 1
    fi
}

# q SENSOR OUT ARGS...: tapwatch-query ... flows --format json ARGS > OUT
q() {
    local sensor=$1 out=$2
    shift 2
    timeout 60 "$query" --redis "$url" --sensor "$sensor" flows --format json "$@" \
        >"$out" 2>"$out.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "tapwatch-query --sensor $sensor flows --format json $* exited $rc: $(head -c 600 "$out.err")"
        return 1
    fi
}

# same SENSOR JSONL WHAT: the whole store of SENSOR is exactly the records of JSONL
same() {
    local sensor=$1 jsonl=$2 what=$3 res
    q "$sensor" "$tmp/all.$sensor.json" --limit 100000 || return
    if ! res=$(python3 "$check" same "$jsonl" "$tmp/all.$sensor.json"); then
        fail "$what: flows --limit 100000 is not the set of records --flows-jsonl wrote:"
        printf '%s\n' "$res" | indent
    fi
}

# filtered NAME ARGS...: the query with ARGS gives what filtering the jsonl of s1 gives.
# ARGS are passed to tapwatch-query as they are; times are given to the checker in epoch
# seconds through CHECK_ARGS.
n=0
filtered() {
    local what=$1 res out
    shift
    n=$((n + 1))
    out=$tmp/f$n.json
    q "$s1" "$out" "$@" || return
    if ! res=$(python3 "$check" query "$tmp/s1.jsonl" "$out" "${CHECK_ARGS[@]}"); then
        fail "flows $* ($what):"
        printf '%s\n' "$res" | indent
    fi
}

replay sample.pcap "$s1" "$tmp/s1.jsonl" || exit 1
replay vlan.pcap "$s2" "$tmp/s2.jsonl" || exit 1

# 1. everything, per sensor
same "$s1" "$tmp/s1.jsonl" "sensor $s1 (sample.pcap)"
same "$s2" "$tmp/s2.jsonl" "sensor $s2 (vlan.pcap)"

# 2. filters. Hosts, subnets and the time window come from the records themselves.
eval "$(python3 - "$tmp/s1.jsonl" "$tmp/cap/expected.json" <<'PY'
import collections, ipaddress, json, shlex, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
start = json.load(open(sys.argv[2]))["start"]
n = collections.Counter()
for r in rows:
    for a in {r["src_ip"], r["dst_ip"]}:
        n[a] += 1
def busiest(version):
    c = [(k, a) for a, k in n.items() if ipaddress.ip_address(a).version == version and k < len(rows)]
    return max(c)[1] if c else ""
h4, h6 = busiest(4), busiest(6)
net4 = str(ipaddress.ip_network(h4 + "/24", strict=False)) if h4 else ""
net6 = str(ipaddress.ip_network(h6 + "/64", strict=False)) if h6 else ""
print("host4=%s host6=%s net4=%s net6=%s start=%s" % tuple(map(shlex.quote, (h4, h6, net4, net6, str(start)))))
PY
)"
[ -n "$host4" ] && [ -n "$host6" ] || fail "sample.pcap: no IPv4 or no IPv6 host in the records"

CHECK_ARGS=(--ip "$host4"); filtered "IPv4 host" --ip "$host4" --limit 100000
CHECK_ARGS=(--ip "$host6"); filtered "IPv6 host" --ip "$host6" --limit 100000
CHECK_ARGS=(--ip "$net4"); filtered "IPv4 CIDR" --ip "$net4" --limit 100000
CHECK_ARGS=(--ip "$net6"); filtered "IPv6 CIDR" --ip "$net6" --limit 100000
CHECK_ARGS=(--port 53); filtered "port" --port 53 --limit 100000
CHECK_ARGS=(--app DNS); filtered "app" --app DNS --limit 100000
CHECK_ARGS=(--app TLS --port 443); filtered "app part + port" --app TLS --port 443 --limit 100000
CHECK_ARGS=(--ip "$net4" --port 53); filtered "CIDR + port" --ip "$net4" --port 53 --limit 100000

# A window in the middle of the capture (it covers 10 minutes from $start): 09:03:20 to
# 09:05:00 UTC, as ISO 8601 (Z and +08:00) and as epoch seconds.
since=$((start + 200)) until=$((start + 300))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
iso8() { TZ=Asia/Shanghai date -d "@$1" +%Y-%m-%dT%H:%M:%S+08:00; }
CHECK_ARGS=(--since "$since" --until "$until")
filtered "ISO window" --since "$(iso $since)" --until "$(iso $until)" --limit 100000
filtered "ISO +08:00 window" --since "$(iso8 $since)" --until "$(iso8 $until)" --limit 100000
filtered "epoch window" --since "$since" --until "$until" --limit 100000
CHECK_ARGS=(--since "$since"); filtered "since only" --since "$(iso $since)" --limit 100000
CHECK_ARGS=(--until "$until"); filtered "until only" --until "$until" --limit 100000
CHECK_ARGS=(--since "$since" --until "$until" --app DNS)
filtered "window + app" --since "$since" --until "$until" --app DNS --limit 100000
CHECK_ARGS=(--limit 5); filtered "newest 5" --limit 5
CHECK_ARGS=(--port 53 --limit 5); filtered "newest 5 of port 53" --port 53 --limit 5

# the vlan sensor does not see sample's hosts
q "$s2" "$tmp/s2.host.json" --ip "$host4" --limit 100000 &&
    [ -s "$tmp/s2.host.json" ] && fail "sensor $s2 returned records of $host4 (a host of sensor $s1): $(head -c 300 "$tmp/s2.host.json")"

# 3. a second replay of the same capture rewrites the same records, no duplicates (each run
# adds only its own counters, tw:{S}:stats:<run>, keys.h)
keys_before=$(redis-cli -s "$sock" dbsize)
replay sample.pcap "$s1" "$tmp/s1.again.jsonl" && {
    keys_after=$(($(redis-cli -s "$sock" dbsize) - 1))
    [ "$(redis-cli -s "$sock" zcard "tw:{$s1}:runs")" = 2 ] ||
        fail "sample.pcap: tw:{$s1}:runs does not hold the two runs"
    [ "$keys_before" = "$keys_after" ] ||
        fail "sample.pcap: a second replay changed the number of Redis keys ($keys_before -> $keys_after)"
    cmp -s "$tmp/s1.jsonl" "$tmp/s1.again.jsonl" ||
        fail "sample.pcap: the second replay wrote different flow records"
    same "$s1" "$tmp/s1.jsonl" "sensor $s1 after a second replay of sample.pcap"
}

# 4. Redis unreachable: finishes with one clear line. With a spool file (the default) the
#    records wait there for the next start (exit 0); without one they are lost (exit 1).
nosock=$tmp/r/missing.sock
for spool in 1000000 0; do
    printf 'run_dir: %s/spool\nredis:\n  spool_file_records: %s\n' "$tmp" "$spool" >"$tmp/down.yaml"
    timeout 60 "$tapwatch" --pcap "$tmp/cap/eth.pcap" --config "$tmp/down.yaml" \
        --redis "unix://$nosock" --sensor "itq-$$-down" --quiet >"$tmp/down.out" 2>"$tmp/down.err"
    rc=$?
    lines=$(wc -l <"$tmp/down.err")
    want=$([ "$spool" -gt 0 ] && echo 0 || echo 1)
    if [ $rc -eq 124 ]; then
        fail "--redis unix://$nosock: tapwatch did not finish within 60 s"
    elif [ $rc -ge 128 ]; then
        fail "--redis unix://$nosock: tapwatch crashed (exit $rc): $(head -c 600 "$tmp/down.err")"
    elif [ $rc -ne "$want" ]; then
        fail "--redis unix://$nosock, spool $spool: exit $rc, expected $want: $(cat "$tmp/down.err")"
    fi
    if [ "$lines" -ne 1 ]; then
        fail "--redis unix://$nosock: expected exactly one line on stderr, got $lines:"
        indent <"$tmp/down.err"
    elif ! grep -qi redis "$tmp/down.err" || ! grep -qF "$nosock" "$tmp/down.err"; then
        fail "--redis unix://$nosock: the message does not say which Redis failed: $(cat "$tmp/down.err")"
    elif [ "$spool" -gt 0 ] && ! grep -qF "$tmp/spool/redis-spool-itq-$$-down.dat" "$tmp/down.err"; then
        fail "--redis unix://$nosock: the message does not name the spool file: $(cat "$tmp/down.err")"
    fi
    python3 "$check" summary "$tmp/down.out" >/dev/null ||
        fail "--redis unix://$nosock: no complete summary on stdout: $(head -c 400 "$tmp/down.out")"
done

if [ $failures -gt 0 ]; then
    echo "test_redis_query: $failures failure(s)"
    exit 1
fi
echo "test_redis_query: store and query agree with --flows-jsonl"
exit 0
