#!/usr/bin/env bash
# test_workers.sh BUILD_DIR - the flow records of a capture are the same whatever the worker
# count: 1 worker reading the file, or 2 and 3 workers with worker 0 spreading the packets by
# the symmetric address-pair hash. Also checks every packet is accounted for under dispatch.
# The fragmented captures (scripts/gen_frag_captures.py) too: a datagram's fragments meet in
# the worker that owns its address pair, which reassembles them.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d /tmp/tw-workers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 scripts/gen_captures.py "$TMP/cap" >/dev/null || { echo "gen_captures failed"; exit 1; }
/usr/bin/python3 scripts/gen_frag_captures.py "$TMP/cap" >/dev/null || { echo "gen_frag_captures failed"; exit 1; }

fail=0
for cap in sample.pcap timeouts.pcap vlan.pcap ipv6ext.pcap ipv4opts_frag.pcap frag.pcap \
           hostile_overlap.pcap hostile_duplicates.pcap; do
    for w in 1 2 3; do
        if ! "$BUILD/tapwatch" --pcap "$TMP/cap/$cap" --workers "$w" --quiet --stats-interval 0 \
            --flows-jsonl "$TMP/$cap.$w.jsonl" >"$TMP/$cap.$w.sum" 2>"$TMP/$cap.$w.err"; then
            echo "FAIL $cap with $w workers: exit non-zero: $(tail -n 2 "$TMP/$cap.$w.err")"
            fail=1
            continue
        fi
        python3 tests/integration/check_flows.py summary "$TMP/$cap.$w.sum" >/dev/null ||
            { echo "FAIL $cap with $w workers: packet accounting"; fail=1; }
    done
    n=$(wc -l < "$TMP/$cap.1.jsonl")
    [ "$n" -gt 0 ] || { echo "FAIL $cap: no flows at all"; fail=1; }
    for w in 2 3; do
        # same records, in any order (workers end flows in their own order)
        if ! diff <(sort "$TMP/$cap.1.jsonl") <(sort "$TMP/$cap.$w.jsonl") >"$TMP/diff"; then
            echo "FAIL $cap: records differ between 1 and $w workers:"
            head -n 6 "$TMP/diff"
            fail=1
        fi
    done
    echo "$cap: $n flows, identical with 1, 2 and 3 workers"
done
# A multi-queue source: a net_pcap port with one receive queue per worker (DPDK reads queue q
# from the q-th rx_pcap file), each worker reading its own queue. The records must still be
# those of one worker: a packet read by a worker that does not own its address pair is
# redirected to the owner. (1) every packet on the last queue: all the others' flows are
# redirected, in order: the records equal the 1-worker replay's but for the times, the end
# reason (a port ends by SIGINT) and the flow id (made from the first time). (2) each
# direction on its own queue (as VXLAN's outer source ports, or RSS on outer headers, do):
# one record per flow with all its packets and bytes, never two halves (frag.pcap).
cat >"$TMP/mq.yaml" <<'YAML'
mbufs: 65535
YAML
/usr/bin/python3 - "$TMP" <<'PY'
import struct, sys
tmp = sys.argv[1]
for cap in ("sample.pcap", "frag.pcap"):
    data = open(f"{tmp}/cap/{cap}", "rb").read()
    hdr, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        recs.append(data[off:off + 16 + incl])
        off += 16 + incl
    open(f"{tmp}/{cap}.empty", "wb").write(hdr)
    def l3(rec):  # source and destination address of an Ethernet frame, possibly VLAN-tagged
        f = rec[16:]
        o = 12
        while struct.unpack_from(">H", f, o)[0] in (0x8100, 0x88A8):
            o += 4
        et = struct.unpack_from(">H", f, o)[0]
        ip = f[o + 2:]
        return (ip[12:16], ip[16:20]) if et == 0x0800 else (ip[8:24], ip[24:40]) if et == 0x86DD else (b"", b"")
    a = [r for r in recs if l3(r)[0] <= l3(r)[1]]
    b = [r for r in recs if l3(r)[0] > l3(r)[1]]
    open(f"{tmp}/{cap}.dir0", "wb").write(hdr + b"".join(a))
    open(f"{tmp}/{cap}.dir1", "wb").write(hdr + b"".join(b))
