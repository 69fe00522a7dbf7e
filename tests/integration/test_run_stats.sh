#!/usr/bin/env bash
# test_run_stats.sh - every run's counters stay in Redis: two runs into one sensor leave
# tw:{S}:runs with two runs, each tw:{S}:stats:<run> hash with its own counters (the packets
# that run received), run, started and ended (started <= ended, the second run after the
# first) and a TTL of redis.retention; tw:{S}:stats is the latest run's. Each run's counters
# account for every packet: received = parsed + the drop_* counters + fragments_merged.
#
#   bash tests/integration/test_run_stats.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-runstats.XXXXXX)
trap 'bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
sensor=irs-$$
# a short retention, so the TTL it gives is recognisable
cat >"$tmp/tw.yaml" <<YAML
redis:
  url: unix://$sock
  retention: 2d
  hot_window: 1d
run_dir: $tmp/run
YAML

# two runs, the second replaying the capture twice: their counters differ
received=()
for loops in 1 2; do
    if ! timeout 120 "$tapwatch" --config "$tmp/tw.yaml" --pcap "$tmp/cap/eth.pcap" --loop $loops \
            --sensor "$sensor" --quiet >"$tmp/$loops.sum" 2>"$tmp/$loops.err"; then
        fail "tapwatch --pcap eth.pcap --loop $loops: $(head -c 600 "$tmp/$loops.err")"
    fi
    received+=("$(sed -n 's/^  packets received *\([0-9]*\)$/\1/p' "$tmp/$loops.sum")")
    sleep 1.1 # distinct start seconds: the runs' order is their start time
done
[ "${received[0]}" != "${received[1]}" ] ||
    fail "the two captures received as many packets (${received[0]}): the test cannot tell the runs apart"

/usr/bin/python3 - "$sock" "$sensor" "${received[0]}" "${received[1]}" <<'PY' || failures=$((failures + 1))
import subprocess, sys
sock, sensor, want = sys.argv[1], sys.argv[2], [int(sys.argv[3]), int(sys.argv[4])]

def cli(*args):
    return subprocess.run(["redis-cli", "-s", sock, "--raw", *args], check=True,
                          capture_output=True, text=True).stdout.splitlines()

def hash_of(key):
    flat = cli("HGETALL", key)
    return dict(zip(flat[0::2], flat[1::2]))

ok = True
def bad(msg):
    global ok
    print("FAIL: " + msg)
    ok = False

runs = cli("ZRANGE", "tw:{%s}:runs" % sensor, "0", "-1", "WITHSCORES")
runs = list(zip(runs[0::2], runs[1::2]))
if len(runs) != 2:
    bad("tw:{%s}:runs holds %d runs, expected 2: %r" % (sensor, len(runs), runs))
else:
    prev_end = 0.0
    for i, (run, score) in enumerate(runs):
        h = hash_of("tw:{%s}:stats:%s" % (sensor, run))
        if not h:
            bad("run %s: no hash tw:{%s}:stats:%s" % (run, sensor, run)); continue
        if h.get("run") != run:
            bad("run %s: field run is %r" % (run, h.get("run")))
        if int(h.get("received", -1)) != want[i]:
            bad("run %d (%s): received %s, the run's summary said %d" % (i + 1, run, h.get("received"), want[i]))
        # the accounting identity holds in Redis too: received = parsed + drops + merged
        drops = sum(int(v) for k, v in h.items() if k.startswith("drop_"))
        if int(h.get("received", -1)) != int(h.get("parsed", -1)) + drops + int(h.get("fragments_merged", -1)):
            bad("run %s: received %s != parsed %s + drops %d + fragments_merged %s" % (
                run, h.get("received"), h.get("parsed"), drops, h.get("fragments_merged")))
        started, ended = float(h.get("started", 0)), float(h.get("ended", 0))
        if not (0 < started <= ended):
            bad("run %s: started %s ended %s" % (run, h.get("started"), h.get("ended")))
        if int(float(score)) != int(started):
            bad("run %s: score %s is not its start %s" % (run, score, h.get("started")))
        if started < prev_end:
            bad("run %d started (%s) before run %d ended (%s)" % (i + 1, started, i, prev_end))
        prev_end = ended
        ttl = int(cli("TTL", "tw:{%s}:stats:%s" % (sensor, run))[0])
        if not (0 < ttl <= 2 * 86400):
            bad("run %s: TTL %d, expected redis.retention (2 days)" % (run, ttl))
    latest = hash_of("tw:{%s}:stats" % sensor)
    if latest.get("run") != runs[-1][0] or int(latest.get("received", -1)) != want[1]:
        bad("tw:{%s}:stats is not the latest run's: run %r received %r" % (sensor, latest.get("run"), latest.get("received")))
sys.exit(0 if ok else 1)
PY

if [ "$failures" -eq 0 ]; then
    echo "test_run_stats: two runs leave two entries, each with its own counters and times"
    exit 0
fi
echo "test_run_stats: $failures failure(s)"
exit 1
