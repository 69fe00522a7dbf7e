#!/usr/bin/env bash
# test_evidence_cluster.sh - the signed evidence (README "Evidence") on a real Redis Cluster:
# three redis-server masters made one cluster (cluster.sh, `redis-cli --cluster create`), a
# sensor with signing.key and redis.cluster: true replays a capture with --workers 2, then a
# capture with a policy (alerts). Its keys lie on two or more masters: {S} (seals, alerts,
# statements, hours) on one, its hourly record blocks and indexes {S:H} on others (the sensor
# name is picked so), so verify reads each from the node that owns it. Then:
#   - `tapwatch-query verify --pubkey` exits 0, also for the regulator ACL user of
#     `tapwatch --print-acl` made on every node, and with --witness (the sensor sent its
#     seals' hashes to a redis-server of its own: every seal matches); `statements --pubkey` says verified for every statement; `verify --audit
#     --pubkey` (the queries' audit trail tw:{audit:}:trail, entries signed with --audit-key)
#     exits 0;
#   - tampers made on the node that owns the key (evidence_tamper.py HOST:PORT routes each
#     command by its key's slot): a record frame edited (on a {S:H} node other than {S}'s), a
#     record frame deleted, a forged frame inserted, an alert deleted, a seal deleted, a whole
#     hour deleted, a block's time postings removed, a statement edited, a statement deleted:
#     verify exits 3 naming it; a seal line changed: verify --witness says altered: witness;
#     each restored (COPY to and from bak:{...} keys, which keep the
#     hash tag and so the slot): exit 0 again;
#   - an audit trail entry deleted (XDEL on its node): verify --audit exits 3 (removed);
#     restored: 0;
#   - keys evicted (maxmemory) on a master that is not the first seed: verify, as the
#     regulator, says how many in its note line (it asks every master, not only the one it
#     talks to) and exits 3.
#
#   bash tests/integration/test_evidence_cluster.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server/redis-cli, zstd, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
tamper=$here/evidence_tamper.py

tw_need_tools redis-server redis-cli python3 zstd
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp evcluster
. "$here/cluster.sh"
TW_CLEANUP=tw_cluster_stop

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/pcap" >"$tmp/gen2.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py failed"; cat "$tmp/gen2.log"; exit 1; }

tw_cluster_ports 3
tw_cluster_create 0 || exit 1
rc_any() { redis-cli -c -p "${ports[0]}" "$@"; } # a command to the node that owns its key

# --- keys and the sensor ----------------------------------------------------------------------
"$tapwatch" keygen --out "$tmp/key" >"$tmp/keygen.out" 2>&1 || fail "keygen: $(cat "$tmp/keygen.out")"
"$tapwatch" keygen --out "$tmp/audit.key" >/dev/null 2>&1 || fail "keygen of the audit key"
export TAPWATCH_AUDIT_KEY=$tmp/audit.key # every query's audit entry is signed with it