PY
port_run() { # NAME WORKERS RX_PCAP_FILES...: records in $TMP/NAME.jsonl
    local name=$1 w=$2 vdev=net_pcap0
    shift 2
    for f in "$@"; do vdev+=",rx_pcap=$f"; done
    "$BUILD/tapwatch" --port 0 --workers "$w" --config "$TMP/mq.yaml" --quiet --stats-interval 0 \
        --flows-jsonl "$TMP/$name.jsonl" -- --no-huge -m 1024 --no-pci --no-shconf --no-telemetry \
        --vdev "$vdev" >"$TMP/$name.sum" 2>"$TMP/$name.err" &
    local pid=$! i
    for i in $(seq 50); do # the files are read in well under a second once EAL runs
        grep -q "no Redis configured" "$TMP/$name.err" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    sleep 2
    kill -INT $pid 2>/dev/null
    wait $pid || { echo "FAIL $name: exit non-zero: $(tail -n 2 "$TMP/$name.err")"; fail=1; return 1; }
    python3 tests/integration/check_flows.py summary "$TMP/$name.sum" >/dev/null ||
        { echo "FAIL $name: packet accounting:"; cat "$TMP/$name.sum"; fail=1; return 1; }
    grep -q "drop_dispatch_full" "$TMP/$name.sum" && { echo "FAIL $name: redirect ring full"; fail=1; return 1; }
    return 0
}
same_records() { # MODE A.jsonl B.jsonl: exact (but times) or totals (per unordered flow)
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
mode, pa, pb = sys.argv[1:4]
def load(p):
    out = {}
    for line in open(p):
        r = json.loads(line)
        ends = sorted([(r["src_ip"], r["src_port"]), (r["dst_ip"], r["dst_port"])])
        k = (tuple(ends), r["ip_proto"], r["vlan"])
        if mode == "exact":
            for f in ("first_seen", "last_seen", "flow_id", "end_reason"):
                r.pop(f)
            v = json.dumps(r, sort_keys=True)
        else:
            v = (r["c2s_packets"] + r["s2c_packets"], r["c2s_bytes"] + r["s2c_bytes"])
        out.setdefault(k, []).append(v)
    return out
a, b = load(pa), load(pb)
bad = [k for k in set(a) | set(b) if sorted(map(str, a.get(k, []))) != sorted(map(str, b.get(k, [])))]
for k in bad[:5]:
    print(f"  {k}: {a.get(k)} != {b.get(k)}")
sys.exit(1 if bad else 0)
PY
}
for cap in sample.pcap frag.pcap; do
    for w in 2 3; do
        files=()
        for q in $(seq 2 "$w"); do files+=("$TMP/$cap.empty"); done
        if port_run "$cap.last.$w" "$w" "${files[@]}" "$TMP/cap/$cap"; then
            grep -q "^  redirected  *[1-9]" "$TMP/$cap.last.$w.sum" ||
                { echo "FAIL $cap, $w queues: nothing was redirected"; fail=1; }
            same_records exact "$TMP/$cap.1.jsonl" "$TMP/$cap.last.$w.jsonl" ||
                { echo "FAIL $cap: records differ between 1 worker and $w workers reading queue $((w - 1))"; fail=1; }
        fi
    done
    # (a file read at full speed delivers one direction long before the other: sample.pcap's
    # reused ports would then end and begin connections in another order than on a wire)
    if [ "$cap" = frag.pcap ] && port_run "$cap.dir.2" 2 "$TMP/$cap.dir0" "$TMP/$cap.dir1"; then
        same_records totals "$TMP/$cap.1.jsonl" "$TMP/$cap.dir.2.jsonl" ||
            { echo "FAIL $cap: flows differ between 1 worker and 2 workers reading a direction each"; fail=1; }
    fi
    echo "$cap: multi-queue port, 2 and 3 workers: redirected to the owner, same records"
done
[ $fail -eq 0 ] && echo "test_workers: PASS"
exit $fail
