#!/usr/bin/env bash
# test_evidence_witness.sh - the witness outside the bank (README "Evidence", "Witness") on two
# real redis-servers: the bank's store, and the regulator's witness with the ACL users of
# `tapwatch --print-acl-witness` (passwords in owner-only files):
#   - --check-config says the witness is OK, refuses it without signing.key, with a password
#     file others may read, with a bad URL;
#   - a signed run with the witness: every seal's hash is there, verify --witness exits 0;
#   - the sensor's witness user may only add: reading, deleting, overwriting are NOPERM, and an
#     HSETNX on a field already there changes nothing; the reader user may not write;
#   - a rewritten history whose every signature is valid (the store's keys of the sensor
#     removed, a second capture replayed with the same key and without the witness): verify
#     alone exits 0, with --witness 3 naming the deleted seals (and the inserted ones);
#   - a seal line changed in the store: altered: witness;
#   - the witness lost mid-run: the tail of the run is pending (told, exit 0) until the next
#     start sends it;
#   - the witness down for a whole run: the sensor ends with exit 0 and its records in the
#     store, the summary counts the pending hashes, they wait in run_dir (0600), verify
#     --witness says inserted: witness for the run; the next start (witness back) sends them
#     first and verify --witness exits 0.
#
#   bash tests/integration/test_evidence_witness.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp witness
TW_CLEANUP='[ -s "$tmp/w/redis.pid" ] && kill "$(cat "$tmp/w/redis.pid")" 2>/dev/null'

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
rcli() { redis-cli -s "$sock" "$@"; }

# --- the witness: its own redis-server, users from --print-acl-witness ---------------------
umask 077
mkdir -p "$tmp/w"
for u in witness-w1 witness-wd witness-wp witness-reader; do
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$tmp/$u.pw"
done
hash() { printf %s "$(cat "$tmp/$1.pw")" | sha256sum | cut -d' ' -f1; }
"$tapwatch" --print-acl-witness w1 >"$tmp/w1.acl" || fail "--print-acl-witness w1 failed"
grep -qx 'user witness-w1 on #SHA256-OF-THE-PASSWORD-OF-witness-w1 resetchannels resetkeys %W~tw:witness:{w1} -@all +hsetnx' "$tmp/w1.acl" ||
    fail "--print-acl-witness w1: $(cat "$tmp/w1.acl")"
