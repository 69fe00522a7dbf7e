#!/usr/bin/env bash
# test_hostile_output.sh - names from the wire are data, never a terminal command or a
# spreadsheet formula: a capture whose HTTP Host, TLS SNI and DNS names hold ESC sequences,
# =HYPERLINK("http://x"), +cmd, -1, @SUM(1), commas, quotes, TAB, newline, DEL, a backslash
# and a C1 control (scripts/gen_hostile_captures.py) is stored through a real redis-server;
#   - tapwatch-query flows --format csv: no byte below 0x20 but the line ends, formula cells
#     quoted and neutralised with a single quote, and python's csv module reads back the
#     escaped, neutralised values of the --flows-jsonl records (hostile_check.py);
#   - --format table: no control byte, every name shown escaped;
#   - --format json: no raw control byte, the same server names as --flows-jsonl;
#   - tapwatch --iface 'eth1,framecnt=7' (DPDK devargs after the name): one line, exit 2.
#
#   bash tests/integration/test_hostile_output.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp ho

# --iface with driver options after the name: refused before anything starts
"$tapwatch" --iface 'eth1,framecnt=7' --quiet >"$tmp/iface.out" 2>"$tmp/iface.err"
rc=$?
if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/iface.err")" -ne 1 ] ||
    ! grep -q "tapwatch: --iface eth1,framecnt=7: an interface name only" "$tmp/iface.err"; then
    fail "--iface 'eth1,framecnt=7': want one line and exit 2, got exit $rc: $(cat "$tmp/iface.err")"
fi
"$tapwatch" --iface "$(printf 'e\033[41m')" --quiet >/dev/null 2>"$tmp/iface2.err"
rc=$?
if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/iface2.err")" -ne 1 ] || grep -q $'\033' "$tmp/iface2.err"; then
    fail "--iface with ESC: want one line without the ESC and exit 2, got exit $rc"
fi

if ! /usr/bin/python3 "$root/scripts/gen_hostile_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_hostile_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
sensor=hostile-$$

if ! timeout 120 "$tapwatch" --pcap "$tmp/cap/hostile.pcap" --redis "$url" --sensor "$sensor" \
    --quiet --flows-jsonl "$tmp/flows.jsonl" >"$tmp/run.out" 2>"$tmp/run.err"; then
    echo "FAIL: tapwatch --pcap hostile.pcap: $(head -c 600 "$tmp/run.err")"; exit 1
fi

for fmt in csv table json; do
    if ! timeout 60 "$query" --redis "$url" --sensor "$sensor" flows --format "$fmt" \
        --limit 1000 >"$tmp/out.$fmt" 2>"$tmp/out.$fmt.err"; then
        fail "tapwatch-query flows --format $fmt: $(head -c 600 "$tmp/out.$fmt.err")"
        continue
    fi
    if ! res=$(/usr/bin/python3 "$here/hostile_check.py" "$fmt" "$tmp/flows.jsonl" "$tmp/out.$fmt"); then
        fail "--format $fmt:"; echo "$res" | sed 's/^/    /'
    fi
done

if [ $failures -ne 0 ]; then
    echo "test_hostile_output: $failures failure(s)"
    exit 1
fi
echo "test_hostile_output: ok (csv, table and json of hostile names; --iface devargs refused)"
