#!/usr/bin/env bash
# test_evidence.sh - the signed evidence chain (README "Evidence") against a real redis-server:
# `tapwatch keygen`, two replays with signing.key (records, then alerts: two runs, two chains)
# and `tapwatch-query verify` exits 0, also with a read-only Redis user; then each tamper, on
# the same store restored between them (COPY of every key of the sensor): edit a record,
# delete a record (a frame field), insert a forged record, replay an older record frame,
# delete an alert, edit an alert, delete a seal, delete a whole hour, remove a block's time
# postings (records hidden from flows), add postings that point at nothing, remove a record's
# address posting, change a port posting, add a posting to an ordinal that does not exist,
# remove an alert's time index entry (the last two also with --since/--until over the records'
# hours, which hold no seal), edit a completeness statement, delete one, edit a summary value,
# remove a summary field, delete a summary bucket's hash, remove a sealed summary snapshot:
# verify exits 3 naming the right finding, and exits 0 again once the
# store is restored. A cut at the end (a run's newest seals removed with every item and
# statement they cover, and the postings of its records) is an unwatched finding (exit 3). A
# late flow: a summary bucket sealed when its hour is over is sealed again when a long flow
# that began in it ends; both snapshots verify, each removed or the bucket edited is found. A wrong public key fails
# every seal; a secret key file others may read is refused at start; a seal removed between two
# others is named; --since checks the seals of its range only; --workers 2 and 3 verify, and
# so does a run whose connections are killed and whose writes Redis refuses (OOM) a while;
# Redis down for a whole run (records and seals wait in run_dir) then a second start replays
# them (and the alerts of a run, from the hold file): verifies; the same with one spooled
# record edited on disk (CRC redone): altered. Keys evicted under maxmemory: a note line. A
# store whose index is in bucket slices (quiet_hour_postings 0) verifies, and an address
# posting removed, a port changed, a posting to nothing, a slice moved to another bucket are
# index findings.
#
#   bash tests/integration/test_evidence.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server, zstd, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"
tamper=$here/evidence_tamper.py

tw_need_tools redis-server redis-cli python3 zstd
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tw_tmp evidence

/usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_captures.py failed"; cat "$tmp/gen.log"; exit 1; }
/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/pcap" >"$tmp/gen2.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py failed"; cat "$tmp/gen2.log"; exit 1; }
sock=$(bash "$redis_local" start "$tmp/r") || { echo "FAIL: cannot start redis-server"; exit 1; }
url=unix://$sock
rcli() { redis-cli -s "$sock" "$@"; }

# --- keys ------------------------------------------------------------------------------------
"$tapwatch" keygen --out "$tmp/key" >"$tmp/keygen.out" 2>&1 || fail "keygen: $(cat "$tmp/keygen.out")"
"$tapwatch" keygen --out "$tmp/other" >/dev/null 2>&1 || fail "keygen of a second key"
fpr=$(sed -n 's/.*fingerprint \([0-9a-f]*\).*/\1/p' "$tmp/keygen.out")
cat >"$tmp/c.yaml" <<YAML
run_dir: $tmp/run
redis:
  url: $url
signing:
  key: $tmp/key
YAML
out=$("$tapwatch" --config "$tmp/c.yaml" --check-config 2>&1)
echo "$out" | grep -qx "tapwatch: signing key OK: fingerprint $fpr" || fail "check-config: $out"
# a secret key others may read is refused, at --check-config and at start
cp -p "$tmp/key" "$tmp/open"; chmod 0644 "$tmp/open"
sed "s|key: $tmp/key|key: $tmp/open|" "$tmp/c.yaml" >"$tmp/open.yaml"
"$tapwatch" --config "$tmp/open.yaml" --check-config >/dev/null 2>"$tmp/open.err"; rc=$?
[ $rc -eq 2 ] && grep -q "signing.key: .*0644" "$tmp/open.err" || fail "a key readable by others: exit $rc, $(cat "$tmp/open.err")"
"$tapwatch" --config "$tmp/open.yaml" --pcap "$tmp/cap/sample.pcap" --sensor refused --quiet >/dev/null 2>"$tmp/open2.err"; rc=$?
[ $rc -eq 2 ] && [ "$(rcli exists 'tw:{refused}:seals')" = 0 ] || fail "start with a key readable by others: exit $rc, $(cat "$tmp/open2.err")"
# format 1 with signing: refused in one line
printf 'redis:\n  format: 1\n' >>"$tmp/open.yaml"
sed "s|key: $tmp/open|key: $tmp/key|" "$tmp/open.yaml" >"$tmp/f1.yaml"
"$tapwatch" --config "$tmp/f1.yaml" --check-config >/dev/null 2>"$tmp/f1.err"; rc=$?
[ $rc -eq 2 ] && grep -q "redis.format 2" "$tmp/f1.err" || fail "signing with format 1: exit $rc, $(cat "$tmp/f1.err")"

