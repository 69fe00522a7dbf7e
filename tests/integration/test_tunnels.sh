#!/usr/bin/env bash
# test_tunnels.sh - decapsulation end to end: the inner flows of scripts/gen_tunnel_captures.py
# inside GRE (IPv4, IPv6 outer, key and sequence, Ethernet bridging), ERSPAN II and III (with
# and without the platform sub-header), VXLAN, Geneve with options, GTP-U with extension
# headers, Ethernet over MPLS with the control word, PPPoE with the one-byte PPP protocol, and
# nested (VXLAN in GRE, ERSPAN in VXLAN) give the records of the unwrapped capture, with the
# tunnel's name and id and the bytes of the byte rule (README "Tunnels"); two ERSPAN sessions
# give separate flows; each decap switch off gives the outer flow (tests/integration/
# check_tunnels.py says what differs).
#
#   bash tests/integration/test_tunnels.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no binary or no scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "skip: /usr/bin/python3 not installed"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-tunnels.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/work"

if ! /usr/bin/python3 "$root/scripts/gen_tunnel_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_tunnel_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
/usr/bin/python3 "$here/check_tunnels.py" "$tapwatch" "$tmp/cap" "$tmp/work"
rc=$?

# Redis and the query tool: the two-session capture stored, then one session asked for.
query=$build/tapwatch-query
if ! command -v redis-server >/dev/null || [ ! -x "$query" ]; then
    echo "note: redis-server or $query missing: the --tunnel-id part is left out"
    exit $rc
fi
redis_local=$root/scripts/redis-local.sh
trap 'bash "$redis_local" stop "$tmp/redis" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
sock=$(bash "$redis_local" start "$tmp/redis") || { echo "FAIL: cannot start redis-server"; exit 1; }
if ! "$tapwatch" --pcap "$tmp/cap/erspan_two_sessions.pcap" --redis "unix://$sock" --quiet \
        >"$tmp/store.out" 2>&1; then
    echo "FAIL: tapwatch to Redis: $(tail -3 "$tmp/store.out")"; exit 1
fi
"$query" --redis "unix://$sock" flows --since 2026-03-01 --tunnel-id 20 --format json >"$tmp/q.json" &&
"$query" --redis "unix://$sock" flows --since 2026-03-01 --tunnel-id 20 --format csv >"$tmp/q.csv" &&
"$query" --redis "unix://$sock" flows --since 2026-03-01 >"$tmp/q.txt" || {
    echo "FAIL: tapwatch-query flows --tunnel-id failed"; exit 1; }
python3 - "$tmp/q.json" "$tmp/q.csv" "$tmp/q.txt" <<'PY' || rc=1
import csv, json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = len(recs) == 3 and all(r["tunnel"] == "erspan2" and r["tunnel_id"] == 20 for r in recs)
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
ok_csv = len(rows) == 3 and all(r["tunnel"] == "erspan2" and r["tunnel_id"] == "20" for r in rows)
table = open(sys.argv[3]).read()
ok_table = "TUNNEL" in table and table.count("erspan2:20") == 3 and table.count("erspan2:10") == 3
if not (ok and ok_csv and ok_table):
    print("FAIL: --tunnel-id 20: json %s, csv %s, table %s" % (
        [(r["tunnel"], r["tunnel_id"]) for r in recs], rows[:1], table[:400]))
    sys.exit(1)
print("ok: tapwatch-query flows --tunnel-id 20 gives session 20's 3 flows (json, csv, table)")
PY
exit $rc
