#!/usr/bin/env bash
# test_metrics.sh - the Prometheus endpoint (--metrics) and the DPDK telemetry command.
#   1. a policy capture replayed at twice its pace into a real redis-server, with JSON lines
#      outputs and a SIGHUP reload on the way: curl scrapes /metrics during the run, every
#      scrape passes `promtool check metrics`, no counter goes down between scrapes, and the
#      final figures (kept served by --metrics-linger) equal the summary: packets, each drop
#      reason, flows, nDPI results, end reasons, events, Redis and JSON lines outputs, alerts
#      by kind, reloads (tests/integration/check_metrics.py); 404 elsewhere, 405 for POST,
#      HEAD answers without a body;
#   2. a capture with two kinds of broken frames: every drop reason against the summary;
#   3. [::1]:0 serves too; a busy port, a bad address and a bad metrics.listen are one line
#      and exit 2;
#   4. --telemetry: a SOCK_SEQPACKET client on DPDK's telemetry socket asks /tapwatch/counters
#      during a run and gets every counter as a number.
#
#   bash tests/integration/test_metrics.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no curl, promtool, redis-server, scapy or binary).
set -uo pipefail

build=${1:-build}
tw=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
redis_local=$root/scripts/redis-local.sh
policy=$here/policy.yaml

for tool in curl promtool redis-server python3; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }
[ -x "$tw" ] || { echo "skip: $tw not built"; exit 77; }

tmp=$(mktemp -d /tmp/tw-metrics.XXXXXX)
pids=()
tel_dirs=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1
    for d in "${tel_dirs[@]}"; do rm -rf "$d"; done
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/caps" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: gen_policy_captures.py:"; cat "$tmp/gen.log"; exit 1; }
/usr/bin/python3 "$root/scripts/gen_malformed.py" "$tmp/mal" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: gen_malformed.py:"; cat "$tmp/gen.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }

# Starts tapwatch (NAME, then its arguments) in the background, sets pid; waits for the line
# that says where the metrics are and sets url. Returns 1 when it does not come.
start() {
    local name=$1
    shift
    "$tw" --quiet "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    url=
    for _ in $(seq 300); do
        url=$(sed -n 's/.* metrics at \(http[^ ]*\)$/\1/p' "$tmp/$name.err")
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name: no 'metrics at URL' line: $(head -c 600 "$tmp/$name.err")"
    return 1
}

# Scrapes url every 0.2 s until the summary is printed (tapwatch then lingers), then once
# more: $tmp/NAME.during.N and $tmp/NAME.final. Each scrape must pass promtool.
scrape_run() {
    local name=$1 hup=${2:-} n=0 deadline=$((SECONDS + 120))
    while ! grep -q '^  packets/s' "$tmp/$name.out"; do
        kill -0 "$pid" 2>/dev/null || { fail "$name: tapwatch ended before its summary"; return 1; }
        [ $SECONDS -lt $deadline ] || { fail "$name: no summary after 120 s"; return 1; }
        if curl -sf -o "$tmp/$name.during.$n" "$url"; then
            n=$((n + 1))
            # a policy reload under way: tapwatch_policy_reloads_total moves
            [ -n "$hup" ] && [ "$n" -eq 2 ] && kill -HUP "$pid"
        fi
        sleep 0.2
    done
    curl -sf -o "$tmp/$name.final" "$url" || { fail "$name: final scrape failed"; return 1; }
    for f in "$tmp/$name".during.* "$tmp/$name.final"; do
        [ -f "$f" ] || continue
        promtool check metrics <"$f" >"$tmp/promtool.out" 2>&1 ||
            fail "$name: promtool check metrics $(basename "$f"): $(head -c 600 "$tmp/promtool.out")"
    done
    during=
    for i in $(seq 0 $((n - 1))); do during="$during $tmp/$name.during.$i"; done
}

# Ends the lingering tapwatch with SIGINT: exit 0.
stop() {
    local name=$1 rc
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    [ $rc -eq 0 ] || fail "$name: exit $rc after SIGINT while lingering: $(tail -c 600 "$tmp/$name.err")"
}

