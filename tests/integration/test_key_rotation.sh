#!/usr/bin/env bash
# test_key_rotation.sh - key rotation (README "Evidence", "Key rotation") against a real
# redis-server: run 1 signed with the old key; run 2 with signing.key the new key and
# signing.previous_key the old one writes, right after its start statement, a key_rotation
# statement signed by both (fields sig and sig_previous, also in tw:{S}:rotations); then:
#   - verify --pubkey OLD --pubkey NEW: exit 0; OLD alone: exit 3 (bad signature on run 2's
#     seals); NEW alone: exit 3 (run 1's); NEW first, then OLD: exit 3;
#   - statements with both keys: every statement verified, the rotation's too; OLD alone:
#     run 2's statements BAD;
#   - a run that says the rotation again (previous_key left in the configuration) verifies;
#   - run 3 rotates on to a third key: verifies with the three keys; the same with its rotation
#     forged (signed by the third key only: sig_previous replaced) -> verify refuses the third
#     key (exit 3, the rotation and run 3's seals bad signature), statements says BAD;
#   - a run signed with the old key after the rotation: its seals are bad signature;
#   - --check-config names both fingerprints; an old key file others may read is refused at
#     --check-config and at start (exit 2); previous_key = key, and previous_key without key,
#     are refused; the old secret key reaches neither a log, run_dir nor Redis.
#
#   bash tests/integration/test_key_rotation.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp keyrot

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
rcli() { redis-cli -s "$sock" "$@"; }
S=rk

# --- keys and configurations -------------------------------------------------------------------
for k in old new third; do
    "$tapwatch" keygen --out "$tmp/$k" >"$tmp/$k.keygen" 2>&1 || fail "keygen $k: $(cat "$tmp/$k.keygen")"
done
fpr() { sed -n 's/.*fingerprint \([0-9a-f]*\).*/\1/p' "$tmp/$1.keygen"; }
f_old=$(fpr old) f_new=$(fpr new) f_third=$(fpr third)
[ -n "$f_old" ] && [ -n "$f_new" ] && [ -n "$f_third" ] || { echo "FAIL: keygen printed no fingerprint"; exit 1; }
config() { # FILE KEY [PREVIOUS_KEY]
    cat >"$1" <<YAML
run_dir: $tmp/run
redis:
  url: $url
signing:
  key: $2
YAML
    [ -z "${3:-}" ] || echo "  previous_key: $3" >>"$1"
}
config "$tmp/c1.yaml" "$tmp/old"
config "$tmp/c2.yaml" "$tmp/new" "$tmp/old"
config "$tmp/c3.yaml" "$tmp/third" "$tmp/new"

