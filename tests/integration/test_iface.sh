#!/usr/bin/env bash
# test_iface.sh BUILD_DIR - live traffic through the real DPDK EAL and its net_af_packet
# driver (the --iface path a mirror port uses), on the loopback interface: tapwatch runs
# with 1 and then 2 workers (two af_packet queues with the software dispatch), UDP and TCP
# conversations with known sizes go over lo, SIGINT ends the run, and the flow records
# must hold exactly those packets and bytes. Also proves the static build kept the driver.
# Needs CAP_NET_RAW (root): skipped otherwise, saying so.
# TW_RUN_AS, when set, is a command that runs tapwatch (test_iface_caps.sh: setpriv as an
# unprivileged user with the service unit's capabilities); TW_RUN_AS_OWNER then owns the
# temporary folder, so that this user can write its JSON lines there.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "test_iface: skipped: needs root for an af_packet socket on lo"
    exit 77
fi
TMP=$(mktemp -d /tmp/tw-iface.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
fail=0
read -r -a run_as <<<"${TW_RUN_AS:-}"
[ -n "${TW_RUN_AS_OWNER:-}" ] && chown "$TW_RUN_AS_OWNER" "$TMP"

# 5 datagrams of 100 bytes one way and 3 of 50 back (UDP); a TCP connection that sends 1200
# bytes and gets 600 back. Ports are random so that other traffic on lo cannot match. Every
# frame stays below net_af_packet's 2048-byte frame size (lo's MTU is 64 KiB: the kernel
# would cut a bigger frame, and the cut frame would be a drop_ip_bad_total_len).
traffic() { # udp_a udp_b tcp_port
    /usr/bin/python3 - "$@" <<'EOF'
import socket, sys, time
ua, ub, tp = (int(x) for x in sys.argv[1:4])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", ua))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", ub))
for _ in range(5):
    a.sendto(b"x" * 100, ("127.0.0.1", ub)); time.sleep(0.005)
for _ in range(3):
    b.sendto(b"y" * 50, ("127.0.0.1", ua)); time.sleep(0.005)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", tp)); srv.listen(1)
c = socket.create_connection(("127.0.0.1", tp)); s, _ = srv.accept()
c.sendall(b"q" * 1200)
got = b""
while len(got) < 1200:
    got += s.recv(4096)
s.sendall(b"r" * 600)
got = b""
while len(got) < 600:
    got += c.recv(4096)
c.close(); s.close(); srv.close()
time.sleep(0.2)
EOF
}

for workers in 1 2; do
    ua=$((20000 + RANDOM % 20000)); ub=$((ua + 1)); tp=$((ua + 2))
    "${run_as[@]}" "$BUILD/tapwatch" --iface lo --workers "$workers" --quiet --stats-interval 0 \
        --flows-jsonl "$TMP/flows.$workers.jsonl" >"$TMP/sum.$workers" 2>"$TMP/err.$workers" &
    pid=$!
    # ready once DPDK has started the port (the no-store notice comes after it)
    for _ in $(seq 100); do
        grep -q "no Redis configured" "$TMP/err.$workers" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "FAIL $workers worker(s): tapwatch --iface lo did not start:"
        tail -n 5 "$TMP/err.$workers"
        fail=1; pid=; continue
    fi
    sleep 0.3
    traffic "$ua" "$ub" "$tp" || { echo "FAIL: the traffic generator failed"; fail=1; }
    kill -INT "$pid"
    wait "$pid"; rc=$?; pid=
    if [ $rc -ne 0 ]; then
        echo "FAIL $workers worker(s): exit $rc after SIGINT: $(tail -n 3 "$TMP/err.$workers")"
        fail=1; continue
    fi
    python3 tests/integration/check_flows.py summary "$TMP/sum.$workers" >/dev/null ||
        { echo "FAIL $workers worker(s): packet accounting:"; cat "$TMP/sum.$workers"; fail=1; }
    # lo hands af_packet every frame twice (sent and received): k is 1 or 2, the same for all
    res=$(/usr/bin/python3 - "$TMP/flows.$workers.jsonl" "$ua" "$ub" "$tp" <<'EOF'
import json, sys
path, ua, ub, tp = sys.argv[1], *(int(x) for x in sys.argv[2:5])
recs = [json.loads(l) for l in open(path)]
def flow(proto, ports):
    return [r for r in recs if r["ip_proto"] == proto and {r["src_port"], r["dst_port"]} == ports]
bad = []
udp = flow(17, {ua, ub})
if len(udp) != 1:
    bad.append(f"UDP {ua}<->{ub}: {len(udp)} records, expected 1")
else:
    u = udp[0]
    k = u["c2s_packets"] // 5 if u["c2s_packets"] in (5, 10) else 0
    if not k or (u["c2s_packets"], u["s2c_packets"]) != (5 * k, 3 * k):
        bad.append(f"UDP packets {u['c2s_packets']}/{u['s2c_packets']}, expected 5/3 (or 10/6 on lo)")
    # Ethernet 14 + IP 20 + UDP 8 around each payload
    elif (u["c2s_bytes"], u["s2c_bytes"]) != (5 * k * 142, 3 * k * 92):
        bad.append(f"UDP bytes {u['c2s_bytes']}/{u['s2c_bytes']}, expected {5*k*142}/{3*k*92}")
    if u["src_port"] != ua:
        bad.append(f"UDP client is port {u['src_port']}, expected {ua} (it spoke first)")
tcp = [r for r in recs if r["ip_proto"] == 6 and tp in (r["src_port"], r["dst_port"])]
if len(tcp) != 1:
    bad.append(f"TCP port {tp}: {len(tcp)} records, expected 1")
else:
    t = tcp[0]
    if t["dst_port"] != tp:
        bad.append(f"TCP server port {t['dst_port']}, expected {tp}")
    if t["end_reason"] not in ("tcp_close", "shutdown"):
        bad.append(f"TCP end_reason {t['end_reason']}")
    # payload bytes alone, without headers, are a lower bound of the wire bytes
    if t["c2s_bytes"] < 1200 or t["s2c_bytes"] < 600:
        bad.append(f"TCP bytes {t['c2s_bytes']}/{t['s2c_bytes']}, expected >= 1200/600")
print("; ".join(bad) if bad else f"ok: {len(recs)} records")
sys.exit(1 if bad else 0)
EOF
) || { echo "FAIL $workers worker(s): $res"; fail=1; continue; }
    echo "$workers worker(s): $res"
done
[ $fail -eq 0 ] && echo "test_iface: PASS"
exit $fail
