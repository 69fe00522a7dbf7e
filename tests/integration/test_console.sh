#!/usr/bin/env bash
# test_console.sh - tapwatch-console (README "Console") against a real redis-server filled by
# build/tapwatch replaying generated captures (policy captures with alerts, then, after a
# planted 3 s gap, a capture whose TLS SNI and HTTP Host carry "><script>, <img onerror>,
# javascript: strings, scripts/gen_html_captures.py), served over HTTPS with a self-signed pair:
#   - API: flows, alerts, summary, statements answer {"rows": [...], "next": ...} whose rows
#     equal `tapwatch-query ... --format json`; paging with the next cursor (the Link header
#     names the same) gives the same rows; bad parameters 400 with a JSON error; no session
#     401; a wrong password 401 and slower than a right one; every API call writes two audit
#     entries (query, done) naming the console user; an answer over --max-bytes 413 and one
#     slower than --timeout-ms (Redis paused for real: CLIENT PAUSE) 504, both JSON errors;
#   - the Flows and Alerts pages' columns are those of tapwatch-query's table output, in its
#     order, and their cells the tool's cells;
#   - the hostile strings appear in the raw HTML escaped: no element or attribute from them,
#     each shown exactly as text; the CSP header is there (and absent with --test-no-csp);
#   - in headless Chromium (Selenium), once with the CSP and once without it: log in, filter
#     flows by a CIDR and an application (rows = tapwatch-query's), open an alert and reach its
#     flow, an equipment chart with one bar per bucket, the coverage page's planted gap, no
#     script from the data run; screenshots in the log folder. Skipped (with a message) when
#     chromium, chromedriver or python3-selenium are absent.
#
#   bash tests/integration/test_console.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, openssl, binaries or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
query=$build/tapwatch-query
console=$build/tapwatch-console
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
redis_local=$root/scripts/redis-local.sh

for tool in redis-server redis-cli openssl curl; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
for b in "$tapwatch" "$query" "$console"; do
    [ -x "$b" ] || { echo "skip: $b not built"; exit 77; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-console.XXXXXX)