# ---- 1. a run with every output, scraped while it goes ---------------------------------------
if start main --pcap "$tmp/caps/reload.pcap" --replay-speed 2 --policy "$policy" \
        --redis "unix://$sock" --sensor "tw-met-$$" --flows-jsonl "$tmp/flows.jsonl" \
        --alerts-jsonl "$tmp/alerts.jsonl" --metrics 127.0.0.1:0 --metrics-linger 60; then
    scrape_run main hup
    code=$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/other")
    [ "$code" = 404 ] || fail "GET /other: HTTP $code, expected 404"
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
    [ "$code" = 405 ] || fail "POST /metrics: HTTP $code, expected 405"
    curl -sfI "$url" -o "$tmp/head.txt" || fail "HEAD /metrics failed"
    grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/head.txt" ||
        fail "HEAD /metrics: no text format 0.0.4 content type: $(cat "$tmp/head.txt")"
    stop main
    # shellcheck disable=SC2086
    /usr/bin/python3 "$here/check_metrics.py" "$tmp/main.out" "$tmp/main.final" $during \
        --flows-jsonl "$tmp/flows.jsonl" --alerts-jsonl "$tmp/alerts.jsonl" --min-during 3 ||
        failures=$((failures + 1))
    grep -q '^  policy reloads *1 (failed 0)$' "$tmp/main.out" ||
        fail "the SIGHUP during the run did not reload the policy: $(grep reload "$tmp/main.out" "$tmp/main.err")"
    grep -q '^  alerts *[1-9]' "$tmp/main.out" || fail "the run raised no alert: the check proves little"
    # the policy in force, as the alerts name it (sha256sum of its file); no GeoIP database
    grep -qx "tapwatch_policy_info{sha256=\"$(sha256sum "$policy" | cut -d' ' -f1)\"} 1" "$tmp/main.final" ||
        fail "tapwatch_policy_info is not the policy's sha256sum: $(grep policy_info "$tmp/main.final")"
    grep -qx 'tapwatch_geoip_info{sha256=""} 1' "$tmp/main.final" ||
        fail "tapwatch_geoip_info: $(grep geoip_info "$tmp/main.final")"
fi

# ---- 2. drop reasons -------------------------------------------------------------------------
if start drops --pcap "$tmp/mal/null_odd_family.pcap" --metrics 127.0.0.1:0 --metrics-linger 60; then
    scrape_run drops
    stop drops
    /usr/bin/python3 "$here/check_metrics.py" "$tmp/drops.out" "$tmp/drops.final" ||
        failures=$((failures + 1))
    [ "$(grep -c '^    drop_' "$tmp/drops.out")" -ge 2 ] ||
        fail "null_odd_family.pcap: expected two drop reasons in the summary: $(cat "$tmp/drops.out")"
fi

# ---- 3. addresses ----------------------------------------------------------------------------
if /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    if start v6 --pcap "$tmp/caps/undeclared.pcap" --metrics '[::1]:0' --metrics-linger 60; then
        case $url in http://\[::1\]:*/metrics) ;; *) fail "[::1]:0: URL $url" ;; esac
        for _ in $(seq 100); do grep -q '^  packets/s' "$tmp/v6.out" && break; sleep 0.1; done
        curl -sfg -o "$tmp/v6.final" "$url" || fail "[::1]: scrape failed"
        grep -q '^tapwatch_packets_total{stage="received"} 72$' "$tmp/v6.final" ||
            fail "[::1]: the scrape does not say 72 packets received: $(head -c 300 "$tmp/v6.final")"
        stop v6
    fi
else
    echo "note: no IPv6 loopback here: [::1] not tried"
fi