"$tapwatch" --print-acl-witness 'bad name' >/dev/null 2>&1 && fail "--print-acl-witness took a bad name"
# (the placeholders replaced by each user's hash)
while IFS= read -r line; do
    u=$(echo "$line" | sed -n 's/.*#SHA256-OF-THE-PASSWORD-OF-\([a-z0-9-]*\) .*/\1/p')
    [ -n "$u" ] && line=${line/\#SHA256-OF-THE-PASSWORD-OF-$u /\#$(hash "$u") }
    echo "$line"
done < <(cat "$tmp/w1.acl"; "$tapwatch" --print-acl-witness wd | grep '^user witness-wd ';
         "$tapwatch" --print-acl-witness wp | grep '^user witness-wp ';
         echo "user admin on >adminpw ~* &* +@all"; echo "user default off") >"$tmp/w/users.acl"
grep -q SHA256-OF "$tmp/w/users.acl" && fail "a placeholder left: $(grep SHA256-OF "$tmp/w/users.acl")"
wsock=$tmp/w/redis.sock
start_witness() {
    redis-server - >"$tmp/w/start.log" 2>&1 <<CONF || { fail "witness redis-server: $(cat "$tmp/w/start.log")"; return 1; }
port 0
unixsocket $wsock
unixsocketperm 700
dir $tmp/w
daemonize yes
pidfile $tmp/w/redis.pid
logfile $tmp/w/redis.log
save ""
appendonly yes
aclfile $tmp/w/users.acl
CONF
    for _ in $(seq 1 100); do [ "$(admin ping 2>/dev/null)" = PONG ] && return 0; sleep 0.05; done
    fail "the witness does not answer: $(tail -3 "$tmp/w/redis.log")"
}
stop_witness() {
    kill "$(cat "$tmp/w/redis.pid")" 2>/dev/null
    for _ in $(seq 1 100); do [ -S "$wsock" ] || return 0; sleep 0.05; done
}
admin() { redis-cli -s "$wsock" --user admin --pass adminpw --no-auth-warning "$@"; }
as() { local u=$1; shift; redis-cli -s "$wsock" --user "$u" --pass "$(cat "$tmp/$u.pw")" --no-auth-warning "$@"; }
start_witness || exit 1
wurl=unix://$wsock
wkey='tw:witness:{w1}'

"$tapwatch" keygen --out "$tmp/key" >/dev/null 2>&1 || fail "keygen"
config() { # SENSOR FILE [witness lines...]
    local sensor=$1 file=$2; shift 2
    {
        printf 'run_dir: %s\nredis:\n  url: %s\n  drain_timeout: 1s\nsigning:\n  key: %s\n' \
            "$tmp/run" "$url" "$tmp/key"
        [ $# -gt 0 ] && printf 'evidence:\n' && printf '  %s\n' "$@"
    } >"$file"
}
config w1 "$tmp/w1.yaml" "witness: $wurl" "witness_user: witness-w1" \
    "witness_password_file: $tmp/witness-w1.pw"

# --- --check-config ------------------------------------------------------------------------
out=$("$tapwatch" --config "$tmp/w1.yaml" --check-config 2>&1) || fail "check-config: $out"
echo "$out" | grep -qx "tapwatch: witness OK: unix://$wsock as witness-w1" || fail "check-config: $out"
cp "$tmp/witness-w1.pw" "$tmp/open.pw"; chmod 644 "$tmp/open.pw"
config w1 "$tmp/open.yaml" "witness: $wurl" "witness_user: witness-w1" "witness_password_file: $tmp/open.pw"
"$tapwatch" --config "$tmp/open.yaml" --check-config >/dev/null 2>"$tmp/open.err"; rc=$?
[ $rc -eq 2 ] && grep -q "witness_password_file.*0644" "$tmp/open.err" ||
    fail "a witness password file others may read: exit $rc, $(cat "$tmp/open.err")"
printf 'redis:\n  url: %s\nevidence:\n  witness: %s\n' "$url" "$wurl" >"$tmp/nokey.yaml"
"$tapwatch" --config "$tmp/nokey.yaml" --check-config >/dev/null 2>"$tmp/nokey.err"; rc=$?
[ $rc -eq 2 ] && grep -q "evidence.witness: expected signing.key" "$tmp/nokey.err" ||
    fail "a witness without signing.key: exit $rc, $(cat "$tmp/nokey.err")"
config w1 "$tmp/badurl.yaml" "witness: http://x"
"$tapwatch" --config "$tmp/badurl.yaml" --check-config >/dev/null 2>"$tmp/badurl.err"; rc=$?
[ $rc -eq 2 ] && grep -q "evidence.witness" "$tmp/badurl.err" || fail "a bad witness URL: exit $rc, $(cat "$tmp/badurl.err")"

# --- a run with the witness verifies --------------------------------------------------------
verify() { # SENSOR [options...] -> exit status; output in $tmp/verify.out
    local sensor=$1; shift
    "$query" --redis "$url" --sensor "$sensor" verify --pubkey "$tmp/key.pub" "$@" >"$tmp/verify.out" 2>&1
}
wverify() { # SENSOR [options...]: verify --witness as witness-reader
    local sensor=$1; shift
    verify "$sensor" --witness "$wurl" --witness-user witness-reader \
        --witness-password-file "$tmp/witness-reader.pw" "$@"
}
"$tapwatch" --config "$tmp/w1.yaml" --pcap "$tmp/cap/sample.pcap" --sensor w1 --replay-speed 200 \
    --quiet >"$tmp/w1.out" 2>&1 || fail "run w1: $(tail -3 "$tmp/w1.out")"
nseals=$(rcli hlen 'tw:{w1}:seals')
grep -q "witness seals        sent $((nseals + 1)), pending 0, dropped 0" "$tmp/w1.out" ||
    fail "summary: $nseals seals (+ the end marker): $(grep witness "$tmp/w1.out")"
[ "$(admin hlen "$wkey")" = $((nseals + 1)) ] || fail "the witness has $(admin hlen "$wkey") entries for $nseals seals"
# only hashes: a field per seal and the run's end, each value 64 hex digits and a time
admin hgetall "$wkey" | paste - - | grep -vqE '^[0-9a-f]{16}:([0-9a-f]{8}	[0-9a-f]{64} [0-9]+|end	[0-9]+)$' &&
    fail "the witness holds something else: $(admin hgetall "$wkey" | paste - - | head -3)"
wverify w1; rc=$?
[ $rc -eq 0 ] && grep -q "^witness: .* $nseals seals match, 0 pending" "$tmp/verify.out" ||
    fail "a witnessed run: verify --witness exit $rc: $(cat "$tmp/verify.out")"
"$query" --redis "$url" --sensor w1 verify --pubkey "$tmp/key.pub" --witness-user x >/dev/null 2>&1
[ $? -eq 2 ] || fail "--witness-user without --witness is not a usage error"

# --- what the sensor's witness user may do: add, nothing else --------------------------------
field=$(admin hkeys "$wkey" | head -1)
before=$(admin hget "$wkey" "$field")
set -f # (keys *: no file names)
for cmd in "hgetall $wkey" "hget $wkey $field" "hdel $wkey $field" "del $wkey" \
           "hset $wkey $field x" "expire $wkey 1" "keys *" "hsetnx tw:witness:{w2} a b"; do
    as witness-w1 $cmd 2>&1 | grep -q NOPERM || fail "witness-w1 may run: $cmd ($(as witness-w1 $cmd 2>&1 | head -1))"
done
set +f
[ "$(as witness-w1 hsetnx "$wkey" "$field" forged)" = 0 ] || fail "HSETNX overwrote a field"
[ "$(admin hget "$wkey" "$field")" = "$before" ] || fail "the witness's entry changed"
as witness-reader hset "$wkey" x y 2>&1 | grep -q NOPERM || fail "witness-reader may write"

# --- a rewritten history: every signature valid, verify alone cannot tell --------------------
rcli --scan --pattern 'tw:{w1*' | xargs -r redis-cli -s "$sock" del >/dev/null
rcli --scan --pattern 'tw:{bank:}:*' | xargs -r redis-cli -s "$sock" del >/dev/null
config w1 "$tmp/nowit.yaml"
"$tapwatch" --config "$tmp/nowit.yaml" --pcap "$tmp/cap/eth.pcap" --sensor w1 --quiet \
    >"$tmp/rw.out" 2>&1 || fail "rewrite run: $(tail -3 "$tmp/rw.out")"
verify w1; rc=$?
[ $rc -eq 0 ] || fail "rewritten history without --witness: exit $rc (it should verify): $(cat "$tmp/verify.out")"
wverify w1 --witness-grace 0; rc=$?
if [ $rc -ne 3 ] || ! grep -q "^deleted: witness: run [0-9a-f]* seal no 1" "$tmp/verify.out" ||
    ! grep -q "^inserted: witness: run" "$tmp/verify.out" || ! grep -q "NOT VERIFIED" "$tmp/verify.out"; then
    fail "rewritten history with --witness: exit $rc: $(cat "$tmp/verify.out")"
else
    echo "    rewritten: $(grep -m1 '^deleted: witness' "$tmp/verify.out" | cut -c1-110)"
fi
# within the grace, the new run's seals may still be on their way: only the deleted are said
wverify w1 --witness-grace 3600; rc=$?
[ $rc -eq 3 ] && ! grep -q "^inserted: witness" "$tmp/verify.out" ||
    fail "--witness-grace 3600: exit $rc: $(cat "$tmp/verify.out")"

# --- a seal changed in the store: altered -------------------------------------------------
wkey2='tw:witness:{w1}'
rcli --scan --pattern 'tw:{w1*' | xargs -r redis-cli -s "$sock" del >/dev/null
admin del "$wkey2" >/dev/null
"$tapwatch" --config "$tmp/w1.yaml" --pcap "$tmp/cap/sample.pcap" --sensor w1 --quiet \
    >"$tmp/w1b.out" 2>&1 || fail "run w1 again: $(tail -3 "$tmp/w1b.out")"
wverify w1; rc=$?
[ $rc -eq 0 ] || fail "w1 again: exit $rc: $(cat "$tmp/verify.out")"
f=$(rcli hkeys 'tw:{w1}:seals' | head -1)
rcli hset 'tw:{w1}:seals' "$f" "$(rcli hget 'tw:{w1}:seals' "$f" | sed 's/ ttl=\([0-9]*\)/ ttl=1\1/')" >/dev/null
wverify w1; rc=$?
# HKEYS has no order: the seal changed is the one its field names (<run>:<no, 8 hex>)
[ $rc -eq 3 ] && grep -q "^altered: witness: run ${f%%:*} seal no $((16#${f##*:})):" "$tmp/verify.out" ||
    fail "a seal changed: exit $rc: $(cat "$tmp/verify.out")"

# --- the witness lost mid-run: the run's tail is pending (not a finding), then sent -------
config wp "$tmp/wp.yaml" "witness: $wurl" "witness_user: witness-wp" \
    "witness_password_file: $tmp/witness-wp.pw"
"$tapwatch" --config "$tmp/wp.yaml" --pcap "$tmp/cap/sample.pcap" --sensor wp --replay-speed 100 \
    --quiet >"$tmp/wp.out" 2>&1 &
wp=$!
for _ in $(seq 1 600); do # (the first seal on the witness; bounded, not a timed assertion)
    [ "$(admin hlen 'tw:witness:{wp}' 2>/dev/null || echo 0)" -ge 1 ] && break
    kill -0 "$wp" 2>/dev/null || break
    sleep 0.05
done
stop_witness
wait "$wp" || fail "witness lost mid-run: tapwatch exit $?: $(tail -3 "$tmp/wp.out")"
start_witness
nwp=$(rcli hlen 'tw:{wp}:seals')
pend=$(sed -n 's/.*witness seals .*pending \([0-9]*\),.*/\1/p' "$tmp/wp.out")
[ "${pend:-0}" -ge 1 ] || fail "witness lost mid-run: the end marker at least waits: $(grep witness "$tmp/wp.out")"
wverify wp --witness-grace 0; rc=$?
matched=$(sed -n 's/^witness: .*: \([0-9]*\) seals match, \([0-9]*\) pending.*/\1 \2/p' "$tmp/verify.out")
[ $rc -eq 0 ] && [ -n "$matched" ] && [ $(( ${matched% *} + ${matched#* } )) -eq "$nwp" ] ||
    fail "witness lost mid-run: verify --witness exit $rc, $nwp seals: $(cat "$tmp/verify.out")"
[ "${matched#* }" -eq 0 ] || grep -q "^pending: witness: run [0-9a-f]* seal no [0-9]" "$tmp/verify.out" ||
    fail "witness lost mid-run: no pending line: $(cat "$tmp/verify.out")"
echo "    lost mid-run: $nwp seals, $matched (matched, pending); summary pending $pend"
"$tapwatch" --config "$tmp/wp.yaml" --pcap "$tmp/cap/eth.pcap" --sensor wp --quiet \
    >"$tmp/wp2.out" 2>&1 || fail "witness back (wp): $(tail -3 "$tmp/wp2.out")"
wverify wp --witness-grace 0; rc=$?
[ $rc -eq 0 ] && grep -q "^witness: .* $(rcli hlen 'tw:{wp}:seals') seals match, 0 pending" "$tmp/verify.out" ||
    fail "witness back (wp): verify --witness exit $rc: $(cat "$tmp/verify.out")"

# --- the witness down for a whole run, then back ------------------------------------------
config wd "$tmp/wd.yaml" "witness: $wurl" "witness_user: witness-wd" \
    "witness_password_file: $tmp/witness-wd.pw"
stop_witness
"$tapwatch" --config "$tmp/wd.yaml" --pcap "$tmp/cap/sample.pcap" --sensor wd --quiet \
    >"$tmp/wd.out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "witness down: tapwatch exit $rc: $(tail -5 "$tmp/wd.out")"
nwd=$(rcli hlen 'tw:{wd}:seals')
[ "$nwd" -ge 1 ] || fail "witness down: the store has no seal"
grep -q "witness seals        sent 0, pending $((nwd + 1)), dropped 0" "$tmp/wd.out" ||
    fail "witness down: summary: $(grep witness "$tmp/wd.out")"
grep -q "wait in $tmp/run/witness-seals-wd.txt" "$tmp/wd.out" || fail "witness down: no note: $(grep -i witness "$tmp/wd.out")"
[ "$(stat -c %a "$tmp/run/witness-seals-wd.txt" 2>/dev/null)" = 600 ] ||
    fail "witness file: $(ls -l "$tmp/run")"
[ "$(wc -l <"$tmp/run/witness-seals-wd.txt")" = $((nwd + 1)) ] || fail "witness file: $(cat "$tmp/run/witness-seals-wd.txt")"
start_witness
verify wd; rc=$?
[ $rc -eq 0 ] || fail "witness down: the store verifies alone: exit $rc: $(cat "$tmp/verify.out")"
wverify wd --witness-grace 0; rc=$?
[ $rc -eq 3 ] && grep -q "^inserted: witness: run [0-9a-f]* seal no 1.*never on the witness" "$tmp/verify.out" ||
    fail "witness down: verify --witness exit $rc: $(cat "$tmp/verify.out")"
"$tapwatch" --config "$tmp/wd.yaml" --pcap "$tmp/cap/eth.pcap" --sensor wd --quiet \
    >"$tmp/wd2.out" 2>&1 || fail "witness back: $(tail -3 "$tmp/wd2.out")"
[ ! -e "$tmp/run/witness-seals-wd.txt" ] || fail "witness back: the file is still there"
grep -q "seal hashes of an earlier run waited for the witness" "$tmp/wd2.out" ||
    fail "witness back: no note of the earlier hashes: $(grep -i witness "$tmp/wd2.out")"
wverify wd --witness-grace 0; rc=$?
[ $rc -eq 0 ] && grep -q "^witness: .* $(rcli hlen 'tw:{wd}:seals') seals match" "$tmp/verify.out" ||
    fail "witness back: verify --witness exit $rc: $(cat "$tmp/verify.out")"

if [ "$failures" -ne 0 ]; then
    echo "test_evidence_witness: $failures failure(s)"
    exit 1
fi
echo "test_evidence_witness: ok (check-config, ACL, a witnessed run, a rewritten history, an altered seal, the witness lost mid-run, down and back)"