# --- a signed store verifies ---------------------------------------------------------------
replay() { # SENSOR PCAP [options...]
    local sensor=$1 pcap=$2; shift 2
    "$tapwatch" --config "$tmp/c.yaml" --pcap "$pcap" --sensor "$sensor" --quiet "$@" \
        >"$tmp/$sensor.out" 2>&1 || fail "replay $sensor $pcap: $(tail -3 "$tmp/$sensor.out")"
}
verify() { # SENSOR [options...] -> exit status; output in $tmp/verify.out
    local sensor=$1; shift
    "$query" --redis "$url" --sensor "$sensor" verify --pubkey "$tmp/key.pub" "$@" >"$tmp/verify.out" 2>&1
}
replay ev "$tmp/cap/sample.pcap"
replay ev "$tmp/pcap/remote.pcap" --policy "$here/policy.yaml"
grep -q "signing evidence: key fingerprint $fpr" "$tmp/ev.out" || fail "the log does not name the key's fingerprint: $(grep -i sign "$tmp/ev.out")"
! grep -rqF "$(sed -n 2p "$tmp/key")" "$tmp/ev.out" "$tmp/run" 2>/dev/null || fail "the secret key reached a log or run_dir"
! rcli --scan --pattern '*' | xargs -r -n1 redis-cli -s "$sock" dump 2>/dev/null | grep -qaF "$(sed -n 2p "$tmp/key")" ||
    fail "the secret key reached Redis"
verify ev; rc=$?
[ $rc -eq 0 ] || fail "untouched store: verify exit $rc: $(cat "$tmp/verify.out")"
grep -q "alerts 3" "$tmp/verify.out" && grep -q ": verified$" "$tmp/verify.out" || fail "summary: $(cat "$tmp/verify.out")"
# every record and alert carries its sequence number where it is stored
rcli xrange 'tw:{ev}:alerts' - + | grep -qx seq || fail "alerts carry no seq field"
# the alerts' numbers are listed in their seal (kept redis.retention, not the hot window)
rcli hvals 'tw:{ev}:seals' | grep -q ' keep=15552000 long=[0-9]' || fail "no seal lists the alerts: $(rcli hvals 'tw:{ev}:seals' | cut -c1-80)"
# a user that may only read the sensor's keys verifies as well (it appends to the audit trail,
# as every query does: README "Audit of queries")
rcli ACL SETUSER ro on '>ro-pass' '%R~tw:*' '~tw:{audit:*' '&*' +@read +@connection \
    +eval +xadd +set +acl\|whoami >/dev/null
echo ro-pass >"$tmp/ro.pw"; chmod 600 "$tmp/ro.pw"
"$query" --redis "$url" --redis-user ro --redis-password-file "$tmp/ro.pw" --sensor ev verify \
    --pubkey "$tmp/key.pub" >"$tmp/ro.out" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "read-only user: verify exit $rc: $(cat "$tmp/ro.out")"