# one line on stderr, exit 2, the line naming what is wrong
expect_refusal() { # what, pattern, tapwatch arguments...
    local what=$1 pattern=$2 rc
    shift 2
    "$tw" "$@" >"$tmp/refusal.out" 2>"$tmp/refusal.err"
    rc=$?
    [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2 ($(head -c 300 "$tmp/refusal.err"))"
    [ "$(wc -l <"$tmp/refusal.err")" -eq 1 ] || fail "$what: expected one line: $(cat "$tmp/refusal.err")"
    grep -q -- "$pattern" "$tmp/refusal.err" || fail "$what: no '$pattern' in: $(cat "$tmp/refusal.err")"
}
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/busy.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/busy.port" ] && break; sleep 0.1; done
busy=$(cat "$tmp/busy.port")
expect_refusal "busy port" "metrics 127.0.0.1:$busy: Address already in use" \
    --pcap "$tmp/caps/undeclared.pcap" --metrics "127.0.0.1:$busy"
expect_refusal "no port" 'metrics.listen: expected "" or HOST:PORT' \
    --pcap "$tmp/caps/undeclared.pcap" --metrics 127.0.0.1
expect_refusal "port too big" "the port must be a number from 0 to 65535" \
    --pcap "$tmp/caps/undeclared.pcap" --metrics 127.0.0.1:70000
expect_refusal "bare IPv6" "write an IPv6 address in brackets" \
    --pcap "$tmp/caps/undeclared.pcap" --metrics ::1:9464
expect_refusal "address not here" "metrics 192.0.2.1:9464: Cannot assign requested address" \
    --pcap "$tmp/caps/undeclared.pcap" --metrics 192.0.2.1:9464
expect_refusal "linger alone" "metrics-linger needs --metrics" \
    --pcap "$tmp/caps/undeclared.pcap" --metrics-linger 5
printf 'metrics:\n  listen: localhost\n' >"$tmp/bad.yaml"
expect_refusal "metrics.listen" "bad.yaml:2: metrics.listen: expected" --check-config --config "$tmp/bad.yaml"

# ---- 4. DPDK telemetry -----------------------------------------------------------------------
sensor=tw-tel-$$
if [ "$(id -u)" -eq 0 ]; then rtdir=/var/run/dpdk; else rtdir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
tel_dirs+=("$rtdir/tapwatch-$sensor")
"$tw" --quiet --pcap "$tmp/caps/reload.pcap" --replay-speed 2 --telemetry --sensor "$sensor" \
    >"$tmp/tel.out" 2>"$tmp/tel.err" &
pid=$!
pids+=("$pid")
/usr/bin/python3 - "$rtdir/tapwatch-$sensor/dpdk_telemetry.v2" "$tmp/tel.json" <<'PY' || fail "telemetry: $(cat "$tmp/tel.err")"
import json, os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
deadline = time.time() + 30
while not os.path.exists(path):
    if time.time() > deadline:
        sys.exit("FAIL: no telemetry socket %s" % path)
    time.sleep(0.1)
while True:  # until the first figures are published and packets came
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    json.loads(s.recv(16384))  # DPDK's greeting
    s.send(b"/tapwatch/counters")
    reply = json.loads(s.recv(65536))["/tapwatch/counters"]
    s.close()
    if reply and reply.get("received", 0) > 0 or time.time() > deadline:
        break
    time.sleep(0.2)
json.dump(reply, open(out, "w"))
PY
wait "$pid" || fail "telemetry run: exit $?: $(tail -c 600 "$tmp/tel.err")"
/usr/bin/python3 - "$tmp/tel.json" "$tmp/tel.out" <<'PY' || failures=$((failures + 1))
import json, re, sys
reply = json.load(open(sys.argv[1]))
received = int(re.search(r"^  packets received +(\d+)$", open(sys.argv[2]).read(), re.M).group(1))
bad = [k for k, v in reply.items() if not isinstance(v, int)]
need = ["received", "parsed", "drop_too_short", "flows_created", "flows_end_idle", "imissed",
        "flows_active", "event_ring_size", "alerts.undeclared_destination"]
missing = [k for k in need[:-1] if k not in reply]
if bad or missing:
    sys.exit("FAIL: /tapwatch/counters: not numbers %r, missing %r: %r" % (bad, missing, reply))
if not 0 < reply["received"] <= received:
    sys.exit("FAIL: /tapwatch/counters received %d during a run of %d packets"
             % (reply["received"], received))
PY

[ $failures -eq 0 ] || { echo "test_metrics: $failures failure(s)"; exit 1; }
echo "test_metrics: ok"
