#!/usr/bin/env bash
# bench_console.sh BUILD_DIR - the console's latency (make bench-console): a page of 100 flows
# over a store of 1 M records.
#
# A private redis-server; store_driver bench fills CONSOLE_N synthetic records (default
# 1000000, format 2, over 24 h; sensor cbench); tapwatch-console serves it over HTTPS (a
# self-signed pair) and a small client on one keep-alive TLS connection asks, CONSOLE_RUNS
# times each (default 200): the Flows page (HTML, 100 rows, newest first over the day) and
# /api/v1/flows (the same 100 as JSON: {"rows": [...], "next": ...}), then the same with
# ip=<a /24>. Prints median and p99 of the wall time per request as the client sees it (each
# is a child running the query tool's code, its Redis connection and two audit entries
# included).
set -euo pipefail
BUILD=${1:-build}
N=${CONSOLE_N:-1000000}
RUNS=${CONSOLE_RUNS:-200}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/tw-bench-console.XXXXXX)
cpid=
cleanup() {
    [ -z "$cpid" ] || kill "$cpid" 2>/dev/null || true
    bash scripts/redis-local.sh stop "$tmp/r" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
sock=$(bash scripts/redis-local.sh start "$tmp/r")
t0=$(date +%s.%N)
STORE_FORMAT=2 STORE_SPAN_S=86400 "$BUILD/tests/store_driver" bench "unix://$sock" cbench "$N" \
    >/dev/null 2>&1 || { echo "bench_console: filling $N records failed"; exit 1; }
t1=$(date +%s.%N)
awk -v n="$N" -v t="$(echo "$t1 - $t0" | bc)" 'BEGIN{printf "store: %d records over 24 h (format 2), filled in %.1f s\n", n, t}'

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
    -subj /CN=localhost >/dev/null 2>&1
chmod 600 "$tmp/key.pem"
printf 'bench password\n' | "$BUILD/tapwatch-console" passwd bench --users "$tmp/users" 2>/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/tapwatch-console" --listen "127.0.0.1:$port" --redis "unix://$sock" --sensor cbench \
    --users "$tmp/users" --cert "$tmp/cert.pem" --key "$tmp/key.pem" 2>"$tmp/console.log" &
cpid=$!
sleep 0.5

/usr/bin/python3 - "$port" "$RUNS" <<'PY'
import http.client, json, ssl, statistics, sys, time, urllib.parse
port, runs = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
c.request("POST", "/login", urllib.parse.urlencode({"user": "bench", "password": "bench password"}),
          {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse(); r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]
day = "since=2026-03-02T09:30:00Z&until=2026-03-03T09:30:00Z&limit=100"
print("%-44s %6s %10s %10s" % ("request (%d runs each)" % runs, "rows", "median ms", "p99 ms"))
for path in ("/flows?" + day, "/api/v1/flows?" + day,
             "/flows?" + day + "&ip=10.0.1.0%2F24", "/api/v1/flows?" + day + "&ip=10.0.1.0%2F24"):
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        c.request("GET", path, headers={"Cookie": cookie})
        r = c.getresponse(); body = r.read()
        t.append((time.perf_counter() - a) * 1000)
        if r.status != 200:
            sys.exit("bench_console: %s: %d %s" % (path, r.status, body[:200]))
    # a page: its table's rows; the API: {"rows": [...], "next": ...}
    rows = body.count(b"<tr") - 1 if path.startswith("/flows") else len(json.loads(body)["rows"])
    t.sort()
    p99 = t[min(len(t) - 1, int(len(t) * 0.99 + 0.999) - 1)]
    label = ("page " if path.startswith("/flows") else "API  ") + ("ip /24" if "ip=" in path else "day")
    print("%-44s %6d %10.1f %10.1f" % (label, rows, statistics.median(t), p99))
PY