# a wrong public key fails every seal
nseals=$(rcli hlen 'tw:{ev}:seals')
"$query" --redis "$url" --sensor ev verify --pubkey "$tmp/other.pub" >"$tmp/wrong.out" 2>&1; rc=$?
nstatements=$(rcli xlen 'tw:{ev}:statements')
[ $rc -eq 3 ] && [ "$(grep -c '^bad signature: seal' "$tmp/wrong.out")" = "$nseals" ] &&
    [ "$(grep -c '^bad signature: statement' "$tmp/wrong.out")" = "$nstatements" ] ||
    fail "wrong key: exit $rc, $(grep -c '^bad signature' "$tmp/wrong.out") bad signatures for $nseals seals and $nstatements statements"
# --since after every seal: nothing to check, verified
verify ev --since 2099-01-01; rc=$?
[ $rc -eq 0 ] || fail "--since in the future: exit $rc: $(cat "$tmp/verify.out")"

# --- tampers, each on the store restored -----------------------------------------------------
keys=$(rcli --scan --pattern 'tw:{ev*')
for k in $keys; do rcli copy "$k" "bak:$k" replace >/dev/null; done
restore() {
    rcli --scan --pattern 'tw:{ev*' | xargs -r redis-cli -s "$sock" del >/dev/null
    for k in $keys; do rcli copy "bak:$k" "$k" replace >/dev/null; done
}
tampered() { # TAMPER FINDING [VERIFY OPTIONS]: verify exits 3 with a line starting with
             # FINDING, 0 once restored
    local what=$1 want=$2 rc
    shift 2
    /usr/bin/python3 "$tamper" "$sock" ev "$what" >"$tmp/tamper.out" 2>&1 || { fail "$what: $(cat "$tmp/tamper.out")"; return; }
    verify ev "$@"; rc=$?
    # (a posting that points at nothing names no sequence number)
    if [ $rc -ne 3 ] || ! grep -q "^$want" "$tmp/verify.out" ||
        { [ "$want" != "inserted: index" ] && ! grep -q "first bad: run" "$tmp/verify.out"; }; then
        fail "$what: verify exit $rc, wanted 3 and '$want': $(cat "$tmp/verify.out")"
    else
        echo "    $what${1:+ $*}: $(grep -m1 "^$want" "$tmp/verify.out" | cut -c1-110)"
    fi
    restore
    verify ev "$@"; rc=$?
    [ $rc -eq 0 ] || fail "$what restored: verify exit $rc: $(head -5 "$tmp/verify.out")"
}
tampered edit-record altered
tampered delete-record deleted
tampered insert-record inserted
tampered replay-older reordered
tampered delete-alert deleted
tampered edit-alert altered
tampered delete-seal "\(inserted\|deleted: seal\)" # which, depends on how many seals the run made
tampered delete-hour deleted
tampered hide-index "altered: index"
tampered orphan-index "inserted: index"
tampered hide-address "altered: index"
tampered edit-port "altered: index"
tampered orphan-posting "inserted: index"
tampered delete-alert-index "altered: index"
# a range holding the records' hours but no seal (they were made later, at replay time): the
# indexes of its hours are checked all the same
range="--since $(rcli zrange 'tw:{ev}:hours' 0 0 | awk '{print $1 * 3600}') --until $(rcli zrange 'tw:{ev}:hours' -1 -1 | awk '{print $1 * 3600 + 3599}')"
# shellcheck disable=SC2086  # two options and their values
tampered hide-address "altered: index" $range
# shellcheck disable=SC2086
tampered delete-alert-index "altered: index" $range
tampered edit-statement "bad signature: statement tw:{ev}:statements"
tampered delete-statement deleted
# summaries (README "Summaries"): what the sealed snapshots of a bucket sum to is what Redis holds
[ "$(rcli zcard 'tw:{ev}:sum-sealed')" -gt 0 ] || fail "no sealed summary bucket: $(rcli keys 'tw:{ev}:sum*')"
tampered edit-summary "altered: summary tw:{ev}:sum:[^ ]*:d:[0-9]*: Redis holds \"f bytes_out"
tampered delete-summary-field "altered: summary tw:{ev}:sum:[^ ]*:d:"
tampered delete-summary-key "deleted: summary tw:{ev}:sum:[^ ]*:d:[0-9]* "
tampered delete-summary-snapshot "deleted: run [0-9a-f]* seq"

