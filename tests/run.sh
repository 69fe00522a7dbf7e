#!/usr/bin/env bash
# run.sh BUILD_DIR - runs the whole suite: unit tests, integration tests, parity.
# Each test is a program: exit 0 = pass, 77 = skipped (it says why), anything else = fail.
# The last line is "tests: N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export TW_BUILD="$BUILD"
# third-party leaks the sanitized build must not fail on (each explained in the file)
[ -n "${TW_SANITIZED:-}" ] && export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
LOG=$(mktemp -d /tmp/tw-tests.XXXXXX)
pass=0 fail=0 skip=0
failed=()

run() { # name, command...
    local name=$1; shift
    local log=$LOG/${name//\//_}.log
    local t0=$(date +%s.%N)
    "$@" >"$log" 2>&1
    local rc=$?
    local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    case $rc in
        0) pass=$((pass + 1)); printf 'PASS  %-40s %6ss\n' "$name" "$dt" ;;
        77) skip=$((skip + 1)); printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")" ;;
        *) fail=$((fail + 1)); failed+=("$name")
           printf 'FAIL  %-40s %6ss (exit %d)\n' "$name" "$dt" "$rc"
           sed 's/^/      | /' "$log" | tail -n 40 ;;
    esac
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run "unit/$(basename "$t")" "$t"
done
# Integration tests, TW_TEST_JOBS (default 2) at a time: most wait on redis-server, sleeps
# or child processes more than they compute. Those listed in SERIAL run alone afterwards:
# they measure time or rates, kill servers on a schedule, burn every core (the fuzz smoke), or
# make network namespaces and interfaces of fixed names.
SERIAL=" test_writer_nonblocking test_redis_outage test_redis_cluster test_evidence_cluster test_fuzz_smoke
 test_iface test_iface_caps test_iface_veth test_promisc test_silence_live test_source_drops
 test_metrics test_service_unit "
JOBS=${TW_TEST_JOBS:-2}
running=0
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    [[ $SERIAL == *" $name "* ]] && continue
    if [ "$running" -ge "$JOBS" ]; then
        wait -n; running=$((running - 1))
    fi
    # in a subshell: its result goes to a file, counted below
    ( pass=0 fail=0 skip=0
      run "integration/$name" bash "$t" "$BUILD" >"$LOG/$name.result"
      echo "$pass $fail $skip" >"$LOG/$name.counts" ) &
    running=$((running + 1))
done
wait
for c in "$LOG"/*.counts; do
    [ -f "$c" ] || continue
    read -r p f s <"$c"
    cat "${c%.counts}.result"
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    [ "$f" -gt 0 ] && failed+=("integration/$(basename "$c" .counts)")
done
for t in tests/integration/test_*.sh; do
    name=$(basename "$t" .sh)
    [[ $SERIAL == *" $name "* ]] || continue
    run "integration/$name" bash "$t" "$BUILD"
done
if [ -z "${TW_SANITIZED:-}" ]; then
    keep=$(mktemp -d /tmp/tw-parity-keep.XXXXXX)
    run "parity/ndpireader" python3 tests/parity/parity.py "$BUILD" --keep "$keep"
    run "parity/wrapped" python3 tests/parity/wrapped.py "$BUILD" --orig "$keep" --alternate
    rm -rf "$keep"
else
    # under the sanitizers the parity run proves "no crash, no report" on every capture
    run "parity/ndpireader-sanitized" python3 tests/parity/parity.py "$BUILD" --bar 0
fi

echo "logs: $LOG"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
