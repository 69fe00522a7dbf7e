#!/usr/bin/env bash
# test_equipment_inventory.sh - the sensor publishes the equipment inventory of the policy in
# force (tw:{S}:inventory, README "What is in Redis"), and `tapwatch-query flows --equipment`
# and `equipment` read it, on a real redis-server:
#   1. a capture (made here with scapy: IPv4 and IPv6 flows over two hours) written by
#      sensors in both store formats (redis.format 2 and 1) with a policy of three equipment
#      (several prefixes; both families; a prefix shorter than an index bucket): the key is
#      the policy's inventory (names, vendors, addresses, its sha256sum), with a TTL of
#      redis.retention; `equipment` lists it in table, csv and json;
#   2. `flows --equipment NAME` is exactly the flows of `flows --format json` whose source or
#      destination is inside one of NAME's addresses (computed here, independently), for
#      each equipment and format; an unknown name is one line and exit 2;
#   3. a running sensor reloaded (SIGHUP) with another policy publishes the new inventory
#      (another sha256, a later since, the new names) and an old name is then unknown; Redis
#      restarted empty has it again once the sensor reconnects;
#   4. --sensor with a glob merges the sensors' answers (a sensor column); a sensor whose
#      inventory lacks the name adds nothing; a name none of them holds is exit 2.
#
#   bash tests/integration/test_equipment_inventory.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3 sha256sum
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp equipment
pid=
TW_CLEANUP='[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null'

sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
q() { "$query" --redis "$url" "$@"; }

# the capture: UDP datagrams (one flow each, distinct ports), 2026-03-02 09:10 and 10:10 UTC
/usr/bin/python3 - "$tmp/eq.pcap" <<'PY' || { echo "FAIL: cannot make the capture"; exit 1; }
import sys
from scapy.all import Ether, IP, IPv6, UDP, Raw, wrpcap
T0 = 1772442600  # 2026-03-02T09:10:00Z
flows = [  # (src, dst, dport)
    ("10.50.1.1", "10.50.9.9", 53),          # eq-a (src)
    ("198.51.100.3", "10.50.1.1", 22),       # eq-a (dst)
    ("2001:db8:50::10", "2001:db8:99::1", 443),  # eq-a's IPv6 prefix
    ("10.50.2.5", "198.51.100.1", 443),      # eq-b 10.50.2.0/24
    ("10.50.2.77", "198.51.100.2", 80),      # eq-b
    ("192.0.2.8", "10.50.3.3", 8080),        # eq-b 10.50.3.3 (dst)
    ("10.70.3.4", "192.0.2.9", 123),         # eq-c 10.70.0.0/16
    ("10.70.200.1", "10.50.1.1", 514),       # eq-c and eq-a: both ends equipment
    ("10.60.0.1", "10.60.0.2", 161),         # nobody's
    ("2001:db8:60::1", "2001:db8:61::1", 53),  # nobody's
]
pkts = []
for hour in (0, 1):
    for i, (src, dst, dport) in enumerate(flows):
        l3 = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / l3 / \
            UDP(sport=40000 + 100 * hour + i, dport=dport) / Raw(b"x" * (20 + i))
        p.time = T0 + 3600 * hour + i
        pkts.append(p)
wrpcap(sys.argv[1], pkts)
PY

cat >"$tmp/policy-1.yaml" <<'YAML'
equipment:
  - name: eq-a
    vendor: Vendor A
    addresses: [10.50.1.1, "2001:db8:50::/64"]
  - name: eq-b
    vendor: Vendor "B"
    addresses: [10.50.2.0/24, 10.50.3.3]
  - name: eq-c
    addresses: [10.70.0.0/16]
YAML
cat >"$tmp/policy-2.yaml" <<'YAML'
equipment:
  - name: eq-a
    vendor: Vendor A
    addresses: [10.50.1.1, "2001:db8:50::/64"]
  - name: eq-bravo
    vendor: Vendor B2
    addresses: [10.50.2.0/24]
YAML
sha1=$(sha256sum "$tmp/policy-1.yaml" | cut -d' ' -f1)
sha2=$(sha256sum "$tmp/policy-2.yaml" | cut -d' ' -f1)

# check_inventory SENSOR SHA NAMES...: the key holds the policy's inventory
check_inventory() {
    local sensor=$1 sha=$2
    shift 2
    redis-cli -s "$sock" GET "tw:{$sensor}:inventory" >"$tmp/inv.json"
    /usr/bin/python3 - "$tmp/inv.json" "$sha" "$@" <<'PY' || fail "$sensor: inventory: $(cat "$tmp/inv.json")"
import json, sys
inv = json.load(open(sys.argv[1]))
sha, names = sys.argv[2], sys.argv[3:]
want = {"eq-a": ("Vendor A", ["10.50.1.1", "2001:db8:50::/64"]),
        "eq-b": ('Vendor "B"', ["10.50.2.0/24", "10.50.3.3"]),
        "eq-c": ("", ["10.70.0.0/16"]),
        "eq-bravo": ("Vendor B2", ["10.50.2.0/24"])}
ok = inv["policy_sha256"] == sha and [e["name"] for e in inv["equipment"]] == names
for e in inv["equipment"]:
    ok = ok and (e["vendor"], e["addresses"]) == want[e["name"]] and set(e) == {"name", "vendor", "addresses"}
ok = ok and set(inv) == {"policy_sha256", "since", "equipment"} and inv["since"] > 1.7e9
if not ok:
    print("inventory %s, expected sha %s names %s" % (inv, sha, names))
sys.exit(0 if ok else 1)
PY
}

