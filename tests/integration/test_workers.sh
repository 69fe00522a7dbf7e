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
[ $fail -eq 0 ] && echo "test_workers: PASS"
exit $fail
