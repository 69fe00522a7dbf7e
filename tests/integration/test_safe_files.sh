#!/usr/bin/env bash
# test_safe_files.sh - the files tapwatch keeps cannot be turned against it (README "Files
# and run_dir"):
#   - a run_dir others can write to (0777, 0770) is refused at start: one line, exit 2;
#   - a run_dir that belongs to another user (chown nobody; root only) is refused the same;
#   - a symbolic link planted at the name of a temporary (redis-spool-S.dat.new,
#     redis-alerts-S.dat.new) while Redis is down at the end of a run: the target file is
#     untouched, the run ends cleanly (exit 0) and the spool and hold files are regular files;
#   - a symbolic link planted at the spool's or the hold file's own name (pointing to a file
#     or nowhere): the start is refused with one line naming the file (exit 1), the target
#     is untouched;
#   - --flows-jsonl and --alerts-jsonl files are created 0640, whatever the umask.
#
#   bash tests/integration/test_safe_files.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no binary or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-sf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 "$root/scripts/gen_policy_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1 ||
    { echo "FAIL: scripts/gen_policy_captures.py:"; cat "$tmp/gen.log"; exit 1; }
cap=$tmp/cap/undeclared.pcap
# Redis is never up here: what the run makes waits in run_dir (the case under test)
url=unix://$tmp/no-redis.sock

# run NAME RUN_DIR ARGS...: tapwatch with that run_dir and Redis down; sets rc, err file
run() {
    local name=$1 dir=$2
    shift 2
    printf 'run_dir: %s\nstats_interval: 0\nredis:\n  drain_timeout: 0\n' "$dir" >"$tmp/$name.yaml"
    timeout 60 "$tapwatch" --pcap "$cap" --config "$tmp/$name.yaml" --redis "$url" --quiet \
        "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}

# refused NAME RUN_DIR WHAT STATUS: the run is refused with one line matching WHAT
refused() {
    local name=$1 dir=$2 what=$3 status=$4
    run "$name" "$dir" --sensor "$name"
    if [ $rc -ne "$status" ] || [ "$(wc -l <"$tmp/$name.err")" -ne 1 ] ||
        ! grep -q -- "$what" "$tmp/$name.err"; then
        fail "$name: want exit $status and one line with '$what', got exit $rc: $(head -c 400 "$tmp/$name.err")"
    fi
}

# ---- run_dir owner and mode
mkdir -p "$tmp/open" && chmod 0777 "$tmp/open"
refused open "$tmp/open" "tapwatch: run_dir $tmp/open: writable by its group or by others (mode 0777)" 2
mkdir -p "$tmp/group" && chmod 0770 "$tmp/group"
refused group "$tmp/group" "tapwatch: run_dir $tmp/group: writable by its group or by others (mode 0770)" 2
touch "$tmp/afile"
refused notdir "$tmp/afile" "tapwatch: run_dir $tmp/afile: not a folder" 2
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    mkdir -p "$tmp/theirs" && chmod 0700 "$tmp/theirs" && chown nobody "$tmp/theirs"
    refused theirs "$tmp/theirs" "tapwatch: run_dir $tmp/theirs: belongs to uid $(id -u nobody)" 2
else
    echo "note: run_dir of another user not tried (needs root and a 'nobody' user)"
fi
# a sticky, world-writable folder is no better (that is /tmp)
mkdir -p "$tmp/sticky" && chmod 1777 "$tmp/sticky"
refused sticky "$tmp/sticky" "writable by its group or by others (mode 1777)" 2

# ---- links planted at the temporaries' names: removed, never followed
good=$tmp/good
mkdir -p "$good" && chmod 0700 "$good"
echo "precious" >"$tmp/victim"
cp "$tmp/victim" "$tmp/victim.orig"
ln -s "$tmp/victim" "$good/redis-spool-tmpl.dat.new"
ln -s "$tmp/victim" "$good/redis-alerts-tmpl.dat.new"
run tmpl "$good" --sensor tmpl --policy "$here/policy.yaml"
cmp -s "$tmp/victim" "$tmp/victim.orig" || fail "temporaries: the link target was written to"
[ $rc -eq 0 ] || fail "temporaries: want exit 0, got $rc: $(head -c 400 "$tmp/tmpl.err")"
for f in redis-spool-tmpl.dat redis-alerts-tmpl.dat; do
    if [ ! -f "$good/$f" ] || [ -L "$good/$f" ]; then
        fail "temporaries: $f is not a regular file: $(ls -l "$good" | tr '\n' ' ')"
    fi
    [ -e "$good/$f.new" ] || [ -L "$good/$f.new" ] && fail "temporaries: $f.new left behind"
done
grep -q "wait in $good/redis-spool-tmpl.dat" "$tmp/tmpl.err" ||
    fail "temporaries: no line saying the records wait in the spool: $(head -c 400 "$tmp/tmpl.err")"

# ---- links planted at the files' own names: the start is refused, the target untouched
for kind in spool alerts; do
    for target in "$tmp/victim" "$tmp/nowhere"; do
        d=$tmp/link-$kind-$(basename "$target")
        mkdir -p "$d" && chmod 0700 "$d"
        ln -s "$target" "$d/redis-$kind-ln.dat"
        run "ln-$kind-$(basename "$target")" "$d" --sensor ln --policy "$here/policy.yaml"
        e=$tmp/ln-$kind-$(basename "$target").err
        if [ $rc -ne 1 ] || [ "$(wc -l <"$e")" -ne 1 ] ||
            ! grep -q "tapwatch: redis spill $d/redis-$kind-ln.dat: is a symbolic link (refused, not followed" "$e"; then
            fail "link at redis-$kind-ln.dat -> $target: want exit 1 and one line, got exit $rc: $(head -c 400 "$e")"
        fi
        [ -e "$tmp/nowhere" ] && fail "link at redis-$kind-ln.dat: $tmp/nowhere was created"
    done
done
cmp -s "$tmp/victim" "$tmp/victim.orig" || fail "links: the link target was written to"

# ---- JSON lines files: 0640 whatever the umask; stdout unchanged
for mask in 022 000; do
    rm -f "$tmp/f.jsonl" "$tmp/a.jsonl"
    (umask $mask && "$tapwatch" --pcap "$cap" --policy "$here/policy.yaml" --quiet \
        --flows-jsonl "$tmp/f.jsonl" --alerts-jsonl "$tmp/a.jsonl" >/dev/null 2>"$tmp/jsonl.err") ||
        fail "jsonl (umask $mask): tapwatch failed: $(head -c 400 "$tmp/jsonl.err")"
    for f in f.jsonl a.jsonl; do
        m=$(stat -c %a "$tmp/$f" 2>/dev/null)
        [ "$m" = 640 ] || fail "jsonl (umask $mask): $f created with mode $m, want 640"
    done
    [ -s "$tmp/f.jsonl" ] && [ -s "$tmp/a.jsonl" ] || fail "jsonl (umask $mask): a file is empty"
done
n=$("$tapwatch" --pcap "$cap" --quiet --flows-jsonl - 2>/dev/null | grep -c '^{')
[ "$n" -gt 0 ] || fail "--flows-jsonl -: no records on stdout"

if [ $failures -ne 0 ]; then
    echo "test_safe_files: $failures failure(s)"
    exit 1
fi
echo "test_safe_files: ok (run_dir owner and mode, links at temporaries and files, jsonl 0640)"
