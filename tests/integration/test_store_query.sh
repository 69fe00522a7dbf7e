#!/usr/bin/env bash
# test_store_query.sh - flow records written through the store come back out of
# tapwatch-query with the right filters, order and formats.
#
#   bash tests/integration/test_store_query.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no redis-server or binaries).
set -uo pipefail

build=${1:-build}
query=$build/tapwatch-query
driver=$build/tests/store_driver
# Both layouts (redis.format, control/record/compact.h): the whole test runs for format 2 in a
# child first, then for format 1, whose key layout it also checks.
if [ -z "${STORE_FORMAT:-}" ] && [ -x "$build/tests/store_driver" ]; then
    STORE_FORMAT=2 bash "$0" "$@" || { echo "test_store_query: format 2 failed (above)"; exit 1; }
fi
export STORE_FORMAT=${STORE_FORMAT:-1}
here=$(cd "$(dirname "$0")" && pwd)
redis_local=$here/../../scripts/redis-local.sh

for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
for bin in "$query" "$driver"; do
    [ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
done

tmp=$(mktemp -d /tmp/tw-store-query.XXXXXX)
trap 'bash "$redis_local" stop "$tmp" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
sock=$(bash "$redis_local" start "$tmp") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Flow records as tw_record_to_json writes them. T0 = 2026-03-02T09:00:00Z = 1772442000.
#   id  first..last (s after T0)  where
#   a   100..200                  10.1.2.3:50001 -> 93.184.216.34:443   TLS.Google  hour 0
#   b   3610..3620                10.1.2.4:50002 -> 8.8.8.8:53          DNS         hour 1
#   c   1800..10805               10.9.0.5:50003 -> 93.184.216.34:443   TLS.Google  hours 0-3
#   d   7300..7400                [2001:db8:1:2::10]:50004 -> [2001:db8:ffff::1]:80  HTTP  hour 2
#   e   18000..18060              192.168.7.7:50005 -> 10.1.2.3:22      SSH         hour 5
# Newest first by last_seen: e c d b a.
make_records() { # $1 = packets of b (to rewrite it)
    python3 - "$1" <<'PY'
import json, sys
T0 = 1772442000
bpk = int(sys.argv[1])
def rec(fid, first, last, src, sport, dst, dport, proto, app, cat, sni, v=4, risks=(), pk=10,
        tunnel=("", 0), geo=("", "", 0, 0)):
    return {"flow_id": fid, "event": "end", "ip_version": v, "src_ip": src, "src_port": sport,
            "dst_ip": dst, "dst_port": dport, "ip_proto": proto, "vlan": 0,
            "tunnel": tunnel[0], "tunnel_id": tunnel[1],
            "src_country": geo[0], "dst_country": geo[1], "src_asn": geo[2], "dst_asn": geo[3],
            "first_seen": float("%d.000000" % (T0 + first)), "last_seen": T0 + last + 0.25,
            "c2s_packets": pk, "c2s_bytes": pk * 100, "s2c_packets": pk + 1, "s2c_bytes": 5000,
            "app": app, "category": cat, "server_name": sni, "risks": list(risks),
            "end_reason": "idle", "tls_version": 0, "ja3c": "", "src_mac": ""}
rows = [
    rec("00000000000000aa", 100, 200, "10.1.2.3", 50001, "93.184.216.34", 443, 6, "TLS.Google", "Web", "www.google.com",
        geo=("", "US", 0, 15133)),
    rec("00000000000000bb", 3610, 3620, "10.1.2.4", 50002, "8.8.8.8", 53, 17, "DNS", "Network", "example.org", pk=bpk,
        tunnel=("vxlan", 5001)),
    rec("00000000000000cc", 1800, 10805, "10.9.0.5", 50003, "93.184.216.34", 443, 6, "TLS.Google", "Web", "mail.google.com",
        risks=("Self-signed Certificate",)),
    rec("00000000000000dd", 7300, 7400, "2001:db8:1:2::10", 50004, "2001:db8:ffff::1", 80, 6, "HTTP", "Web", "v6.example", v=6),
    rec("00000000000000ee", 18000, 18060, "192.168.7.7", 50005, "10.1.2.3", 22, 6, "SSH", "RemoteAccess", 'odd,"name'),
]
for r in rows:
    print(json.dumps(r))
PY
}

make_records 7 >"$tmp/records.jsonl"
if ! "$driver" write "$url" tapwatch <"$tmp/records.jsonl" 2>"$tmp/driver.err"; then
    fail "store_driver write: $(cat "$tmp/driver.err")"
fi

# ids NAME ARGS...: runs `tapwatch-query --redis URL flows --format json ARGS` and checks the
# flow ids, in order, against the expected letters in NAME ("e c" = ee, cc).
ids() {
    local want=$1 got out
    shift
    out=$("$query" --redis "$url" flows --format json "$@" 2>"$tmp/q.err")
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "flows $* exited $rc: $(cat "$tmp/q.err")"
        return
    fi
    got=$(printf '%s\n' "$out" | python3 -c '
import json, sys
print(" ".join(json.loads(l)["flow_id"][-1] for l in sys.stdin if l.strip()))')
    [ "$got" = "$want" ] || fail "flows $*: expected [$want], got [$got]"
}

T0=1772442000
# everything, newest first
ids "e c d b a"
# overlap semantics: a flow matches a range it overlaps
ids "c b" --since $((T0 + 3000)) --until $((T0 + 3700))
ids "a" --until $((T0 + 150))
ids "e c" --since $((T0 + 10000))
ids "c d" --since 2026-03-02T11:00:00Z --until 2026-03-02T11:30:00Z
ids "c d" --since 2026-03-02T19:00:00+08:00 --until 2026-03-02T19:30:00+08:00
ids "e" --since 2026-03-02T13:00:00Z
ids "" --since 2026-03-03
ids "" --until 2026-03-01
ids "a" --since $((T0 + 200)).25 --until $((T0 + 200)).25   # a's last instant
# addresses and subnets (exact, /24 and /16 indexes, wider by filtering)
ids "e a" --ip 10.1.2.3
ids "e b a" --ip 10.1.2.0/24
ids "e b a" --ip 10.1.2.77/24
ids "e b a" --ip 10.1.0.0/16
ids "e c b a" --ip 10.0.0.0/8
ids "e a" --ip 10.1.2.0/30
ids "e c b a" --ip 0.0.0.0/0
ids "d" --ip ::/0
ids "d" --ip 2001:db8:1:2::10
ids "d" --ip 2001:db8:ffff::1
ids "d" --ip 2001:db8:1:2::/64
ids "d" --ip 2001:db8:1::/48
ids "d" --ip 2001:db8::/32
ids "" --ip 2001:db8:1:3::/64
ids "" --ip 10.1.2.5
# ports, applications, combined filters, limit
ids "c a" --port 443
ids "b" --port 53
ids "e" --port 22
ids "c a" --app TLS.Google
ids "c a" --app google
ids "c a" --app tls
ids "b" --app DNS
ids "d" --app http
ids "" --app Facebook
ids "b" --ip 10.1.2.0/24 --port 53
ids "c" --app google --since $((T0 + 3600))
ids "e c" --limit 2
ids "e" --limit 1
ids "c" --port 443 --limit 1
ids "b" --tunnel-id 5001
ids "" --tunnel-id 5002
ids "e" --tunnel-id 0 --port 22
# global options after the subcommand, sensor isolation, URL from the environment
out=$("$query" flows --redis "$url" --sensor tapwatch --format json | wc -l)
[ "$out" = 5 ] || fail "options after the subcommand: expected 5 flows, got $out"
out=$("$query" --redis "$url" --sensor other flows --format json | wc -l)
[ "$out" = 0 ] || fail "--sensor other: expected no flows, got $out"
out=$(TAPWATCH_REDIS=$url "$query" flows --format json | wc -l)
[ "$out" = 5 ] || fail "TAPWATCH_REDIS: expected 5 flows, got $out"

# json: the stored objects, one per line, every key
"$query" --redis "$url" flows --format json >"$tmp/out.json" || fail "json format"
python3 - "$tmp/out.json" "$tmp/records.jsonl" <<'PY' || fail "json output differs from the records written"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = {r["flow_id"]: r for r in map(json.loads, open(sys.argv[2]))}
assert len(got) == 5, len(got)
for g in got:
    w = want[g["flow_id"]]
    assert set(g) == set(w), set(g) ^ set(w)
    for k in w:
        assert g[k] == w[k] or abs(g[k] - w[k]) < 1e-6, (k, g[k], w[k])
assert '"first_seen":1772442100.000000' in open(sys.argv[1]).read()
PY

# csv: header + rows with the same keys, quoting, risks joined by ';'
"$query" --redis "$url" flows --format csv >"$tmp/out.csv" || fail "csv format"
python3 - "$tmp/out.csv" <<'PY' || fail "csv output"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 5, len(rows)
assert list(rows[0].keys())[:3] == ["flow_id", "event", "ip_version"], list(rows[0].keys())
assert rows[0]["server_name"] == 'odd,"name', rows[0]["server_name"]
assert rows[1]["risks"] == "Self-signed Certificate", rows[1]["risks"]
assert rows[2]["src_ip"] == "2001:db8:1:2::10"
assert rows[4]["first_seen"] == "1772442100.000000", rows[4]["first_seen"]
assert [r["flow_id"][-1] for r in rows] == list("ecdba")
PY

# table: a header and one aligned row per flow
"$query" --redis "$url" flows >"$tmp/out.txt" || fail "table format"
lines=$(wc -l <"$tmp/out.txt")
[ "$lines" = 6 ] || fail "table: expected 6 lines, got $lines"
head -1 "$tmp/out.txt" | grep -q '^TIME_UTC .*SRC .*DST .*APP .*SERVER_NAME .*END$' ||
    fail "table header: $(head -1 "$tmp/out.txt")"
grep -q '^2026-03-02 14:00:00 .*192.168.7.7:50005 .*10.1.2.3:22 .*SSH .*idle$' "$tmp/out.txt" ||
    fail "table row of e: $(sed -n 2p "$tmp/out.txt")"
grep -q '\[2001:db8:1:2::10\]:50004' "$tmp/out.txt" || fail "table: IPv6 endpoint"

# bad filters: exit 2, one line on stderr, nothing on stdout
bad() {
    local out err rc
    out=$("$query" --redis "$url" "$@" 2>"$tmp/bad.err")
    rc=$?
    err=$(cat "$tmp/bad.err")
    [ $rc -eq 2 ] || fail "$*: expected exit 2, got $rc"
    [ -z "$out" ] || fail "$*: printed on stdout: $out"
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [ -n "$err" ] ||
        fail "$*: expected one line on stderr, got: $err"
}
bad flows --since yesterday
bad flows --until 2026-02-30
bad flows --since 2026-03-02T09:00:00
bad flows --since 2026-03-03 --until 2026-03-02
bad flows --ip 10.0.0.0/33
bad flows --ip 10.0.0.256
bad flows --ip 2001:db8::/129
bad flows --ip ""
bad flows --port 70000
bad flows --port 0
bad flows --port http
bad flows --limit 0
bad flows --limit -5
bad flows --format xml
bad flows --bogus 1
bad flows --since
bad flows extra
bad nosuch
bad alerts --kind no_such_kind
bad
bad flows --sensor "a b"
out=$(env -u TAPWATCH_REDIS "$query" flows 2>&1 >/dev/null)
[ "$out" = "tapwatch-query: no Redis named: use --redis URL (see tapwatch-query --help)" ] ||
    fail "no --redis: $out"
"$query" --help | grep -q '^usage: tapwatch-query' || fail "--help"
"$query" flows --help | grep -q -- '--since' || fail "flows --help"

# unreachable Redis: exit 1, one line
out=$("$query" --redis "unix://$tmp/none.sock" flows 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "unreachable redis: expected exit 1, got $rc"
[ "$out" = "tapwatch-query: redis: cannot connect to unix://$tmp/none.sock: No such file or directory" ] ||
    fail "unreachable redis message: $out"
out=$("$query" --redis redis://127.0.0.1:1 flows 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "redis://127.0.0.1:1: rc $rc: $out"

# idempotent: writing the same records again (b updated) leaves one copy of each
make_records 99 >"$tmp/records2.jsonl"
"$driver" write "$url" tapwatch <"$tmp/records2.jsonl" 2>"$tmp/driver.err" ||
    fail "store_driver rewrite: $(cat "$tmp/driver.err")"
ids "e c d b a"
out=$("$query" --redis "$url" flows --app dns --format csv | python3 -c '
import csv, sys; print([r["c2s_packets"] for r in csv.DictReader(sys.stdin)])')
[ "$out" = "['99']" ] || fail "rewritten b: expected c2s_packets ['99'], got $out"
h=$((T0 / 3600))
if [ "$STORE_FORMAT" = 1 ]; then # format 1's layout (store.h)
n=0
for k in $(redis-cli -s "$sock" --scan --pattern 'tw:{tapwatch}:f:*'); do
    n=$((n + $(redis-cli -s "$sock" hlen "$k")))
done
[ "$n" = 5 ] || fail "expected 5 flow records in the tw:{tapwatch}:f:<hour> hashes, got $n"
# each record in the hash of its first_seen hour (and of its shard, flow_id mod
# TW_RECORD_SHARDS, when built with shards), nothing else there
shards=$(sed -n 's/^#define TW_RECORD_SHARDS \([0-9]*\).*/\1/p' "$here/../../control/record/keys.h")
rkey() { if [ "${shards:-1}" -gt 1 ]; then echo "tw:{tapwatch}:f:$1:$((16#$2 % shards))"; else echo "tw:{tapwatch}:f:$1"; fi; }
out=$(for k in $(redis-cli -s "$sock" --scan --pattern "tw:{tapwatch}:f:*"); do
          case $k in "tw:{tapwatch}:f:$h" | "tw:{tapwatch}:f:$h:"*) ;; *) continue ;; esac
          for id in $(redis-cli -s "$sock" hkeys "$k"); do
              [ "$k" = "$(rkey "$h" "$id")" ] && echo "$id" || echo "$id@$k"
          done
      done | sort | tr '\n' ' ')
[ "$out" = "00000000000000aa 00000000000000cc " ] || fail "records of hour $h: $out"

# keys carry the hot window as TTL, hour indexes exist as store.h documents
ttl=$(redis-cli -s "$sock" ttl "$(rkey "$h" aa)")
[ "$ttl" -gt 0 ] 2>/dev/null || fail "record hash TTL: $ttl"
ttl=$(redis-cli -s "$sock" ttl "tw:{tapwatch}:x:$h:n4:0a0102")
[ "$ttl" -gt 0 ] 2>/dev/null || fail "address index TTL: $ttl"
out=$(redis-cli -s "$sock" zrange "tw:{tapwatch}:x:$h:nets" 0 -1 | tr '\n' ' ')
[ "$out" = "4:0a0102 4:0a0900 4:5db8d8 " ] || fail "nets of hour $h: $out"
# c (hours 0-3) and a (hour 0) in the time index of hour 0, c alone in hour 3: 18 bytes each,
# written twice (the rewrite above), so 4 and 2 entries
out=$(redis-cli -s "$sock" strlen "tw:{tapwatch}:x:$h:t"):$(redis-cli -s "$sock" strlen "tw:{tapwatch}:x:$((h + 3)):t")
[ "$out" = "72:36" ] || fail "time index sizes of hours 0 and 3: $out"
for k in "x:$h:p:443" "x:$((h + 1)):p:53" "x:$((h + 5)):p:22" "x:$((h + 5)):p:49152" \
         "x:$h:a:tls" "x:$h:a:google" "x:$((h + 2)):n6:20010db800010002" "hours" "gaps"; do
    [ "$(redis-cli -s "$sock" exists "tw:{tapwatch}:$k")" = 1 ] || [ "$k" = gaps ] ||
        fail "key tw:{tapwatch}:$k missing"
done
else # format 2: five records in blocks, none in format 1's hashes
[ -z "$(redis-cli -s "$sock" --scan --pattern 'tw:{tapwatch}:f:*')" ] || fail "format 2 wrote format 1 record hashes"
[ "$(redis-cli -s "$sock" --scan --pattern 'tw:{tapwatch:*}:b' | wc -l)" = 4 ] ||
    fail "format 2: expected block hashes for the 4 first_seen hours, got $(redis-cli -s "$sock" --scan --pattern 'tw:{tapwatch:*}:b' | tr '\n' ' ')"
fi
[ "$(redis-cli -s "$sock" exists 'tw:{tapwatch}:gaps')" = 0 ] || fail "a gap record without a loss"
hours=$(redis-cli -s "$sock" zrange 'tw:{tapwatch}:hours' 0 -1 | tr '\n' ' ')
[ "$hours" = "$h $((h + 1)) $((h + 2)) $((h + 3)) $((h + 5)) " ] || fail "hours: $hours"

# a store whose Redis is down keeps records in its bounded buffer and counts the rest
"$driver" down "unix://$tmp/none.sock" tapwatch 2>"$tmp/down.err" || fail "store down: $(cat "$tmp/down.err")"

if [ $failures -ne 0 ]; then
    echo "test_store_query: $failures failure(s)"
    exit 1
fi
echo "test_store_query: pass (redis.format $STORE_FORMAT)"
exit 0
