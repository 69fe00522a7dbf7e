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
