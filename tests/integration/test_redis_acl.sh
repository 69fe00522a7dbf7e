#!/usr/bin/env bash
# test_redis_acl.sh - the ACL users of config/redis-acl.conf.example on a real redis-server
# (aclfile, a unix socket in a temp dir), with sensors s1 and s10 so that a key pattern such
# as tw:{s1* would be caught:
#   - the example is exactly what `tapwatch --print-acl s1` prints (code and file agree);
#   - tapwatch as tapwatch-s1 (redis.user + redis.password_file) writes a capture with a
#     policy: every flow record, alert and summary, nothing refused;
#   - the regulator reads them with tapwatch-query (flows, alerts, summary), and is refused
#     HSET, XDEL and DEL; tapwatch-s1 is refused a write to a tw:{s10}: key (NOPERM);
#   - while tapwatch runs, an ACL change that takes HSET away is a refusal the live line names
#     (records wait, as in an outage) and, put back, nothing is lost;
#   - a wrong password (file or URL), no credential at all, a password file others can read:
#     exit 2 with one line that names the URL without the password.
#
#   bash tests/integration/test_redis_acl.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3 sha256sum
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-acl.XXXXXX)
tw_pid=
cleanup() {
    [ -n "$tw_pid" ] && kill -9 "$tw_pid" 2>/dev/null
    [ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null
    sleep 0.1
    rm -rf "$tmp"
}
trap cleanup EXIT

# 1. the example file is the code's
"$tapwatch" --print-acl s1 >"$tmp/s1.acl" || fail "tapwatch --print-acl s1 failed"
diff -u "$root/config/redis-acl.conf.example" "$tmp/s1.acl" >"$tmp/acl.diff" ||
    { fail "config/redis-acl.conf.example differs from tapwatch --print-acl s1:"; cat "$tmp/acl.diff"; }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi

# passwords in owner-only files; the ACL file from the example, hashes put in
umask 077
for u in tapwatch-s1 tapwatch-s10 regulator; do
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$tmp/$u.pw"
done
hash() { printf %s "$(cat "$tmp/$1.pw")" | sha256sum | cut -d' ' -f1; }
{
    cat "$tmp/s1.acl"
    "$tapwatch" --print-acl s10 | grep '^user tapwatch-s10 '
    echo "user admin on >adminpw ~* &* +@all"
} | sed -e "s/#SHA256-OF-THE-PASSWORD-OF-tapwatch-s1 /#$(hash tapwatch-s1) /" \
        -e "s/#SHA256-OF-THE-PASSWORD-OF-tapwatch-s10 /#$(hash tapwatch-s10) /" \
        -e "s/#SHA256-OF-THE-PASSWORD-OF-regulator /#$(hash regulator) /" >"$tmp/users.acl"
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
admin() { redis-cli -s "$sock" --user admin --pass adminpw --no-auth-warning "$@"; }
for _ in $(seq 1 100); do [ "$(admin ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(admin ping 2>/dev/null)" = PONG ] || { echo "FAIL: redis-server with the ACL file does not answer:"; tail -5 "$tmp/redis.log"; exit 1; }
as() { local u=$1; shift; redis-cli -s "$sock" --user "$u" --pass "$(cat "$tmp/$u.pw")" --no-auth-warning "$@"; }

cat >"$tmp/s1.yaml" <<YAML
run_dir: $tmp/run
redis:
  user: tapwatch-s1
  password_file: $tmp/tapwatch-s1.pw
  flush_interval: 20ms
YAML

# 2. the sensor writes flows, alerts and summaries
"$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/s1.yaml" --redis "unix://$sock" --sensor s1 \
    --policy "$root/config/policy.yaml" --flows-jsonl "$tmp/s1.jsonl" --alerts-jsonl "$tmp/s1.alerts" \
    --quiet >"$tmp/s1.sum" 2>"$tmp/s1.err"
rc=$?
[ $rc -eq 0 ] || fail "tapwatch as tapwatch-s1 exited $rc: $(head -c 800 "$tmp/s1.err")"
grep -v 'redis alerts' "$tmp/s1.sum" | grep -q 'not written 0, dropped (buffer full) 0' ||
    fail "records not written: $(grep redis "$tmp/s1.sum")"
grep -q 'redis alerts  *written [1-9][0-9]*, summaries [0-9]*, not written 0' "$tmp/s1.sum" ||
    fail "alerts not written: $(grep 'redis alerts' "$tmp/s1.sum")"
grep -q 'refused [1-9]' "$tmp/s1.sum" && fail "Redis refused records: $(grep refused "$tmp/s1.sum")"
grep 'NOPERM' "$tmp/s1.err" | grep -qv 'CONFIG GET' && fail "the sensor was refused a command: $(grep NOPERM "$tmp/s1.err" | head -2)"
# an ACL user may not run CONFIG GET: the start-up check said what it could not tell
grep -q 'could not be checked\|could not check' "$tmp/s1.err" ||
    fail "no word on what the start-up check could not tell: $(head -c 400 "$tmp/s1.err")"
[ -s "$tmp/s1.alerts" ] || fail "no alerts: the policy should raise some on sample.pcap"

# 3. the regulator reads, and only reads
export TAPWATCH_REDIS_PASSWORD_FILE=$tmp/regulator.pw
"$query" --redis "unix://regulator@$sock" --sensor s1 flows --limit 1000000 --format json \
    >"$tmp/q.flows" 2>"$tmp/q.err" || fail "regulator: tapwatch-query flows failed: $(cat "$tmp/q.err")"
[ "$(wc -l <"$tmp/q.flows")" -eq "$(wc -l <"$tmp/s1.jsonl")" ] ||
    fail "regulator: $(wc -l <"$tmp/q.flows") flows read, $(wc -l <"$tmp/s1.jsonl") written"
"$query" --redis "unix://regulator@$sock" --sensor s1 alerts --limit 1000000 --format json \
    >"$tmp/q.alerts" 2>"$tmp/q.err" || fail "regulator: tapwatch-query alerts failed: $(cat "$tmp/q.err")"
[ "$(wc -l <"$tmp/q.alerts")" -eq "$(wc -l <"$tmp/s1.alerts")" ] ||
    fail "regulator: $(wc -l <"$tmp/q.alerts") alerts read, $(wc -l <"$tmp/s1.alerts") raised"
equip=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["equipment"])' "$tmp/s1.alerts" 2>/dev/null)
"$query" --redis "unix://regulator@$sock" --sensor s1 summary --equipment "${equip:-x}" --since 0 \
    >"$tmp/q.sum" 2>"$tmp/q.err" || fail "regulator: tapwatch-query summary failed: $(cat "$tmp/q.err")"
