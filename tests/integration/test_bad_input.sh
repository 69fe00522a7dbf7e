#!/usr/bin/env bash
# test_bad_input.sh - bad input from the user (capture file, config, command line, EAL
# arguments) gets exactly one clear line on stderr naming the file or option and a non-zero
# exit: never a
# crash (exit >= 128), never a hang. A capture cut short is replayed up to the cut (exit 0,
# one line saying where it was cut); snaplen-truncated packets are parsed or counted drops;
# a capture truncated by someone else while it is read stops the run with one line (exit 1).
#
#   bash tests/integration/test_bad_input.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no binary or no scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
check=$here/check_flows.py
fixtures=tests/fixtures/config     # relative, as a user would type it (run from the root)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }
tapwatch=$(cd "$(dirname "$tapwatch")" && pwd)/tapwatch
cd "$root" || exit 1

tmp=$(mktemp -d /tmp/tw-badinput.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
indent() { sed 's/^/    /'; }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi
exp=$tmp/cap/expected.json
cap=$tmp/cap

# run ARGS...: tapwatch ARGS under timeout 60; sets rc, and $tmp/out, $tmp/err
run() {
    timeout 60 "$tapwatch" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}

# bad WHAT NEEDLE ARGS...: a non-zero exit without a crash or a hang, exactly one line on
# stderr, and that line contains NEEDLE (the file or option at fault).
bad() {
    local what=$1 needle=$2
    shift 2
    run "$@"
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ $rc -eq 124 ]; then
        fail "$what: tapwatch $* did not finish within 60 s"; return
    elif [ $rc -ge 128 ]; then
        fail "$what: tapwatch $* crashed (exit $rc): $(head -c 600 "$tmp/err")"; return
    elif [ $rc -eq 0 ]; then
        fail "$what: tapwatch $* exited 0, expected an error (stderr: $(head -c 300 "$tmp/err"))"; return
    fi
    if [ "$lines" -ne 1 ] || [ "$(wc -c <"$tmp/err")" -le 1 ]; then
        fail "$what: tapwatch $*: expected exactly one line on stderr, got $lines:"
        indent <"$tmp/err"
    elif ! grep -qF -- "$needle" "$tmp/err"; then
        fail "$what: tapwatch $*: the error does not mention '$needle': $(cat "$tmp/err")"
    elif [ -n "${WRONG:-}" ] && grep -qiF -- "$WRONG" "$tmp/err"; then
        fail "$what: tapwatch $*: misleading error (says '$WRONG'): $(cat "$tmp/err")"
    fi
}

# 1. capture files
bad "empty file" "$cap/empty.pcap" --pcap "$cap/empty.pcap" --quiet
bad "not a pcap" "$cap/notpcap.pcap" --pcap "$cap/notpcap.pcap" --quiet
bad "unknown link type" "$cap/unknown_link.pcap" --pcap "$cap/unknown_link.pcap" --quiet
grep -q 147 "$tmp/err" || fail "unknown link type: the error does not name link type 147: $(cat "$tmp/err")"
bad "missing file" "$tmp/no-such.pcap" --pcap "$tmp/no-such.pcap" --quiet
bad "a directory" "$cap" --pcap "$cap" --quiet
if [ "$(id -u)" -ne 0 ]; then
    cp "$cap/eth.pcap" "$tmp/unreadable.pcap" && chmod 000 "$tmp/unreadable.pcap"
    bad "unreadable file" "$tmp/unreadable.pcap" --pcap "$tmp/unreadable.pcap" --quiet
fi

