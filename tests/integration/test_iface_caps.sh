#!/usr/bin/env bash
# test_iface_caps.sh BUILD_DIR - tapwatch --iface as the service unit runs it: an
# unprivileged user (nobody) holding only the capabilities scripts/tapwatch@.service grants.
#  1. test_iface.sh's live case (exact packets and bytes over lo, 1 and 2 workers) under
#     setpriv with those capabilities as the ambient and bounding sets, nothing else;
#  2. the same start with one capability fewer fails (each one is needed);
#  3. every system call tapwatch --iface makes (strace) is allowed by the unit's
#     SystemCallFilter= lines, and every socket family it opens by RestrictAddressFamilies=,
#     so that the filters cannot break the service.
# Needs root (to drop to nobody); skipped otherwise, saying so.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
UNIT=scripts/tapwatch@.service
if [ "$(id -u)" -ne 0 ]; then
    echo "test_iface_caps: skipped: needs root to run tapwatch as nobody with chosen capabilities"
    exit 77
fi
for tool in setpriv strace systemd-analyze; do
    command -v "$tool" >/dev/null ||
        { echo "test_iface_caps: skipped: no $tool (make deps installs it)"; exit 77; }
done
user=nobody group=$(id -gn nobody 2>/dev/null)
[ -n "$group" ] || { echo "test_iface_caps: skipped: no user nobody"; exit 77; }
if ! setpriv --reuid="$user" --regid="$group" --clear-groups test -x "$BUILD/tapwatch"; then
    echo "test_iface_caps: skipped: $user cannot run $BUILD/tapwatch (a folder on its path is private)"
    exit 77
fi
TMP=$(mktemp -d /tmp/tw-caps.XXXXXX)
chown "$user" "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail=0

# the unit's capabilities, as setpriv spells them: CAP_NET_RAW CAP_NET_ADMIN -> net_raw,net_admin
unit_caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_//g')
bound=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_//g')
[ -n "$unit_caps" ] && [ "$unit_caps" = "$bound" ] ||
    { echo "FAIL: $UNIT: AmbientCapabilities ($unit_caps) and CapabilityBoundingSet ($bound) differ"; exit 1; }
echo "the unit grants: $unit_caps"
# and its locked-memory limit (net_af_packet's rings are mapped locked), as prlimit spells it
memlock=$(sed -n 's/^LimitMEMLOCK=//p' "$UNIT")
[ "$memlock" = infinity ] && memlock=unlimited
LIMIT=${memlock:+prlimit --memlock=$memlock:$memlock}
# a container without CAP_SYS_RESOURCE cannot raise it: tapwatch then maps smaller rings
# under the limit it has, and says so (one line); the run must work all the same
if [ -n "$LIMIT" ] && ! $LIMIT true 2>/dev/null; then
    echo "note: cannot raise RLIMIT_MEMLOCK here (no CAP_SYS_RESOURCE): smaller af_packet rings"
    LIMIT=
fi

# as_user CAPS CMD...: CMD as nobody with exactly CAPS (space-separated), EAL's runtime
# folder in our temporary one (as the unit's PrivateTmp gives it a /tmp of its own)
as_user() {
    local set=-all
    for c in $1; do set="$set,+$c"; done
    shift
    mkdir -p "$TMP/xdg" && chown "$user" "$TMP/xdg"
    $LIMIT setpriv --reuid="$user" --regid="$group" --clear-groups --inh-caps="$set" \
        --ambient-caps="$set" --bounding-set="$set" env XDG_RUNTIME_DIR="$TMP/xdg" "$@"
}

# 1. the live case, as nobody with the unit's capabilities
TW_RUN_AS="$LIMIT setpriv --reuid=$user --regid=$group --clear-groups \
--inh-caps=-all$(printf ',+%s' $unit_caps) --ambient-caps=-all$(printf ',+%s' $unit_caps) \
--bounding-set=-all$(printf ',+%s' $unit_caps) env XDG_RUNTIME_DIR=$TMP/xdg" \
TW_RUN_AS_OWNER=$user bash tests/integration/test_iface.sh "$BUILD" >"$TMP/iface.log" 2>&1
rc=$?
sed 's/^/    /' "$TMP/iface.log"
[ $rc -eq 0 ] && echo "ok   test_iface's live case as $user with $unit_caps" ||
    { echo "FAIL: test_iface as $user with $unit_caps: exit $rc"; fail=1; }

