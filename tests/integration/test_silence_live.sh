#!/usr/bin/env bash
# test_silence_live.sh BUILD_DIR - mirror_silent and mirror_back on a live interface, decided
# on the clock (control/policy/silence.h): a veth pair in a network namespace the test
# creates, a UDP frame from the switch side (sw0) every 0.1 s into the mirror side (mir0)
# where tapwatch reads, mirror_silent_after 2s. The traffic runs, stops for 5 s, runs again:
# --alerts-jsonl must hold exactly mirror_silent (2 s after the last packet, give or take the
# control loop's pace) then mirror_back (when the traffic came back), and nothing while the
# traffic ran. Needs root (netns, veth) and ip: skipped otherwise, saying so. About 12 s.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "test_silence_live: skipped: needs root for a network namespace and a veth pair"
    exit 77
fi
command -v ip >/dev/null || { echo "test_silence_live: skipped: ip (iproute2) is not installed"; exit 77; }
[ -x "$BUILD/tapwatch" ] || { echo "test_silence_live: skipped: $BUILD/tapwatch not built"; exit 77; }
NS=tw-sil-$$
TMP=$(mktemp -d /tmp/tw-silence-live.XXXXXX)
pid= ping_pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    [ -n "$ping_pid" ] && kill -9 "$ping_pid" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
if ! ip netns add "$NS" 2>/dev/null; then
    echo "test_silence_live: skipped: cannot create a network namespace here"
    exit 77
fi
in_ns() { ip netns exec "$NS" "$@"; }
{ in_ns ip link add mir0 type veth peer name sw0 && in_ns ip link set mir0 up &&
    in_ns ip link set sw0 up && in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
    in_ns ip addr add 10.77.0.1/24 dev sw0 &&
    in_ns ip neigh add 10.77.0.2 lladdr 02:00:00:00:00:09 dev sw0; } ||
    { echo "test_silence_live: skipped: cannot set up a veth pair"; exit 77; }

cat >"$TMP/policy.yaml" <<'YAML'
mirror_silent_after: 2s
equipment:
  - {name: e1, addresses: [10.77.0.9]}
YAML
# runs until killed: one UDP datagram 10.77.0.1 -> 10.77.0.2 every 0.1 s, written on sw0
cat >"$TMP/send.py" <<'PY'
import socket, struct, time
def csum(b):
    s = sum(struct.unpack("!10H", b))
    s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff
udp = struct.pack("!HHHH", 40000, 5000, 8 + 4, 0) + b"ping"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
frame = bytes.fromhex("020000000009020000000001") + b"\x08\x00" + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("sw0", 0))
while True:
    s.send(frame)
    time.sleep(0.1)
PY
traffic() {
    ip netns exec "$NS" /usr/bin/python3 "$TMP/send.py" &
    ping_pid=$!
}
now() { date +%s.%N; }

traffic
ip netns exec "$NS" "$BUILD/tapwatch" --iface mir0 --stats-interval 0 --quiet --policy "$TMP/policy.yaml" \
    --alerts-jsonl "$TMP/alerts.jsonl" >"$TMP/sum" 2>"$TMP/err" &
pid=$!
started=0
for _ in $(seq 100); do
    grep -q "no Redis configured" "$TMP/err" 2>/dev/null && { started=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ $started = 1 ] || { echo "FAIL: tapwatch did not start: $(tail -n 3 "$TMP/err")"; exit 1; }
sleep 3
kill "$ping_pid"; wait "$ping_pid" 2>/dev/null; ping_pid=
stopped=$(now)
sleep 5
restarted=$(now)
traffic
sleep 2
kill -INT "$pid"
wait "$pid"
rc=$?
pid=
kill "$ping_pid"; wait "$ping_pid" 2>/dev/null; ping_pid=
[ $rc -eq 0 ] || { echo "FAIL: tapwatch exit status $rc: $(tail -n 3 "$TMP/err")"; exit 1; }

/usr/bin/python3 - "$TMP/alerts.jsonl" "$stopped" "$restarted" <<'PY'
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
stopped, restarted = float(sys.argv[2]), float(sys.argv[3])
kinds = [a["kind"] for a in alerts]
ok = kinds == ["mirror_silent", "mirror_back"]
if ok:
    silent, back = (float(a["ts"]) for a in alerts)
    # silent: 2 s after the last packet (the last ping left just before `stopped`; the control
    # loop looks at least every 10 ms); back: once the traffic came back
    ok = stopped + 1.0 <= silent <= stopped + 3.5 and restarted - 0.5 <= back <= restarted + 2.0
    ok = ok and all(a["flow_id"] == "" and a["equipment"] == "" for a in alerts)
print("ok: mirror_silent then mirror_back" if ok else f"FAIL: {alerts} (stopped {stopped}, restarted {restarted})")
sys.exit(0 if ok else 1)
PY
res=$?
grep -q "alerts .*mirror_silent 1, mirror_back 1" "$TMP/sum" || { echo "FAIL: summary: $(grep alerts "$TMP/sum")"; res=1; }
[ $res -eq 0 ] && echo "test_silence_live: ok"
exit $res
