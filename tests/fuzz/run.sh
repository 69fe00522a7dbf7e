#!/usr/bin/env bash
# run.sh FUZZ_BUILD SECONDS TARGET... - what `make fuzz` runs: builds the seed corpora, then
# runs each libFuzzer target for SECONDS on them and prints one line per target.
#
#   FUZZ_BUILD/seeds/T      seeds from tests/fuzz/make_seeds.py (rebuilt every run)
#   FUZZ_BUILD/corpus/T     what the fuzzer found interesting (kept between runs)
#   FUZZ_BUILD/artifacts/   crashing inputs: reproduce with FUZZ_BUILD/fuzz_T FILE; once fixed,
#                           copy the file to tests/fuzz/regressions/T/ (replayed by make test)
#   FUZZ_BUILD/logs/T.log   the fuzzer's output
# Exit 0 when no target crashed, 1 otherwise.
set -uo pipefail

build=${1:?usage: run.sh FUZZ_BUILD SECONDS TARGET...}
secs=${2:?}
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
mkdir -p "$build/logs" "$build/artifacts"
python3 tests/fuzz/make_seeds.py "$build/seeds" || exit 1

failed=0
printf '%-12s %10s %12s %8s  %s\n' target exec/s executions corpus result
for t in "$@"; do
    bin=$build/fuzz_$t
    mkdir -p "$build/corpus/$t"
    dirs=("$build/corpus/$t" "$build/seeds/$t")
    [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$t-" "${dirs[@]}" >"$build/logs/$t.log" 2>&1
    rc=$?
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/logs/$t.log")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/logs/$t.log")
    corp=$(ls "$build/corpus/$t" | wc -l)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        failed=$((failed + 1))
        result="CRASH (exit $rc): $(grep -m1 -E 'ERROR:|runtime error' "$build/logs/$t.log"); \
input: $(sed -n "s/.*Test unit written to //p" "$build/logs/$t.log" | head -1)"
    fi
    printf '%-12s %10s %12s %8s  %s\n' "$t" "${eps:-?}" "${runs:-?}" "$corp" "$result"
done
[ $failed -eq 0 ]
