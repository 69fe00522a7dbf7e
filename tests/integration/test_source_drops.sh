#!/usr/bin/env bash
# test_source_drops.sh BUILD_DIR - frames lost below tapwatch reach the summary. On a veth
# pair this test creates, tapwatch watches one end (--iface, net_af_packet); the test stops
# it (SIGSTOP) and floods the other end with more frames than the kernel's packet ring holds,
# so the kernel drops the rest and counts them in the socket's PACKET_STATISTICS; then it
# resumes it and ends the run. The summary's "lost below us" line must show those drops as
# imissed, and received + imissed must account for every frame sent; the live stats line
# shows them too, and so does tw:{S}:stats in Redis (when redis-server is installed).
# Needs root: skipped otherwise.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "test_source_drops: skipped: needs root to create a veth pair"
    exit 77
fi
TMP=$(mktemp -d /tmp/tw-drops.XXXXXX)
IF=twdr$$; PEER=twds$$
pid=
redis_local=scripts/redis-local.sh
trap '[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
      bash "$redis_local" stop "$TMP/r" >/dev/null 2>&1
      ip link del "$IF" 2>/dev/null; rm -rf "$TMP"' EXIT
if ! ip link add "$IF" type veth peer name "$PEER" 2>"$TMP/ip.err"; then
    echo "test_source_drops: skipped: cannot create a veth pair: $(cat "$TMP/ip.err")"
    exit 77
fi
# no IPv6 on the pair: its own router solicitations would be frames we did not send
sysctl -qw "net.ipv6.conf.$IF.disable_ipv6=1" "net.ipv6.conf.$PEER.disable_ipv6=1" 2>/dev/null
ip link set "$IF" up && ip link set "$PEER" up
SENT=20000
redis=()
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    sock=$(bash "$redis_local" start "$TMP/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
    redis=(--redis "unix://$sock" --sensor "drops-$$")
else
    echo "note: redis-server not installed: tw:{S}:stats not checked"
fi

"$BUILD/tapwatch" --iface "$IF" --workers 1 --stats-interval 1 "${redis[@]}" \
    >"$TMP/sum" 2>"$TMP/err" &
pid=$!
for _ in $(seq 100); do # ready once the live line runs (the port is started before it)
    grep -q " packets " "$TMP/err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -STOP "$pid"
/usr/bin/python3 - "$PEER" "$SENT" <<'PY'
import socket, struct, sys
ifname, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
payload = b"d" * 64
for i in range(n):
    udp = struct.pack("!HHHH", 40000 + i % 1000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                     bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp)
PY
sleep 0.2
kill -CONT "$pid"
sleep 2.5 # a live line after the flood
kill -INT "$pid"
wait "$pid"; rc=$?; pid=
if [ $rc -ne 0 ]; then
    echo "FAIL: tapwatch exited $rc:"; cat "$TMP/err"; exit 1
fi
line=$(grep "lost below us" "$TMP/sum")
received=$(awk '/^  packets received/ {print $3}' "$TMP/sum")
imissed=$(echo "$line" | sed -n 's/.*imissed \([0-9]*\).*/\1/p')
if [ -z "$line" ] || [ -z "$imissed" ] || [ "$imissed" -eq 0 ]; then
    echo "FAIL: $SENT frames into a stopped reader, but the summary shows no kernel drops:"
    cat "$TMP/sum"; exit 1
fi
# the kernel may also have let a few frames of its own through; none of ours is unaccounted
if [ $((received + imissed)) -lt "$SENT" ]; then
    echo "FAIL: received $received + imissed $imissed < $SENT frames sent"; cat "$TMP/sum"; exit 1
fi
echo "ok   $SENT frames sent to a stopped reader: received $received, imissed $imissed"
live=$(grep " packets " "$TMP/err" | tail -1)
case "$live" in
*" imissed $imissed ierrors "*" rx_nombuf "*) echo "ok   live line: ${live#* info tapwatch: }" ;;
*) echo "FAIL: the last live line does not show imissed $imissed: $live"; exit 1 ;;
esac
if [ ${#redis[@]} -gt 0 ]; then
    got=$(redis-cli -s "$sock" hmget "tw:{drops-$$}:stats" imissed ierrors rx_nombuf | tr '\n' ' ')
    if [ "$got" != "$imissed 0 0 " ]; then
        echo "FAIL: tw:{drops-$$}:stats imissed ierrors rx_nombuf = '$got', expected '$imissed 0 0 '"
        exit 1
    fi
    echo "ok   tw:{S}:stats imissed ierrors rx_nombuf: $got"
fi
echo "test_source_drops: PASS"
