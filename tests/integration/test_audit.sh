#!/usr/bin/env bash
# test_audit.sh - the query audit trail (control/query/audit_trail.c, cmd_audit.c,
# audit_verify.c; keys tw:{audit:<bank>}:trail and :head) on a real redis-server with the ACL
# users of `tapwatch --print-acl` and `--print-acl-reader`:
#   - every subcommand (flows, alerts, summary, flow, sensors, audit, verify-audit) leaves a
#     "query" entry before its answer and a "done" entry after it, with the Redis ACL user,
#     the OS user, its filters and the rows it answered; entries are signed with --audit-key;
#   - a question whose entry cannot be written is refused (exit 4, one line, nothing on
#     stdout): a user without write on the trail (NOPERM), a full Redis (OOM, noeviction);
#   - reader-A cannot DEL, XDEL or XTRIM its trail (NOPERM) but can XADD ... MAXLEN 0 (Redis
#     ACLs cannot stop it), which verify-audit detects;
#   - verify-audit: an untouched trail exits 0 (also after concurrent queries); an entry
#     removed (XDEL), altered (rewritten by a script), the oldest trimmed (XTRIM), the newest
#     gone, or signed by a key not given: exit 3 naming it; a trail deleted with its head and
#     started again verifies alone but not against the head a verification printed before
#     (--known-head).
#
#   bash tests/integration/test_audit.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server or binaries).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
driver=$build/tests/store_driver

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query" "$driver"