out=$("$tapwatch" --config "$tmp/c2.yaml" --check-config 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "signing key OK: fingerprint $f_new" &&
    echo "$out" | grep -q "previous signing key OK: fingerprint $f_old" ||
    fail "check-config with a rotation: exit $rc: $out"
# the old key file too open: refused at --check-config and at start
cp -p "$tmp/old" "$tmp/open"; chmod 0644 "$tmp/open"
config "$tmp/open.yaml" "$tmp/new" "$tmp/open"
"$tapwatch" --config "$tmp/open.yaml" --check-config >/dev/null 2>"$tmp/open.err"; rc=$?
[ $rc -eq 2 ] && grep -q "signing.previous_key: .*0644" "$tmp/open.err" ||
    fail "an old key readable by others, --check-config: exit $rc, $(cat "$tmp/open.err")"
"$tapwatch" --config "$tmp/open.yaml" --pcap "$tmp/cap/sample.pcap" --sensor refused --quiet \
    >/dev/null 2>"$tmp/open2.err"; rc=$?
[ $rc -eq 2 ] && grep -q "signing.previous_key: .*0644" "$tmp/open2.err" &&
    [ "$(rcli exists 'tw:{refused}:seals' 'tw:{refused}:statements')" = 0 ] ||
    fail "start with an old key readable by others: exit $rc, $(cat "$tmp/open2.err")"
# a rotation to the same key, and an old key without a new one: refused
config "$tmp/same.yaml" "$tmp/new" "$tmp/new"
"$tapwatch" --config "$tmp/same.yaml" --check-config >/dev/null 2>"$tmp/same.err"; rc=$?
[ $rc -eq 2 ] && grep -q "signing.previous_key: it is signing.key's key" "$tmp/same.err" ||
    fail "previous_key = key: exit $rc, $(cat "$tmp/same.err")"
printf 'redis:\n  url: %s\nsigning:\n  previous_key: %s\n' "$url" "$tmp/old" >"$tmp/nokey.yaml"
"$tapwatch" --config "$tmp/nokey.yaml" --check-config >/dev/null 2>"$tmp/nokey.err"; rc=$?
[ $rc -eq 2 ] && grep -q "signing.previous_key: expected signing.key" "$tmp/nokey.err" ||
    fail "previous_key without key: exit $rc, $(cat "$tmp/nokey.err")"

# --- run 1 (old key), run 2 (rotation to the new key) --------------------------------------------
replay() { # CONFIG PCAP LOG
    "$tapwatch" --config "$1" --pcap "$2" --sensor "$S" --quiet >"$tmp/$3" 2>&1 ||
        fail "replay $1 $2: $(tail -3 "$tmp/$3")"
}
verify() { # KEY... -> exit status; output in $tmp/verify.out
    local a=() k
    for k in "$@"; do a+=(--pubkey "$tmp/$k.pub"); done
    "$query" --redis "$url" --sensor "$S" verify "${a[@]}" >"$tmp/verify.out" 2>&1
}
statements() { # OUT KEY...
    local out=$1 a=() k; shift
    for k in "$@"; do a+=(--pubkey "$tmp/$k.pub"); done
    "$query" --redis "$url" --sensor "$S" statements --format json --limit 1000 "${a[@]}" \
        >"$tmp/$out" 2>"$tmp/$out.err" || fail "statements $*: exit $?: $(cat "$tmp/$out.err")"
}
replay "$tmp/c1.yaml" "$tmp/cap/sample.pcap" run1.log
replay "$tmp/c2.yaml" "$tmp/cap/vlan.pcap" run2.log
grep -q "key rotation: statement 1 names key $f_new and previous key $f_old" "$tmp/run2.log" ||
    fail "run 2 does not log its rotation: $(grep -i 'rotat\|sign' "$tmp/run2.log")"
secret=$(sed -n 2p "$tmp/old")
! grep -rqF "$secret" "$tmp"/run*.log "$tmp/run" 2>/dev/null || fail "the old secret key reached a log or run_dir"
! rcli --scan --pattern '*' | xargs -r -n1 redis-cli -s "$sock" dump 2>/dev/null | grep -qaF "$secret" ||
    fail "the old secret key reached Redis"

# the rotation as stored: in the statements stream (n 1, right after start) and in rotations
[ "$(rcli xlen "tw:{$S}:rotations")" = 1 ] || fail "rotations: $(rcli xlen "tw:{$S}:rotations") entries, wanted 1"
/usr/bin/python3 - "$sock" "$S" "$f_old" "$f_new" <<'PY' || fail "the stored rotation"
import json, subprocess, sys
sock, s, old, new = sys.argv[1:5]
def entries(key):
    out = subprocess.run(["redis-cli", "-s", sock, "--raw", "XRANGE", key, "-", "+"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    res, i = [], 0
    while i < len(out):
        i += 1
        f = {}
        while i + 1 < len(out) and out[i] in ("statement", "sig", "sig_previous"):
            f[out[i]] = out[i + 1]
            i += 2
        res.append(f)
    return res
ok = True
def bad(m):
    global ok
    ok = False
    print("FAIL: " + m)
sts = [(json.loads(f["statement"]), f) for f in entries("tw:{%s}:statements" % s)]
rot = [(st, f) for st, f in sts if st["kind"] == "key_rotation"]
if len(rot) != 1:
    bad("%d key_rotation statements, wanted 1" % len(rot))
else:
    st, f = rot[0]
    run2 = sorted((x for x, _ in sts if x["run"] == st["run"]), key=lambda x: x["n"])
    if st["n"] != 1 or run2[0]["kind"] != "start" or run2[1] is not None and run2[1]["n"] != 1:
        bad("the rotation is not statement 1 after start: %s" % [(x["n"], x["kind"]) for x in run2])
    if st["key"] != new or st.get("previous_key") != old:
        bad("rotation names key %s previous %s" % (st["key"], st.get("previous_key")))
    if len(f.get("sig", "")) != 128 or len(f.get("sig_previous", "")) != 128 or f["sig"] == f["sig_previous"]:
        bad("rotation signatures: %s" % f)
    if st["from"] != st["to"] or st["from"] != run2[0]["to"] or st["packets_received"] != 0 or st["dropped_by_reason"] != {}:
        bad("the rotation is not an instant at the start's end: %s" % f["statement"])
    keys = list(json.loads(f["statement"], object_pairs_hook=lambda p: [k for k, _ in p]))
    if keys[-2:] != ["key", "previous_key"]:
        bad("key order: %s" % keys[-3:])
    r = entries("tw:{%s}:rotations" % s)
    if r != [f]:
        bad("rotations stream %s is not the statement %s" % (r, f))
for st, f in sts:
    if st["kind"] != "key_rotation" and ("previous_key" in st or "sig_previous" in f):
        bad("statement %s %d has a previous key" % (st["kind"], st["n"]))
    if st["run"] != rot[0][0]["run"] and st["key"] != old or st["run"] == rot[0][0]["run"] and st["key"] != new:
        bad("statement %s %d of run %s signed by %s" % (st["kind"], st["n"], st["run"], st["key"]))
sys.exit(0 if ok else 1)
PY

# --- verify -------------------------------------------------------------------------------------
verify old new; rc=$?
[ $rc -eq 0 ] && grep -q ": verified$" "$tmp/verify.out" &&
    grep -q "^note: key rotation .*key $f_new accepted from this rotation on" "$tmp/verify.out" &&
    grep -q "keys $f_old, $f_new:" "$tmp/verify.out" ||
    fail "verify with both keys: exit $rc: $(cat "$tmp/verify.out")"
run1=$(rcli hvals "tw:{$S}:seals" | grep "key=$f_old" | sed -n '1s/.* run=\([0-9a-f]*\) .*/\1/p')
run2=$(rcli hvals "tw:{$S}:seals" | grep "key=$f_new" | sed -n '1s/.* run=\([0-9a-f]*\) .*/\1/p')
n1=$(rcli hvals "tw:{$S}:seals" | grep -c "key=$f_old")
n2=$(rcli hvals "tw:{$S}:seals" | grep -c "key=$f_new")
[ -n "$run1" ] && [ -n "$run2" ] && [ "$run1" != "$run2" ] || fail "seals: run 1 '$run1', run 2 '$run2'"
verify old; rc=$?
[ $rc -eq 3 ] && [ "$(grep -c "^bad signature: seal run $run2 " "$tmp/verify.out")" = "$n2" ] &&
    ! grep -q "^bad signature: seal run $run1 " "$tmp/verify.out" ||
    fail "verify with the old key only: exit $rc, wanted 3 and $n2 bad signatures on run 2: $(cat "$tmp/verify.out")"
verify new; rc=$?
[ $rc -eq 3 ] && [ "$(grep -c "^bad signature: seal run $run1 " "$tmp/verify.out")" = "$n1" ] &&
    ! grep -q "^bad signature: seal run $run2 " "$tmp/verify.out" ||
    fail "verify with the new key only: exit $rc, wanted 3 and $n1 bad signatures on run 1: $(cat "$tmp/verify.out")"
verify new old; rc=$?
[ $rc -eq 3 ] && grep -q "^bad signature: key rotation .*trusted already" "$tmp/verify.out" ||
    fail "verify with the keys in the wrong order: exit $rc: $(cat "$tmp/verify.out")"
# flows --verify across the rotation: every row with both keys, run 1's rows fail with the new
# key alone (bad signature)
"$query" --redis "$url" --sensor "$S" flows --format json --limit 1000 --verify \
    --pubkey "$tmp/old.pub" --pubkey "$tmp/new.pub" >"$tmp/fv.out" 2>"$tmp/fv.err"; rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/fv.out" ] && ! grep -q '"verified":false' "$tmp/fv.out" &&
    grep -q "\"run\":\"$run1\".*\"verified\":true}" "$tmp/fv.out" &&
    grep -q "\"run\":\"$run2\".*\"verified\":true}" "$tmp/fv.out" ||
    fail "flows --verify with both keys: exit $rc: $(head -3 "$tmp/fv.err")"
"$query" --redis "$url" --sensor "$S" flows --format json --limit 1000 --verify \
    --pubkey "$tmp/new.pub" >"$tmp/fv.out" 2>"$tmp/fv.err"; rc=$?
[ $rc -eq 3 ] && grep -q "\"run\":\"$run1\".*\"verified\":false}" "$tmp/fv.out" &&
    grep -q "(run $run1 seq [0-9]*): bad signature" "$tmp/fv.err" ||
    fail "flows --verify with the new key alone: exit $rc: $(head -3 "$tmp/fv.err")"

# --- statements ---------------------------------------------------------------------------------
statements both.json old new
n=$(wc -l <"$tmp/both.json")
[ "$n" -ge 5 ] && [ "$(grep -c '"signature":"verified"' "$tmp/both.json")" = "$n" ] &&
    grep '"kind":"key_rotation"' "$tmp/both.json" | grep -q '"sig_previous":"[0-9a-f]\{128\}"' ||
    fail "statements with both keys: $(grep -v '"signature":"verified"' "$tmp/both.json" | cut -c1-200)"
statements old.json old
[ "$(grep -c '"signature":"BAD"' "$tmp/old.json")" = "$(grep -c "\"key\":\"$f_new\"" "$tmp/old.json")" ] &&
    [ "$(grep -c '"signature":"verified"' "$tmp/old.json")" = "$(grep -c "\"key\":\"$f_old\"" "$tmp/old.json")" ] ||
    fail "statements with the old key only: $(cut -c1-120 "$tmp/old.json")"
"$query" --redis "$url" --sensor "$S" statements --pubkey "$tmp/old.pub" --pubkey "$tmp/new.pub" \
    >"$tmp/table.out" 2>&1 && grep -q "key_rotation .* verified$" "$tmp/table.out" ||
    fail "statements table: $(cat "$tmp/table.out")"

# --- the rotation said again, then a rotation on to a third key ----------------------------------
replay "$tmp/c2.yaml" "$tmp/cap/eth.pcap" run2b.log
verify old new; rc=$?
[ $rc -eq 0 ] || fail "a rotation said again: verify exit $rc: $(cat "$tmp/verify.out")"
replay "$tmp/c3.yaml" "$tmp/cap/ipv6ext.pcap" run3.log
verify old new third; rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '^note: key rotation .*accepted from this rotation on' "$tmp/verify.out")" = 2 ] ||
    fail "two rotations: verify exit $rc: $(cat "$tmp/verify.out")"
statements three.json old new third
[ "$(grep -c '"signature":"verified"' "$tmp/three.json")" = "$(wc -l <"$tmp/three.json")" ] ||
    fail "statements across two rotations: $(grep -v '"signature":"verified"' "$tmp/three.json" | cut -c1-200)"
# the new key is retired by the rotation to the third: what it signed after is not accepted
run3=$(rcli hvals "tw:{$S}:seals" | grep "key=$f_third" | sed -n '1s/.* run=\([0-9a-f]*\) .*/\1/p')
verify old new; rc=$?
[ $rc -eq 3 ] && grep -q "^bad signature: seal run $run3 " "$tmp/verify.out" ||
    fail "run 3 without the third key: exit $rc: $(cat "$tmp/verify.out")"

# --- a forged rotation: the third key signed it alone (sig_previous is not the new key's) --------
/usr/bin/python3 - "$sock" "$S" "$f_third" <<'PY' || fail "cannot forge the rotation"
import json, subprocess, sys
sock, s, third = sys.argv[1:4]
def cli(*a):
    return subprocess.run(["redis-cli", "-s", sock, "--raw", *a], check=True, capture_output=True,
                          text=True).stdout
for key in ("tw:{%s}:rotations" % s, "tw:{%s}:statements" % s):
    out = cli("XRANGE", key, "-", "+").splitlines()
    entries, i = [], 0
    while i < len(out):
        eid, f = out[i], []
        i += 1
        while i + 1 < len(out) and out[i] in ("statement", "sig", "sig_previous"):
            f += [out[i], out[i + 1]]
            i += 2
        entries.append((eid, f))
    cli("DEL", key)
    for eid, f in entries:
        d = dict(zip(f[::2], f[1::2]))
        if json.loads(d["statement"])["key"] == third and "sig_previous" in d:
            f[f.index("sig_previous") + 1] = d["sig"]  # signed by the third key only
        cli("XADD", key, eid, *f)
PY
verify old new third; rc=$?
[ $rc -eq 3 ] && grep -q "^bad signature: key rotation .*previous key $f_new did not sign it" "$tmp/verify.out" &&
    grep -q "^bad signature: seal run $run3 " "$tmp/verify.out" &&
    ! grep -q "^bad signature: seal run \($run1\|$run2\) " "$tmp/verify.out" ||
    fail "a forged rotation: verify exit $rc, wanted 3: $(cat "$tmp/verify.out")"
statements forged.json old new third
grep '"kind":"key_rotation"' "$tmp/forged.json" | grep "\"key\":\"$f_third\"" | grep -q '"signature":"BAD"' &&
    [ "$(grep -c '"signature":"BAD"' "$tmp/forged.json")" = "$(grep -c "\"key\":\"$f_third\"" "$tmp/forged.json")" ] &&
    grep -q "key rotation .*did not sign it" "$tmp/forged.json.err" ||
    fail "statements with a forged rotation: $(grep -v '"signature":"verified"' "$tmp/forged.json" | cut -c1-160) $(cat "$tmp/forged.json.err")"

# --- the old key is retired by the rotation: a run signed with it afterwards is not accepted ------
replay "$tmp/c1.yaml" "$tmp/cap/sample.pcap" run4.log
run4=$(rcli hvals "tw:{$S}:seals" | grep "key=$f_old" | sed 's/.* run=\([0-9a-f]*\) .*/\1/' | sort -u | grep -v "^$run1$" | head -1)
verify old new; rc=$?
[ -n "$run4" ] && [ $rc -eq 3 ] && grep -q "^bad signature: seal run $run4 " "$tmp/verify.out" &&
    ! grep -q "^bad signature: seal run $run1 " "$tmp/verify.out" ||
    fail "the old key after its rotation: exit $rc, run 4 '$run4': $(cat "$tmp/verify.out")"

if [ "$failures" -ne 0 ]; then
    echo "test_key_rotation: $failures failure(s)"
    exit 1
fi
echo "test_key_rotation: ok (rotation signed by both keys, verify and statements across it, a second rotation, a forged one refused, the old key retired, key files checked)"
