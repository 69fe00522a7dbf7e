#!/usr/bin/env bash
# test_captures.sh - every good test capture, replayed by tapwatch, gives the flows of
# expected.json (5-tuple, vlan, first/last seen, per-direction packets and bytes, app and
# end_reason where asserted, server_name), and the summary accounts for every packet
# (received = parsed + dropped, named drop reasons add up).
#
#   bash tests/integration/test_captures.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no binary or no scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
check=$here/check_flows.py

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "skip: /usr/bin/python3 not installed"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-captures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
exp=$tmp/cap/expected.json

# The timeouts the captures assume (timeouts.pcap's "assumes"), written out explicitly so
# a change of the built-in defaults shows up as a config difference, not a flow one.
python3 - "$exp" >"$tmp/timeouts.yaml" <<'PY' || { echo "FAIL: cannot read expected.json"; exit 1; }
import json, sys
a = json.load(open(sys.argv[1]))["captures"]["timeouts.pcap"]["assumes"]
print("flow_table:")
print("  idle_timeout: %ds" % a["idle_timeout_s"])
print("  active_timeout: %ds" % a["active_timeout_s"])
print("  tcp_close_timeout: %ds" % a["tcp_close_timeout_s"])
PY

# field CAPTURE KEY: a value of expected.json for one capture ("" when absent)
field() {
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"][sys.argv[2]]
v=c.get(sys.argv[3], "")
if sys.argv[3] == "updates": v=sum(f.get("updates", 0) for f in c["flows"])
print(v)' "$exp" "$1" "$2"
}

captures="eth.pcap eth.pcapng sll.pcap sll2.pcap raw4.pcap raw6.pcap null.pcap loop.pcap vlan.pcap
          ipv4opts_frag.pcap ipv6ext.pcap timeouts.pcap sample.pcap"
for cap in $captures; do
    out=$tmp/$cap
    timeout 120 "$tapwatch" --pcap "$tmp/cap/$cap" --config "$tmp/timeouts.yaml" --quiet \
        --flows-jsonl "$out.jsonl" >"$out.summary" 2>"$out.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$cap: tapwatch exited $rc: $(head -c 600 "$out.err")"
        continue
    fi
    if ! res=$(python3 "$check" flows "$exp" "$cap" "$out.jsonl"); then
        fail "$cap: flows differ from expected.json:"
        printf '%s\n' "$res" | sed 's/^/    /'
    fi
    extra=(--received "$(field "$cap" packets)")
    merged=$(field "$cap" fragments_merged)
    [ -n "$merged" ] && extra+=(--merged "$merged")
    [ "$cap" = timeouts.pcap ] && extra+=(--updates "$(field "$cap" updates)")
    if ! res=$(python3 "$check" summary "$out.summary" "${extra[@]}"); then
        fail "$cap: summary:"
        printf '%s\n' "$res" | sed 's/^/    /'
        sed 's/^/    | /' "$out.summary"
    fi
done

# --flows-jsonl -: the records alone on stdout, the summary on stderr.
timeout 60 "$tapwatch" --pcap "$tmp/cap/eth.pcap" --quiet --flows-jsonl - \
    >"$tmp/stdout.jsonl" 2>"$tmp/stderr.txt"
rc=$?
if [ $rc -ne 0 ]; then
    fail "--flows-jsonl -: exit $rc: $(head -c 600 "$tmp/stderr.txt")"
else
    if ! res=$(python3 "$check" flows "$exp" eth.pcap "$tmp/stdout.jsonl"); then
        fail "--flows-jsonl -: stdout is not exactly the flow records:"
        printf '%s\n' "$res" | sed 's/^/    /'
    fi
    if ! res=$(python3 "$check" summary "$tmp/stderr.txt" --received "$(field eth.pcap packets)"); then
        fail "--flows-jsonl -: summary on stderr: $res"
    fi
fi

# Replays are deterministic: the same capture twice gives the same records byte for byte.
timeout 120 "$tapwatch" --pcap "$tmp/cap/sample.pcap" --config "$tmp/timeouts.yaml" --quiet \
    --flows-jsonl "$tmp/again.jsonl" \
    >/dev/null 2>&1
if ! cmp -s "$tmp/sample.pcap.jsonl" "$tmp/again.jsonl"; then
    fail "sample.pcap: a second replay wrote different records (diff $(diff "$tmp/sample.pcap.jsonl" "$tmp/again.jsonl" | head -c 400))"
fi

if [ $failures -gt 0 ]; then
    echo "test_captures: $failures failure(s)"
    exit 1
fi
echo "test_captures: all captures match expected.json"
exit 0
