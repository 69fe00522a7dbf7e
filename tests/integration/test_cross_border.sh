#!/usr/bin/env bash
# test_cross_border.sh - cross_border end to end: a country and an ASN database built at test
# time (scripts/make_geoip_db.pl), generated captures (scripts/gen_cross_border_captures.py)
# whose packet times cover days, replayed twice into the same real redis-server (a restart in
# between). The cross_border alerts of --alerts-jsonl and of tapwatch-query alerts must be
# exactly the expected ones: allowed (none), not allowed, first contact, again inside
# first_contact_days (none), after it (alert), and after the restart a country reached in the
# first run inside the window raises nothing (the memory came back from
# tw:{S}:reached:<equipment>). The per-country upload of each day in tapwatch-query summary
# (json, csv, table) equals the sums of the flow records.
#
#   bash tests/integration/test_cross_border.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, scapy, GeoIP database writer or GeoIP
# support in this build).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
tw=$build/tapwatch
make_db=$root/scripts/make_geoip_db.pl

tw_need_tools redis-server redis-cli python3 perl
tw_need_scapy
tw_need_bins "$tw" "$query"
[ -f "$make_db" ] || { echo "skip: scripts/make_geoip_db.pl is not in this tree (GeoIP lookups come with it)"; exit 77; }

tmp=$(mktemp -d /tmp/tw-xborder.XXXXXX)
trap 'bash "$redis_local" stop "$tmp" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

/usr/bin/python3 "$root/scripts/gen_cross_border_captures.py" "$tmp/caps" || { echo "FAIL: generator"; exit 1; }

# the databases: the networks the generator used
mapfile -t country_nets < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["networks"]["country"]))' "$tmp/caps/expected.json")
mapfile -t asn_nets < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["networks"]["asn"]))' "$tmp/caps/expected.json")
if ! perl "$make_db" "$tmp/country.mmdb" country "${country_nets[@]}" >"$tmp/db.out" 2>&1 ||
    ! perl "$make_db" "$tmp/asn.mmdb" asn "${asn_nets[@]}" >>"$tmp/db.out" 2>&1; then
    if grep -q "Can't locate" "$tmp/db.out"; then
        echo "skip: the GeoIP database writer is not installed: $(head -1 "$tmp/db.out")"; exit 77
    fi
    echo "FAIL: make_geoip_db.pl: $(cat "$tmp/db.out")"; exit 1
fi

printf 'geoip:\n  country_db: %s\n  asn_db: %s\n' "$tmp/country.mmdb" "$tmp/asn.mmdb" >"$tmp/tapwatch.yaml"
cat >"$tmp/policy.yaml" <<'YAML'
timezone: UTC
equipment:
  - name: atm-01
    addresses: [10.40.1.11]
  - name: swift-gw
    addresses: [10.40.2.5]
rules:
  undeclared_destination: {enabled: false}
  mirror_silent: {enabled: false}   # the captures span days: holes that are no silence
  mirror_back: {enabled: false}
cross_border:
  allowed_countries: [CN, HK]
  first_contact: true
  first_contact_days: 10
  equipment:
    swift-gw: {allowed_countries: [CN, BE], first_contact: false}
YAML
if ! "$tw" --check-config --config "$tmp/tapwatch.yaml" --policy "$tmp/policy.yaml" >"$tmp/check.out" 2>&1; then
    if grep -q 'geoip.*unknown key' "$tmp/check.out"; then
        echo "skip: this build has no geoip configuration keys: $(tail -1 "$tmp/check.out")"; exit 77
    fi
    echo "FAIL: --check-config: $(cat "$tmp/check.out")"; exit 1
fi
grep -q 'policy OK: 2 equipment, 7 rules' "$tmp/check.out" || fail "check-config: $(cat "$tmp/check.out")"

sock=$(bash "$redis_local" start "$tmp") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
sensor=tw-xb-$$

# two runs on the same Redis: the second one starts with what the first one stored
for run in run1 run2; do
    if ! "$tw" --pcap "$tmp/caps/$run.pcap" --config "$tmp/tapwatch.yaml" --policy "$tmp/policy.yaml" \
        --redis "$url" --sensor "$sensor" --flows-jsonl "$tmp/$run.flows.jsonl" \
        --alerts-jsonl "$tmp/$run.alerts.jsonl" --quiet >"$tmp/$run.out" 2>"$tmp/$run.err"; then
        echo "FAIL: $run: tapwatch failed: $(cat "$tmp/$run.err")"; exit 1
    fi
    grep -q 'cross_border' "$tmp/$run.err" && fail "$run: $(grep cross_border "$tmp/$run.err")"
    # what atm-01 reached, as Redis keeps it after this run
    redis-cli -s "$sock" ZRANGE "tw:{$sensor}:reached:atm-01" 0 -1 WITHSCORES >"$tmp/$run.reached"
    redis-cli -s "$sock" EXISTS "tw:{$sensor}:reached:swift-gw" >"$tmp/$run.reached-swift"
done
"$query" --redis "$url" --sensor "$sensor" alerts --kind cross_border --limit 1000 --format json \
    >"$tmp/query.json" || fail "alerts query"

# the alerts name the databases that gave the countries (README "Countries and ASNs")
gsha=$(cd "$tmp" && sha256sum country.mmdb asn.mmdb | sha256sum | cut -d' ' -f1)
python3 - "$tmp" "$gsha" <<'PY' || fail "alerts differ (above)"
import json, sys
tmp, gsha = sys.argv[1:3]
exp = json.load(open(f"{tmp}/caps/expected.json"))
start_day = exp["start"] // 86400
ok = True

def key(a):
    return (a["equipment"], a["src_ip"], a["dst_ip"], a["dst_port"])

