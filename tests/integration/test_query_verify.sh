#!/usr/bin/env bash
# test_query_verify.sh - `flows --verify` and `alerts --verify` (README "Querying", "Evidence")
# against a real redis-server and real signed stores: a paced replay (several seals) for flows,
# three runs with a policy (three chains) for alerts.
#   - untouched: every row verified (JSON "verified":true, CSV column verified, table column
#     VERIFIED yes), exit 0, the same rows as without --verify, nothing said on stderr;
#   - without --verify the answer has no such key or column;
#   - one printed record edited in its frame (evidence_tamper.py edit-seq): its row false, the
#     rows of the other seals true, one stderr line per failing row naming it (altered), exit 3;
#   - one alert edited (edit-alert): its row false, the alerts of the other runs true, exit 3;
#   - a seal deleted: the rows it covered say "deleted seal", exit 3;
#   - a wrong public key: every row fails (bad signature);
#   - --verify without --pubkey, --pubkey without --verify: exit 2.
#
#   bash tests/integration/test_query_verify.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, zstd, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
tamper=$here/evidence_tamper.py

tw_need_tools redis-server redis-cli python3 zstd
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp qverify

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/pcap" >"$tmp/gen2.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py failed"; cat "$tmp/gen2.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
rcli() { redis-cli -s "$sock" "$@"; }

"$tapwatch" keygen --out "$tmp/key" >/dev/null 2>&1 || fail "keygen"
"$tapwatch" keygen --out "$tmp/other" >/dev/null 2>&1 || fail "keygen of a second key"
cat >"$tmp/c.yaml" <<YAML
run_dir: $tmp/run
redis:
  url: $url
signing:
  key: $tmp/key
YAML
replay() { # SENSOR PCAP [options...]
    local sensor=$1 pcap=$2; shift 2
    "$tapwatch" --config "$tmp/c.yaml" --pcap "$pcap" --sensor "$sensor" --quiet "$@" \
        >"$tmp/$sensor.out" 2>&1 || fail "replay $sensor $pcap: $(tail -3 "$tmp/$sensor.out")"
}
q() { # SENSOR ARGS... -> exit status; stdout in $tmp/q.out, stderr in $tmp/q.err
    local sensor=$1; shift
    "$query" --redis "$url" --sensor "$sensor" "$@" >"$tmp/q.out" 2>"$tmp/q.err"
}
# flows: about 3 s at 200 x, a seal a second
replay vf "$tmp/cap/sample.pcap" --replay-speed 200
# alerts: three runs, a chain each
for p in remote undeclared risky; do
    replay va "$tmp/pcap/$p.pcap" --policy "$here/policy.yaml"
done
nseals=$(rcli hlen 'tw:{vf}:seals')
[ "$nseals" -ge 2 ] || fail "flows store: $nseals seal(s), wanted several"
# the sequence range of each seal: "first last" lines
seal_ranges() { rcli hvals "tw:{$1}:seals" | sed 's/.* first=\([0-9]*\) last=\([0-9]*\) .*/\1 \2/'; }
# the seal (its first) that covers seq N of sensor vf (one run)
seal_of() { seal_ranges vf | awk -v n="$1" '$1 <= n && n <= $2 {print $1}'; }

# --- untouched: everything verifies ---------------------------------------------------------
q vf flows --limit 1000 --format json; rc=$?
[ $rc -eq 0 ] || fail "flows: exit $rc"
plain=$(cat "$tmp/q.out")
! grep -q '"verified"' "$tmp/q.out" || fail "flows without --verify has a verified key"
q vf flows --limit 1000 --format json --verify --pubkey "$tmp/key.pub"; rc=$?
nrows=$(wc -l <"$tmp/q.out")
[ $rc -eq 0 ] && [ "$nrows" -gt 10 ] && [ "$(grep -c ',"verified":true}$' "$tmp/q.out")" = "$nrows" ] &&
    [ ! -s "$tmp/q.err" ] || fail "flows --verify untouched: exit $rc, $nrows rows, $(grep -c '"verified":true' "$tmp/q.out") verified: $(head -3 "$tmp/q.err")"
