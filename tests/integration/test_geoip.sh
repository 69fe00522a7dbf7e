#!/usr/bin/env bash
# test_geoip.sh - countries and ASNs of flow records (README "Countries and ASNs"):
#   1. --check-config says the SHA-256 of the databases as README defines it (sha256sum of
#      the country file alone; with an ASN database, sha256sum of sha256sum's two lines);
#   2. a capture with flows to and from networks of several countries (IPv4 and IPv6,
#      private addresses, a registered-country-only network, an entry that is not a
#      country code) replayed with both databases: every record carries its ends'
#      countries and ASNs (scripts/gen_geoip_captures.py's expected.json); with the country
#      database only, ASNs are 0; without a database the four fields are ""/0 and the
#      records are otherwise the same;
#   3. a corrupt, missing or others-writable database at start, an ASN database alone:
#      one line, exit 2;
#   4. into a private Redis: tapwatch-query flows --country and --asn select exactly the
#      flows with that country or AS at either end;
#   5. SIGHUP on a running sensor (the capture looped): a replaced database changes later
#      records and the reload line names its SHA-256; a corrupt one is refused in one line
#      and the lookups stay as they were.
#
#   bash tests/integration/test_geoip.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no binary, scapy, redis-server or MaxMind::DB::Writer).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
make_db=$root/scripts/make_geoip_db.pl

tw_need_bins "$tapwatch" "$query"
tw_need_tools redis-server perl sha256sum
tw_need_scapy
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
    { echo "skip: MaxMind::DB::Writer::Tree not installed (libmaxmind-db-writer-perl)"; exit 77; }

tmp=$(mktemp -d /tmp/tw-geoip.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

/usr/bin/python3 "$root/scripts/gen_geoip_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_geoip_captures.py:"; cat "$tmp/gen.log"; exit 1; }
exp=$tmp/cap/expected.json
# db KIND OUT [ARGS...]: a database from expected.json's list of KIND, or from ARGS
db() {
    local kind=$1 out=$2
    shift 2
    if [ $# -eq 0 ]; then
        mapfile -t args < <(python3 -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1]))[sys.argv[2] + "_db"]))' "$exp" "$kind")
        set -- "${args[@]}"
    fi
    perl "$make_db" "$out" "$kind" "$@" >"$out.log" 2>&1 ||
        { echo "FAIL: make_geoip_db.pl $out $kind: $(cat "$out.log")"; exit 1; }
}
mkdir -p "$tmp/db"
db country "$tmp/db/country.mmdb"
db asn "$tmp/db/asn.mmdb"
conf() { # FILE COUNTRY_DB [ASN_DB]
    printf 'geoip:\n  country_db: "%s"\n  asn_db: "%s"\n' "$2" "${3:-}" >"$1"
}
conf "$tmp/both.yaml" "$tmp/db/country.mmdb" "$tmp/db/asn.mmdb"
conf "$tmp/country.yaml" "$tmp/db/country.mmdb"

# 1. the SHA-256 in force, as README defines it
want_country=$(sha256sum <"$tmp/db/country.mmdb" | cut -d' ' -f1)
want_both=$(cd "$tmp/db" && sha256sum country.mmdb asn.mmdb | sha256sum | cut -d' ' -f1)
out=$("$tapwatch" --check-config --config "$tmp/country.yaml" 2>&1)
grep -q "geoip OK: country database, sha256 $want_country\$" <<<"$out" ||
    fail "check-config, country database: want sha256 $want_country in: $out"
out=$("$tapwatch" --check-config --config "$tmp/both.yaml" 2>&1)
grep -q "geoip OK: country and ASN databases, sha256 $want_both\$" <<<"$out" ||
    fail "check-config, both databases: want sha256 $want_both in: $out"

