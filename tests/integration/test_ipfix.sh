#!/usr/bin/env bash
# test_ipfix.sh - --ipfix exports every finished flow to a real IPFIX collector.
#
# A real nfcapd (Debian's nfdump) listens on 127.0.0.1 and repeats every datagram (-R) to a
# small receiver that writes them to a pcap (udp_to_pcap.py). tapwatch replays sample.pcap
# (TCP, UDP and ICMP over IPv4 and IPv6, a VLAN) with --ipfix and --flows-jsonl, paced
# (--replay-speed) so that the run outlasts a 1 s template interval. Then check_ipfix.py:
#   - `nfdump -r` lists every flow of --flows-jsonl with the same 5-tuple, VLAN, first and last
#     seen (ms), and packets and bytes each way (biflow: nfdump's in = client to server,
#     out = the reverse elements), no more, no fewer;
#   - tshark's IPFIX decoder (nfdump does not show IE 96) finds each flow's applicationName,
#     its applicationId (engine 20 PANA-L7-PEN, PEN 35632, nDPI's id), flowEndReason, the
#     sequence numbers of RFC 7011 (data records before the message) and the templates sent
#     again on the timer;
#   - nfcapd itself saw no sequence error.
# A collector that is not listening is counted and told, and the run exits 1.
#
#   bash tests/integration/test_ipfix.sh BUILD_DIR
# Exit 0 pass, 1 fail, 77 skip (no binary, nfdump, tshark or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
for tool in nfcapd nfdump tshark; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed (nfdump, tshark)"; exit 77; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-ipfix.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi

# two free UDP ports on 127.0.0.1: the collector's and the receiver's
read -r port rport < <(/usr/bin/python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

/usr/bin/python3 "$here/udp_to_pcap.py" "$rport" "$port" "$tmp/export.pcap" "$tmp/ready" \
    2>"$tmp/receiver.err" &
pids+=($!)
receiver=$!
mkdir -p "$tmp/nf"
nfcapd -b 127.0.0.1 -p "$port" -w "$tmp/nf" -t 3600 -R "127.0.0.1/$rport" >"$tmp/nfcapd.log" 2>&1 &
pids+=($!)
nfcapd_pid=$!
# ready when the receiver has bound and nfcapd holds its port (a bind to it fails)
for _ in $(seq 100); do
    if [ -f "$tmp/ready" ] && ! /usr/bin/python3 -c '
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' \
        "$port" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
kill -0 "$nfcapd_pid" 2>/dev/null || { echo "FAIL: nfcapd did not start:"; cat "$tmp/nfcapd.log"; exit 1; }

# templates every second; sample.pcap's 10 minutes at 300x last 2 s: at least 2 template messages
printf 'ipfix:\n  template_interval: 1s\n  observation_domain: 7\n' >"$tmp/tapwatch.yaml"
timeout 60 "$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/tapwatch.yaml" --quiet \
    --replay-speed 300 --flows-jsonl "$tmp/flows.jsonl" --ipfix "127.0.0.1:$port" \
    >"$tmp/summary" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "tapwatch exited $rc: $(head -c 600 "$tmp/err")"
ipfix_line=$(grep -E '^  ipfix ' "$tmp/summary")
echo "summary:${ipfix_line#  ipfix}"
ends=$(grep -c '"event":"end"' "$tmp/flows.jsonl")
echo "$ipfix_line" | grep -qE "^  ipfix +$ends records in [0-9]+ messages \(([2-9]|[1-9][0-9]+) of templates\) to 127.0.0.1:$port$" ||
    fail "summary: expected '$ends records in N messages (2 or more of templates)', got '$ipfix_line'"

# nfcapd writes its file at SIGTERM; the receiver closes its pcap
sleep 0.3
kill "$nfcapd_pid" "$receiver"
wait "$nfcapd_pid" "$receiver" 2>/dev/null
nffile=$(ls "$tmp"/nf/nfcapd.2* 2>/dev/null | head -1)
[ -n "$nffile" ] || { echo "FAIL: nfcapd wrote no file:"; cat "$tmp/nfcapd.log"; exit 1; }
grep -q "Sequence Errors: 0," "$tmp/nfcapd.log" ||
    fail "nfcapd: $(grep -E 'Sequence Errors' "$tmp/nfcapd.log")"
grep -q "Observation domain 7 " "$tmp/nfcapd.log" ||
    fail "nfcapd did not see observation domain 7: $(grep -i 'domain' "$tmp/nfcapd.log")"

TZ=UTC nfdump -6 -N -q -r "$nffile" \
    -o "fmt:%ts|%te|%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt|%svln" >"$tmp/nfdump.txt" 2>&1 ||
    fail "nfdump -r failed: $(head -c 300 "$tmp/nfdump.txt")"
tshark -r "$tmp/export.pcap" -V -d "udp.port==$port,cflow" >"$tmp/tshark.txt" 2>"$tmp/tshark.err" ||
    fail "tshark failed: $(head -c 300 "$tmp/tshark.err")"
/usr/bin/python3 "$here/check_ipfix.py" "$tmp/flows.jsonl" "$tmp/nfdump.txt" "$tmp/tshark.txt" 2 ||
    failures=$((failures + 1))

# A collector that does not listen: the kernel's ICMP port unreachable is counted, told in
# one line, and the run exits 1 (records were lost).
timeout 60 "$tapwatch" --pcap "$tmp/cap/sample.pcap" --quiet --replay-speed 600 \
    --ipfix "127.0.0.1:$rport" >"$tmp/summary2" 2>"$tmp/err2"
rc=$?
[ $rc -eq 1 ] || fail "no collector: tapwatch exited $rc, expected 1"
if grep -q "tapwatch: IPFIX collector 127.0.0.1:$rport: .*ICMP port unreachable" "$tmp/err2"; then
    echo "no collector: $(grep 'IPFIX collector' "$tmp/err2")"
else
    fail "no collector: no line says so: $(cat "$tmp/err2")"
fi

if [ $failures -ne 0 ]; then
    echo "test_ipfix: $failures failure(s)"
    exit 1
fi
echo "test_ipfix: ok"