logdir=${TW_TEST_LOG:-$(mktemp -d /tmp/tw-console-log.XXXXXX)} # kept: screenshots
mkdir -p "$logdir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/pc" >"$tmp/gen.log" 2>&1 &&
    /usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/pc2" --start 2026-03-02T11:00:00Z \
        >>"$tmp/gen.log" 2>&1 &&
    /usr/bin/python3 "$root/scripts/gen_html_captures.py" "$tmp/hc" --start 2026-03-02T10:00:00Z \
        >>"$tmp/gen.log" 2>&1 || { echo "FAIL: capture generators:"; cat "$tmp/gen.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
"$tapwatch" keygen --out "$tmp/sign.key" >/dev/null || { echo "FAIL: tapwatch keygen"; exit 1; }
cat >"$tmp/tw.yaml" <<YAML
redis:
  url: unix://$sock
run_dir: $tmp/run
signing:
  key: "$tmp/sign.key"
YAML
# 09:00 and 11:00: the equipment's chart has two hourly buckets
for p in pc/undeclared pc/upload pc/remote pc/risky pc2/undeclared; do
    "$tapwatch" --config "$tmp/tw.yaml" --pcap "$tmp/$p.pcap" --policy "$here/policy.yaml" \
        --sensor s1 --quiet >/dev/null 2>"$tmp/${p#*/}.err" || fail "tapwatch $p.pcap: $(head -c 400 "$tmp/${p#*/}.err")"
done
sleep 3 # the planted gap: no statement covers these seconds
"$tapwatch" --config "$tmp/tw.yaml" --pcap "$tmp/hc/html.pcap" --policy "$here/policy.yaml" \
    --sensor s1 --quiet >/dev/null 2>"$tmp/html.err" || fail "tapwatch html.pcap: $(head -c 400 "$tmp/html.err")"

# an account, a self-signed pair, two free ports
printf 'correct horse battery\n' | "$console" passwd alice --users "$tmp/users" 2>/dev/null ||
    fail "passwd alice"
[ "$(stat -c %a "$tmp/users")" = 600 ] || fail "users file mode $(stat -c %a "$tmp/users"), not 600"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1 || { echo "FAIL: openssl req"; exit 1; }
chmod 644 "$tmp/key.pem"
"$console" --listen 127.0.0.1:1 --redis "unix://$sock" --users "$tmp/users" --cert "$tmp/cert.pem" \
    --key "$tmp/key.pem" >/dev/null 2>"$tmp/mode.err" && fail "a TLS key others may read was accepted"
grep -q "TLS key" "$tmp/mode.err" || fail "TLS key 0644: $(cat "$tmp/mode.err")"
chmod 600 "$tmp/key.pem"
chmod 644 "$tmp/users"
"$console" --listen 127.0.0.1:1 --redis "unix://$sock" --users "$tmp/users" --insecure-http \
    >/dev/null 2>"$tmp/mode.err" && fail "a users file others may read was accepted"
grep -q "users file" "$tmp/mode.err" || fail "users file 0644: $(cat "$tmp/mode.err")"
chmod 600 "$tmp/users"
"$console" --listen 0.0.0.0:1 --redis "unix://$sock" --users "$tmp/users" --insecure-http \
    >/dev/null 2>&1 && fail "--insecure-http on 0.0.0.0 was accepted"
ports=$(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r port port2 <<<"$ports"
start_console() { # start_console PORT LOG [options]
    local p=$1 log=$2
    shift 2
    "$console" --listen "127.0.0.1:$p" --redis "unix://$sock" --sensor s1 --users "$tmp/users" \
        --cert "$tmp/cert.pem" --key "$tmp/key.pem" --equipment atm-ctrl-01,srv-02 "$@" 2>"$log" &
    pids+=($!)
    for _ in $(seq 50); do
        curl -sk "https://127.0.0.1:$p/login" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "console on $p did not start: $(cat "$log")"
    return 1
}
start_console "$port" "$logdir/console.log" --pubkey "$tmp/sign.key.pub" || exit 1
start_console "$port2" "$logdir/console-nocsp.log" --test-no-csp || exit 1

# a configuration file, plain HTTP on loopback, answers limited to 4 KiB: a larger one is a
# 413 with a JSON error, a small one answers
port3=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/console.conf" <<CONF
# test_console.sh
listen 127.0.0.1:$port3
redis unix://$sock
sensor s1
users $tmp/users
insecure-http
max-bytes 4096
session-idle 10
CONF
"$console" --config "$tmp/console.conf" 2>"$logdir/console-small.log" &
pids+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port3/login" >/dev/null 2>&1 && break; sleep 0.1; done
ck=$(curl -s -i -d 'user=alice&password=correct+horse+battery' "http://127.0.0.1:$port3/login" |
     grep -o 'tw_session=[0-9a-f]*')
[ -n "$ck" ] || fail "login over --insecure-http (config file) failed"
# json_error FILE STATUS: FILE is {"error": "...", "status": STATUS}
json_error() {
    /usr/bin/python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
sys.exit(0 if e.get("error") and e.get("status") == int(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
code=$(curl -s -o "$tmp/big.json" -D "$tmp/big.h" -w '%{http_code}' -b "$ck" "http://127.0.0.1:$port3/api/v1/flows?since=2020-01-01&limit=1000")
[ "$code" = 413 ] && json_error "$tmp/big.json" 413 && grep -qi '^content-type: application/json' "$tmp/big.h" ||
    fail "an answer over --max-bytes: $code $(head -c 200 "$tmp/big.json")"
code=$(curl -s -o "$tmp/small.json" -w '%{http_code}' -b "$ck" "http://127.0.0.1:$port3/api/v1/flows?since=2020-01-01&limit=2")
[ "$code" = 200 ] || fail "a small answer under --max-bytes: $code $(head -c 200 "$tmp/small.json")"
# this console has no --equipment: its Equipment page lists the inventory sensor s1 publishes
# (the policy's equipment, in its order), and a flows question by equipment= is forwarded
curl -s -b "$ck" "http://127.0.0.1:$port3/equipment" >"$tmp/eq.html"
listed=$(grep -o 'href="/equipment?equipment=[^&"]*' "$tmp/eq.html" | sed 's/.*equipment=//' | tr '\n' ' ')
[ "$listed" = "atm-ctrl-01 srv-02 " ] ||
    fail "Equipment page without --equipment lists '$listed', not the published atm-ctrl-01 srv-02"
grep -q '10.40.2.0/24' "$tmp/eq.html" || fail "Equipment page: srv-02's addresses not shown"
code=$(curl -s -o "$tmp/eqf.json" -w '%{http_code}' -b "$ck" "http://127.0.0.1:$port3/api/v1/flows?since=2020-01-01&limit=2&equipment=no-such-eq")
[ "$code" = 400 ] && grep -q 'unknown equipment' "$tmp/eqf.json" ||
    fail "flows equipment=no-such-eq: $code $(head -c 200 "$tmp/eqf.json")"
idle_from=$(date +%s) # the session above, unused from now on, ends after 10 s (checked below)

# an answer slower than --timeout-ms 300: Redis made slow for real. CLIENT PAUSE ... ALL holds
# every other client's commands for 5 s, the question's child among them (its audit entry
# first), so the child is killed at 300 ms: 504 with a JSON error. PING returns when the
# pause ends (it waits like any command).
port4=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$console" --listen "127.0.0.1:$port4" --redis "unix://$sock" --sensor s1 --users "$tmp/users" \
    --insecure-http --timeout-ms 300 2>"$logdir/console-slow.log" &
pids+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port4/login" >/dev/null 2>&1 && break; sleep 0.1; done
ck4=$(curl -s -i -d 'user=alice&password=correct+horse+battery' "http://127.0.0.1:$port4/login" |
      grep -o 'tw_session=[0-9a-f]*')
[ -n "$ck4" ] || fail "login on the --timeout-ms console failed"
redis-cli -s "$sock" CLIENT PAUSE 5000 ALL >/dev/null || fail "CLIENT PAUSE refused"
code=$(curl -s -o "$tmp/slow.json" -D "$tmp/slow.h" -w '%{http_code}' -b "$ck4" \
    "http://127.0.0.1:$port4/api/v1/flows?since=2020-01-01&limit=5")
page=$(curl -s -o "$tmp/slow.html" -w '%{http_code}' -b "$ck4" "http://127.0.0.1:$port4/flows?since=2020-01-01")
redis-cli -s "$sock" PING >/dev/null
[ "$code" = 504 ] && json_error "$tmp/slow.json" 504 && grep -qi '^content-type: application/json' "$tmp/slow.h" ||
    fail "an answer over --timeout-ms while Redis is paused: $code $(head -c 200 "$tmp/slow.json")"
[ "$page" = 504 ] && grep -q 'id="error">504: ' "$tmp/slow.html" ||
    fail "a page over --timeout-ms while Redis is paused: $page $(head -c 300 "$tmp/slow.html")"
code=$(curl -s -o "$tmp/slow2.json" -w '%{http_code}' -b "$ck4" "http://127.0.0.1:$port4/api/v1/nothing")
[ "$code" = 404 ] && json_error "$tmp/slow2.json" 404 || fail "an unknown endpoint: $code $(head -c 200 "$tmp/slow2.json")"
code=$(curl -s -o "$tmp/slow3.json" -w '%{http_code}' -b "$ck4" "http://127.0.0.1:$port4/api/v1/flows?bogus=1")
[ "$code" = 400 ] && json_error "$tmp/slow3.json" 400 || fail "an unknown parameter: $code $(head -c 200 "$tmp/slow3.json")"
code=$(curl -s -o "$tmp/slow4.json" -w '%{http_code}' "http://127.0.0.1:$port4/api/v1/flows?limit=1")
[ "$code" = 401 ] && json_error "$tmp/slow4.json" 401 || fail "no session: $code $(head -c 200 "$tmp/slow4.json")"

# verify=1: flows/alerts --verify with the console's --pubkey; every row verified, the pages'
# VERIFIED column; an alert edited: its row false and still 200; no --pubkey: 400
ckv=$(curl -sk -i -d 'user=alice&password=correct+horse+battery' "https://127.0.0.1:$port/login" |
      grep -o 'tw_session=[0-9a-f]*')
ckn=$(curl -sk -i -d 'user=alice&password=correct+horse+battery' "https://127.0.0.1:$port2/login" |
      grep -o 'tw_session=[0-9a-f]*')
# verified_rows FILE WANT: the API answer's rows all carry "verified", WANT: all true | some false
verified_rows() {
    /usr/bin/python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
v = [r.get("verified") for r in rows]
ok = rows and None not in v and (all(v) if sys.argv[2] == "all" else False in v and True in v)
sys.exit(0 if ok else 1)' "$1" "$2" 2>/dev/null
}
code=$(curl -sk -o "$tmp/v.json" -w '%{http_code}' -b "$ckv" "https://127.0.0.1:$port/api/v1/alerts?verify=1&limit=1000")
[ "$code" = 200 ] && verified_rows "$tmp/v.json" all || fail "alerts verify=1: $code $(head -c 300 "$tmp/v.json")"
code=$(curl -sk -o "$tmp/v.html" -w '%{http_code}' -b "$ckv" "https://127.0.0.1:$port/flows?verify=1&since=2020-01-01")
[ "$code" = 200 ] && grep -q '<th>VERIFIED</th>' "$tmp/v.html" && grep -q 'data-k="VERIFIED">yes<' "$tmp/v.html" &&
    ! grep -q 'FAILED' "$tmp/v.html" || fail "Flows page verify=1: $code $(grep -c VERIFIED "$tmp/v.html")"
code=$(curl -sk -o "$tmp/v2.json" -w '%{http_code}' -b "$ckn" "https://127.0.0.1:$port2/api/v1/flows?verify=1")
[ "$code" = 400 ] && json_error "$tmp/v2.json" 400 || fail "verify=1 on a console without --pubkey: $code"
redis-cli -s "$sock" COPY 'tw:{s1}:alerts' 'bak:alerts' REPLACE >/dev/null
/usr/bin/python3 "$here/evidence_tamper.py" "$sock" s1 edit-alert >/dev/null || fail "edit-alert"
code=$(curl -sk -o "$tmp/v3.json" -w '%{http_code}' -b "$ckv" "https://127.0.0.1:$port/api/v1/alerts?verify=1&limit=1000")
[ "$code" = 200 ] && verified_rows "$tmp/v3.json" some || fail "alerts verify=1, an alert edited: $code $(head -c 300 "$tmp/v3.json")"
code=$(curl -sk -o "$tmp/v3.html" -w '%{http_code}' -b "$ckv" "https://127.0.0.1:$port/alerts?verify=1")
[ "$code" = 200 ] && grep -q 'data-k="VERIFIED">FAILED<' "$tmp/v3.html" || fail "Alerts page verify=1, an alert edited: $code"
redis-cli -s "$sock" COPY 'bak:alerts' 'tw:{s1}:alerts' REPLACE >/dev/null

/usr/bin/python3 "$here/console_check.py" --base "https://127.0.0.1:$port" \
    --base-nocsp "https://127.0.0.1:$port2" --query "$query" --redis "unix://$sock" \
    --sensor s1 --root "$root" --shots "$logdir" --pubkey "$tmp/sign.key.pub" ||
    failures=$((failures + 1))

# the idle session: its console was not asked while the checks above ran
left=$((12 - ($(date +%s) - idle_from)))
[ "$left" -le 0 ] || sleep "$left"
code=$(curl -s -o "$tmp/idle.json" -w '%{http_code}' -b "$ck" "http://127.0.0.1:$port3/api/v1/flows?limit=1")
[ "$code" = 401 ] || fail "a session idle for more than --session-idle 10 s still answers: $code"

grep -q "correct horse\|tw_session=" "$logdir"/console*.log && fail "a password or a cookie in the console's log"
if [ $failures -gt 0 ]; then
    echo "test_console: $failures failure(s) (logs and screenshots: $logdir)"
    exit 1
fi
echo "test_console: pass (screenshots: $logdir)"