# --- a late flow: a summary bucket sealed when its hour is over, and again when a long flow
# that began in it ends later (equipment atm-ctrl-01 of policy.yaml; flows ended by RST) ------
/usr/bin/python3 - "$tmp/late.pcap" <<'PY' || fail "late.pcap"
import sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
H = 492400 * 3600
def flow(sport, dst, times):  # a TCP flow of the equipment, packets both ways, then RST
    out = []
    for i, t in enumerate(times):
        fl = "R" if i == len(times) - 1 else "S" if i == 0 else "SA" if i == 1 else "PA"
        pay = b"" if fl in ("R", "S", "SA") else b"x" * (100 + 100 * (i % 2))
        ip = IP(src="10.40.1.11", dst=dst) if i % 2 == 0 else IP(src=dst, dst="10.40.1.11")
        tcp = TCP(sport=sport, dport=443, flags=fl) if i % 2 == 0 else TCP(sport=443, dport=sport, flags=fl)
        p = Ether() / ip / tcp / Raw(pay) if pay else Ether() / ip / tcp
        p.time = t
        out.append(p)
    return out
# C: H:51-H:55 (summed in hour H), B: H+1:05-H+1:06 (the sensor's time passes the hour: H
# sealed), A: H:50-H+1:20 (ends late: hour H changed again, sealed again at stop)
pk = (flow(40000, "10.40.0.99", [H + 3000 + 10 * i for i in range(181)]) +
      flow(40002, "10.40.0.97", [H + 3060 + 10 * i for i in range(25)]) +
      flow(40001, "10.40.0.98", [H + 3900 + 5 * i for i in range(13)]))
wrpcap(sys.argv[1], sorted(pk, key=lambda p: p.time))
PY
replay late "$tmp/late.pcap" --policy "$here/policy.yaml"
lk='tw:{late}:sum:atm-ctrl-01:h:492400'
verify late; rc=$?
[ $rc -eq 0 ] && [ "$(rcli hlen "$lk:seals")" = 2 ] ||
    fail "a late flow: verify exit $rc, $(rcli hlen "$lk:seals") snapshots of $lk: $(tail -2 "$tmp/verify.out")"
newest=$(rcli hkeys "$lk:seals" | sort -t: -k2 -n | tail -1)
rcli copy "$lk:seals" bak:lateseals replace >/dev/null; rcli copy "$lk" bak:late replace >/dev/null
rcli hdel "$lk:seals" "$newest" >/dev/null
verify late; rc=$?
[ $rc -eq 3 ] && grep -q "^deleted: run ${newest%%:*} seq ${newest##*:} " "$tmp/verify.out" ||
    fail "the late flow's snapshot removed: verify exit $rc: $(head -3 "$tmp/verify.out")"
rcli copy bak:lateseals "$lk:seals" replace >/dev/null
rcli hincrby "$lk" packets_out -1 >/dev/null
verify late; rc=$?
[ $rc -eq 3 ] && grep -q "^altered: summary $lk: Redis holds \"f packets_out" "$tmp/verify.out" ||
    fail "a late flow's bucket edited: verify exit $rc: $(head -3 "$tmp/verify.out")"
rcli copy bak:late "$lk" replace >/dev/null
verify late; rc=$?
[ $rc -eq 0 ] || fail "a late flow's bucket restored: verify exit $rc: $(head -3 "$tmp/verify.out")"

# --- the index in bucket slices (redis.quiet_hour_postings 0: no quiet slice) ---------------
sed 's|^redis:|redis:\n  quiet_hour_postings: 0|' "$tmp/c.yaml" >"$tmp/cb.yaml"
"$tapwatch" --config "$tmp/cb.yaml" --pcap "$tmp/cap/sample.pcap" --sensor bk --quiet \
    >"$tmp/bk.out" 2>&1 || fail "replay bk: $(tail -3 "$tmp/bk.out")"
