#!/usr/bin/env bash
# test_redis_tls.sh - tapwatch and tapwatch-query over TLS (rediss://) to a real redis-server
# with --tls-port on a private port, certificates made here by openssl (a CA, a server
# certificate for localhost and 127.0.0.1, a client certificate, and a second CA):
#   - rediss://localhost:PORT with redis.tls_ca: every record written, the query reads them;
#   - a CA that did not sign the server's certificate, or a host the certificate does not
#     name (127.0.0.2): exit 2 with one line; with redis.tls_verify_host false the second goes;
#   - Redis asking for a client certificate (tls-auth-clients yes): refused without one
#     (exit 2, one line), written with redis.tls_cert and redis.tls_key.
#
#   bash tests/integration/test_redis_tls.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no redis-server with TLS, openssl, binary or scapy).
set -uo pipefail

. "$(dirname "$0")/lib.sh"
tw_init "$@"

tw_need_tools redis-server redis-cli python3 openssl
tw_need_bins "$tapwatch" "$query"
tw_need_scapy

tmp=$(mktemp -d /tmp/tw-tls.XXXXXX)
cleanup() {
    [ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null
    sleep 0.1
    rm -rf "$tmp"
}
trap cleanup EXIT

# certificates: EC keys (quick), one day
cd "$tmp" || exit 1
umask 077
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
# shellcheck disable=SC2046
{
    openssl req -x509 $(ec) -keyout ca.key -out ca.crt -days 1 -subj "/CN=tapwatch test CA" &&
    openssl req -x509 $(ec) -keyout other-ca.key -out other-ca.crt -days 1 -subj "/CN=another CA" &&
    openssl req $(ec) -keyout server.key -out server.csr -subj "/CN=localhost" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
        -days 1 -extfile server.ext &&
    openssl req $(ec) -keyout client.key -out client.csr -subj "/CN=tapwatch-s1" &&
    printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt \
        -days 1 -extfile client.ext
} >openssl.log 2>&1 || { echo "FAIL: openssl could not make the certificates:"; cat openssl.log; exit 1; }
cd "$root" || exit 1

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock=$tmp/redis.sock
redis-server - >"$tmp/redis.start" 2>&1 <<CONF
port 0
tls-port $port
bind 127.0.0.1 127.0.0.2
tls-cert-file $tmp/server.crt
tls-key-file $tmp/server.key
tls-ca-cert-file $tmp/ca.crt
tls-auth-clients no
unixsocket $sock
unixsocketperm 700
dir $tmp
daemonize yes
pidfile $tmp/redis.pid
logfile $tmp/redis.log
save ""
appendonly no
CONF
if [ $? -ne 0 ] || grep -qi 'tls.*not\|unknown\|Bad directive' "$tmp/redis.start" "$tmp/redis.log" 2>/dev/null; then
    echo "skip: this redis-server does not take --tls-port (built without TLS): $(head -c 300 "$tmp/redis.start")"
    exit 77
fi
rcli() { redis-cli -s "$sock" "$@"; }
for _ in $(seq 1 100); do [ "$(rcli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(rcli ping 2>/dev/null)" = PONG ] || { echo "FAIL: redis-server does not answer:"; tail -5 "$tmp/redis.log"; exit 1; }

if ! /usr/bin/python3 "$root/scripts/gen_captures.py" "$tmp/cap" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi

# conf NAME KEY: VALUE...: a configuration file with those redis keys
conf() {
    local name=$1
    shift
    { echo "run_dir: $tmp/run"; echo "redis:"; echo "  flush_interval: 20ms"; for kv in "$@"; do echo "  $kv"; done; } >"$tmp/$name.yaml"
}
# written NAME: the run's summary says every record was written
written() {
    grep -v 'redis alerts' "$tmp/$1.sum" | grep -q 'written [1-9][0-9]*, not written 0, dropped (buffer full) 0' ||
        fail "$1: records not written: $(grep redis "$tmp/$1.sum") $(head -c 400 "$tmp/$1.err")"
}
refused() { # NAME WANT: exit 2 with one line holding WANT
    local name=$1 want=$2 rc=$3
    [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2: $(head -c 400 "$tmp/$name.err")"
    [ "$(wc -l <"$tmp/$name.err")" -eq 1 ] || fail "$name: expected one line, got: $(cat "$tmp/$name.err")"
    grep -q -- "$want" "$tmp/$name.err" || fail "$name: no \"$want\" in: $(cat "$tmp/$name.err")"
}
run() { # NAME CAPTURE URL: tapwatch with NAME.yaml; sets rc
    timeout 60 "$tapwatch" --pcap "$tmp/cap/$2" --config "$tmp/$1.yaml" --redis "$3" --sensor "$1" \
        --quiet --flows-jsonl "$tmp/$1.jsonl" >"$tmp/$1.sum" 2>"$tmp/$1.err"
    rc=$?
}

# 1. TLS, server certificate checked against our CA and the host name
conf tls "tls_ca: $tmp/ca.crt"
run tls sample.pcap "rediss://localhost:$port"
[ "$rc" -eq 0 ] || fail "tls: exit $rc: $(head -c 600 "$tmp/tls.err")"
written tls
"$query" --redis "rediss://localhost:$port" --redis-tls-ca "$tmp/ca.crt" --sensor tls flows --limit 1000000 \
    --format json >"$tmp/tls.query" 2>"$tmp/tls.qerr" || fail "tls: tapwatch-query failed: $(cat "$tmp/tls.qerr")"
[ "$(wc -l <"$tmp/tls.query")" -eq "$(wc -l <"$tmp/tls.jsonl")" ] ||
    fail "tls: the query read $(wc -l <"$tmp/tls.query") records, $(wc -l <"$tmp/tls.jsonl") were written"
[ "$(rcli --scan --pattern 'tw:{tls:*}:b' | wc -l)" -gt 0 ] || fail "tls: no record block in Redis"

# 2. a CA that did not sign it; a host it does not name
conf wrongca "tls_ca: $tmp/other-ca.crt"
run wrongca eth.pcap "rediss://localhost:$port"
refused wrongca "certificate refused" "$rc"
conf mismatch "tls_ca: $tmp/ca.crt"
run mismatch eth.pcap "rediss://127.0.0.2:$port"
refused mismatch "mismatch" "$rc"
conf noverify "tls_ca: $tmp/ca.crt" "tls_verify_host: false"
run noverify eth.pcap "rediss://127.0.0.2:$port"
[ "$rc" -eq 0 ] || fail "noverify: exit $rc: $(head -c 400 "$tmp/noverify.err")"
"$query" --redis "rediss://localhost:$port" --redis-tls-ca "$tmp/other-ca.crt" --sensor tls flows \
    >/dev/null 2>"$tmp/qca.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/qca.err")" -eq 1 ] ||
    fail "tapwatch-query with the wrong CA: exit $rc: $(cat "$tmp/qca.err")"

# 3. Redis asks for a client certificate
rcli config set tls-auth-clients yes >/dev/null
conf nocert "tls_ca: $tmp/ca.crt"
run nocert eth.pcap "rediss://localhost:$port"
refused nocert "TLS" "$rc"
conf cert "tls_ca: $tmp/ca.crt" "tls_cert: $tmp/client.crt" "tls_key: $tmp/client.key"
run cert sample.pcap "rediss://localhost:$port"
[ "$rc" -eq 0 ] || fail "cert: exit $rc: $(head -c 600 "$tmp/cert.err")"
written cert
chmod 0640 "$tmp/client.key"
run cert eth.pcap "rediss://localhost:$port"
refused cert "redis.tls_key .*too open" "$rc"

for f in wrongca mismatch nocert cert; do echo "  $f: $(cat "$tmp/$f.err")"; done
if [ $failures -gt 0 ]; then
    echo "test_redis_tls: $failures failure(s)"
    exit 1
fi
echo "test_redis_tls: pass ($(wc -l <"$tmp/tls.jsonl") records over TLS; wrong CA, host mismatch, missing client certificate refused)"