# check_flows SENSOR NAME: flows --equipment NAME == the flows with an end in NAME's addresses
check_flows() {
    local sensor=$1 name=$2
    q --sensor "$sensor" flows --since 2026-03-01 --limit 100000 --format json >"$tmp/all.json" 2>/dev/null ||
        { fail "$sensor: flows failed"; return; }
    q --sensor "$sensor" flows --since 2026-03-01 --limit 100000 --format json --equipment "$name" \
        >"$tmp/eq.json" 2>"$tmp/eq.err" || { fail "$sensor: flows --equipment $name: $(cat "$tmp/eq.err")"; return; }
    q --sensor "$sensor" equipment --format json >"$tmp/list.json" 2>/dev/null
    /usr/bin/python3 - "$tmp/all.json" "$tmp/eq.json" "$tmp/list.json" "$name" <<'PY' ||
import ipaddress, json, sys
rows = lambda f: [json.loads(l) for l in open(f) if l.strip()]
everything, got, inv, name = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3]), sys.argv[4]
nets = [ipaddress.ip_network(a) for e in inv if e["name"] == name for a in e["addresses"]]
def mine(r):
    return any(ipaddress.ip_address(r[k]) in n for k in ("src_ip", "dst_ip") for n in nets
               if ipaddress.ip_address(r[k]).version == n.version)
want = sorted(r["flow_id"] for r in everything if mine(r))
have = sorted(r["flow_id"] for r in got)
if not want or want != have or len(set(have)) != len(have):
    print("%s: --equipment gives %d flows %s, expected %d %s (of %d)" % (
        name, len(have), have, len(want), want, len(everything)))
    sys.exit(1)
print("    %s: %d of %d flows" % (name, len(have), len(everything)))
PY
        fail "$sensor: flows --equipment $name differs"
}

# 1-2. both store formats
for fmt in 2 1; do
    sensor=f$fmt
    printf 'redis:\n  url: %s\n  format: %s\n  retention: 7d\nrun_dir: %s/run\n' "$url" "$fmt" "$tmp" \
        >"$tmp/tw-$fmt.yaml"
    "$tapwatch" --config "$tmp/tw-$fmt.yaml" --pcap "$tmp/eq.pcap" --policy "$tmp/policy-1.yaml" \
        --sensor "$sensor" --quiet >/dev/null 2>"$tmp/tw-$fmt.err" ||
        { fail "tapwatch format $fmt: $(head -c 400 "$tmp/tw-$fmt.err")"; continue; }
    check_inventory "$sensor" "$sha1" eq-a eq-b eq-c
    ttl=$(redis-cli -s "$sock" TTL "tw:{$sensor}:inventory")
    [ "$ttl" -gt 600000 ] && [ "$ttl" -le 604800 ] || fail "$sensor: inventory TTL $ttl, not redis.retention (7d)"
    echo "format $fmt:"
    for name in eq-a eq-b eq-c; do
        check_flows "$sensor" "$name"
    done
    # the answer in every format, and --ip together with --equipment (both must hold)
    n=$(q --sensor "$sensor" flows --since 2026-03-01 --equipment eq-a --ip 10.70.0.0/16 --format csv 2>/dev/null | tail -n +2 | wc -l)
    [ "$n" = 2 ] || fail "$sensor: --equipment eq-a --ip 10.70.0.0/16: $n flows, expected 2 (both ends)"
    q --sensor "$sensor" flows --since 2026-03-01 --equipment no-such-eq >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q 'unknown equipment "no-such-eq"' "$tmp/err" &&
        [ ! -s "$tmp/out" ] || fail "$sensor: unknown equipment: exit $rc, $(cat "$tmp/err" "$tmp/out")"
done

# equipment: table, csv, json
q --sensor f2 equipment >"$tmp/table" || fail "equipment (table) failed"
grep -q '^eq-b  *Vendor "B"  *10.50.2.0/24,10.50.3.3 ' "$tmp/table" || fail "equipment table: $(cat "$tmp/table")"
q --sensor f2 equipment --format csv >"$tmp/csv" || fail "equipment --format csv failed"
[ "$(head -1 "$tmp/csv")" = "name,vendor,addresses,since,policy_sha256" ] &&
    grep -q "^eq-a,Vendor A,10.50.1.1;2001:db8:50::/64,[0-9.]*,$sha1\$" "$tmp/csv" ||
    fail "equipment csv: $(cat "$tmp/csv")"