tmp=$(mktemp -d /tmp/tw-audit.XXXXXX)
cleanup() {
    [ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null
    sleep 0.1
    rm -rf "$tmp"
}
trap cleanup EXIT

# users: the printed ACL lines with passwords put in, an admin, and "ro": reads everything,
# writes nothing (the read-only user of before the audit trail)
umask 077
for u in regulator reader-A ro; do printf 'pw-%s\n' "$u" >"$tmp/$u.pw"; done
{
    "$tapwatch" --print-acl s1 | grep -E '^user regulator '
    "$tapwatch" --print-acl-reader A
    echo "user ro on >pw-ro resetchannels resetkeys %R~* -@all +@read +acl|whoami"
    echo "user admin on >adminpw ~* &* +@all"
} | sed -e 's/#SHA256-OF-THE-PASSWORD-OF-\([a-zA-Z-]*\) />pw-\1 /' >"$tmp/users.acl"
grep -q '^user regulator on >pw-regulator ' "$tmp/users.acl" || fail "ACL file: $(cat "$tmp/users.acl")"
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
aclfile $tmp/users.acl
CONF
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
admin() { redis-cli -s "$sock" --user admin --pass adminpw --no-auth-warning "$@"; }
as() { local u=$1; shift; redis-cli -s "$sock" --user "$u" --pass "pw-$u" --no-auth-warning "$@"; }
# q USER ARGS...: tapwatch-query as USER, signing with the audit key
q() { local u=$1; shift; "$query" --redis "unix://$u@$sock" --redis-password-file "$tmp/$u.pw" \
    --audit-key "$tmp/audit.key" "$@"; }
"$tapwatch" keygen --out "$tmp/audit.key" >/dev/null || fail "tapwatch keygen"
"$tapwatch" keygen --out "$tmp/other.key" >/dev/null || fail "tapwatch keygen (other)"

# 50 flow records of sensor s1 (no bank: trail tw:{audit:}:trail), written as the default
# user, then turned off as --print-acl has it
STORE_SPAN_S=600 "$driver" bench "unix://$sock" s1 50 >/dev/null 2>"$tmp/driver.err" ||
    { echo "FAIL: store_driver: $(cat "$tmp/driver.err")"; exit 1; }
admin ACL SETUSER default off >/dev/null

# last_done: the newest "done" entry of the no-bank trail as JSON (read as admin)
last_done() { admin XREVRANGE 'tw:{audit:}:trail' + - COUNT 1 | python3 -c '
import sys, json
lines = sys.stdin.read().split("\n")[1:]
print(json.dumps(dict(zip(lines[0::2], lines[1::2]))))'; }
# entry_is JSON KEY VALUE... [-- ARG...]: the entry has those values and its args hold ARGs
entry_is() { python3 - "$@" <<'PY'
import json, sys
e = json.loads(sys.argv[1]); rest = sys.argv[2:]
want, args = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (rest, [])
bad = [f"{k}={e.get(k)!r}, not {v!r}" for k, v in zip(want[0::2], want[1::2]) if e.get(k) != v]
given = json.loads(e.get("args", "[]"))
bad += [f"argument {a!r} not in args" for a in args if a not in given]
if bad: print("; ".join(bad)); sys.exit(1)
PY
}

check() { # ROWS SUBCOMMAND ARGS... : runs it as regulator, then checks its done entry
    local rows=$1 sub=$2 out e rc
    shift 2
    q regulator "$@" >"$tmp/q.out" 2>"$tmp/q.err"; rc=$?
    [ $rc -eq 0 ] || fail "$*: exit $rc: $(cat "$tmp/q.err")"
    e=$(last_done)
    out=$(entry_is "$e" kind done subcommand "$sub" rows "$rows" exit 0 redis_user regulator \
          os_user "$(id -un)($(id -u))" key "$fpr" -- "$@") || fail "$*: $out: $e"
}
fingerprint() { q regulator verify-audit --pubkey "$tmp/audit.key.pub" 2>/dev/null |
    sed -n 's/.* signed by \([0-9a-f]*\).*/\1/p'; }
fpr=$(fingerprint)
[ ${#fpr} -eq 16 ] || fail "no fingerprint from verify-audit: '$fpr'"
# 1. every subcommand leaves its entries: user, filters, rows
fid=$(q regulator --sensor s1 flows --limit 1 --format json | python3 -c 'import sys, json; print(json.load(sys.stdin)["flow_id"])')
[ -n "$fid" ] || fail "no flow id read"
check 5 flows --sensor s1 flows --limit 5 --port 443
check 3 flows --sensor s1 flows --limit 3 --format csv
check 50 flows --sensor s1 flows --limit 1000 --format json
check 0 alerts --sensor s1 alerts --kind remote_access_unapproved_host
check 1 flow --sensor s1 flow "$fid" --format json
check 0 sensors sensors
check 4 audit audit --limit 4 --user regulator
check 1 verify-audit verify-audit --pubkey "$tmp/audit.key.pub"
q regulator --sensor s1 summary --equipment e1 >/dev/null 2>&1
e=$(last_done); out=$(entry_is "$e" subcommand summary redis_user regulator) || fail "summary: $out"
admin XREVRANGE 'tw:{audit:}:trail' + - | grep -c '^query$' >"$tmp/nq"
admin XREVRANGE 'tw:{audit:}:trail' + - | grep -c '^done$' >"$tmp/nd"
[ "$(cat "$tmp/nq")" = "$(cat "$tmp/nd")" ] || fail "query entries $(cat "$tmp/nq"), done entries $(cat "$tmp/nd")"
# the audit listing shows them
n=$(q regulator audit --user regulator --limit 1000 --format csv | tail -n +2 | wc -l)
[ "$n" -ge 20 ] || fail "audit --user regulator lists $n entries"
n=$(q regulator audit --user nobody --format json 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "audit --user nobody lists $n entries"

# 2. refused when the entry cannot be written
out=$(q ro --sensor s1 flows 2>"$tmp/ro.err"); rc=$?
[ $rc -eq 4 ] || fail "user without write on the trail: exit $rc, not 4"
[ -z "$out" ] || fail "user without write on the trail got an answer: $out"
[ "$(wc -l <"$tmp/ro.err")" -eq 1 ] && grep -q 'refused.*NOPERM' "$tmp/ro.err" ||
    fail "refusal line: $(cat "$tmp/ro.err")"
admin CONFIG SET maxmemory-policy noeviction >/dev/null
admin CONFIG SET maxmemory 1 >/dev/null
out=$(q regulator --sensor s1 flows 2>"$tmp/oom.err"); rc=$?
admin CONFIG SET maxmemory 0 >/dev/null
[ $rc -eq 4 ] && [ -z "$out" ] && grep -q 'refused.*OOM' "$tmp/oom.err" ||
    fail "full Redis: exit $rc, stdout '$out', stderr $(cat "$tmp/oom.err")"

# 3. reader-A: its own trail only; no DEL, XDEL, XTRIM; MAXLEN 0 cannot be stopped
q reader-A --bank A sensors >/dev/null 2>"$tmp/ra.err" || fail "reader-A --bank A sensors: $(cat "$tmp/ra.err")"
q reader-A --bank A audit >/dev/null 2>"$tmp/ra.err" || fail "reader-A --bank A audit: $(cat "$tmp/ra.err")"
[ "$(admin XLEN 'tw:{audit:A}:trail')" = 4 ] || fail "bank A's trail: $(admin XLEN 'tw:{audit:A}:trail') entries, not 4"
first=$(admin XRANGE 'tw:{audit:A}:trail' - + COUNT 1 | head -1)
for cmd in "DEL tw:{audit:A}:trail" "UNLINK tw:{audit:A}:trail" "XDEL tw:{audit:A}:trail $first" \
    "XTRIM tw:{audit:A}:trail MAXLEN 1" "DEL tw:{audit:A}:head" "EXPIRE tw:{audit:A}:trail 1" \
    "XRANGE tw:{audit:}:trail - +" "XADD tw:{audit:B}:trail * a b"; do
    # shellcheck disable=SC2086
    out=$(as reader-A $cmd 2>&1)
    case $out in *NOPERM*) ;; *) fail "reader-A: $cmd was not refused: $out" ;; esac
done
# a script runs with the caller's rights: no DEL there either
out=$(as reader-A EVAL "return redis.call('DEL', KEYS[1])" 1 'tw:{audit:A}:trail' 2>&1)
case $out in *NOPERM*|*"can't run this command"*) ;; *) fail "reader-A: DEL in EVAL was not refused: $out" ;; esac
q reader-A --bank A verify-audit --pubkey "$tmp/audit.key.pub" >"$tmp/v.out" || fail "bank A before MAXLEN 0: $(cat "$tmp/v.out")"
as reader-A XADD 'tw:{audit:A}:trail' MAXLEN 0 '*' x y >/dev/null
q reader-A --bank A verify-audit --pubkey "$tmp/audit.key.pub" >"$tmp/v.out"; rc=$?
# (verify-audit's own entry, seq 7, comes first: seq 1 to 6 are gone before it, and the
# stream counts one entry more than the head: the one MAXLEN 0 came with)
[ $rc -eq 3 ] && grep -q '^trimmed: seq 1 to 6 are gone' "$tmp/v.out" &&
    grep -q '^truncated: the stream counts 8 entries ever added' "$tmp/v.out" ||
    fail "XADD MAXLEN 0 by reader-A: exit $rc: $(cat "$tmp/v.out")"

# 4. verify-audit: untouched, wrong key, tampered (each on its own bank's trail, T1...)
adm() { "$query" --redis "unix://admin@$sock" --redis-password-file "$tmp/admin.pw" \
    --audit-key "$tmp/audit.key" "$@"; }
printf 'adminpw\n' >"$tmp/admin.pw"
fill() { for _ in 1 2 3; do adm --bank "$1" sensors >/dev/null 2>&1; done; } # seq 1..6
verify() { adm --bank "$1" verify --audit --pubkey "$tmp/audit.key.pub" >"$tmp/v.out" 2>&1; }
expect3() { # BANK WHAT PATTERN
    verify "$1"; local rc=$?
    [ $rc -eq 3 ] && grep -q "$3" "$tmp/v.out" || fail "$2: exit $rc, no '$3': $(cat "$tmp/v.out")"
}
fill T0
verify T0 || fail "untouched trail: exit $?: $(cat "$tmp/v.out")"
grep -q "^audit trail tw:{audit:T0}:trail: 7 entries (seq 1 to 7), 7 signed by $fpr, 0 unsigned; head 7:[0-9a-f]*; verifies$" "$tmp/v.out" ||
    fail "untouched summary: $(cat "$tmp/v.out")"
adm --bank T0 verify --audit --pubkey "$tmp/other.key.pub" >"$tmp/v.out" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q '^unknown key: seq 1 ' "$tmp/v.out" || fail "wrong public key: exit $rc: $(cat "$tmp/v.out")"
adm --bank T0 verify --audit >"$tmp/v.out" 2>&1 || fail "no --pubkey: exit $?"
grep -q 'signatures not checked' "$tmp/v.out" || fail "no --pubkey: not said: $(cat "$tmp/v.out")"
# unsigned entries: the chain verifies, but not against a --pubkey
"$query" --redis "unix://admin@$sock" --redis-password-file "$tmp/admin.pw" --bank T0 sensors >/dev/null 2>&1
expect3 T0 "unsigned entry" '^unsigned: seq 1[0-9] '

fill T1
admin XRANGE 'tw:{audit:T1}:trail' - + >"$tmp/t1"
id3=$(grep -E '^[0-9]+-[0-9]+$' "$tmp/t1" | sed -n 3p)
admin XDEL 'tw:{audit:T1}:trail' "$id3" >/dev/null
expect3 T1 "XDEL of seq 3" '^removed: seq 3 to 3 '

fill T2
# rewrite the trail with seq 4's rows changed, same ids, head kept (a script, as an admin can)
admin EVAL "local e = redis.call('XRANGE', KEYS[1], '-', '+')
redis.call('DEL', KEYS[1])
for _, x in ipairs(e) do
  local f = x[2]
  for i = 1, #f, 2 do if f[i] == 'seq' and f[i+1] == '4' then
    for j = 1, #f, 2 do if f[j] == 'rows' then f[j+1] = '999' end end end end
  redis.call('XADD', KEYS[1], x[1], unpack(f))
end
return #e" 1 'tw:{audit:T2}:trail' >/dev/null
expect3 T2 "seq 4 altered" '^altered: seq 4 '

fill T3
admin XTRIM 'tw:{audit:T3}:trail' MAXLEN 2 >/dev/null
expect3 T3 "head trimmed" '^trimmed: seq 1 to 4 are gone'

fill T4
last=$(admin XRANGE 'tw:{audit:T4}:trail' - + | grep -E '^[0-9]+-[0-9]+$' | tail -1)
admin XDEL 'tw:{audit:T4}:trail' "$last" >/dev/null
# (verify-audit's own entry comes after it: the newest removed is a gap before that one)
expect3 T4 "newest removed" '^removed: seq 6 to 6 are gone'

# the trail and its head deleted together (an admin's DEL) and started again: only a head
# kept from an earlier verification shows it (--known-head)
fill T5
verify T5 || fail "T5 untouched: $(cat "$tmp/v.out")"
known=$(sed -n 's/.*; head \([0-9]*:[0-9a-f]*\); verifies$/\1/p' "$tmp/v.out")
[ -n "$known" ] || fail "no head printed: $(cat "$tmp/v.out")"
adm --bank T5 verify --audit --pubkey "$tmp/audit.key.pub" --known-head "$known" >"$tmp/v.out" 2>&1 ||
    fail "--known-head $known on the same trail: $(cat "$tmp/v.out")"
admin DEL 'tw:{audit:T5}:trail' 'tw:{audit:T5}:head' >/dev/null
fill T5
verify T5 || fail "a trail started again verifies alone: $(cat "$tmp/v.out")"
adm --bank T5 verify --audit --pubkey "$tmp/audit.key.pub" --known-head "$known" >"$tmp/v.out" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "^altered: seq ${known%%:*} is not the entry of --known-head" "$tmp/v.out" ||
    fail "trail deleted and started again, --known-head: exit $rc: $(cat "$tmp/v.out")"

# 5. concurrent questions: one chain
for i in $(seq 8); do adm --bank C sensors >/dev/null 2>&1 & done
wait
verify C || fail "concurrent appends: exit $?: $(cat "$tmp/v.out")"
grep -q '17 entries (seq 1 to 17)' "$tmp/v.out" || fail "concurrent appends: $(cat "$tmp/v.out")"

if [ $failures -gt 0 ]; then
    echo "test_audit: $failures failure(s)"
    exit 1
fi
echo "test_audit: pass"