# the inventory the sensor published (SET under its own pattern), read by the regulator
"$query" --redis "unix://regulator@$sock" --sensor s1 flows --equipment "${equip:-x}" --since 0 \
    --format json >"$tmp/q.eq" 2>"$tmp/q.err" && [ -s "$tmp/q.eq" ] ||
    fail "regulator: flows --equipment ${equip:-x}: $(cat "$tmp/q.err")"
for cmd in "HSET tw:{s1}:stats x 1" "XDEL tw:{s1}:alerts 0-1" "DEL tw:{s1}:hours"; do
    # shellcheck disable=SC2086
    out=$(as regulator $cmd 2>&1)
    case $out in NOPERM*) ;; *) fail "regulator: $cmd was not refused: $out" ;; esac
done
unset TAPWATCH_REDIS_PASSWORD_FILE

# 4. one sensor cannot write another's keys (s1 vs s10: the closing brace matters)
for cmd in "HSET tw:{s10}:f:1 a b" "ZADD tw:{s10}:hours 1 1" "DEL tw:{s10}:gaps"; do
    # shellcheck disable=SC2086
    out=$(as tapwatch-s1 $cmd 2>&1)
    case $out in NOPERM*) ;; *) fail "tapwatch-s1: $cmd was not refused: $out" ;; esac
done
out=$(as tapwatch-s10 HSET "tw:{s10}:f:1" a b 2>&1)
[ "$out" = 1 ] || fail "tapwatch-s10 cannot write its own key: $out"

# 5. refused while running: records wait, the live line says why, nothing is lost
# the user may write s1run's keys for this run, but not HSET for now (the start-up check
# does not use it: the run starts, and its first batch is refused)
admin ACL SETUSER tapwatch-s1 '~tw:{s1run}:*' '~tw:{s1run:*' -hset >/dev/null
"$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/s1.yaml" --redis "unix://$sock" --sensor s1run \
    --replay-speed 150 --stats-interval 1 --flows-jsonl "$tmp/run.jsonl" >"$tmp/run.sum" 2>"$tmp/run.err" &
