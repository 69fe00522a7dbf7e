#!/usr/bin/env bash
# test_log_targets.sh BUILD_DIR - where log lines go (control/plane/log.h, --log, --log-level):
#  1. stderr: every line is "ISO-8601-TIME LEVEL tapwatch: message" (the live line too, at
#     info); --log-level warning leaves out notices and the live line, error too;
#     log: and log_level: in the configuration do the same, and --log overrides log:;
#  1b. a relative run_dir is resolved once against the working directory and said (one
#     notice), and the spool lands there;
#  2. --log syslog and --log journal: the lines reach /dev/log with their priorities
#     (<facility daemon * 8 + level>), nothing on stderr. /dev/log is a socket this test
#     listens on, in a mount namespace of its own (unshare -m), so the machine's syslog is
#     untouched. Skipped (that part) when not root or without unshare.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
[ -x "$BUILD/tapwatch" ] || { echo "test_log_targets: skipped: $BUILD/tapwatch not built"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
    { echo "test_log_targets: skipped: python3-scapy not installed"; exit 77; }
TMP=$(mktemp -d /tmp/tw-log.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
/usr/bin/python3 scripts/gen_captures.py "$TMP/caps" >/dev/null || { echo "FAIL: generator"; exit 1; }
cap=$TMP/caps/sample.pcap
STAMP='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}'

# 1. stderr. sample.pcap spans 10 minutes: at 300 times its pace the replay takes 2 s,
# long enough for a live line at stats_interval 1s
run() { # name, options...
    local name=$1; shift
    "$BUILD/tapwatch" --pcap "$cap" --replay-speed 300 --stats-interval 1 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
run info
[ $? -eq 0 ] || bad "stderr run: $(tail -3 "$TMP/info.err")"
grep -vE "^$STAMP (error|warning|notice|info|debug) tapwatch: " "$TMP/info.err" | grep -q . &&
    bad "stderr lines without time and level: $(grep -vE "^$STAMP " "$TMP/info.err" | head -3)"
grep -qE "^$STAMP notice tapwatch: no Redis configured" "$TMP/info.err" || bad "no notice line: $(cat "$TMP/info.err")"
grep -qE "^$STAMP info tapwatch: [0-9]+s packets [0-9]+ " "$TMP/info.err" ||
    bad "no live line at info: $(cat "$TMP/info.err")"
echo "ok   stderr: $(grep -E " info tapwatch: " "$TMP/info.err" | tail -1 | cut -c1-110)..."
grep -q "tapwatch summary" "$TMP/info.out" || bad "the summary left stdout"
run warning --log-level warning
[ -s "$TMP/warning.err" ] && bad "--log-level warning still wrote: $(head -3 "$TMP/warning.err")"
printf 'log: stderr\nlog_level: error\n' >"$TMP/quiet.yaml"
run config --config "$TMP/quiet.yaml"
[ -s "$TMP/config.err" ] && bad "log_level: error in the configuration still wrote: $(head -3 "$TMP/config.err")"
"$BUILD/tapwatch" --pcap "$TMP/none.pcap" --log-level error >/dev/null 2>"$TMP/err.err"
grep -qE "^$STAMP error tapwatch: .*none.pcap" "$TMP/err.err" || bad "an error at --log-level error: $(cat "$TMP/err.err")"
[ $fail -eq 0 ] && echo "ok   --log-level and log_level: filter by level; errors always get through"

# 1b. a relative run_dir is resolved once, against the working directory, and said: the
# spool of a run whose Redis is away lands there (not in /run when started from /)
mkdir -p "$TMP/cwd"
printf 'run_dir: rel\nredis:\n  url: unix://%s/no-redis.sock\n  drain_timeout: 0\n' "$TMP" >"$TMP/cwd/rd.yaml"
case $BUILD in /*) tw=$BUILD/tapwatch ;; *) tw=$ROOT/$BUILD/tapwatch ;; esac
(cd "$TMP/cwd" && "$tw" --pcap "$cap" --config rd.yaml --quiet >rd.out 2>rd.err)
grep -qE "^$STAMP notice tapwatch: run_dir rel is relative: using $TMP/cwd/rel\$" "$TMP/cwd/rd.err" ||
    bad "relative run_dir not said: $(cat "$TMP/cwd/rd.err")"
[ -s "$TMP/cwd/rel/redis-spool-tapwatch.dat" ] && grep -q "wait in $TMP/cwd/rel/redis-spool-tapwatch.dat" "$TMP/cwd/rd.err" ||
    bad "the spool is not in the resolved run_dir: $(ls -la "$TMP/cwd" "$TMP/cwd/rel" 2>&1; cat "$TMP/cwd/rd.err")"
[ $fail -eq 0 ] && echo "ok   $(grep -o 'run_dir rel is relative.*' "$TMP/cwd/rd.err")"

# 2. syslog and journal, through a /dev/log of our own
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
    echo "test_log_targets: (syslog part skipped: needs root and unshare for a private /dev/log)"
else
    for target in syslog journal; do
        mkdir -p "$TMP/$target/dev"
        # the namespace's /dev: a folder with the device nodes tapwatch opens, and the socket
        unshare -m --propagation private bash -c '
            set -e
            d=$1; shift
            for n in null zero full random urandom; do touch "$d/dev/$n"; mount --bind "/dev/$n" "$d/dev/$n"; done
            /usr/bin/python3 -c "
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1] + \"/dev/log\")
open(sys.argv[1] + \"/ready\", \"w\").close()
s.settimeout(3)
with open(sys.argv[1] + \"/got\", \"wb\") as out:
    try:
        while True:
            out.write(s.recv(65536).replace(b\"\\n\", b\" \") + b\"\\n\"); out.flush()
    except socket.timeout:
        pass
" "$d" &
            while [ ! -e "$d/ready" ]; do sleep 0.05; done
            mount --bind "$d/dev" /dev
            "$@"
            wait
        ' _ "$TMP/$target" "$BUILD/tapwatch" --pcap "$TMP/none.pcap" --log "$target" \
            >"$TMP/$target/out" 2>"$TMP/$target/err"
        rc=$?
        # daemon (3) * 8 + err (3) = 27
        if [ $rc -ne 1 ]; then
            bad "--log $target: exit $rc, expected 1 (missing capture): $(cat "$TMP/$target/err")"
        elif [ -s "$TMP/$target/err" ]; then
            bad "--log $target: stderr is not empty: $(cat "$TMP/$target/err")"
        elif ! grep -qE '^<27>.*tapwatch\[[0-9]+\]: .*none\.pcap' "$TMP/$target/got"; then
            bad "--log $target: /dev/log got: $(cat "$TMP/$target/got" 2>/dev/null)"
        else
            echo "ok   --log $target: $(head -1 "$TMP/$target/got")"
        fi
    done
fi
[ $fail -eq 0 ] && echo "test_log_targets: PASS"
exit $fail