[ "$(rcli --scan --pattern 'tw:{bk:*}:x:[0-9]*' | wc -l)" -gt 10 ] &&
    [ "$(rcli --scan --pattern 'tw:{bk:*}:x:a' | wc -l)" -eq 0 ] || fail "bk: no bucket slices"
verify bk; rc=$?
[ $rc -eq 0 ] || fail "bucket slices: verify exit $rc: $(head -3 "$tmp/verify.out")"
bkeys=$(rcli --scan --pattern 'tw:{bk*')
for k in $bkeys; do rcli copy "$k" "bak:$k" replace >/dev/null; done
for what in hide-address edit-port orphan-posting misfile-slice; do
    /usr/bin/python3 "$tamper" "$sock" bk "$what" >"$tmp/tamper.out" 2>&1 || fail "bk $what: $(cat "$tmp/tamper.out")"
    want="altered: index"
    [ "$what" = orphan-posting ] && want="inserted: index"
    verify bk; rc=$?
    if [ $rc -ne 3 ] || ! grep -q "^$want" "$tmp/verify.out"; then
        fail "bk $what ($(cat "$tmp/tamper.out")): verify exit $rc, wanted 3 and '$want': $(cat "$tmp/verify.out")"
    else
        echo "    $what (bucket slices): $(grep -m1 "^$want" "$tmp/verify.out" | cut -c1-110)"
    fi
    rcli --scan --pattern 'tw:{bk*' | xargs -r redis-cli -s "$sock" del >/dev/null
    for k in $bkeys; do rcli copy "bak:$k" "$k" replace >/dev/null; done
    verify bk; rc=$?
    [ $rc -eq 0 ] || fail "bk $what restored: verify exit $rc: $(head -3 "$tmp/verify.out")"
done

# --- a run with several seals: a seal removed between two others; --since ------------------
replay ms "$tmp/cap/sample.pcap" --replay-speed 200 # about 3 s: a seal a second
seals=$(rcli hkeys 'tw:{ms}:seals' | sort)
if [ "$(echo "$seals" | wc -l)" -lt 3 ]; then
    fail "several seals: $(echo "$seals" | wc -l) seals in a 3 s run"
else
    verify ms; rc=$?
    [ $rc -eq 0 ] || fail "several seals: verify exit $rc: $(head -3 "$tmp/verify.out")"
    second=$(echo "$seals" | sed -n 2p); last=$(echo "$seals" | tail -1)
    rcli copy 'tw:{ms}:seals' bak:seals replace >/dev/null
    rcli hdel 'tw:{ms}:seals' "$second" >/dev/null
    verify ms; rc=$?
    [ $rc -eq 3 ] && grep -q "^deleted: seal run ${second%%:*} no 2 " "$tmp/verify.out" ||
        fail "a seal removed between two: verify exit $rc: $(head -3 "$tmp/verify.out")"
    rcli copy bak:seals 'tw:{ms}:seals' replace >/dev/null
    # --since the last seal's time: that seal alone is checked, and its items
    t=$(rcli hget 'tw:{ms}:seals' "$last" | sed 's/.*time=\([0-9]*\).*/\1/')
    verify ms --since "$((t / 1000000)).$(printf %06d $((t % 1000000)))"; rc=$?
    [ $rc -eq 0 ] && grep -q ": 1 seals," "$tmp/verify.out" ||
        fail "--since the last seal: verify exit $rc: $(head -3 "$tmp/verify.out")"
fi

# --- a cut at the end: the newest seals removed with their items and statements -----------
# (statement_interval 1 s: a run whose statements stop short is told 2 s after its last one)
sed 's/^signing:/evidence:\n  statement_interval: 1s\nsigning:/' "$tmp/c.yaml" >"$tmp/c1.yaml"
"$tapwatch" --config "$tmp/c1.yaml" --pcap "$tmp/cap/sample.pcap" --sensor cut --quiet \
    --replay-speed 200 >"$tmp/cut.out" 2>&1 || fail "replay cut: $(tail -3 "$tmp/cut.out")"
