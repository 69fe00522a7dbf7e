#!/usr/bin/env bash
# test_writer_nonblocking.sh - the Redis writers never block the control lcore.
#
# With a policy loaded (tests/integration/policy.yaml, the upload capture of
# scripts/gen_policy_captures.py looped), tapwatch runs two ways: (a) pointed at an address
# whose SYNs are dropped (an nft DROP rule in a network namespace the test makes); (b) pointed
# at a server on 127.0.0.1 that accepts and never replies. In both, the outputs' longest poll
# (the summary's `outputs longest poll`, the Redis writers' work in one control-loop turn)
# stays under 250 ms, where a blocking connect or read would take seconds (a SYN's first
# retry alone is 1 s; the mute server never answers); no event may be lost; and every flow
# record the store took must be in the spool file at exit (the summary's `redis spool ... in
# spool file N` equals the run's update + end events, and the file is there). All runs happen
# inside the namespace. (It compared packets/s with and without Redis before: a timed test,
# which a busy machine failed; the property it stood for is this one.)
#
#   bash tests/integration/test_writer_nonblocking.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (not root, no ip netns or nft, no scapy, no binaries).
set -uo pipefail

build=${1:-build}
tw=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
policy=$here/policy.yaml
loops=${TW_NB_LOOPS:-3000}

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (ip netns, nft)"; exit 77; }
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || { echo "skip: ip netns unavailable"; exit 77; }
command -v nft >/dev/null || { echo "skip: nft not installed (apt-get install nftables)"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }
[ -x "$tw" ] || { echo "skip: $tw not built"; exit 77; }
case "$tw" in /*) ;; *) tw=$root/$tw ;; esac

ns=twnb$$
tmp=$(mktemp -d /tmp/tw-nonblock.XXXXXX)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
inns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" || { echo "skip: cannot create a network namespace"; exit 77; }
inns ip link set lo up
inns ip addr add 192.0.2.1/32 dev lo
# (a): SYNs to 192.0.2.1:6379 vanish, as behind a firewall that drops them
inns nft add table inet twnb &&
    inns nft add chain inet twnb input '{ type filter hook input priority 0; }' &&
    inns nft add rule inet twnb input ip daddr 192.0.2.1 tcp dport 6379 drop ||
    { echo "skip: nft cannot add a DROP rule in the namespace"; exit 77; }
# (b): a server that accepts and never replies (it reads, so the client is never pushed back);
# run without the shell function, so that $! is the server itself (ip netns exec execs it)
ip netns exec "$ns" /usr/bin/python3 -c '
import select, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 6380)); s.listen(64)
conns = [s]
while True:
    for c in select.select(conns, [], [])[0]:
        if c is s:
            conns.append(s.accept()[0])
        elif not c.recv(65536):
            conns.remove(c); c.close()
' &
server_pid=$!

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/caps" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py: $(tail -3 "$tmp/gen.log")"; exit 1; }
cap=$tmp/caps/upload.pcap

# run NAME URL: one run; its summary in $tmp/NAME.sum, stderr in $tmp/NAME.err
run() {
    local name=$1 url=$2 args=()
    mkdir -p "$tmp/$name"
    cat >"$tmp/$name/c.yaml" <<YAML
run_dir: $tmp/$name/run
redis:
  buffer: 256
  batch: 64
  flush_interval: 20ms
  spool_file_records: 10000000
  drain_timeout: 500ms
YAML
    [ -n "$url" ] && args=(--redis "$url")
    inns "$tw" --pcap "$cap" --loop "$loops" --config "$tmp/$name/c.yaml" --policy "$policy" \
        --sensor "nb-$name" --stats-interval 0 "${args[@]}" >"$tmp/$name.sum" 2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
}

run drop1 "redis://192.0.2.1:6379"
run mute1 "redis://127.0.0.1:6380"
grep -q '^ *outputs *longest poll' "$tmp/drop1.sum" ||
    { echo "FAIL: no 'outputs longest poll' in the summary: $(head -c 600 "$tmp/drop1.err")"; exit 1; }

# each run with Redis: the writers never held the loop, nothing lost, every record it took in
# the spool file
for name in drop1 mute1; do
    sum=$tmp/$name.sum
    longest=$(sed -n 's/^ *outputs *longest poll \([0-9.]*\) ms.*/\1/p' "$sum")
    echo "    $name: outputs' longest poll ${longest:-?} ms"
    awk -v l="${longest:-99999}" 'BEGIN{exit !(l < 250)}' ||
        fail "$name: the outputs' longest poll took ${longest:-?} ms (a writer blocked on Redis?)"
    read -r upd end lost < <(sed -n 's/^ *events .*update \([0-9]*\), end \([0-9]*\), lost \([0-9]*\).*/\1 \2 \3/p' "$sum")
    spooled=$(sed -n 's/^ *redis spool .*in spool file \([0-9]*\),.*/\1/p' "$sum")
    [ "${lost:-x}" = 0 ] || fail "$name: events lost ${lost:-?} (the control loop stalled)"
    [ -n "${spooled:-}" ] && [ "$spooled" -eq $((upd + end)) ] ||
        fail "$name: ${spooled:-?} records in the spool file for $upd updates + $end ends"
    [ -s "$tmp/$name/run/redis-spool-nb-$name.dat" ] || fail "$name: no spool file"
    grep -q 'not written 0, dropped (buffer full) 0' "$sum" ||
        fail "$name: $(grep '^ *redis ' "$sum")"
done

echo "    spool: $(sed -n 's/^ *redis spool *//p' "$tmp/drop1.sum") (drop1);" \
     "$(sed -n 's/^ *events *//p' "$tmp/drop1.sum")"

if [ "$failures" -gt 0 ]; then
    echo "FAIL: test_writer_nonblocking ($failures)"
    exit 1
fi
echo "PASS: test_writer_nonblocking"