# 2. one capability fewer: the start fails, saying so
for drop in $unit_caps; do
    fewer=$(echo " $unit_caps " | sed "s/ $drop / /" | xargs)
    as_user "$fewer" timeout -s INT 20 "$BUILD/tapwatch" --iface lo --quiet --stats-interval 0 \
        >"$TMP/fewer.out" 2>"$TMP/fewer.err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "error tapwatch:" "$TMP/fewer.err"; then
        echo "ok   without $drop: exit 1, $(grep 'error tapwatch:' "$TMP/fewer.err" | tail -1 | sed 's/.*error tapwatch: //')"
    else
        echo "FAIL: without $drop: exit $rc, expected 1 and an error line:"; cat "$TMP/fewer.err"
        fail=1
    fi
done

# 3. the system calls of a short --iface run against the unit's filter. Allowed: the groups
# of the SystemCallFilter= lines without ~, less those of the lines with ~ (the unit's
# order: allow list first, then what is taken out of it).
expand() { # @group or call -> the calls it names, recursively
    case $1 in
    @*) systemd-analyze syscall-filter "$1" | awk 'NR > 1 && NF == 1 && $1 !~ /^#/ { print $1 }' |
            while read -r x; do expand "$x"; done ;;
    *) echo "$1" ;;
    esac
}
: >"$TMP/allow"; : >"$TMP/deny"
while read -r line; do
    case $line in
    "~"*) for g in ${line#\~}; do expand "$g"; done >>"$TMP/deny" ;;
    *) for g in $line; do expand "$g"; done >>"$TMP/allow" ;;
    esac
done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
sort -u "$TMP/allow" >"$TMP/allow.s"; sort -u "$TMP/deny" >"$TMP/deny.s"
comm -23 "$TMP/allow.s" "$TMP/deny.s" >"$TMP/allowed"
[ -s "$TMP/allowed" ] || { echo "FAIL: no SystemCallFilter= allow list in $UNIT"; exit 1; }

as_user "$unit_caps" timeout -s INT 4 strace -f -qq -o "$TMP/trace" "$BUILD/tapwatch" \
    --iface lo --stats-interval 1 --flows-jsonl /dev/null >/dev/null 2>"$TMP/strace.err"
# the calls after tapwatch's own execve (strace's line "PID name(args) = result")
awk '/execve\("[^"]*\/tapwatch"/ { on = 1 } on' "$TMP/trace" |
    sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' | sort -u >"$TMP/calls"
n=$(wc -l <"$TMP/calls")
[ "$n" -gt 20 ] || { echo "FAIL: strace saw $n system calls:"; head -5 "$TMP/trace" "$TMP/strace.err"; exit 1; }
# iopl: DPDK's EAL probes port I/O at start (virtio legacy); without CAP_SYS_RAWIO it gets
# EPERM as nobody, and the filter answers EPERM too (SystemCallErrorNumber=EPERM)
outside=$(comm -23 "$TMP/calls" "$TMP/allowed" | grep -vx iopl | xargs)
if [ -n "$outside" ]; then
    echo "FAIL: tapwatch --iface makes system calls the unit's filter refuses: $outside"
    fail=1
else
    echo "ok   the $n system calls of tapwatch --iface are all in the unit's SystemCallFilter (iopl aside: EPERM either way)"
fi
# the socket families it opens, against RestrictAddressFamilies=
families=$(awk '/execve\("[^"]*\/tapwatch"/ { on = 1 } on' "$TMP/trace" |
    sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+),.*/\1/p' | sort -u | xargs)
allowed_af=" $(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT") "
for af in $families; do
    case $allowed_af in
    *" $af "*) ;;
    *) bad_af="${bad_af:-} $af" ;;
    esac
done
if [ -n "${bad_af:-}" ] || [ -z "$families" ]; then
    echo "FAIL: socket families${bad_af:- (none seen)} not in the unit's RestrictAddressFamilies=$allowed_af"
    fail=1
else
    echo "ok   socket families $families: all in RestrictAddressFamilies="
fi
grep -q '^SystemCallErrorNumber=EPERM' "$UNIT" ||
    { echo "FAIL: $UNIT: a refused call must fail with EPERM (iopl), not kill the service"; fail=1; }

[ $fail -eq 0 ] && echo "test_iface_caps: PASS"
exit $fail
