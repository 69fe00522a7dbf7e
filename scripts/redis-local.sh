#!/usr/bin/env bash
# redis-local.sh - a private redis-server on a unix socket, for tests and the demo.
#
#   redis-local.sh start DIR   start it (socket DIR/redis.sock, no TCP, no persistence),
#                              wait until it answers PING, print the socket path
#   redis-local.sh stop DIR    stop it (nothing to do when it is not running)
#
# REDIS_LOCAL_AOF=1 turns on the append-only file (appendfsync always), so what Redis
# acknowledged survives a SIGKILL of redis-server (the outage test needs that).
# Each caller uses its own DIR, so parallel tests do not meet. Both commands are idempotent:
# start on a running server only prints its socket, stop on a stopped one does nothing.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
sock=$dir/redis.sock
pidfile=$dir/redis.pid

# A unix socket path must fit in sun_path (108 bytes with its NUL).
if [ ${#sock} -gt 107 ]; then
    echo "redis-local: socket path too long (${#sock} > 107): $sock" >&2
    exit 1
fi

# The pid in the pidfile, when that process is still a redis-server.
running_pid() {
    local pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    grep -q redis "/proc/$pid/comm" 2>/dev/null || return 1
    echo "$pid"
}

ping() { [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; }

case $cmd in
start)
    command -v redis-server >/dev/null || { echo "redis-local: redis-server not installed" >&2; exit 1; }
    if running_pid >/dev/null && ping; then
        echo "$sock"
        exit 0
    fi
    rm -f "$sock" "$pidfile"
    # redis-server says "Reading config from stdin" before daemonizing: keep stdout for the
    # socket path only, and show that output when the start fails.
    if ! redis-server - >"$dir/redis.start.log" 2>&1 <<CONF
port 0
unixsocket $sock
unixsocketperm 700
dir $dir
daemonize yes
pidfile $pidfile
logfile $dir/redis.log
save ""
$(if [ -n "${REDIS_LOCAL_AOF:-}" ]; then printf 'appendonly yes\nappendfsync always\n'; else echo "appendonly no"; fi)
CONF
    then
        echo "redis-local: redis-server failed to start:" >&2
        cat "$dir/redis.start.log" >&2
        exit 1
    fi
    for _ in $(seq 1 100); do
        if ping; then
            echo "$sock"
            exit 0
        fi
        sleep 0.05
    done
    echo "redis-local: redis-server did not answer on $sock within 5 s (see $dir/redis.log)" >&2
    tail -n 3 "$dir/redis.log" >&2 2>/dev/null || true
    exit 1
    ;;
stop)
    if pid=$(running_pid); then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$sock" "$pidfile"
    ;;
*)
    usage
    ;;
esac
