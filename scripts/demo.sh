#!/usr/bin/env bash
# demo.sh BUILD_DIR - the main job on the bundled sample capture, end to end:
# a private redis-server (unix socket in run/demo, no TCP port), the generated sample
# capture of a bank branch, tapwatch over it, then a regulator's query.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
RUN=run/demo
mkdir -p "$RUN"

echo "== private redis-server"
sock=$(bash scripts/redis-local.sh start "$RUN")
echo "   $sock"

echo "== sample capture (a bank branch, 10 minutes ending now)"
start=$(( $(date +%s) - 15 * 60 ))
/usr/bin/python3 scripts/gen_captures.py --start "$start" "$RUN/captures" >/dev/null
capinfos -c -u "$RUN/captures/sample.pcap" 2>/dev/null | sed -n 's/^\(Number of packets\|Capture duration\)/   &/p' || true

# a fresh start for the demo's sensor, so a second `make demo` shows one run's alerts
redis-cli -s "$sock" --scan --pattern 'tw:{demo}:*' | xargs -r redis-cli -s "$sock" del >/dev/null

echo "== tapwatch --pcap $RUN/captures/sample.pcap"
"$BUILD/tapwatch" --pcap "$RUN/captures/sample.pcap" --config config/tapwatch.yaml \
    --policy config/policy.yaml --redis "unix://$sock" --sensor demo \
    --flows-jsonl "$RUN/flows.jsonl" --alerts-jsonl "$RUN/alerts.jsonl" --quiet

echo
echo "== regulator query: the 10 newest flows of the last hour"
"$BUILD/tapwatch-query" --redis "unix://$sock" --sensor demo flows --since -1h --limit 10
echo
echo "== regulator query: DNS flows, as JSON (first 3)"
"$BUILD/tapwatch-query" --redis "unix://$sock" --sensor demo flows --app DNS --limit 3 --format json

echo
echo "== regulator query: alerts raised by the monitoring rules (config/policy.yaml)"
"$BUILD/tapwatch-query" --redis "unix://$sock" --sensor demo alerts --limit 10

cat <<MSG

The private Redis keeps running so that you can ask more, e.g.
  $BUILD/tapwatch-query --redis unix://$sock --sensor demo flows --ip 10.0.0.0/8 --port 443
Stop it with: bash scripts/redis-local.sh stop $RUN
MSG
