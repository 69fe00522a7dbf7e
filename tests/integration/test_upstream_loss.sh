#!/usr/bin/env bash
# test_upstream_loss.sh - loss upstream of the sensor, estimated from TCP
# (scripts/gen_loss_captures.py):
#   - clean.pcap (a download whose sequence numbers wrap, a hole that a retransmission fills,
#     a flow joined mid-stream, an unanswered SYN): 0 gap bytes, 0 one-way flows;
#   - loss.pcap (5 segments of 1000 bytes cut out while their ACKs remain, 3 flows seen one
#     way): exactly 5000 gap bytes, 3 one-way flows, the acknowledged bytes and ended TCP
#     flows of expected.json; the same with 2 workers;
#   - the summary line, the live line (" upstream-loss N%") and tw:{S}:stats in Redis carry
#     them;
#   - a few captures of ../shared/pcaps/ndpi when present: their estimate is printed only.
#
#   bash tests/integration/test_upstream_loss.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no binary, scapy or redis-server).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-uploss.XXXXXX)
trap 'bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

if ! /usr/bin/python3 "$root/scripts/gen_loss_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_loss_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
exp=$tmp/cap/expected.json
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
sensor=uploss-$$
cat >"$tmp/redis.yaml" <<YAML
redis:
  url: unix://$sock
run_dir: $tmp/run
YAML
printf 'workers: 2\n' >"$tmp/w2.yaml"

# check NAME CAPTURE SUMMARY: the summary's upstream-loss line against expected.json
check() {
    python3 - "$exp" "$2" "$3" <<'PY'
import json, re, sys
want = json.load(open(sys.argv[1]))[sys.argv[2]]
text = open(sys.argv[3]).read()
m = re.search(r"^  upstream loss +[\d.]+% of acknowledged TCP bytes never seen \((\d+) of (\d+)\), "
              r"TCP flows seen one way (\d+) of (\d+) ", text, re.M)
if not m:
    print("no upstream loss line in the summary")
    sys.exit(1)
got = dict(zip(("tcp_gap_bytes", "tcp_acked_bytes", "tcp_flows_one_way", "tcp_flows_ended"),
               map(int, m.groups())))
bad = ["%s %d, expected %d" % (k, got[k], want[k]) for k in want if got[k] != want[k]]
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
}

for cap in clean.pcap loss.pcap; do
    for cfg in "" w2; do
        name=$cap${cfg:+-$cfg}
        if ! timeout 60 "$tapwatch" --pcap "$tmp/cap/$cap" ${cfg:+--config "$tmp/$cfg.yaml"} --quiet \
                >"$tmp/$name.sum" 2>"$tmp/$name.err"; then
            fail "$name: tapwatch: $(head -c 600 "$tmp/$name.err")"
            continue
        fi
        res=$(check "$name" "$cap" "$tmp/$name.sum") || fail "$name: $res"
    done
done

# tw:{S}:stats holds the counters of the run
if ! timeout 60 "$tapwatch" --pcap "$tmp/cap/loss.pcap" --config "$tmp/redis.yaml" --sensor "$sensor" \
        --quiet >"$tmp/redis.sum" 2>"$tmp/redis.err"; then
    fail "loss.pcap into Redis: $(head -c 600 "$tmp/redis.err")"
else
    for k in tcp_gap_bytes tcp_acked_bytes tcp_flows_one_way tcp_flows_ended; do
        want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["loss.pcap"][sys.argv[2]])' "$exp" "$k")
        got=$(redis-cli -s "$sock" --raw HGET "tw:{$sensor}:stats" "$k")
        [ "$got" = "$want" ] || fail "tw:{$sensor}:stats $k: '$got', expected $want"
    done
fi

# the live line: loss.pcap at 1.5% of its pace lasts about 1.6 s, so one line is printed
timeout 60 "$tapwatch" --pcap "$tmp/cap/loss.pcap" --replay-speed 0.015 \
    >"$tmp/live.sum" 2>"$tmp/live.err" || fail "live run: $(head -c 600 "$tmp/live.err")"
grep -Eq "tapwatch: .* upstream-loss ([0-9]+\.[0-9]%|-)" "$tmp/live.err" ||
    fail "no ' upstream-loss N%' on the live line: $(grep -m1 'packets' "$tmp/live.err")"

# real captures, when the shared ones are here: the estimate, for the reader
ndpi=$root/../shared/pcaps/ndpi
[ -d "$ndpi" ] || ndpi=/work/shared/pcaps/ndpi
if [ -d "$ndpi" ]; then
    for f in http.pcapng tls_verylong_certificate.pcap iphone.pcap 1kxun.pcap; do
        [ -f "$ndpi/$f" ] || continue
        timeout 60 "$tapwatch" --pcap "$ndpi/$f" --quiet >"$tmp/ndpi.sum" 2>/dev/null || continue
        echo "  $f: $(sed -n 's/^  upstream loss *//p' "$tmp/ndpi.sum")"
    done
fi

if [ $failures -ne 0 ]; then
    echo "test_upstream_loss: $failures failure(s)"
    exit 1
fi
echo "test_upstream_loss: ok (5000 gap bytes and 3 one-way flows found, none in the clean capture)"
