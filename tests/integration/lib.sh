# lib.sh - what the integration tests share, sourced by tests/integration/test_*.sh after
# `set -uo pipefail`: where things are, the skips (exit 77 with one line saying why), the
# temporary folder and its cleanup, and the failure count.
#
#   . "$(dirname "$0")/lib.sh"
#   tw_init "$@"                 sets build (the first argument, default build), tapwatch,
#                                query, here (this folder), root (the repository), redis_local
#   tw_need_tools T...           skips unless every command T is installed
#   tw_need_bins B...            skips unless every program B is built
#   tw_need_scapy                skips without python3-scapy (/usr/bin/python3, as the
#                                capture generators run)
#   tw_tmp NAME                  tmp=/tmp/tw-NAME.XXXXXX, removed at exit, after stopping the
#                                redis-server scripts/redis-local.sh started in "$tmp/r" and
#                                running $TW_CLEANUP (a command of the test's own, if set);
#                                KEEP=1 keeps the folder
#   fail MESSAGE                 says "FAIL: MESSAGE" and counts it in $failures

tw_init() {
    build=${1:-build}
    tapwatch=$build/tapwatch
    query=$build/tapwatch-query
    here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
    root=$(cd "$here/../.." && pwd)
    redis_local=$root/scripts/redis-local.sh
    failures=0
}

tw_need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
    done
}

tw_need_bins() {
    local b
    for b in "$@"; do
        [ -x "$b" ] || { echo "skip: $b not built"; exit 77; }
    done
}

tw_need_scapy() {
    /usr/bin/python3 -c 'import scapy' 2>/dev/null ||
        { echo "skip: python3-scapy not installed"; exit 77; }
}

tw_cleanup() {
    [ -n "${TW_CLEANUP:-}" ] && eval "$TW_CLEANUP"
    bash "$redis_local" stop "$tmp/r" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}

tw_tmp() {
    tmp=$(mktemp -d "/tmp/tw-$1.XXXXXX")
    trap tw_cleanup EXIT
}

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