[ "$(sed 's/,"verified":true}$/}/' "$tmp/q.out")" = "$plain" ] || fail "flows --verify: not the same rows as without it"
q vf flows --limit 1000 --format csv --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/q.out" | grep -q ',verified$' &&
    [ "$(tail -n +2 "$tmp/q.out" | grep -c ',true$')" = "$nrows" ] || fail "flows --verify csv: exit $rc: $(head -2 "$tmp/q.out")"
q vf flows --limit 1000 --format csv; rc=$?
! head -1 "$tmp/q.out" | grep -q verified || fail "flows csv without --verify has a verified column"
q vf flows --limit 1000 --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/q.out" | grep -q ' VERIFIED$' &&
    [ "$(tail -n +2 "$tmp/q.out" | grep -c ' yes$')" = "$nrows" ] || fail "flows --verify table: exit $rc: $(head -2 "$tmp/q.out")"
q va alerts --format json --verify --pubkey "$tmp/key.pub"; rc=$?
nalerts=$(wc -l <"$tmp/q.out")
[ $rc -eq 0 ] && [ "$nalerts" -ge 3 ] && [ "$(grep -c ',"verified":true}$' "$tmp/q.out")" = "$nalerts" ] ||
    fail "alerts --verify untouched: exit $rc, $nalerts alerts: $(cat "$tmp/q.out" "$tmp/q.err" | head -5)"
q va alerts --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/q.out" | grep -q ' VERIFIED$' &&
    [ "$(tail -n +2 "$tmp/q.out" | grep -c ' yes$')" = "$nalerts" ] || fail "alerts --verify table: exit $rc: $(head -2 "$tmp/q.out")"

# --- tampers, each on the store restored ------------------------------------------------------
keys=$(rcli --scan --pattern 'tw:{v[af]*')
for k in $keys; do rcli copy "$k" "bak:$k" replace >/dev/null; done
restore() {
    rcli --scan --pattern 'tw:{v[af]*' | xargs -r redis-cli -s "$sock" del >/dev/null
    for k in $keys; do rcli copy "bak:$k" "$k" replace >/dev/null; done
}

# one printed record edited: a flow of the first seal (a row of every other seal stays true)
q vf flows --limit 1000 --format json
first=$(seal_ranges vf | sort -n | head -1)
victim=$(grep -o '"flow_id":"[0-9a-f]*".*"seq":[0-9]*' "$tmp/q.out" |
    sed 's/"flow_id":"\([0-9a-f]*\)".*"seq":\([0-9]*\)$/\1 \2/' |
    awk -v a="${first% *}" -v b="${first#* }" '$2 >= a && $2 <= b {print; exit}')
vid=${victim% *}; vseq=${victim#* }
[ -n "$vid" ] || fail "no printed flow in the first seal ($first)"
/usr/bin/python3 "$tamper" "$sock" vf edit-seq "$vseq" >"$tmp/tamper.out" 2>&1 || fail "edit-seq: $(cat "$tmp/tamper.out")"
q vf flows --limit 1000 --format json --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 3 ] || fail "an edited record: flows --verify exit $rc, wanted 3"
grep -q "\"flow_id\":\"$vid\".*\"c2s_bytes\":1,.*\"verified\":false}$" "$tmp/q.out" ||
    fail "the edited flow $vid is not marked: $(grep "$vid" "$tmp/q.out")"
grep -qx "tapwatch-query: not verified: flow $vid (run [0-9a-f]* seq $vseq): altered: .*" "$tmp/q.err" ||
    fail "stderr does not name flow $vid: $(head -3 "$tmp/q.err")"
[ "$(wc -l <"$tmp/q.err")" = "$(grep -c '"verified":false}$' "$tmp/q.out")" ] ||
    fail "stderr lines and false rows differ: $(wc -l <"$tmp/q.err") and $(grep -c '"verified":false' "$tmp/q.out")"
