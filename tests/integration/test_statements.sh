#!/usr/bin/env bash
# test_statements.sh - completeness statements (README "Completeness statements") and what
# flows/alerts say on stderr about what they cannot vouch for, against a real redis-server:
#   - a replay at recorded pace with evidence.statement_interval 1s and a SIGHUP writes start,
#     interval, reload and stop statements, numbered 0.. without a hole, each beginning where
#     the one before ended, whose counters add up to the run's summary (packets, drops, flows,
#     upstream loss, records emitted = records written);
#   - signed with signing.key: `statements --pubkey KEY.pub` says verified for each; another
#     key's .pub says BAD for each; a statement edited in Redis says BAD, the others verified;
#     a run without a key writes statements marked unsigned; a key file others may read is
#     refused at start (exit 2, one line);
#   - `flows` prints on stderr one line per planted gap record overlapping the range and per
#     unwatched span (a statement deleted, a range before the first statement), stdout unchanged;
#   - a format 1 record replaced by `not json {{{` and an alert entry that is not an alert are
#     reported on stderr (key and field), exit 0.
#
#   bash tests/integration/test_statements.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp statements

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
"$tapwatch" keygen --out "$tmp/key" >/dev/null || { echo "FAIL: tapwatch keygen"; exit 1; }
"$tapwatch" keygen --out "$tmp/other" >/dev/null || { echo "FAIL: tapwatch keygen"; exit 1; }

config() { # config FILE FORMAT KEY
    cat >"$1" <<YAML
redis:
  url: unix://$sock
  format: $2
run_dir: $tmp/run
evidence:
  statement_interval: 1s
signing:
  key: "$3"
YAML
}
config "$tmp/signed.yaml" 2 "$tmp/key"
config "$tmp/unsigned.yaml" 1 ""

# 1. a signed replay at recorded pace (some 6 s), reloaded once in the middle
s1=st1-$$
"$tapwatch" --config "$tmp/signed.yaml" --pcap "$tmp/cap/eth.pcap" --replay-speed 1 \
    --sensor "$s1" --quiet >"$tmp/s1.sum" 2>"$tmp/s1.err" &
pid=$!
sleep 2.5
kill -HUP "$pid" 2>/dev/null
wait "$pid" || fail "tapwatch (signed run) exited $?: $(head -c 600 "$tmp/s1.err")"

Q=("$query" --redis "unix://$sock")
"${Q[@]}" --sensor "$s1" statements --format json --limit 1000 --pubkey "$tmp/key.pub" \
    >"$tmp/s1.json" 2>"$tmp/s1.qerr" || fail "statements --pubkey: exit $?: $(cat "$tmp/s1.qerr")"
"${Q[@]}" --sensor "$s1" statements --format json --limit 1000 --pubkey "$tmp/other.pub" \
    >"$tmp/s1.other.json" 2>/dev/null || fail "statements --pubkey other.pub: exit $?"

/usr/bin/python3 - "$tmp/s1.sum" "$tmp/s1.json" "$tmp/s1.other.json" <<'PY' || failures=$((failures + 1))
import json, re, sys
summary = open(sys.argv[1]).read()
sts = [json.loads(l) for l in open(sys.argv[2])]
other = [json.loads(l) for l in open(sys.argv[3])]
ok = True
def bad(m):
    global ok
    print("FAIL: " + m)
    ok = False
def num(pattern):
    m = re.search(pattern, summary, re.M)
    if not m:
        bad("summary has no line for %r" % pattern)
        return -1
    return int(m.group(1))

sts.sort(key=lambda s: s["n"])
kinds = [s["kind"] for s in sts]
if not kinds or kinds[0] != "start" or kinds[-1] != "stop":
    bad("statements do not begin with start and end with stop: %s" % kinds)
if "interval" not in kinds:
    bad("no interval statement in a 6 s run at 1 s: %s" % kinds)
if "reload" not in kinds:
    bad("no reload statement after SIGHUP: %s" % kinds)
