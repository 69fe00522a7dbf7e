#!/usr/bin/env bash
# test_iface_veth.sh BUILD_DIR - a mirror port as a veth pair in a network namespace the test
# creates: frames sent into one end (scapy) must reach tapwatch on the other end, exactly,
# through af_packet and through AF_XDP (--xdp), with 1 and 2 workers; while AF_XDP runs, an
# XDP program must really be attached (ip link shows it) and it must be gone after. A veth
# with 2 receive queues has receive-only channels, which DPDK's AF_XDP driver cannot bind:
# --xdp must say so in one line and read it through af_packet, exactly; so must a veth of MTU
# 9000, where the port is made but the kernel refuses the XDP program, and AF_XDP with more
# workers than channels (it stalls behind the software dispatch; see source_afxdp.c).
# Then the live behaviour: link down, link up and removal each give one line and a count, a
# removal ends the run with the records flushed and exit status 1; an idle worker naps instead
# of spinning (its CPU share over 3 idle seconds stays far below a spinning core's).
# Needs root (netns, veth, XDP): skipped otherwise, saying so.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "test_iface_veth: skipped: needs root for a network namespace and a veth pair"
    exit 77
fi
NS=tw-veth-$$
TMP=$(mktemp -d /tmp/tw-veth.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
if ! ip netns add "$NS" 2>/dev/null; then
    echo "test_iface_veth: skipped: cannot create a network namespace here"
    exit 77
fi
in_ns() { ip netns exec "$NS" "$@"; }
make_veth() { # [numrxqueues]
    in_ns ip link add mir0 numrxqueues "${1:-1}" type veth peer name sw0 &&
        in_ns ip link set mir0 up && in_ns ip link set sw0 up &&
        in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}
make_veth || { echo "test_iface_veth: skipped: cannot create a veth pair"; exit 77; }
fail=0

# Frames of known sizes from the switch side: 24 UDP flows, each 3 packets of 100 bytes of
# payload one way and 2 of 50 back, in Ethernet frames of 142 and 92 bytes; written once,
# replayed into sw0 by tcpreplay for each run.
/usr/bin/python3 - "$TMP/traffic.pcap" <<'PY' || { echo "test_iface_veth: skipped: scapy cannot write the capture"; exit 77; }
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
frames = []
for i in range(24):
    a, b = f"10.9.{i}.1", f"10.8.{i}.2"
    for _ in range(3):
        frames.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                      IP(src=a, dst=b) / UDP(sport=30000 + i, dport=4000) / Raw(b"x" * 100))
    for _ in range(2):
        frames.append(Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") /
                      IP(src=b, dst=a) / UDP(sport=4000, dport=30000 + i) / Raw(b"y" * 50))
wrpcap(sys.argv[1], frames)
PY
command -v tcpreplay >/dev/null || { echo "test_iface_veth: skipped: tcpreplay is not installed (scripts/install-deps.sh)"; exit 77; }
send_traffic() {
    in_ns tcpreplay -q -i sw0 "$TMP/traffic.pcap" >/dev/null 2>&1
}

start() { # name, tapwatch args...
    local name=$1; shift
    # ip netns exec execs tapwatch: $! is tapwatch itself, which SIGINT must reach
    ip netns exec "$NS" "$BUILD/tapwatch" --iface mir0 --stats-interval 0 --quiet \
        --flows-jsonl "$TMP/$name.jsonl" "$@" >"$TMP/$name.sum" 2>"$TMP/$name.err" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "no Redis configured" "$TMP/$name.err" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL $name: tapwatch did not start: $(tail -n 3 "$TMP/$name.err")"
    fail=1
    return 1
}

check_records() { # name [times the traffic was sent]
    /usr/bin/python3 - "$TMP/$1.jsonl" "${2:-1}" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
k = int(sys.argv[2])
bad = []
ours = [r for r in recs if r["ip_proto"] == 17 and 4000 in (r["src_port"], r["dst_port"])]
if len(ours) != 24:
    bad.append(f"{len(ours)} UDP flows, expected 24")
for r in ours:
    if (r["c2s_packets"], r["c2s_bytes"], r["s2c_packets"], r["s2c_bytes"]) != (3 * k, 426 * k, 2 * k, 184 * k):
        bad.append(f"{r['src_ip']}: {r['c2s_packets']}/{r['c2s_bytes']} {r['s2c_packets']}/{r['s2c_bytes']}, expected {3*k}/{426*k} {2*k}/{184*k}")
        break
print("; ".join(bad) if bad else f"ok: 24 flows exact")
sys.exit(1 if bad else 0)
PY
}