# the epoch hours of every packet of the captures (records lie in their first_seen's hour)
hours=$(python3 - "$tmp/cap/sample.pcap" "$tmp/pcap/remote.pcap" <<'PY'
import struct, sys
hs = set()
for path in sys.argv[1:]:
    d = open(path, "rb").read()
    e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    at = 24
    while at + 16 <= len(d):
        sec, _, incl, _ = struct.unpack(e + "IIII", d[at:at + 16])
        hs.add(sec // 3600)
        at += 16 + incl
print(" ".join(map(str, sorted(hs))))
PY
)
# a sensor name whose {S} slot is on another master than each of its {S:H} slots (the slot
# ranges of three masters as create makes them: 0-5460, 5461-10922, 10923-16383)
sn=$(python3 - $hours <<'PY'
import sys
def slot(k):
    crc = 0
    for x in k.encode():
        crc ^= x << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xffff if crc & 0x8000 else (crc << 1) & 0xffff
    return crc % 16384
shard = lambda s: 0 if s <= 5460 else 1 if s <= 10922 else 2
for i in range(1, 1000):
    n = "ev%d" % i
    if all(shard(slot("%s:%s" % (n, h))) != shard(slot(n)) for h in sys.argv[1:]):
        print(n)
        break
PY
)
[ -n "$sn" ] || { fail "no sensor name with its hours on other masters than {S}"; exit 1; }
echo "    sensor $sn, hours $hours, {$sn} in slot $(tw_slot_of "{$sn}") on $(tw_owner_of "$(tw_slot_of "{$sn}")")"

# the sensor writes as its own user of `tapwatch --print-acl` (made on every node: ACLs are per
# node), as README "Securing Redis" says to run it
for p in "${ports[@]}"; do
    # shellcheck disable=SC2086
    redis-cli -p "$p" ACL SETUSER "tapwatch-$sn" on '>sensor-pass' \
        $("$tapwatch" --print-acl "$sn" | sed -n "s/^user tapwatch-$sn on #[^ ]* //p") >/dev/null
done
echo sensor-pass >"$tmp/sensor.pw"; chmod 600 "$tmp/sensor.pw"
# a witness outside the bank: one redis-server of its own (lib.sh stops it)
wsock=$(bash "$redis_local" start "$tmp/r") || { fail "cannot start the witness redis-server"; exit 1; }
cat >"$tmp/c.yaml" <<YAML
run_dir: $tmp/run
redis:
  cluster: true
  url: $seeds
  user: tapwatch-$sn
  password_file: $tmp/sensor.pw
signing:
  key: $tmp/key
evidence:
  witness: unix://$wsock
YAML

replay() { # PCAP [options...]
    local pcap=$1; shift
    "$tapwatch" --config "$tmp/c.yaml" --pcap "$pcap" --sensor "$sn" --quiet "$@" \
        >>"$tmp/replay.out" 2>&1 || fail "replay $pcap: $(tail -3 "$tmp/replay.out")"
}
q() { "$query" --redis "$seeds" --sensor "$sn" "$@"; }
verify() { q verify --pubkey "$tmp/key.pub" "$@" >"$tmp/verify.out" 2>&1; }

replay "$tmp/cap/sample.pcap" --workers 2
replay "$tmp/pcap/remote.pcap" --policy "$here/policy.yaml"
grep -q 'not written 0, dropped (buffer full) 0' "$tmp/replay.out" ||
    fail "the replays lost records: $(grep redis "$tmp/replay.out")"

# where the keys are: {S} on one master, the record blocks {S:H} on the others
for p in $(tw_masters); do redis-cli -p "$p" --scan --pattern "tw:{$sn*" | sed "s/^/$p /"; done >"$tmp/keys"
home=$(tw_owner_of "$(tw_slot_of "{$sn}")")
grep -q " tw:{$sn}:seals$" "$tmp/keys" || fail "no seals: $(cat "$tmp/keys")"
nb=$(grep -c " tw:{$sn:[0-9]*}:b$" "$tmp/keys")
away=$(grep " tw:{$sn:[0-9]*}:b$" "$tmp/keys" | grep -vc "^$home ")
[ "$nb" -ge 1 ] && [ "$away" = "$nb" ] ||
    fail "record blocks: $nb keys, $away on another master than {$sn}'s ($home): $(grep ':b$' "$tmp/keys")"
echo "    keys on $(cut -d' ' -f1 "$tmp/keys" | sort -u | wc -l) masters; {$sn} on $home, $nb hour(s) of record blocks elsewhere"
[ "$failures" -eq 0 ] || { echo "test_evidence_cluster: the sensor's store is not there to check"; exit 1; }

# --- a signed store on a cluster verifies ---------------------------------------------------
verify; rc=$?
[ $rc -eq 0 ] && grep -q "alerts 3" "$tmp/verify.out" && grep -q ": verified$" "$tmp/verify.out" ||
    fail "untouched store: verify exit $rc: $(cat "$tmp/verify.out")"
grep -q "records [1-9]" "$tmp/verify.out" && grep -q "statements [1-9]" "$tmp/verify.out" ||
    fail "verify checked no records or no statements: $(tail -1 "$tmp/verify.out")"
echo "    verify: $(tail -1 "$tmp/verify.out" | cut -c1-150)"

# the witness got every seal's hash: verify --witness compares them with the cluster's seals
nseals=$(rc_any hlen "tw:{$sn}:seals")
verify --witness "unix://$wsock"; rc=$?
[ $rc -eq 0 ] && grep -q "^witness: .* $nseals seals match, 0 pending" "$tmp/verify.out" ||
    fail "verify --witness: exit $rc: $(cat "$tmp/verify.out")"

# the regulator of `tapwatch --print-acl` (read-only on the sensors' keys), made on every node
# (ACLs are per node), verifies as well
rules=$("$tapwatch" --print-acl "$sn" | sed -n 's/^user regulator on #[^ ]* //p')
[ -n "$rules" ] || fail "no regulator line in --print-acl"
for p in "${ports[@]}"; do
    # shellcheck disable=SC2086
    redis-cli -p "$p" ACL SETUSER regulator on '>reg-pass' $rules >/dev/null
done
echo reg-pass >"$tmp/reg.pw"; chmod 600 "$tmp/reg.pw"
qr() { "$query" --redis "$seeds" --redis-user regulator --redis-password-file "$tmp/reg.pw" --sensor "$sn" "$@"; }
qr verify --pubkey "$tmp/key.pub" >"$tmp/reg.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q ": verified$" "$tmp/reg.out" || fail "regulator: verify exit $rc: $(cat "$tmp/reg.out")"

# statements: every one verified with the key
q statements --pubkey "$tmp/key.pub" --format json >"$tmp/st.json" 2>"$tmp/st.err" ||
    fail "statements: exit $?: $(cat "$tmp/st.err")"
python3 - "$tmp/st.json" "$(rc_any xlen "tw:{$sn}:statements")" <<'PY' || fail "statements --pubkey: $(head -c 400 "$tmp/st.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sig = [r.get("signature") for r in rows]
print("    statements: %d, %s" % (len(rows), ", ".join(sorted(set(map(str, sig))))))
sys.exit(0 if len(rows) == int(sys.argv[2]) >= 4 and set(sig) == {"verified"} else 1)
PY

# the queries' audit trail (tw:{audit:}:trail, one slot) verifies
q verify --audit --pubkey "$tmp/audit.key.pub" >"$tmp/audit.out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "verify --audit: exit $rc: $(cat "$tmp/audit.out")"
echo "    verify --audit: $(tail -1 "$tmp/audit.out" | cut -c1-120)"

# --- tampers on the node that owns each key, each on the store restored ----------------------
# a copy of every key of the sensor under bak:{...}: the same hash tag, so the same slot, and
# COPY (one slot) works; verify and the tampers read tw:... keys only
cut -d' ' -f2 "$tmp/keys" >"$tmp/keynames"
while read -r k; do rc_any copy "$k" "bak:${k#tw:}" replace >/dev/null; done <"$tmp/keynames"
restore() {
    local p
    for p in $(tw_masters); do
        redis-cli -p "$p" --scan --pattern "tw:{$sn*" | while read -r k; do redis-cli -p "$p" del "$k" >/dev/null; done
    done
    while read -r k; do rc_any copy "bak:${k#tw:}" "$k" replace >/dev/null; done <"$tmp/keynames"
}
tampered() { # TAMPER FINDING: verify exits 3 with a line starting with FINDING, 0 once restored
    local what=$1 want=$2 rc
    /usr/bin/python3 "$tamper" "127.0.0.1:${ports[0]}" "$sn" "$what" >"$tmp/tamper.out" 2>&1 ||
        { fail "$what: $(cat "$tmp/tamper.out")"; return; }
    verify; rc=$?
    if [ $rc -ne 3 ] || ! grep -q "^$want" "$tmp/verify.out" ||
        { [ "$want" != "altered: index" ] && ! grep -q "first bad: run" "$tmp/verify.out"; }; then
        fail "$what ($(cat "$tmp/tamper.out")): verify exit $rc, wanted 3 and '$want': $(cat "$tmp/verify.out")"
    else
        echo "    $what: $(grep -m1 "^$want" "$tmp/verify.out" | cut -c1-110)"
    fi
    restore
    verify; rc=$?
    [ $rc -eq 0 ] || fail "$what restored: verify exit $rc: $(head -5 "$tmp/verify.out")"
}
tampered edit-record altered
# the frame edited lay on another node than the seals: say so (what the test is about)
ek=$(sed -n 's/^edit-record: \(tw:{[^ ]*}:b\) .*/\1/p' "$tmp/tamper.out")
[ -n "$ek" ] && [ "$(tw_owner_of "$(tw_slot_of "$ek")")" != "$home" ] ||
    fail "edit-record: the frame edited ($ek) is not on another node than {$sn} ($home)"
tampered delete-record deleted
tampered insert-record inserted
tampered delete-alert deleted
tampered delete-seal "\(inserted\|deleted: seal\)" # which, depends on how many seals the run made
tampered delete-hour deleted
tampered hide-index "altered: index"
tampered edit-statement "bad signature: statement tw:{$sn}:statements"
tampered delete-statement deleted
# a seal line changed on its node (its time): bad signature, and the witness's hash differs
f=$(rc_any hkeys "tw:{$sn}:seals" | head -1)
rc_any hset "tw:{$sn}:seals" "$f" "$(rc_any hget "tw:{$sn}:seals" "$f" | sed 's/ time=\([0-9]*\)/ time=1\1/')" >/dev/null
verify --witness "unix://$wsock"; rc=$?
[ $rc -eq 3 ] && grep -q "^altered: witness:" "$tmp/verify.out" ||
    fail "a seal changed: verify --witness exit $rc: $(cat "$tmp/verify.out")"
echo "    seal changed: $(grep -m1 '^altered: witness' "$tmp/verify.out" | cut -c1-110)"
restore
verify --witness "unix://$wsock"; rc=$?
[ $rc -eq 0 ] || fail "seal restored: verify --witness exit $rc: $(head -5 "$tmp/verify.out")"

# --- the audit trail: an entry deleted on its node, then restored ----------------------------
trail='tw:{audit:}:trail'
rc_any copy "$trail" 'bak:{audit:}:trail' replace >/dev/null
rc_any copy 'tw:{audit:}:head' 'bak:{audit:}:head' replace >/dev/null
mid=$(rc_any xrange "$trail" - + count 3 | grep -E '^[0-9]+-[0-9]+$' | sed -n 2p)
[ -n "$mid" ] && [ "$(rc_any xdel "$trail" "$mid")" = 1 ] || fail "audit: could not XDEL an entry ($mid)"
q verify --audit --pubkey "$tmp/audit.key.pub" >"$tmp/audit.out" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "^removed: seq" "$tmp/audit.out" ||
    fail "audit entry $mid deleted: verify --audit exit $rc: $(cat "$tmp/audit.out")"
echo "    audit entry deleted: $(grep -m1 '^removed' "$tmp/audit.out" | cut -c1-100)"
rc_any copy 'bak:{audit:}:trail' "$trail" replace >/dev/null
rc_any copy 'bak:{audit:}:head' 'tw:{audit:}:head' replace >/dev/null
q verify --audit --pubkey "$tmp/audit.key.pub" >"$tmp/audit.out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "audit trail restored: verify --audit exit $rc: $(cat "$tmp/audit.out")"

# --- keys evicted on a node the query tool does not talk to first: said --------------------
# (maxmemory 1 on another master than the first seed: its next command evicts its keys)
ev_port=$(cut -d' ' -f1 "$tmp/keys" | sort -u | grep -vx "${ports[0]}" | head -1)
redis-cli -p "$ev_port" config set maxmemory-policy allkeys-random >/dev/null
redis-cli -p "$ev_port" config set maxmemory 1 >/dev/null
redis-cli -p "$ev_port" ping >/dev/null
redis-cli -p "$ev_port" config set maxmemory 0 >/dev/null
n_ev=$(redis-cli -p "$ev_port" info stats | sed -n 's/^evicted_keys:\([0-9]*\).*/\1/p')
qr verify --pubkey "$tmp/key.pub" >"$tmp/reg.out" 2>&1; rc=$?
[ "${n_ev:-0}" -gt 0 ] && [ $rc -eq 3 ] && grep -q "^note: Redis reports $n_ev keys evicted" "$tmp/reg.out" ||
    fail "$n_ev keys evicted on $ev_port: verify exit $rc: $(grep -v '^deleted' "$tmp/reg.out" | head -5)"
echo "    evicted on $ev_port: $(grep -m1 '^note: Redis reports' "$tmp/reg.out" | cut -c1-110)"

if [ "$failures" -ne 0 ]; then
    echo "test_evidence_cluster: $failures failure(s)"
    exit 1
fi
echo "test_evidence_cluster: ok (verify, --witness, statements, verify --audit on a 3-master cluster; 10 tampers on the owning nodes and the audit trail, each restored)"