verify cut; rc=$?
[ $rc -eq 0 ] && grep -q "statements [4-9]" "$tmp/verify.out" ||
    fail "statements each second: verify exit $rc: $(tail -2 "$tmp/verify.out")"
ckeys=$(rcli --scan --pattern 'tw:{cut*')
for k in $ckeys; do rcli copy "$k" "bak:$k" replace >/dev/null; done
/usr/bin/python3 "$tamper" "$sock" cut delete-newest >"$tmp/tamper.out" 2>&1 || fail "delete-newest: $(cat "$tmp/tamper.out")"
sleep 2.2 # the last statement left is now more than 2 intervals old, whatever the machine's pace
verify cut; rc=$?
if [ $rc -ne 3 ] || ! grep -q "^unwatched: .*(the sensor is silent)" "$tmp/verify.out" ||
    grep -q "^\(altered\|deleted\|inserted\|reordered\|bad\)" "$tmp/verify.out"; then
    fail "a cut at the end ($(cat "$tmp/tamper.out")): verify exit $rc, wanted 3 and unwatched only: $(cat "$tmp/verify.out")"
else
    echo "    delete-newest: $(grep -m1 "^unwatched" "$tmp/verify.out" | cut -c1-110)"
fi
# restored: verifies again
rcli --scan --pattern 'tw:{cut*' | xargs -r redis-cli -s "$sock" del >/dev/null
for k in $ckeys; do rcli copy "bak:$k" "$k" replace >/dev/null; done
verify cut; rc=$?
[ $rc -eq 0 ] || fail "cut restored: verify exit $rc: $(head -5 "$tmp/verify.out")"

# --- two workers ---------------------------------------------------------------------------
for w in 2 3; do
    replay "w$w" "$tmp/cap/sample.pcap" --workers "$w"
    replay "w$w" "$tmp/pcap/remote.pcap" --workers "$w" --policy "$here/policy.yaml" # summaries
    verify "w$w"; rc=$?
    [ $rc -eq 0 ] && [ "$(rcli zcard "tw:{w$w}:sum-sealed")" -gt 0 ] ||
        fail "--workers $w: verify exit $rc, $(rcli zcard "tw:{w$w}:sum-sealed") summary buckets sealed: $(cat "$tmp/verify.out")"
done

# --- connections dropped and writes refused (OOM) mid-run: batches and seals sent again -----
"$tapwatch" --config "$tmp/c.yaml" --pcap "$tmp/cap/sample.pcap" --sensor flap --quiet \
    --replay-speed 100 >"$tmp/flap.out" 2>&1 &
flap=$!
sleep 1.5; rcli client kill type normal >/dev/null
sleep 0.5; rcli config set maxmemory-policy noeviction >/dev/null; rcli config set maxmemory 1 >/dev/null
sleep 1.5; rcli config set maxmemory 0 >/dev/null
wait "$flap" || fail "flap: tapwatch exited $?: $(tail -3 "$tmp/flap.out")"
grep -q "reconnects [1-9]" "$tmp/flap.out" || fail "flap: no reconnect: $(grep redis "$tmp/flap.out")"
verify flap; rc=$?
[ $rc -eq 0 ] && [ "$(rcli hlen 'tw:{flap}:seals')" -ge 2 ] ||
    fail "dropped connections and OOM mid-run: verify exit $rc, $(rcli hlen 'tw:{flap}:seals') seals: $(head -3 "$tmp/verify.out")"

# --- Redis down for a whole run: records and seals wait in run_dir, the next start sends them --
cat >"$tmp/small.yaml" <<YAML
run_dir: $tmp/run
redis:
  url: $url
  buffer: 4
  batch: 2
  spool_file_records: 100000
  drain_timeout: 300ms
signing:
  key: $tmp/key