for mode in af_packet af_xdp fallback mtu9000; do
    if [ "$mode" = fallback ]; then
        in_ns ip link del mir0; make_veth 2 || { echo "FAIL: cannot make a 2-queue veth"; fail=1; break; }
    fi
    if [ "$mode" = mtu9000 ]; then
        # the port is made but the kernel refuses XDP on a veth whose peer's MTU is beyond a
        # page: --xdp must fall back all the same
        in_ns ip link del mir0
        { make_veth && in_ns ip link set sw0 mtu 9000 && in_ns ip link set mir0 mtu 9000; } ||
            { echo "FAIL: cannot make a veth of MTU 9000"; fail=1; break; }
    fi
    for workers in 1 2; do
        name=$mode.$workers
        args=(--workers "$workers")
        [ "$mode" != af_packet ] && args+=(--xdp)
        start "$name" "${args[@]}" || { kill -9 "$pid" 2>/dev/null; pid=; continue; }
        # AF_XDP with more workers than channels (af_xdp.2: the veth has one) falls back too
        if [ "$mode" = fallback ] || [ "$mode" = mtu9000 ] || [ "$name" = af_xdp.2 ]; then
            n=$(grep -c "reading it through af_packet instead" "$TMP/$name.err")
            [ "$n" -eq 1 ] || { echo "FAIL $name: expected one fall-back line, got $n:"; cat "$TMP/$name.err"; fail=1; }
        fi
        if [ "$name" = af_xdp.1 ]; then
            if grep -q "instead" "$TMP/$name.err"; then
                echo "FAIL $name: AF_XDP fell back here: $(grep instead "$TMP/$name.err")"
                fail=1
            elif ! in_ns ip link show mir0 | grep -q "prog/xdp"; then
                echo "FAIL $name: no XDP program on mir0 while tapwatch --xdp runs:"
                in_ns ip link show mir0
                fail=1
            fi
        fi
        sleep 0.2
        send_traffic || { echo "FAIL: scapy could not send"; fail=1; }
        sleep 0.5
        kill -INT "$pid"; wait "$pid"; rc=$?; pid=
        [ $rc -eq 0 ] || { echo "FAIL $name: exit $rc: $(tail -n 3 "$TMP/$name.err")"; fail=1; continue; }
        if [ "$name" = af_xdp.1 ] && in_ns ip link show mir0 | grep -q "prog/xdp"; then
            echo "FAIL $name: the XDP program is still attached after tapwatch ended"
            fail=1
        fi
        python3 tests/integration/check_flows.py summary "$TMP/$name.sum" >/dev/null ||
            { echo "FAIL $name: packet accounting:"; cat "$TMP/$name.sum"; fail=1; }
        res=$(check_records "$name") || { echo "FAIL $name: $res"; fail=1; continue; }
        echo "$name: $res ($(grep -m1 "input" "$TMP/$name.sum" | sed 's/  */ /g'))"
    done
done

# An idle worker naps: over 3 idle seconds the whole process stays far below a spinning
# core (measured here: about 4% with the default idle_sleep of 1 ms, 100% with 0).
start idle || true
if [ -n "$pid" ]; then
    sleep 1
    t0=$(awk '{s += $14 + $15} END {print s}' /proc/"$pid"/task/*/stat 2>/dev/null)
    sleep 3
    t1=$(awk '{s += $14 + $15} END {print s}' /proc/"$pid"/task/*/stat 2>/dev/null)
    share=$(( (t1 - t0) * 100 / (3 * $(getconf CLK_TCK)) ))
    echo "idle: ${share}% of a core over 3 s"
    if [ "$share" -ge 30 ]; then
        echo "FAIL idle: the workers spin (${share}% of a core with nothing to read)"
        fail=1
    fi

    # link down, up, then removal: one line each, counted; the removal ends the run
    in_ns ip link set sw0 down; sleep 0.8
    in_ns ip link set sw0 up; sleep 0.8
    send_traffic
    sleep 0.3
    in_ns ip link del mir0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "FAIL removal: tapwatch still runs 5 s after its interface was removed"
        fail=1; kill -9 "$pid"
    fi
    wait "$pid"; rc=$?; pid=
    [ $rc -eq 1 ] || { echo "FAIL removal: exit $rc, expected 1"; fail=1; }
    for what in "link down" "link up" "the interface was removed"; do
        n=$(grep -c "$what" "$TMP/idle.err")
        [ "$n" -eq 1 ] || { echo "FAIL events: '$what' said $n times, expected once"; fail=1; }
    done
    grep -q "link                 down 1, up 1, removed 1" "$TMP/idle.sum" ||
        { echo "FAIL events: summary lacks 'down 1, up 1, removed 1':"; cat "$TMP/idle.sum"; fail=1; }
    res=$(check_records idle) || { echo "FAIL removal: records not flushed: $res"; fail=1; }
    echo "events: down, up, removed said once each; exit 1; records $res"
fi
# wait_for_interface: the removed interface is waited for and read again when it is back
# (af_packet, then AF_XDP): the traffic sent before and after makes each flow exactly twice.
printf 'wait_for_interface: true\n' >"$TMP/wait.yaml"
for x in "" --xdp; do
    name=wait${x:+.xdp}
    in_ns ip link del mir0 2>/dev/null; make_veth || { echo "FAIL: cannot make the veth again"; fail=1; break; }
    start "$name" --config "$TMP/wait.yaml" $x || { kill -9 "$pid" 2>/dev/null; pid=; continue; }
    sleep 0.2; send_traffic; sleep 0.3
    in_ns ip link del mir0; sleep 0.8
    make_veth; sleep 1.2
    send_traffic; sleep 0.5
    kill -INT "$pid"; wait "$pid"; rc=$?; pid=
    [ $rc -eq 0 ] || { echo "FAIL $name: exit $rc: $(tail -n 3 "$TMP/$name.err")"; fail=1; continue; }
    grep -q "the interface is back" "$TMP/$name.err" ||
        { echo "FAIL $name: no 'interface is back' line:"; cat "$TMP/$name.err"; fail=1; }
    res=$(check_records "$name" 2) || { echo "FAIL $name: $res"; fail=1; continue; }
    echo "$name: removed and back: $res"
done
[ $fail -eq 0 ] && echo "test_iface_veth: PASS"
exit $fail
