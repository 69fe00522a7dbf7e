#!/usr/bin/env bash
# test_fuzz_smoke.sh - the libFuzzer targets of tests/fuzz/, briefly, as a test.
#
#   bash tests/integration/test_fuzz_smoke.sh BUILD_DIR     (BUILD_DIR is not used: the fuzz
#                                                           targets live in build-fuzz/)
# Builds the targets (make fuzz-build: clang, ASan + UBSan + libFuzzer), replays every saved
# crashing input of tests/fuzz/regressions/ (each must now pass), then fuzzes each target for
# 3 seconds from fresh seed corpora (tests/fuzz/make_seeds.py): with 6 targets, about 30 s in
# all. `make fuzz` is the long run.
# Exit 0 pass, 1 fail (the target and its crash are printed), 77 skip (no clang/libFuzzer).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fb=${FUZZ_BUILD:-build-fuzz}
per_target=${TW_FUZZ_SMOKE_SECONDS:-3}

if [ -n "${TW_SANITIZED:-}" ]; then
    echo "skip: the fuzz targets are sanitized builds already; they ran in the first pass"; exit 77
fi
command -v clang >/dev/null || { echo "skip: clang is not installed (scripts/install-deps.sh installs it)"; exit 77; }

tmp=$(mktemp -d /tmp/tw-fuzzsmoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! clang -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" 2>"$tmp/probe.log"; then
    echo "skip: clang cannot link libFuzzer (libclang-rt-14-dev missing?): $(head -n 1 "$tmp/probe.log")"
    exit 77
fi

cd "$root" || exit 1
if ! make --no-print-directory -s fuzz-build FUZZ_BUILD="$fb" >"$tmp/build.log" 2>&1; then
    echo "FAIL: make fuzz-build:"; tail -n 30 "$tmp/build.log"; exit 1
fi
targets=$(make --no-print-directory -s fuzz-targets)
[ -n "$targets" ] || { echo "FAIL: cannot read FUZZ_TARGETS from the Makefile"; exit 1; }
if ! python3 tests/fuzz/make_seeds.py "$tmp/seeds" >"$tmp/seeds.log" 2>&1; then
    echo "FAIL: tests/fuzz/make_seeds.py:"; cat "$tmp/seeds.log"; exit 1
fi

failed=0
for t in $targets; do
    bin=$fb/fuzz_$t
    # 1. every saved crash, replayed one by one
    if [ -d "tests/fuzz/regressions/$t" ] && [ -n "$(ls -A "tests/fuzz/regressions/$t")" ]; then
        if ! "$bin" "tests/fuzz/regressions/$t"/* >"$tmp/$t.replay.log" 2>&1; then
            failed=$((failed + 1))
            echo "FAIL $t: a saved crash in tests/fuzz/regressions/$t crashes again:"
            grep -E 'Running:|ERROR|runtime error|SUMMARY' "$tmp/$t.replay.log" | tail -n 5
            continue
        fi
    fi
    # 2. a short fuzzing run from the seeds
    mkdir -p "$tmp/corpus/$t"
    "$bin" -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$tmp/$t-" "$tmp/corpus/$t" "$tmp/seeds/$t" >"$tmp/$t.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        echo "FAIL $t: exit $rc after ${runs:-?} runs"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$tmp/$t.log" | head -n 5
        for a in "$tmp/$t"-*; do
            [ -f "$a" ] || continue
            echo "  crashing input (hex): $(od -An -tx1 -N 96 "$a" | tr -s ' \n' ' ')"
        done
    else
        echo "ok   $t: ${runs:-?} runs in ${per_target}s"
    fi
done
[ $failed -eq 0 ] || { echo "test_fuzz_smoke: $failed target(s) failed"; exit 1; }
echo "test_fuzz_smoke: every target ran without a crash"