YAML
grep -v drain_timeout "$tmp/small.yaml" >"$tmp/small2.yaml" # the second start writes it all
outage() { # SENSOR [spool-tamper]
    local sensor=$1 rc
    bash "$redis_local" stop "$tmp/r" >/dev/null
    "$tapwatch" --config "$tmp/small.yaml" --pcap "$tmp/cap/sample.pcap" --sensor "$sensor" \
        --stats-interval 0 >"$tmp/$sensor.1.out" 2>&1
    [ -s "$tmp/run/redis-spool-$sensor.dat" ] && [ -s "$tmp/run/evidence-seals-$sensor.txt" ] ||
        fail "$sensor: no spool or seal file after a run with Redis down: $(ls "$tmp/run")"
    [ -n "${2:-}" ] && { /usr/bin/python3 "$tamper" spool "$tmp/run/redis-spool-$sensor.dat" >/dev/null || fail "spool tamper"; }
    sock=$(bash "$redis_local" start "$tmp/r") || fail "cannot start redis-server again"
    "$tapwatch" --config "$tmp/small2.yaml" --pcap "$tmp/cap/eth.pcap" --sensor "$sensor" \
        --stats-interval 0 >"$tmp/$sensor.2.out" 2>&1 || fail "$sensor: second start: $(tail -3 "$tmp/$sensor.2.out")"
    [ ! -e "$tmp/run/evidence-seals-$sensor.txt" ] || fail "$sensor: the seal file is still there"
}
outage down
# alerts too: with a policy, the alerts of the run wait in the hold file with their numbers
bash "$redis_local" stop "$tmp/r" >/dev/null
"$tapwatch" --config "$tmp/small.yaml" --pcap "$tmp/pcap/remote.pcap" --sensor downa \
    --policy "$here/policy.yaml" --stats-interval 0 >"$tmp/downa.1.out" 2>&1
[ -s "$tmp/run/redis-alerts-downa.dat" ] || fail "downa: no alert hold file: $(ls "$tmp/run")"
sock=$(bash "$redis_local" start "$tmp/r") || fail "cannot start redis-server again"
"$tapwatch" --config "$tmp/small2.yaml" --pcap "$tmp/cap/eth.pcap" --sensor downa \
    --policy "$here/policy.yaml" --stats-interval 0 >"$tmp/downa.2.out" 2>&1 ||
    fail "downa: second start: $(tail -3 "$tmp/downa.2.out")"
verify downa; rc=$?
[ $rc -eq 0 ] && grep -q "alerts 3" "$tmp/verify.out" && grep -q "^summaries: [1-9]" "$tmp/verify.out" ||
    fail "alerts and summaries held through an outage: verify exit $rc: $(head -5 "$tmp/verify.out")"
verify down; rc=$?
[ $rc -eq 0 ] || fail "outage and spool replay: verify exit $rc: $(head -5 "$tmp/verify.out")"
outage forged spool
verify forged; rc=$?
if [ $rc -ne 3 ] || ! grep -q "^altered" "$tmp/verify.out"; then
    fail "a spooled record edited on disk: verify exit $rc: $(head -5 "$tmp/verify.out")"
else
    echo "    spool: $(grep -m1 '^altered' "$tmp/verify.out" | cut -c1-110)"
fi

# --- keys evicted (maxmemory): one note line (the last check: it empties the store) -------
rcli config set maxmemory-policy allkeys-random >/dev/null
rcli config set maxmemory 1 >/dev/null
rcli ping >/dev/null # the next command evicts
rcli config set maxmemory 0 >/dev/null
n_ev=$(rcli info stats | sed -n 's/^evicted_keys:\([0-9]*\).*/\1/p')
verify ev; rc=$? # (every key of the store evicted, seals too: nothing left to find)
[ "${n_ev:-0}" -gt 0 ] &&
    grep -q "^note: Redis reports $n_ev keys evicted (maxmemory-policy): what they held" "$tmp/verify.out" ||
    fail "$n_ev keys evicted: verify exit $rc: $(grep -v '^deleted' "$tmp/verify.out" | head -5)"

if [ "$failures" -ne 0 ]; then
    echo "test_evidence: $failures failure(s)"
    exit 1
fi
echo "test_evidence: ok (keys, verify, 22 tampers in Redis (4 of summaries), 4 in bucket slices, a summary sealed again after a late flow, a cut at the end, a forged spool entry, 2 and 3 workers, outages)"
