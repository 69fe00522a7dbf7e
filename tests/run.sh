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
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run "integration/$(basename "$t" .sh)" bash "$t" "$BUILD"
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