# 2. configuration files
bad "missing config" "$tmp/no-such.yaml" --pcap "$cap/eth.pcap" --config "$tmp/no-such.yaml" --quiet
bad "config is a directory" "$tmp" --pcap "$cap/eth.pcap" --config "$tmp" --quiet
n=0
for f in "$fixtures"/bad-*.yaml; do
    n=$((n + 1))
    want=$(sed -n '1s/^# expect: //p' "$f")
    [ -n "$want" ] || { fail "$f: no '# expect:' first line"; continue; }
    base=$(basename "$f")
    bad "$base" "$f" --pcap "$cap/eth.pcap" --config "$f" --quiet
    case $want in
    "$base"*)   # an error of the file itself: exactly the loader's message, path as given
        # (a log line: "2026-12-02T06:50:01.123+00:00 error tapwatch: ...", control/plane/log.h)
        [ "$(sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2} error //' "$tmp/err")" = "tapwatch: $fixtures/$want" ] ||
            fail "$base: expected '<time> error tapwatch: $fixtures/$want', got '$(cat "$tmp/err")'" ;;
    *)          # a rule between keys: the message, and the file it is about
        grep -qF -- "$want" "$tmp/err" ||
            fail "$base: expected the message '$want', got '$(cat "$tmp/err")'" ;;
    esac
    # --check-config says the same
    run --config "$f" --check-config
    [ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "$base: --check-config exited $rc"
done
[ $n -gt 0 ] || fail "no $fixtures/bad-*.yaml fixtures found"

run --config config/tapwatch.yaml --check-config
[ $rc -eq 0 ] || fail "--config config/tapwatch.yaml --check-config exited $rc: $(head -c 600 "$tmp/err")"
for f in "$fixtures"/good-*.yaml; do
    run --config "$f" --check-config
    [ $rc -eq 0 ] || fail "--config $f --check-config exited $rc: $(head -c 600 "$tmp/err")"
done

# 3. command line
bad "unknown option" "--bogus" --pcap "$cap/eth.pcap" --bogus
bad "unknown short option" "-x" --pcap "$cap/eth.pcap" -x
# a known option without its value is not an "unknown option"
WRONG="unknown option" bad "option missing its value (--config)" "--config" --pcap "$cap/eth.pcap" --config
WRONG="unknown option" bad "option missing its value (--pcap)" "--pcap" --quiet --pcap
WRONG="unknown option" bad "option missing its value (--workers)" "--workers" --pcap "$cap/eth.pcap" --workers
bad "option with a bad value (--workers)" "--workers" --pcap "$cap/eth.pcap" --workers many
bad "two inputs (--pcap twice)" "--pcap" --pcap "$cap/eth.pcap" --pcap "$cap/sll.pcap" --quiet
bad "two inputs (--pcap and --iface)" "--pcap" --pcap "$cap/eth.pcap" --iface lo --quiet
bad "no input" "--pcap" --quiet
bad "stray argument" "$cap/sll.pcap" --pcap "$cap/eth.pcap" "$cap/sll.pcap" --quiet
bad "--flows-jsonl into a missing folder" "$tmp/no/such/dir/f.jsonl" \
    --pcap "$cap/eth.pcap" --flows-jsonl "$tmp/no/such/dir/f.jsonl" --quiet
# EAL arguments after --: DPDK's ~100-line usage text and its log lines become one line
bad "unknown EAL argument" "--bogus-eal" --pcap "$cap/eth.pcap" --quiet -- --bogus-eal
[ -s "$tmp/out" ] && fail "unknown EAL argument: DPDK's usage text reached stdout ($(wc -l <"$tmp/out") lines)"
bad "EAL argument with a bad value" "--lcores 0@1023" --pcap "$cap/eth.pcap" --quiet -- --lcores 0@1023
grep -qF "invalid parameter for --lcores" "$tmp/err" ||
    fail "EAL argument with a bad value: EAL's reason is missing: $(cat "$tmp/err")"

# 4. captures cut short: the complete packets are replayed, one line says where it was cut
for c in cut.pcap cut_header.pcap; do
    run --pcap "$cap/$c" --quiet --flows-jsonl "$tmp/$c.jsonl"
    if [ $rc -ne 0 ]; then
        fail "$c: exit $rc, expected 0 (the complete packets are good): $(head -c 600 "$tmp/err")"
        continue
    fi
    ncut=$(grep -ci cut "$tmp/err")
    if [ "$ncut" -ne 1 ]; then
        fail "$c: expected exactly one line on stderr saying where the capture was cut, got $ncut:"
        indent <"$tmp/err"
    else
        complete=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["captures"][sys.argv[2]]["complete_packets"])' "$exp" "$c")
        line=$(grep -i cut "$tmp/err")
        [[ $line == *"$c"* ]] || fail "$c: the cut message does not name the file: $line"
        [[ $line =~ (^|[^0-9])$complete([^0-9]|$) ]] ||
            fail "$c: the cut message does not say after how many packets ($complete): $line"
    fi
    res=$(python3 "$check" flows "$exp" "$c" "$tmp/$c.jsonl") ||
        { fail "$c: flows differ from expected.json:"; printf '%s\n' "$res" | indent; }
    res=$(python3 "$check" summary "$tmp/out" --received "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["captures"][sys.argv[2]]["complete_packets"])' "$exp" "$c")") ||
        { fail "$c: summary:"; printf '%s\n' "$res" | indent; }
done

# 5. snaplen-truncated packets: parsed or a named drop, every packet accounted for
run --pcap "$cap/trunc_packets.pcap" --quiet --flows-jsonl "$tmp/trunc.jsonl"
if [ $rc -ne 0 ]; then
    fail "trunc_packets.pcap: exit $rc, expected 0: $(head -c 600 "$tmp/err")"
else
    total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["captures"]["trunc_packets.pcap"]["packets"])' "$exp")
    res=$(python3 "$check" summary "$tmp/out" --received "$total") ||
        { fail "trunc_packets.pcap: summary:"; printf '%s\n' "$res" | indent; indent <"$tmp/out"; }
    res=$(python3 "$check" flows "$exp" trunc_packets.pcap "$tmp/trunc.jsonl" --upper-bound) ||
        { fail "trunc_packets.pcap: flows:"; printf '%s\n' "$res" | indent; }
fi

# 6. a capture that shrinks while it is read (it is mapped): one line, exit 1, no crash
cp "$cap/sample.pcap" "$tmp/shrinking.pcap"
timeout 60 "$tapwatch" --pcap "$tmp/shrinking.pcap" --loop 1000000 --quiet \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
tw=$!
sleep 1
truncate -s 100000 "$tmp/shrinking.pcap"
wait $tw
rc=$?
if [ $rc -ne 1 ]; then
    fail "capture truncated while read: exit $rc, expected 1: $(tail -n 2 "$tmp/err")"
elif ! grep -q "shrank" "$tmp/err"; then
    fail "capture truncated while read: no line saying so: $(tail -n 2 "$tmp/err")"
fi

if [ $failures -gt 0 ]; then
    echo "test_bad_input: $failures failure(s)"
    exit 1
fi
echo "test_bad_input: every bad input gets one clear line and a non-zero exit"
exit 0
