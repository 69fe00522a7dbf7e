#!/usr/bin/env bash
# test_promisc.sh BUILD_DIR - the `promiscuous:` key on a live port (--iface, through
# net_af_packet) on a veth pair this test creates: with `promiscuous: true` the interface's
# PROMISC flag (bit 0x100 of /sys/class/net/IF/flags) is on during the run and off again
# after it; with `false` it is never turned on; an interface that was promiscuous before
# the run (another capture relies on it) stays so after it. Needs root: skipped otherwise.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "test_promisc: skipped: needs root to create a veth pair"
    exit 77
fi
TMP=$(mktemp -d /tmp/tw-promisc.XXXXXX)
IF=twpm$$; PEER=twpn$$
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; ip link del "$IF" 2>/dev/null; rm -rf "$TMP"' EXIT
if ! ip link add "$IF" type veth peer name "$PEER" 2>"$TMP/ip.err"; then
    echo "test_promisc: skipped: cannot create a veth pair: $(cat "$TMP/ip.err")"
    exit 77
fi
ip link set "$IF" up && ip link set "$PEER" up
fail=0
promisc() { echo $(( $(cat "/sys/class/net/$IF/flags") & 0x100 ? 1 : 0 )); }

# run KEY BEFORE DURING AFTER: PROMISC before the run (set here), and what it must be
# during and after a run with `promiscuous: KEY`.
run() {
    local key=$1 before=$2 want_during=$3 want_after=$4 during after
    if [ "$before" = 1 ]; then ip link set "$IF" promisc on; else ip link set "$IF" promisc off; fi
    printf 'promiscuous: %s\n' "$key" >"$TMP/cfg.yaml"
    "$BUILD/tapwatch" --config "$TMP/cfg.yaml" --iface "$IF" --quiet --stats-interval 0 \
        >"$TMP/sum" 2>"$TMP/err" &
    pid=$!
    # ready once the port runs and SIGINT is handled (the no-store notice comes after both).
    # Up to 60 s: a sanitized build under load took more than 10 s to start, and a SIGINT sent
    # before the handler is set is lost when the suite runs with SIGINT ignored (a background
    # job's children inherit SIG_IGN): that is how the run once hung.
    local ready=0
    for _ in $(seq 600); do
        grep -q "no Redis configured" "$TMP/err" 2>/dev/null && { ready=1; break; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ $ready -eq 1 ] || echo "note: promiscuous: $key: not ready after 60 s (see below)"
    during=$(promisc)
    kill -INT "$pid" 2>/dev/null
    # bounded: a run that does not act on SIGINT fails here, it does not hang the suite (once,
    # under the sanitizers, a SIGINT sent just after start-up was not acted on: sent again
    # after 20 s, and said)
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 400 ]; do
        sleep 0.1; waited=$((waited + 1))
        if [ $waited -eq 200 ]; then
            echo "note: promiscuous: $key: SIGINT not acted on in 20 s, sent again"
            kill -INT "$pid" 2>/dev/null
        fi
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        echo "FAIL promiscuous: $key: tapwatch did not end 40 s after SIGINT"; fail=1
    fi
    wait "$pid"; local rc=$?; pid=
    after=$(promisc)
    if [ $rc -ne 0 ]; then
        echo "FAIL promiscuous: $key: tapwatch exited $rc:"; cat "$TMP/err"; fail=1; return
    fi
    if [ "$during" != "$want_during" ] || [ "$after" != "$want_after" ]; then
        echo "FAIL promiscuous: $key, PROMISC before $before: during $during (want $want_during)," \
             "after $after (want $want_after)"
        fail=1
    else
        echo "ok   promiscuous: $key, PROMISC before $before: during $during, after $after"
    fi
}

run true 0 1 0
run false 0 0 0
run true 1 1 1
run false 1 1 1
[ $fail -eq 0 ] && echo "test_promisc: PASS"
exit $fail