# --explain names an address's country and AS as its records would carry them
printf 'equipment:\n  - {name: e1, addresses: [10.1.1.1]}\n' >"$tmp/policy.yaml"
read -r addr cc asn < <(python3 -c 'import json, sys
f = [f for f in json.load(open(sys.argv[1]))["flows"] if f["dst_country"] and f["dst_asn"]][0]
print(f["dst"], f["dst_country"], f["dst_asn"])' "$exp")
for pair in "$addr=$cc, AS $asn" "10.1.1.1=no country, AS 0"; do
    out=$("$tapwatch" --check-config --config "$tmp/both.yaml" --policy "$tmp/policy.yaml" \
        --explain "${pair%%=*}" 2>&1)
    grep -qx "country (GeoIP): ${pair#*=}" <<<"$out" ||
        fail "--explain ${pair%%=*}: want 'country (GeoIP): ${pair#*=}' in: $out"
done

# 2. the records of the capture
run() { # NAME [CONFIG]: replay into $tmp/NAME.jsonl
    local name=$1
    shift
    timeout 60 "$tapwatch" --pcap "$tmp/cap/geoip.pcap" --quiet --flows-jsonl "$tmp/$name.jsonl" \
        ${1:+--config "$1"} >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || fail "$name: tapwatch exited $rc: $(head -c 600 "$tmp/$name.err")"
}
# check NAME MODE: every record of NAME.jsonl against expected.json; MODE both, country or none
check() {
    local res
    res=$(python3 - "$exp" "$tmp/$1.jsonl" "$2" <<'EOF'
import json, sys
exp, path, mode = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
want = {(f["src"], f["dst"]): f for f in exp["flows"]}
seen, bad = set(), []
for line in open(path):
    r = json.loads(line)
    key = (r["src_ip"], r["dst_ip"])
    f = want.get(key)
    if f is None:
        bad.append("unexpected record %s -> %s" % key)
        continue
    seen.add(key)
    for k in ("src_country", "dst_country", "src_asn", "dst_asn"):
        w = f[k]
        if mode == "none" or (mode == "country" and k.endswith("asn")):
            w = 0 if k.endswith("asn") else ""
        if r.get(k) != w or type(r.get(k)) is not type(w):
            bad.append("%s -> %s: %s is %r, want %r" % (key + (k, r.get(k), w)))
for key in set(want) - seen:
    bad.append("no record of %s -> %s" % key)
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
    ) || fail "$1: records:"$'\n'"$(sed 's/^/    /' <<<"$res")"
}
run both "$tmp/both.yaml"
check both both
grep -Eq "^  geoip +country\+asn $want_both, records 12 " "$tmp/both.out" ||
    fail "both: summary line: $(grep geoip "$tmp/both.out")"
grep -Eq "refused answers 1\$" "$tmp/both.out" ||
    fail "both: the entry \"cn\" should be one refused answer: $(grep geoip "$tmp/both.out")"
# the metrics endpoint's GeoIP counters are the summary's (lingering after the replay)
if command -v curl >/dev/null; then
    "$tapwatch" --pcap "$tmp/cap/geoip.pcap" --quiet --config "$tmp/both.yaml" \
        --metrics 127.0.0.1:0 --metrics-linger 30 >"$tmp/m.out" 2>"$tmp/m.err" &
    pid=$!
    url=
    for _ in $(seq 100); do
        grep -q '^  packets/s' "$tmp/m.out" && url=$(sed -n 's/.* metrics at \(http[^ ]*\)$/\1/p' "$tmp/m.err")
        [ -n "$url" ] && break
        sleep 0.1
    done
    if [ -n "$url" ] && curl -sf -o "$tmp/m.txt" "$url"; then
        sum=$(grep -E '^  geoip ' "$tmp/m.out")
        for pair in records:records "cache_hits:cache hits" lookups:lookups errors:errors \
            "refused_answers:refused answers"; do
            metric=tapwatch_geoip_${pair%%:*}_total words=${pair#*:}
            got=$(sed -n "s/^$metric \([0-9]*\)\$/\1/p" "$tmp/m.txt")
            want=$(sed -n "s/.*[(,] *$words \([0-9]*\).*/\1/p" <<<"$sum")
            [ -n "$got" ] && [ "$got" = "$want" ] || fail "metrics: $metric is '$got', summary says '$want' ($sum)"
        done
    else
        fail "metrics: no scrape: $(head -c 600 "$tmp/m.err")"
    fi
    kill -INT "$pid"
    wait "$pid"
    pid=
fi
run country "$tmp/country.yaml"
check country country
run none
check none none
grep -Eq "^  geoip " "$tmp/none.out" && fail "none: a geoip line without a database: $(grep -E "^  geoip " "$tmp/none.out")"
# nothing else changes: the records without the four keys are the same
strip() {
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ("src_country", "dst_country", "src_asn", "dst_asn"):
        r.pop(k)
    print(json.dumps(r, sort_keys=True))' "$1" | sort
}
cmp -s <(strip "$tmp/both.jsonl") <(strip "$tmp/none.jsonl") ||
    fail "records with and without a database differ beyond the GeoIP keys"

# 3. bad databases at start: one line, exit 2
head -c 4096 /dev/urandom >"$tmp/db/corrupt.mmdb"
cp "$tmp/db/country.mmdb" "$tmp/db/open.mmdb"
chmod 666 "$tmp/db/open.mmdb"
refused() { # WHAT CONFIG PATTERN
    timeout 30 "$tapwatch" --pcap "$tmp/cap/geoip.pcap" --quiet --config "$2" >"$tmp/bad.out" 2>"$tmp/bad.err"
    local rc=$?
    [ $rc -eq 2 ] || fail "$1: exit $rc, want 2: $(cat "$tmp/bad.err")"
    [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] || fail "$1: want one line, got: $(cat "$tmp/bad.err")"
    grep -q -- "$3" "$tmp/bad.err" || fail "$1: want '$3' in: $(cat "$tmp/bad.err")"
}
conf "$tmp/bad.yaml" "$tmp/db/corrupt.mmdb"
refused "corrupt country database" "$tmp/bad.yaml" "geoip.country_db: $tmp/db/corrupt.mmdb: .*MaxMind"
conf "$tmp/bad.yaml" "$tmp/db/country.mmdb" "$tmp/db/corrupt.mmdb"
refused "corrupt ASN database" "$tmp/bad.yaml" "geoip.asn_db: $tmp/db/corrupt.mmdb: "
conf "$tmp/bad.yaml" "$tmp/db/missing.mmdb"
refused "missing database" "$tmp/bad.yaml" "geoip.country_db: $tmp/db/missing.mmdb: No such file"
conf "$tmp/bad.yaml" "$tmp/db/open.mmdb"
refused "others-writable database" "$tmp/bad.yaml" "geoip.country_db: $tmp/db/open.mmdb: writable by others"
conf "$tmp/bad.yaml" "" "$tmp/db/asn.mmdb"
refused "ASN database alone" "$tmp/bad.yaml" "geoip.asn_db: expected geoip.country_db too"

# 4. the query tool's --country and --asn, from a private Redis
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
sensor=geo-$$
timeout 60 "$tapwatch" --pcap "$tmp/cap/geoip.pcap" --quiet --config "$tmp/both.yaml" \
    --redis "unix://$sock" --sensor "$sensor" >"$tmp/redis.out" 2>"$tmp/redis.err" ||
    fail "replay into Redis: $(head -c 600 "$tmp/redis.err")"
# selects WHAT ARGS...: the flows query returns are those of expected.json with WHAT at either end
selects() {
    local what=$1 res
    shift
    timeout 30 "$query" --redis "unix://$sock" --sensor "$sensor" flows --format json \
        --limit 1000 "$@" >"$tmp/q.json" 2>"$tmp/q.err" ||
        { fail "tapwatch-query flows $*: $(cat "$tmp/q.err")"; return; }
    res=$(python3 - "$exp" "$tmp/q.json" "$what" <<'EOF'
import json, sys
exp, path, what = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
want = set()
for f in exp["flows"]:
    ok = True
    for cond in what.split(","):
        k, v = cond.split("=")
        ok = ok and (str(f["src_" + k]) == v or str(f["dst_" + k]) == v)
    if ok:
        want.add((f["src"], f["dst"]))
got = [(r["src_ip"], r["dst_ip"]) for r in map(json.loads, open(path))]
if not want or len(want) == len(exp["flows"]):
    print("the filter should keep some flows, not all")
if sorted(got) != sorted(want):
    print("got %s, want %s" % (sorted(got), sorted(want)))
    sys.exit(1)
EOF
    ) && [ -z "$res" ] || fail "flows $*: $res"
}
selects country=CN --country CN
selects country=US --country us
selects country=DE --country DE
selects asn=4134 --asn 4134
selects asn=3320 --asn AS3320
selects country=US,asn=4134 --country US --asn 4134

# 5. SIGHUP: a replaced database is taken, a corrupt one refused
printf 'stats_interval: 0\nflow_table:\n  idle_timeout: 1s\n  active_timeout: 0\n  tcp_close_timeout: 0\n' >"$tmp/live.yaml"
cp "$tmp/db/country.mmdb" "$tmp/db/live.mmdb"
printf 'geoip:\n  country_db: "%s"\n' "$tmp/db/live.mmdb" >>"$tmp/live.yaml"
db country "$tmp/db/japan.mmdb" 198.51.100.0/24=JP
want_japan=$(sha256sum <"$tmp/db/japan.mmdb" | cut -d' ' -f1)
"$tapwatch" --pcap "$tmp/cap/geoip.pcap" --config "$tmp/live.yaml" --flows-jsonl "$tmp/live.jsonl" \
    --replay-speed 4 --loop 100000 >"$tmp/live.out" 2>"$tmp/live.err" &
pid=$!
wait_for() { # PATTERN AFTER_LINE: a stderr line after AFTER_LINE matches (10 s at most)
    for _ in $(seq 100); do
        tail -n +"$(($2 + 1))" "$tmp/live.err" | grep -q -- "$1" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
wait_for 'no Redis configured' 0 || { echo "FAIL: tapwatch did not start: $(cat "$tmp/live.err")"; exit 1; }
sleep 1
n=$(wc -l <"$tmp/live.err")
cp "$tmp/db/japan.mmdb" "$tmp/db/live.mmdb.new" && mv "$tmp/db/live.mmdb.new" "$tmp/db/live.mmdb"
kill -HUP "$pid"
wait_for "reloaded: .*geoip $want_japan" "$n" ||
    fail "replaced database: no reload line naming $want_japan: $(tail -n +"$((n + 1))" "$tmp/live.err")"
sleep 1
n=$(wc -l <"$tmp/live.err")
cp "$tmp/db/corrupt.mmdb" "$tmp/db/live.mmdb"
kill -HUP "$pid"
wait_for 'reload failed' "$n" || fail "corrupt database: no line: $(tail -n +"$((n + 1))" "$tmp/live.err")"
got=$(tail -n +"$((n + 1))" "$tmp/live.err")
[ "$(wc -l <<<"$got")" -eq 1 ] && grep -q "geoip.country_db: $tmp/db/live.mmdb: " <<<"$got" ||
    fail "corrupt database: want one line naming the file, got: $got"
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM: $(tail -n 5 "$tmp/live.err")"
# the flow to 198.51.100.7: China first, Japan after the reload, still Japan at the end
seq=$(python3 -c 'import json, sys
print(" ".join(r["dst_country"] for r in map(json.loads, open(sys.argv[1]))
               if r["dst_ip"] == "198.51.100.7"))' "$tmp/live.jsonl" | tr -s ' ' '\n' | uniq | tr '\n' ' ')
[ "$seq" = "CN JP " ] || fail "SIGHUP: the flow to 198.51.100.7 went to countries '$seq', want 'CN JP '"

if [ $failures -ne 0 ]; then
    echo "test_geoip: $failures failure(s)"
    exit 1
fi
echo "test_geoip: pass (records, SHA-256, bad databases, --country/--asn, SIGHUP)"