# every row outside the edited seal verifies, every row inside it does not
bad=0 good=0
while read -r seq ok; do
    if [ "$(seal_of "$seq")" = "${first% *}" ]; then
        [ "$ok" = false ] || bad=$((bad + 1))
    else
        [ "$ok" = true ] && good=$((good + 1)) || bad=$((bad + 1))
    fi
done < <(sed 's/.*"seq":\([0-9]*\),.*"verified":\([a-z]*\)}$/\1 \2/' "$tmp/q.out")
[ $bad -eq 0 ] && [ $good -gt 0 ] || fail "an edited record: $bad rows marked wrongly, $good true"
echo "    edit-seq $vseq: $(head -1 "$tmp/q.err" | cut -c1-110); $good rows of other seals true"
q vf flows --limit 1000 --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 3 ] && grep -q ' FAILED$' "$tmp/q.out" && grep -q ' yes$' "$tmp/q.out" ||
    fail "an edited record, table: exit $rc"
restore

# one alert edited (severity): the alerts of its run fail, those of the other runs verify
/usr/bin/python3 "$tamper" "$sock" va edit-alert >"$tmp/tamper.out" 2>&1 || fail "edit-alert: $(cat "$tmp/tamper.out")"
q va alerts --format csv --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 3 ] || fail "an edited alert: alerts --verify exit $rc, wanted 3"
[ "$(grep -c ',low,.*,false$' "$tmp/q.out")" = 1 ] || fail "the edited alert is not marked: $(cat "$tmp/q.out")"
[ "$(grep -c ',true$' "$tmp/q.out")" -ge 2 ] || fail "an edited alert: the alerts of the other runs: $(cat "$tmp/q.out")"
grep -q "^tapwatch-query: not verified: alert [0-9]*-[0-9]* (run [0-9a-f]* seq [0-9]*): altered" "$tmp/q.err" ||
    fail "an edited alert: stderr: $(cat "$tmp/q.err")"
echo "    edit-alert: $(head -1 "$tmp/q.err" | cut -c1-110)"
restore

# a seal deleted: its rows name it
field=$(rcli hkeys 'tw:{vf}:seals' | sort | head -1)
rcli hdel 'tw:{vf}:seals' "$field" >/dev/null
q vf flows --limit 1000 --format json --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 3 ] && grep -q "not verified: flow .*: deleted seal" "$tmp/q.err" &&
    grep -q '"verified":true}$' "$tmp/q.out" ||
    fail "a seal deleted: exit $rc: $(head -2 "$tmp/q.err")"
restore

# a wrong key: nothing verifies
q vf flows --limit 1000 --format json --verify --pubkey "$tmp/other.pub"; rc=$?
[ $rc -eq 3 ] && [ "$(grep -c '"verified":false}$' "$tmp/q.out")" = "$nrows" ] &&
    grep -q "bad signature" "$tmp/q.err" || fail "a wrong key: exit $rc: $(head -2 "$tmp/q.err")"
# restored: verifies again
q vf flows --limit 1000 --format json --verify --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 0 ] || fail "restored: exit $rc: $(head -3 "$tmp/q.err")"

# --- command lines -----------------------------------------------------------------------------
q vf flows --verify; rc=$?
[ $rc -eq 2 ] && grep -qx "tapwatch-query: --verify needs --pubkey FILE.pub (see tapwatch-query --help)" "$tmp/q.err" ||
    fail "--verify without --pubkey: exit $rc: $(cat "$tmp/q.err")"
q va alerts --pubkey "$tmp/key.pub"; rc=$?
[ $rc -eq 2 ] && grep -q "^tapwatch-query: --pubkey goes with --verify" "$tmp/q.err" ||
    fail "--pubkey without --verify: exit $rc: $(cat "$tmp/q.err")"

if [ "$failures" -ne 0 ]; then
    echo "test_query_verify: $failures failure(s)"
    exit 1
fi
echo "test_query_verify: ok (flows and alerts --verify: untouched, an edited record, an edited alert, a deleted seal, a wrong key, usage)"