[ "$(q --sensor f2 equipment --format json | wc -l)" = 3 ] || fail "equipment json: not 3 lines"
q --sensor nobody equipment >/dev/null 2>"$tmp/err" && grep -q 'publishes no equipment inventory' "$tmp/err" ||
    fail "equipment of a sensor without inventory: $(cat "$tmp/err")"
q --sensor nobody flows --equipment eq-a >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q 'publishes no inventory' "$tmp/err" || fail "flows --equipment, no inventory: $(cat "$tmp/err")"

# an altered inventory is said and read as none (never trusted)
redis-cli -s "$sock" SET 'tw:{bad}:inventory' '{"policy_sha256":"","since":1,"equipment":[{"name":"x","vendor":"","addresses":["10.0.0.0/99"]}]}' >/dev/null
q --sensor bad equipment >/dev/null 2>"$tmp/err"
grep -q 'tw:{bad}:inventory.*not an address' "$tmp/err" || fail "altered inventory: $(cat "$tmp/err")"

# 4. a glob: the two sensors' answers merged with a sensor column
n=$(q --sensor 'f*' flows --since 2026-03-01 --equipment eq-c --format csv 2>/dev/null | grep -c '^f[12],')
m=$(q --sensor f2 flows --since 2026-03-01 --equipment eq-c --format csv 2>/dev/null | tail -n +2 | wc -l)
[ "$n" -gt 0 ] && [ "$n" = $((2 * m)) ] || fail "--sensor 'f*' flows --equipment eq-c: $n rows, expected $((2 * m))"
# a sensor that does not name it adds nothing; a name no sensor asked names is exit 2
n=$(q --sensor f2,nobody flows --since 2026-03-01 --equipment eq-c --format csv 2>/dev/null | grep -c '^f2,')
[ "$n" = "$m" ] || fail "--sensor f2,nobody flows --equipment eq-c: $n rows, expected $m"
q --sensor 'f*' flows --since 2026-03-01 --equipment no-such-eq >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] && [ ! -s "$tmp/out" ] && grep -q 'unknown equipment "no-such-eq": in none of the inventories' "$tmp/err" ||
    fail "--sensor 'f*' flows --equipment no-such-eq: exit $rc, $(cat "$tmp/err" "$tmp/out")"

# 3. a reload: the running sensor publishes the new policy's inventory
cp "$tmp/policy-1.yaml" "$tmp/live-policy.yaml"
printf 'redis:\n  url: %s\nrun_dir: %s/run\npolicy: %s\n' "$url" "$tmp" "$tmp/live-policy.yaml" >"$tmp/live.yaml"
"$tapwatch" --config "$tmp/live.yaml" --pcap "$tmp/eq.pcap" --sensor live --replay-speed 20 \
    --loop 100000 --quiet >/dev/null 2>"$tmp/live.err" &
pid=$!
# wait_inventory SHA: until the key names that policy (bounded: 15 s, the sensor alive)
wait_inventory() {
    for _ in $(seq 150); do
        redis-cli -s "$sock" GET 'tw:{live}:inventory' | grep -q "\"policy_sha256\":\"$1\"" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
if wait_inventory "$sha1"; then
    check_inventory live "$sha1" eq-a eq-b eq-c
    since1=$(redis-cli -s "$sock" GET 'tw:{live}:inventory' | python3 -c 'import json,sys; print(json.load(sys.stdin)["since"])')
    cp "$tmp/policy-2.yaml" "$tmp/live-policy.yaml"
    kill -HUP "$pid"
    if wait_inventory "$sha2"; then
        check_inventory live "$sha2" eq-a eq-bravo
        since2=$(redis-cli -s "$sock" GET 'tw:{live}:inventory' | python3 -c 'import json,sys; print(json.load(sys.stdin)["since"])')
        python3 -c "import sys; sys.exit(0 if $since2 > $since1 else 1)" ||
            fail "reload: since $since2 not after $since1"
        q --sensor live flows --equipment eq-c >/dev/null 2>"$tmp/err"
        [ $? = 2 ] || fail "after the reload eq-c is still known: $(cat "$tmp/err")"
        q --sensor live flows --equipment eq-bravo >/dev/null 2>"$tmp/err" ||
            fail "after the reload eq-bravo is unknown: $(cat "$tmp/err")"
        # Redis restarted empty (no persistence): the inventory is written again on reconnect
        bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1
        sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot restart redis-server"; exit 1; }
        wait_inventory "$sha2" && check_inventory live "$sha2" eq-a eq-bravo ||
            fail "the inventory was not written again after Redis came back: $(tail -3 "$tmp/live.err")"
    else
        fail "the reloaded policy's inventory was not published: $(tail -3 "$tmp/live.err")"
    fi
else
    fail "the running sensor published no inventory: $(tail -3 "$tmp/live.err")"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid" || fail "tapwatch (live) exit $?: $(tail -3 "$tmp/live.err")"
pid=

[ "$failures" -eq 0 ] || { echo "test_equipment_inventory: $failures failure(s)"; exit 1; }
echo "test_equipment_inventory: pass"