if [s["n"] for s in sts] != list(range(len(sts))):
    bad("statement numbers have holes: %s" % [s["n"] for s in sts])
for a, b in zip(sts, sts[1:]):
    if b["from"] != a["to"]:
        bad("statement %d begins at %s, the one before ended at %s" % (b["n"], b["from"], a["to"]))
    if b["records_from"] != a["records_to"] or b["alerts_from"] != a["alerts_to"]:
        bad("statement %d: records/alerts ranges do not follow on" % b["n"])
    if b["seq_first"] != a["seq"] + 1 or b["run"] != a["run"]:
        bad("statement %d: seq_first %r after statement %d's seq %r" % (b["n"], b["seq_first"], a["n"], a["seq"]))
tot = lambda k: sum(s[k] for s in sts)
checks = [("packets_received", r"^  packets received +(\d+)$"),
          ("packets_parsed", r"^  packets parsed +(\d+)$"),
          ("packets_dropped", r"^  packets dropped +(\d+)$"),
          ("flows_started", r"^  flows +(\d+)$"),
          ("tcp_acked_bytes", r"^  upstream loss .*\(\d+ of (\d+)\)"),
          ("tcp_gap_bytes", r"^  upstream loss .*\((\d+) of \d+\)"),
          ("imissed", r"^  lost below us +imissed (\d+)")]
for key, pat in checks:
    if tot(key) != num(pat):
        bad("statements' %s add up to %d, the summary says %d" % (key, tot(key), num(pat)))
ended = sum(int(x) for x in re.search(r"^  flows ended +idle (\d+), tcp_close (\d+), evicted (\d+), eof (\d+), shutdown (\d+)", summary, re.M).groups())
if tot("flows_ended") != ended:
    bad("statements' flows_ended %d, summary %d" % (tot("flows_ended"), ended))
written = num(r"^  redis +written (\d+),")
if sts and sts[-1]["records_to"] != written:
    bad("last records_to %d, the summary's redis written %d" % (sts[-1]["records_to"], written))
if num(r"^  redis statements +written (\d+),") != len(sts):
    bad("the summary says %d statements written, Redis holds %d" % (num(r"^  redis statements +written (\d+),"), len(sts)))
for s in sts:
    if s["signature"] != "verified" or not s["key"] or len(s["sig"]) != 128:
        bad("statement %d not verified with key.pub: %s %s" % (s["n"], s["signature"], s["key"]))
    # items of the signed chain: the items since the previous statement, then its own number
    if not isinstance(s["seq"], int) or s["seq_last"] != s["seq"] - 1 or s["seq_first"] > s["seq"]:
        bad("statement %d: seq_first %r seq_last %r seq %r" % (s["n"], s["seq_first"], s["seq_last"], s["seq"]))
    if len(s["config_sha256"]) != 64 or s["interval"] != 1:
        bad("statement %d: config_sha256 %r interval %r" % (s["n"], s["config_sha256"], s["interval"]))
    if not isinstance(s["clock_synced"], bool) or "clock_offset_us" not in s:
        bad("statement %d: no clock state" % s["n"])
if [o["signature"] for o in other] != ["BAD"] * len(other) or not other:
    bad("with another key's .pub: %s" % [o["signature"] for o in other])
print("ok: %d statements %s add up to the summary, verified" % (len(sts), kinds) if ok else "")
sys.exit(0 if ok else 1)
PY

# 2. an edited statement fails its signature; a deleted one is an unwatched span on flows
key="tw:{$s1}:statements"
/usr/bin/python3 - "$sock" "$key" <<'PY' || fail "cannot rewrite the statements stream"
import subprocess, sys, json
sock, key = sys.argv[1], sys.argv[2]
def cli(*a, inp=None):
    return subprocess.run(["redis-cli", "-s", sock, "--raw", *a], check=True, capture_output=True,
                          text=True, input=inp).stdout
out = cli("XRANGE", key, "-", "+").splitlines()
entries, i = [], 0
while i < len(out):
    eid, fields = out[i], {}
    i += 1
    while i + 1 < len(out) and out[i] in ("statement", "sig"):
        fields[out[i]] = out[i + 1]
        i += 2
    entries.append((eid, fields))
