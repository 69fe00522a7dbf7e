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

echo
echo "== the regulator's console (tapwatch-console) on the same Redis"
con=$RUN/console
mkdir -p "$con"
if [ -f "$con/pid" ] && kill -0 "$(cat "$con/pid")" 2>/dev/null; then
    kill "$(cat "$con/pid")" 2>/dev/null || true # the previous demo's console
    sleep 0.3
fi
# a self-signed pair (the browser will ask to accept it) and a fresh password for "regulator"
[ -f "$con/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$con/key.pem" \
    -out "$con/cert.pem" -days 30 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    >/dev/null 2>&1
chmod 600 "$con/key.pem"
password=$(openssl rand -base64 12 | tr -d '/+=')
rm -f "$con/users"
printf '%s\n' "$password" | "$BUILD/tapwatch-console" passwd regulator --users "$con/users" 2>/dev/null
port=8443
if ! /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",8443))' 2>/dev/null; then
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
equipment=$(awk '/^ *- name:/ {printf "%s%s", sep, $3; sep=","}' config/policy.yaml)
nohup "$BUILD/tapwatch-console" --listen "127.0.0.1:$port" --redis "unix://$sock" --sensor demo \
    --users "$con/users" --cert "$con/cert.pem" --key "$con/key.pem" \
    ${equipment:+--equipment "$equipment"} >"$con/console.log" 2>&1 &
echo $! >"$con/pid"
sleep 0.5
kill -0 "$(cat "$con/pid")" 2>/dev/null || { echo "   console failed:"; cat "$con/console.log"; }
echo "   URL       https://127.0.0.1:$port/   (self-signed certificate: $con/cert.pem)"
echo "   user      regulator"
echo "   password  $password"

cat <<MSG

The private Redis and the console keep running so that you can ask more, e.g.
  $BUILD/tapwatch-query --redis unix://$sock --sensor demo flows --ip 10.0.0.0/8 --port 443
  https://127.0.0.1:$port/flows?since=-1h&app=DNS
Stop them with: kill \$(cat $con/pid); bash scripts/redis-local.sh stop $RUN
MSG
