# cluster.sh - a real Redis Cluster of redis-servers on 127.0.0.1 for the integration tests,
# sourced after `set -uo pipefail` by tests that already have $tmp (their temporary folder)
# and fail (lib.sh's, or their own). Node i lives in $tmp/n<i>; a port listed in
# $tmp/down.<port> is a node the test killed on purpose, skipped by the helpers.
#
#   tw_cluster_ports N           ports=(N free ports whose cluster bus ports, +10000, are free)
#   tw_cluster_node DIR PORT [yes|no]
#                                starts one redis-server there (cluster-enabled unless no;
#                                cluster-node-timeout 1000 ms), waits for PING; 1 on failure
#   tw_cluster_create REPLICAS   nodes $tmp/n0... on ${ports[@]} made one cluster
#                                (`redis-cli --cluster create --cluster-replicas REPLICAS`),
#                                waits until every node says cluster_state:ok; sets seeds
#                                (redis://first three nodes); 1 on failure (said why)
#   tw_cluster_stop              SIGKILLs every node of $tmp/n* (for the test's cleanup)
#   tw_cluster_ok                0 when every live node says cluster_state:ok
#   tw_slot_of KEY               its slot (CRC16-XMODEM of the hash tag), computed here
#   tw_owner_of SLOT             the port of its master, asked of a live node
#   tw_masters                   the ports of the live masters

tw_cluster_ports() {
    read -r -a ports < <(python3 - "$1" <<'PY'
import random, socket, sys
def free(p):
    for q in (p, p + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            return False
        finally:
            s.close()
    return True
out, p = [], random.randrange(20000, 29000)
while len(out) < int(sys.argv[1]):
    if free(p):
        out.append(p)
    p += 1
print(" ".join(map(str, out)))
PY
    )
}

tw_cluster_node() {
    mkdir -p "$1"
    redis-server - >"$1/start.log" 2>&1 <<CONF
port $2
bind 127.0.0.1
dir $1
daemonize yes
pidfile $1/redis.pid
logfile $1/redis.log
save ""
appendonly no
cluster-enabled ${3:-yes}
cluster-config-file $1/nodes.conf
cluster-node-timeout 1000
repl-diskless-sync-delay 0
CONF
    for _ in $(seq 1 100); do
        [ "$(redis-cli -p "$2" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    fail "redis-server on port $2 did not start: $(cat "$1/start.log" "$1/redis.log" 2>/dev/null | tail -3)"
    return 1
}

tw_cluster_ok() {
    local p
    for p in "${ports[@]}"; do
        [ -s "$tmp/down.$p" ] && continue
        redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    done
}

tw_cluster_create() {
    local i p hosts=()
    for i in "${!ports[@]}"; do tw_cluster_node "$tmp/n$i" "${ports[$i]}" || return 1; done
    for p in "${ports[@]}"; do hosts+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas "$1" --cluster-yes \
        >"$tmp/create.log" 2>&1 ||
        { fail "redis-cli --cluster create: $(tail -5 "$tmp/create.log")"; return 1; }
    for _ in $(seq 1 100); do tw_cluster_ok && break; sleep 0.1; done
    tw_cluster_ok || { fail "the cluster did not come up"; return 1; }
    seeds="redis://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
}

tw_cluster_stop() {
    local f
    for f in "$tmp"/n*/redis.pid; do
        [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    return 0
}

tw_slot_of() {
    python3 -c '
import sys
k = sys.argv[1].encode()
o = k.find(b"{")
if o >= 0:
    c = k.find(b"}", o + 1)
    if c > o + 1:
        k = k[o + 1:c]
crc = 0
for x in k:
    crc ^= x << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021) & 0xffff if crc & 0x8000 else (crc << 1) & 0xffff
print(crc % 16384)' "$1"
}

tw_owner_of() {
    local p
    for p in "${ports[@]}"; do
        [ -s "$tmp/down.$p" ] && continue
        # CLUSTER SLOTS as redis-cli prints it: start, end, host, port, id, ... one a line
        redis-cli -p "$p" cluster slots 2>/dev/null | python3 -c '
import sys
vals = sys.stdin.read().split("\n")
slot = int(sys.argv[1])
i = 0
while i + 3 < len(vals):
    if vals[i].isdigit() and vals[i+1].isdigit() and vals[i+3].isdigit() and not vals[i+2].isdigit():
        lo, hi, port = int(vals[i]), int(vals[i+1]), vals[i+3]
        if lo <= slot <= hi:
            print(port); sys.exit(0)
        i += 4
    else:
        i += 1
sys.exit(1)' "$1" && return 0
    done
    return 1
}

tw_masters() {
    local p
    for p in "${ports[@]}"; do
        [ -s "$tmp/down.$p" ] && continue
        redis-cli -p "$p" role 2>/dev/null | head -1 | grep -q master && echo "$p"
    done
}