cli("DEL", key)
for k, (eid, f) in enumerate(entries):
    st = json.loads(f["statement"])
    if k == 1:   # a statement deleted: its span is unwatched
        continue
    if k == 2:   # a statement edited: its signature fails
        f["statement"] = f["statement"].replace('"packets_dropped":0', '"packets_dropped":1', 1)
    cli("XADD", key, eid, "statement", f["statement"], "sig", f["sig"])
PY
"${Q[@]}" --sensor "$s1" statements --format json --limit 1000 --pubkey "$tmp/key.pub" \
    >"$tmp/edit.json" 2>/dev/null || fail "statements after the edit: exit $?"
bads=$(grep -c '"signature":"BAD"' "$tmp/edit.json")
goods=$(grep -c '"signature":"verified"' "$tmp/edit.json")
[ "$bads" = 1 ] && [ "$goods" -ge 2 ] ||
    fail "an edited statement: $bads BAD and $goods verified, expected 1 BAD and the rest verified"
grep -q '"signature":"BAD"' "$tmp/edit.json" && ! grep '"signature":"BAD"' "$tmp/edit.json" | grep -q '"packets_dropped":0' ||
    fail "the statement said BAD is not the edited one"

# flows over the wall-clock span of the run (the statements' time) and over the packets' time
now=$(date +%s)
"${Q[@]}" --sensor "$s1" flows --since $((now - 3600)) --until "$now" >"$tmp/f.out" 2>"$tmp/f.err" ||
    fail "flows --since/--until: exit $?: $(cat "$tmp/f.err")"
grep -q "unwatched: .*a completeness statement is missing" "$tmp/f.err" ||
    fail "flows: no unwatched line for the deleted statement: $(cat "$tmp/f.err")"
"${Q[@]}" --sensor "$s1" flows --since 2026-03-01 --until 2026-03-03 >"$tmp/p.out" 2>"$tmp/p.err" ||
    fail "flows over the packets' day: exit $?"
grep -q "unwatched: .*before the first completeness statement" "$tmp/p.err" ||
    fail "flows before the first statement: no unwatched line: $(cat "$tmp/p.err")"
[ "$(wc -l <"$tmp/p.out")" -ge 2 ] || fail "flows over the packets' day answered nothing"

# 3. a gap record planted in the packets' time: one line on stderr, stdout unchanged
run=$(redis-cli -s "$sock" --raw XRANGE "$key" - + COUNT 1 | sed -n 's/.*"run":"\([0-9a-f]*\)".*/\1/p')
redis-cli -s "$sock" HSET "tw:{$s1}:gaps" "$run:7" \
    "{\"run\":\"$run\",\"first_seq\":7,\"last_seq\":311,\"records\":305,\"from\":1772442000.000000,\"until\":1772442060.000000,\"at\":$now.000000,\"reason\":\"buffer full\"}" >/dev/null
"${Q[@]}" --sensor "$s1" flows --since 2026-03-01 --until 2026-03-03 >"$tmp/g.out" 2>"$tmp/g.err" ||
    fail "flows with a gap: exit $?"
cmp -s "$tmp/p.out" "$tmp/g.out" || fail "flows: stdout changed with a gap record (stdout is the answer)"
[ "$(grep -c 'warning: gap: 305 records lost (buffer full)' "$tmp/g.err")" = 1 ] ||
    fail "flows: expected one gap line: $(cat "$tmp/g.err")"
"${Q[@]}" --sensor "$s1" flows --since 2026-03-05 --until 2026-03-06 >/dev/null 2>"$tmp/g2.err"
! grep -q 'warning: gap' "$tmp/g2.err" || fail "flows: a gap outside the range is said: $(cat "$tmp/g2.err")"
"${Q[@]}" --sensor "$s1" alerts --since 2026-03-01 --until 2026-03-03 >/dev/null 2>"$tmp/ga.err"
grep -q 'warning: gap: 305' "$tmp/ga.err" || fail "alerts: no gap line: $(cat "$tmp/ga.err")"