def check(where, got, want):
    global ok
    got = [a for a in got if a["kind"] == "cross_border"]
    if sorted(map(key, got)) != sorted(map(key, want)):
        print(f"  {where}: want {sorted(map(key, want))}\n  {' ' * len(where)}  got  {sorted(map(key, got))}")
        ok = False
        return
    by = {key(a): a for a in got}
    for w in want:
        a, d = by[key(w)], by[key(w)]["detail"]
        if f" in {w['country']}" not in d:
            print(f"  {where}: {key(w)}: detail does not name {w['country']}: {d}"); ok = False
        if ("allowed:" in d) != w["not_allowed"]:
            print(f"  {where}: {key(w)}: not allowed should be {w['not_allowed']}: {d}"); ok = False
        fc = w["first_contact"]
        said = d.split("first contact with ", 1)[1].split(" in ")[0] if "first contact with " in d else ""
        if sorted(said.split(" and ") if said else []) != sorted(fc):
            print(f"  {where}: {key(w)}: first contact should be {fc}: {d}"); ok = False
        if a["rule"] != "TW-R08":
            print(f"  {where}: rule {a['rule']}"); ok = False
        if a["geoip_sha256"] != gsha:
            print(f"  {where}: geoip_sha256 {a['geoip_sha256']}, want {gsha}"); ok = False

allq = [json.loads(l) for l in open(f"{tmp}/query.json")]
want_all = []
for run in ("run1", "run2"):
    want = exp["captures"][run + ".pcap"]["alerts"]
    want_all += want
    check(f"{run} --alerts-jsonl", [json.loads(l) for l in open(f"{tmp}/{run}.alerts.jsonl")], want)
check("tapwatch-query alerts", allq, want_all)

# the memory in Redis: after run 1 CN last reached on day D+3, DE on D (HK: a handshake only,
# not reached); after run 2 CN on D+16, and what is older than its 10 days (DE, HK of D+5)
# trimmed; swift-gw (no first contact) has no key
def zset(path):
    lines = open(path).read().split()
    return dict(zip(lines[0::2], map(int, lines[1::2])))
r1, r2 = zset(f"{tmp}/run1.reached"), zset(f"{tmp}/run2.reached")
want1 = {"CN": start_day + 3, "AS4134": start_day + 3, "DE": start_day, "AS3320": start_day}
if r1 != want1:
    print(f"  reached after run1: want {want1}, got {r1}"); ok = False
want2 = {"CN": start_day + 16, "AS4134": start_day + 16}
if r2 != want2:
    print(f"  reached after run2: want {want2}, got {r2}"); ok = False
if open(f"{tmp}/run1.reached-swift").read().strip() != "0":
    print("  swift-gw has a reached key"); ok = False

# the records carry the countries the alerts name (the GeoIP part)
flows = [json.loads(l) for r in ("run1", "run2") for l in open(f"{tmp}/{r}.flows.jsonl")]
if not any(f.get("dst_country") == "DE" for f in flows):
    print("  no flow record has dst_country DE"); ok = False
sys.exit(0 if ok else 1)
PY

# per-country upload of each day = the sums of the flow records
for eq in atm-01 swift-gw; do
    "$query" --redis "$url" --sensor "$sensor" summary --equipment "$eq" --format json \
        >"$tmp/$eq.sum.json" || fail "summary $eq"
    "$query" --redis "$url" --sensor "$sensor" summary --equipment "$eq" --format csv \
        >"$tmp/$eq.sum.csv" || fail "summary $eq csv"
    "$query" --redis "$url" --sensor "$sensor" summary --equipment "$eq" >"$tmp/$eq.sum.txt" ||
        fail "summary $eq table"
done
python3 - "$tmp" <<'PY' || fail "per-country summary differs (above)"
import csv, ipaddress, json, sys, time
tmp = sys.argv[1]
eqs = {"atm-01": "10.40.1.11", "swift-gw": "10.40.2.5"}
flows = [json.loads(l) for r in ("run1", "run2") for l in open(f"{tmp}/{r}.flows.jsonl")]
ok = True
for eq, addr in eqs.items():
    want = {}
    for f in flows:
        for client in (True, False):
            if f["src_ip" if client else "dst_ip"] != addr:
                continue
            cc = f.get("dst_country" if client else "src_country", "")
            if not cc:
                continue
            day = time.strftime("%Y-%m-%d", time.gmtime(int(float(f["first_seen"]))))
            d = want.setdefault(day, {})
            d[cc] = d.get(cc, 0) + f["c2s_bytes" if client else "s2c_bytes"]
    rows = [json.loads(l) for l in open(f"{tmp}/{eq}.sum.json")]
    got = {r["bucket"]: {c["country"]: c["bytes"] for c in r["countries"]} for r in rows if r["countries"]}
    if got != want or not want:
        print(f"  {eq} json: want {want}\n  {' ' * len(eq)}       got  {got}"); ok = False
    crows = list(csv.DictReader(open(f"{tmp}/{eq}.sum.csv")))
    cgot = {r["bucket"]: dict((p.split("=")[0], int(p.split("=")[1])) for p in r["countries"].split(";"))
            for r in crows if r["countries"]}
    if cgot != want:
        print(f"  {eq} csv: want {want}\n  {' ' * len(eq)}      got  {cgot}"); ok = False
    table = open(f"{tmp}/{eq}.sum.txt").read()
    for day, cs in want.items():
        for cc, n in cs.items():
            if f"{cc}={n}" not in table:
                print(f"  {eq} table lacks {cc}={n} ({day})"); ok = False
sys.exit(0 if ok else 1)
PY

if [ "$failures" -eq 0 ]; then
    echo "PASS test_cross_border"
    exit 0
fi
echo "$failures failure(s)"
exit 1