tw_pid=$!
for _ in $(seq 1 300); do grep -q 'redis refused: NOPERM' "$tmp/run.err" && break; sleep 0.05; done
admin ACL SETUSER tapwatch-s1 +hset >/dev/null
wait "$tw_pid"
rc=$?
tw_pid=
[ $rc -eq 0 ] || fail "run with a refusal exited $rc: $(tail -c 600 "$tmp/run.err")"
grep -q 'redis refused: NOPERM' "$tmp/run.err" ||
    fail "the live line did not name the refusal: $(grep -m2 redis "$tmp/run.err")"
grep -v 'redis alerts' "$tmp/run.sum" | grep -q 'not written 0, dropped (buffer full) 0' ||
    fail "records lost after the refusal: $(grep redis "$tmp/run.sum")"
# counted by the regulator's query (either redis.format; the flows of sample.pcap end once each)
n=$(TAPWATCH_REDIS_PASSWORD_FILE=$tmp/regulator.pw "$query" --redis "unix://regulator@$sock" --sensor s1run flows --limit 1000000 --format json | wc -l)
[ "$n" -eq "$(wc -l <"$tmp/run.jsonl")" ] || fail "after the refusal: $n records in Redis, $(wc -l <"$tmp/run.jsonl") written"

# 6. configuration errors: exit 2, one line, the URL without the password
refused_run() { # NAME WANT ARGS...: tapwatch must exit 2 with one line containing WANT
    local name=$1 want=$2
    shift 2
    timeout 30 "$tapwatch" --pcap "$tmp/cap/sample.pcap" --sensor s1 --quiet --run-dir "$tmp" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2: $(head -c 400 "$tmp/$name.err")"
    [ "$(wc -l <"$tmp/$name.err")" -eq 1 ] || fail "$name: expected one line, got: $(cat "$tmp/$name.err")"
    grep -q -- "$want" "$tmp/$name.err" || fail "$name: no \"$want\" in: $(cat "$tmp/$name.err")"
}
echo wrong-password >"$tmp/wrong.pw"
cat >"$tmp/wrong.yaml" <<YAML
redis:
  user: tapwatch-s1
  password_file: $tmp/wrong.pw
YAML
refused_run wrongpass "WRONGPASS" --config "$tmp/wrong.yaml" --redis "unix://$sock"
grep -q "unix://$sock" "$tmp/wrongpass.err" || fail "wrongpass: the URL is not named: $(cat "$tmp/wrongpass.err")"
refused_run wrongurl "unix://tapwatch-s1:\*\*\*@$sock.*WRONGPASS" --redis "unix://tapwatch-s1:s3cr3t-in-url@$sock"
grep -q 's3cr3t-in-url' "$tmp/wrongurl.err" "$tmp/wrongurl.out" && fail "wrongurl: the password was printed"
refused_run noauth "NOAUTH" --redis "unix://$sock"
cp "$tmp/tapwatch-s1.pw" "$tmp/open.pw"
chmod 0644 "$tmp/open.pw"
sed "s|$tmp/tapwatch-s1.pw|$tmp/open.pw|" "$tmp/s1.yaml" >"$tmp/open.yaml"
refused_run openfile "mode 0644 is too open" --config "$tmp/open.yaml" --redis "unix://$sock"
# the query tool says the same and exits 2
TAPWATCH_REDIS_PASSWORD_FILE=$tmp/wrong.pw "$query" --redis "unix://regulator@$sock" --sensor s1 flows \
    >/dev/null 2>"$tmp/qwrong.err"
rc=$?
[ $rc -eq 2 ] || fail "tapwatch-query with a wrong password exited $rc, expected 2"
grep -q "WRONGPASS" "$tmp/qwrong.err" && [ "$(wc -l <"$tmp/qwrong.err")" -eq 1 ] ||
    fail "tapwatch-query with a wrong password: $(cat "$tmp/qwrong.err")"

if [ $failures -gt 0 ]; then
    echo "test_redis_acl: $failures failure(s)"
    exit 1
fi
echo "test_redis_acl: pass (sensor s1 wrote $(wc -l <"$tmp/s1.jsonl") records and $(wc -l <"$tmp/s1.alerts") alerts; regulator read them; refusals said)"