# 4. an unsigned run, records in format 1: one record replaced by `not json {{{`, one alert
# entry that is not an alert
s2=st2-$$
"$tapwatch" --config "$tmp/unsigned.yaml" --pcap "$tmp/cap/eth.pcap" --sensor "$s2" --quiet \
    >"$tmp/s2.sum" 2>"$tmp/s2.err" || fail "tapwatch (unsigned run) exited $?: $(head -c 600 "$tmp/s2.err")"
"${Q[@]}" --sensor "$s2" statements --format json --pubkey "$tmp/key.pub" >"$tmp/s2.json" 2>/dev/null
[ -s "$tmp/s2.json" ] && ! grep -qv '"signature":"unsigned"' "$tmp/s2.json" && grep -q '"key":""' "$tmp/s2.json" ||
    fail "unsigned run: statements not marked unsigned: $(head -c 400 "$tmp/s2.json")"
grep -q '"seq_first":null,"seq_last":null,"seq":null' "$tmp/s2.json" ||
    fail "unsigned run: seq_first/seq_last/seq not null: $(head -c 400 "$tmp/s2.json")"
rkey=$(redis-cli -s "$sock" --raw KEYS "tw:{$s2}:f:*" | head -1)
field=$(redis-cli -s "$sock" --raw HKEYS "$rkey" | head -1)
"${Q[@]}" --sensor "$s2" flows --format json >"$tmp/before.json" 2>/dev/null
redis-cli -s "$sock" HSET "$rkey" "$field" 'not json {{{' >/dev/null
"${Q[@]}" --sensor "$s2" flows --format json >"$tmp/after.json" 2>"$tmp/bad.err"
rc=$?
[ $rc = 0 ] || fail "flows with an invalid record: exit $rc"
grep -qF "warning: $rkey $field: not valid JSON" "$tmp/bad.err" ||
    fail "flows: the invalid record is not reported (key and field): $(cat "$tmp/bad.err")"
[ "$(wc -l <"$tmp/after.json")" = $(($(wc -l <"$tmp/before.json") - 1)) ] ||
    fail "flows: the invalid record is not the only one left out"
redis-cli -s "$sock" XADD "tw:{$s2}:alerts" '*' kind nonsense >/dev/null
"${Q[@]}" --sensor "$s2" alerts >/dev/null 2>"$tmp/abad.err" || fail "alerts with an invalid entry: exit $?"
grep -qF "warning: tw:{$s2}:alerts " "$tmp/abad.err" ||
    fail "alerts: the invalid entry is not reported: $(cat "$tmp/abad.err")"

# a statement whose text is not JSON is said, not skipped in silence
sid=$(redis-cli -s "$sock" XADD "tw:{$s2}:statements" '*' statement 'not json {{{' sig '')
"${Q[@]}" --sensor "$s2" statements >/dev/null 2>"$tmp/sbad.err" || fail "statements with an invalid entry: exit $?"
grep -qF "warning: tw:{$s2}:statements $sid: not valid JSON" "$tmp/sbad.err" ||
    fail "statements: the invalid entry is not reported: $(cat "$tmp/sbad.err")"

# 5. a secret key others may read is refused before anything starts: exit 2, one line
cp "$tmp/key" "$tmp/open.key" && chmod 0644 "$tmp/open.key"
config "$tmp/open.yaml" 2 "$tmp/open.key"
"$tapwatch" --config "$tmp/open.yaml" --pcap "$tmp/cap/eth.pcap" --sensor st3-$$ --quiet \
    >/dev/null 2>"$tmp/open.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$tmp/open.err")" = 1 ] && grep -q "signing.key: .*mode 0644" "$tmp/open.err" ||
    fail "a key file mode 0644: exit $rc, expected 2 and one line: $(cat "$tmp/open.err")"

[ $failures -eq 0 ] && echo "ok: statements, signatures, gap/unwatched/invalid lines" && exit 0
exit 1
